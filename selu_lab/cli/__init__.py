"""The headless CLI: `python -m selu_lab COMMAND …`, one sub-module per experiment.

Each sub-module exposes ``register(subparsers)`` and sets ``func`` on its
parser; ``func(args)`` returns an exit status. Commands call the same
``selu_lab`` functions as the app.
"""

from __future__ import annotations

import importlib
import sys

from selu_lab.cli.common import Parser, UsageError

# sub-modules of selu_lab.cli that register commands
COMMAND_MODULES = ("activation", "selfnorm", "train", "depth")


def build_parser() -> Parser:
    """The `python -m selu_lab` parser with every command registered."""
    parser = Parser(prog="python -m selu_lab",
                    description="ELU/SELU lab: run every experiment of the app headless.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"selu_lab.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit status (2 and one line on stderr for bad arguments)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        sys.stderr.write(f"{parser.prog} {args.command}: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
