"""Fixtures for the real-browser tests: one `streamlit run` server and one Chromium per module.

Missing Chromium or Playwright skips these tests with the reason, unless
SELU_LAB_REQUIRE_BROWSER=1 (set by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.server import ROOT, browser_missing, launch_browser, streamlit_server

ARTIFACTS = ROOT / "artifacts" / "screenshots"


def pytest_collection_modifyitems(items):
    for item in items:
        if "e2e" in Path(str(item.fspath)).parts:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_ok() -> None:
    reason = browser_missing()
    if reason:
        if os.environ.get("SELU_LAB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required but cannot run: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def server(browser_ok):
    with streamlit_server() as (url, _proc):
        yield url


@pytest.fixture(scope="module")
def browser(browser_ok):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_browser(p)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
