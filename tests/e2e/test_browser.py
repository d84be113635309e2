"""The app in a real Chromium: tabs render, sliders redraw charts, bad links stay friendly."""

from __future__ import annotations

import pytest

from tests.e2e.server import wait_app_idle

TABS = ["Activations", "Self-normalisation", "Train on MNIST", "Depth study", "Guide"]


def open_tab(page, url: str, tab: str, query: str = "") -> None:
    page.goto(f"{url}/?tab={tab.replace(' ', '+')}{query}" if tab != "Activations" else f"{url}/?{query}")
    wait_app_idle(page)


def assert_no_exception(page) -> None:
    exc = page.locator('[data-testid="stException"]')
    assert exc.count() == 0, exc.first.inner_text()


def chart_svg_signature(page, index: int = 0) -> str:
    """The drawn marks of the index-th Vega chart (changes when the plotted data change)."""
    chart = page.locator('[data-testid="stVegaLiteChart"]').nth(index)
    chart.wait_for()
    return chart.evaluate(
        "el => Array.from(el.querySelectorAll('path')).map(p => p.getAttribute('d')).join('|')")


@pytest.mark.parametrize("tab", TABS)
def test_every_tab_renders_without_exception(server, page, artifacts, tab):
    open_tab(page, server, tab)
    present = [t.inner_text() for t in page.locator('[data-testid="stTab"]').all()]
    if tab not in present:
        pytest.fail(f"tab {tab!r} missing; tabs shown: {present}")
    page.wait_for_timeout(1500)
    assert_no_exception(page)
    page.screenshot(path=str(artifacts / f"{tab.lower().replace(' ', '_').replace('-', '_')}.png"),
                    full_page=True)


def test_moving_elu_alpha_redraws_the_chart(server, page):
    open_tab(page, server, "Activations")
    page.wait_for_timeout(1000)
    before = chart_svg_signature(page)
    slider = page.locator('[data-testid="stSlider"]').filter(has_text="ELU α").get_by_role("slider")
    slider.focus()
    for _ in range(10):
        slider.press("ArrowRight")
    page.wait_for_timeout(500)
    wait_app_idle(page)
    page.wait_for_timeout(1000)
    assert "act_elu_alpha=1.5" in page.url
    assert chart_svg_signature(page) != before
    assert_no_exception(page)


@pytest.mark.parametrize("query", ["act_elu_alpha=banana&zzz=1", "act_x=5&act_x=-5", "tab=Nope",
                                   "sn_depth=-3&tr_epochs=1e99", "%%%=&&="])
def test_bad_query_string_shows_no_streamlit_error(server, page, query):
    page.goto(f"{server}/?{query}")
    wait_app_idle(page)
    page.wait_for_timeout(1000)
    assert_no_exception(page)
    assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 1


def test_self_normalisation_view_draws_its_curves(server, page):
    """Small stacks run at once; large ones wait for the Run button; either way the curves get drawn."""
    open_tab(page, server, "Self-normalisation", "&sn_depth=16&sn_width=64&sn_batch=256")
    run = page.get_by_role("button", name="Run (")
    if run.count():
        run.first.click()
        wait_app_idle(page)
    chart = page.locator('[data-testid="stVegaLiteChart"]').filter(has_text="variance of layer")
    chart.first.wait_for(timeout=60_000)
    lines = chart.first.evaluate(
        "el => Array.from(el.querySelectorAll('path')).filter(p => (p.getAttribute('d') || '').length > 200)"
        ".length")
    # four default configurations, each a mean and a variance curve
    assert lines >= 8, f"expected the configurations' mean and variance curves, found {lines} long paths"
    assert_no_exception(page)


def test_wide_charts_scroll_inside_the_page_on_a_narrow_screen(server, browser):
    page = browser.new_page(viewport={"width": 900, "height": 1000})
    try:
        open_tab(page, server, "Self-normalisation")
        page.wait_for_timeout(1500)
        main = page.locator('[data-testid="stMainBlockContainer"]').bounding_box()
        charts = page.locator('[data-testid="stVegaLiteChart"]')
        assert charts.count() >= 2
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box["x"] + box["width"] <= main["x"] + main["width"] + 1, f"chart {i} runs off the page"
        wide = charts.first.evaluate("el => el.scrollWidth > el.clientWidth")  # the mean/variance pair
        assert wide and charts.first.evaluate("el => getComputedStyle(el).overflowX") == "auto"
    finally:
        page.close()
