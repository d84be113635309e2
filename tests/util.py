"""Small helpers shared by the tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from selu_lab.cli import main


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


def open_tab(tab: str, timeout: float = 60.0, **settings: Any) -> AppTest:
    """Run the app through AppTest with ``tab`` open and the settings as URL query parameters."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.query_params["tab"] = tab
    for key, value in settings.items():
        at.query_params[key] = value if isinstance(value, list) else str(value)
    at.run()
    assert not at.exception, at.exception
    return at


def assert_usage_error(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    """The CLI rejects ``argv`` with exit status 2 and one line on stderr that contains ``needle``."""
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(argv))
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err
