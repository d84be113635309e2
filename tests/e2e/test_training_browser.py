"""A tiny training run driven from the page: live chart grows, Stop ends it, the run joins the history."""

from __future__ import annotations

import time

from tests.e2e.server import wait_app_idle
from tests.e2e.test_browser import assert_no_exception


def live_signature(page) -> str | None:
    """The drawn loss line(s) of the live chart, or None while it is not on the page."""
    chart = page.locator('[data-testid="stVegaLiteChart"]')
    if chart.count() == 0:
        return None
    return chart.first.evaluate(
        "el => Array.from(el.querySelectorAll('path')).map(p => p.getAttribute('d')).join('|')")


def test_start_live_chart_stop_and_history(server, page, artifacts, mnist_dir):
    page.goto(f"{server}/?tab=Train+on+MNIST&tr_subset=2k&tr_epochs=20")
    wait_app_idle(page)
    assert_no_exception(page)
    page.get_by_role("button", name="Start").first.click()

    # the live chart must redraw with new data at least twice while the run is going
    seen: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(seen) < 3:
        sig = live_signature(page)
        if sig and (not seen or sig != seen[-1]):
            seen.append(sig)
        page.wait_for_timeout(400)
    assert len(seen) >= 3, f"the live chart drew {len(seen)} distinct states"
    assert page.get_by_role("button", name="Stop").count() == 1, "the run ended before Stop was clicked"
    # the queue follows the polls too: the run that is training is not also listed as queued
    assert page.get_by_text("Queued next").count() == 0
    assert page.get_by_role("button", name="Cancel queue").count() == 0
    page.screenshot(path=str(artifacts / "train_live.png"), full_page=True)

    page.get_by_role("button", name="Stop").click()
    page.get_by_text("Status: stopped").wait_for(timeout=90_000)  # the run's details, in the history
    wait_app_idle(page)
    assert page.get_by_role("button", name="Stop").count() == 0
    assert page.get_by_text("Inspect a run").count() == 1
    assert_no_exception(page)
    page.screenshot(path=str(artifacts / "train_history.png"), full_page=True)
