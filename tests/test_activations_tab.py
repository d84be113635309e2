"""The Activations tab through Streamlit's AppTest."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.util import APP


@pytest.fixture
def app():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def _charts(at):
    return at.get("vega_lite_chart")


def _chart_data(chart) -> bytes:
    return b"".join(d.data.data for d in chart.proto.datasets) + chart.proto.spec.encode()


def _facts(at):
    return at.dataframe[0].value.to_csv()


def test_app_renders_activations_tab(app):
    assert app.tabs[0].label == "Activations"
    assert len(_charts(app)) == 2
    assert any("Only SELU maps" in s.value for s in app.success)
    spec = json.loads(_charts(app)[0].proto.spec)
    assert "hconcat" in spec


def test_changing_elu_alpha_changes_charts_and_facts(app):
    before_chart = _chart_data(_charts(app)[0])
    before_facts = _facts(app)
    app.slider(key="act_elu_alpha").set_value(2.0).run()
    assert not app.exception
    assert _chart_data(_charts(app)[0]) != before_chart
    assert _facts(app) != before_facts
    spec = json.dumps(json.loads(_charts(app)[0].proto.spec), ensure_ascii=False)
    assert "ELU (α=2)" in spec  # the legend names the new α


def _gaussian(at):
    return at.dataframe[1].value.to_csv()


def test_moment_sliders_update_the_gaussian_table_only(app):
    before, facts = _gaussian(app), _facts(app)
    app.slider(key="act_mu").set_value(1.0).run()
    assert not app.exception and _gaussian(app) != before
    assert "N(1, 1²)" in _gaussian(app)
    assert _facts(app) == facts  # the facts, the chart and the verdict are about N(0, 1) whatever μ, σ


def test_custom_constants_at_the_papers_values_to_four_decimals_still_keep_the_fixed_point(app):
    app.radio(key="act_selu_mode").set_value("custom").run()  # the sliders start at α, λ rounded to 1e-4
    assert not app.exception
    assert any("Only SELU" in s.value for s in app.success)


def test_custom_selu_constants_lose_the_fixed_point(app):
    app.radio(key="act_selu_mode").set_value("custom").run()
    app.slider(key="act_selu_scale").set_value(1.2).run()
    assert not app.exception
    assert not any("Only SELU" in s.value for s in app.success)
    assert app.warning


def test_bad_link_values_give_a_notice_not_an_exception():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["act_elu_alpha"] = "banana"
    at.query_params["act_selu_mode"] = "sideways"
    at.query_params["zzz"] = "1"
    at.run()
    assert not at.exception
    text = " ".join(w.value for w in at.warning)
    assert "act_elu_alpha" in text and "zzz" in text and "act_selu_mode" in text
    assert at.slider(key="act_elu_alpha").value == 1.0


def test_link_values_set_the_widgets():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["act_elu_alpha"] = "2.5"
    at.query_params["act_funcs"] = ["ELU", "ReLU"]
    at.run()
    assert not at.exception
    assert not any("could not be used" in w.value for w in at.warning)
    assert at.slider(key="act_elu_alpha").value == 2.5
    assert at.multiselect(key="act_funcs").value == ["elu", "relu"]
    assert len(at.get("vega_lite_chart")) == 2


def test_unknown_function_in_link_is_reported():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["act_funcs"] = ["SELU", "nonsense"]
    at.run()
    assert not at.exception
    assert any("act_funcs" in w.value for w in at.warning)
