"""Remake the README's screenshots: each tab in a real Chromium, the training tabs after a small run.

    python docs/screenshots.py        # writes docs/*.png (needs Chromium, Playwright and MNIST)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.e2e.server import launch_browser, streamlit_server, wait_app_idle  # noqa: E402

SHOTS = [
    ("activations.png", "", None),
    ("self_normalisation.png", "tab=Self-normalisation", None),
    ("train_on_mnist.png", "tab=Train+on+MNIST&tr_epochs=3&tr_act=SELU",
     ("Start", "Status: finished")),
    ("depth_study_tab.png", "tab=Depth+study&ds_width=128&ds_steps=80&ds_depths=8&ds_depths=32&ds_subset=10k",
     ("Start study", "What the runs show.")),
]


def main() -> None:
    with sync_playwright() as p, streamlit_server() as (url, _proc):
        browser = launch_browser(p)
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        for name, query, action in SHOTS:
            page.goto(f"{url}/?{query}")
            wait_app_idle(page)
            if action:
                button, done = action
                page.get_by_role("button", name=button, exact=True).click()
                page.get_by_text(done).first.wait_for(timeout=600_000)
                wait_app_idle(page)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ROOT / "docs" / name), full_page=True)
            print("wrote", name, flush=True)
        browser.close()


if __name__ == "__main__":
    main()
