"""Argument types and error handling shared by every CLI command.

Every bad argument ends with exit status 2 and one line on stderr saying what
is allowed; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from typing import Any


class UsageError(Exception):
    """A bad argument found after parsing; main() prints it and exits with 2."""


def finite_float(text: str) -> float:
    """argparse type: a finite float."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite float > 0."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def float_in(lo: float, hi: float) -> Callable[[str], float]:
    """argparse type: a finite float in [lo, hi]."""

    def parse(text: str) -> float:
        value = finite_float(text)
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"expected a number in [{lo:g}, {hi:g}], got {text!r}")
        return value

    return parse


def int_in(lo: int, hi: int) -> Callable[[str], int]:
    """argparse type: an integer in [lo, hi]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"expected an integer in [{lo}, {hi}], got {text!r}")
        return value

    return parse


def float_list(text: str) -> list[float]:
    """argparse type: comma-separated finite floats, e.g. ``-2,-0.5,1``."""
    items = [t.strip() for t in text.split(",")]
    if not any(items) or (len(items) > 1 and not all(items)):  # '' or '1,,2': a typo, not a list
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, e.g. -2,-0.5,1; got {text!r}")
    return [finite_float(t) for t in items]


def int_list(lo: int, hi: int) -> Callable[[str], list[int]]:
    """argparse type: comma-separated integers in [lo, hi], e.g. ``8,16,32``."""
    one = int_in(lo, hi)

    def parse(text: str) -> list[int]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"expected comma-separated integers in [{lo}, {hi}]")
        return [one(t) for t in items]

    return parse


def choice_list(choices: tuple[str, ...]) -> Callable[[str], list[str]]:
    """argparse type: comma-separated names from ``choices``."""

    def parse(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in choices]
        if not items or bad:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated names from {', '.join(choices)}; got {text!r}")
        return items

    return parse


def print_json(obj: Any) -> None:
    """One JSON object on stdout; non-finite floats become null (valid JSON)."""
    print(json.dumps(json_safe(obj), allow_nan=False))


def json_safe(obj: Any) -> Any:
    """Non-finite floats become None, so that the output is valid JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)
