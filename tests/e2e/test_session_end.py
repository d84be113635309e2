"""Closing the browser tab stops that session's training worker within seconds (no orphan CPU burn)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.e2e.server import streamlit_server, wait_app_idle


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime, stime in clock ticks (100 Hz)


def busy_fraction(pid: int, seconds: float = 2.0) -> float:
    """CPU cores the process kept busy over ``seconds``."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


def test_closing_the_tab_stops_its_run(browser, mnist_dir):
    with streamlit_server() as (url, proc):
        context = browser.new_context(viewport={"width": 1400, "height": 1200})
        page = context.new_page()
        page.goto(f"{url}/?tab=Train+on+MNIST&tr_subset=60k&tr_epochs=5")
        wait_app_idle(page)
        page.get_by_role("button", name="Start").first.click()
        page.get_by_role("button", name="Stop").wait_for(timeout=60_000)
        page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=120_000)
        assert busy_fraction(proc.pid) > 0.5, "the run should keep the server busy while it trains"

        context.close()  # the user closes the tab mid-run
        t0 = time.monotonic()
        while time.monotonic() - t0 < 30:
            if busy_fraction(proc.pid, 1.0) < 0.15:
                break
        stopped_after = time.monotonic() - t0
        assert stopped_after < 30, "the worker kept burning CPU 30 s after its session closed"
        assert busy_fraction(proc.pid, 3.0) < 0.15
        print(f"worker idle {stopped_after:.1f} s after the tab closed")
