"""The Self-normalisation tab through AppTest: stacks, summary, cost confirmation, plane, solver, links."""

from __future__ import annotations

import json
from functools import partial

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from selu_lab import selfnorm
from selu_lab.app import selfnorm_tab as tab
from tests import util

SMALL = {"sn_depth": "16", "sn_width": "64", "sn_batch": "256"}


@pytest.fixture(autouse=True)
def no_confirmation(monkeypatch):
    """The estimate follows the machine's current load: tests decide when a run counts as expensive."""
    monkeypatch.setattr(tab, "CONFIRM_SECONDS", 1e9)


open_tab = partial(util.open_tab, "Self-normalisation", 120)


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def summary(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "configuration" in d.value.columns)


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_default_view_shows_selu_self_normalising_and_the_others_not():
    at = open_tab()
    assert not errors(at)
    table = summary(at)
    assert list(table["configuration"]) == list(selfnorm.default_configs())
    verdict = dict(zip(table["configuration"], table["self_normalising"], strict=True))
    assert verdict == {"SELU + LeCun": True, "SELU + gain 3/4": False, "ELU + LeCun": False,
                       "ReLU + He": False}
    specs = charts(at)
    assert len(specs) >= 6  # stacks, saturation, gradients, two planes, the solver's verification
    text = json.dumps(specs[0], ensure_ascii=False)
    assert "SELU + gain 3/4" in text and "analytic" in text  # named configs, dashed overlay
    labels = [m.label for m in at.metric]
    assert labels.count("‖J(μ*, ν*)‖₂ at the fixed point") == 2
    norm = next(m.value for m in at.metric if m.label.startswith("‖J"))
    assert norm == "0.7877"  # the paper's fixed point (0, 1) with ω = 0, τ = 1
    assert any("Verified with a stack" in s.value for s in at.success)


def test_small_settings_and_a_changed_table_from_the_link():
    text = "mine|selu|||lecun|alpha|0.1;|tanh|||xavier|none|0"
    at = open_tab(**SMALL, sn_configs=text, sn_hist=["1", "16"])
    table = summary(at)
    assert list(table["configuration"]) == ["mine", "tanh + Xavier"]  # renamed, and automatic name
    hist = [s for s in charts(at) if "facet" in s]
    assert hist  # histograms at the chosen layers
    assert at.query_params[tab.CONFIGS.key] in (text, [text])  # the table stays in the link


def test_table_round_trip_and_validation():
    table = tab.table_from_text(tab.DEFAULT_TABLE_TEXT)
    assert tab.table_to_text(table) == tab.DEFAULT_TABLE_TEXT
    table.loc[len(table)] = ["", "relu", 3.0, None, "he", "none", 0.0]  # ReLU has no α
    table.loc[len(table)] = ["x", "selu", None, None, "lecun", "standard", 0.2]
    table.loc[len(table)] = ["x", "elu", 2.0, None, "lecun", "none", 0.0]
    shared = {"depth": 4, "width": 16, "batch": 64, "input_mean": 0.0, "input_std": 1.0, "seed": 0,
              "grad": True}
    configs, errs = tab.configs_from_table(table, shared)
    assert len(configs) == 7 and not errs  # α of a function without α is ignored
    assert "x (2)" in configs and configs["x (2)"].alpha == 2.0  # duplicate names made unique
    table.loc[len(table)] = ["bad", "selu", None, None, "lecun", "none", 0.9]
    _, errs = tab.configs_from_table(table, shared)
    assert len(errs) == 1 and "row 8 (bad)" in errs[0] and "dropout rate" in errs[0]
    with pytest.raises(ValueError, match="fields"):
        tab.table_from_text("selu|lecun")


def test_bad_table_in_the_link_gives_a_notice_and_the_defaults():
    at = open_tab(**SMALL, sn_configs="nonsense")
    assert list(summary(at)["configuration"]) == list(selfnorm.default_configs())
    assert any("sn_configs" in w.value for w in at.warning)


def test_bad_row_is_named_and_the_rest_still_runs():
    at = open_tab(**SMALL, sn_configs="ok|selu|||lecun|none|0;bad|selu|||lecun|alpha|0.9")
    assert any("row 2 (bad)" in e for e in errors(at))
    assert list(summary(at)["configuration"]) == ["ok"]


def test_expensive_settings_wait_for_a_click(monkeypatch):
    monkeypatch.setattr(tab, "CONFIRM_SECONDS", 0.0)  # every run counts as expensive
    at = open_tab(**SMALL, sn_seed="4242", sn_configs="only|selu|||lecun|none|0")
    warning = next(w.value for w in at.warning if "TFLOP" in w.value)
    assert "estimated" in warning and "Nothing runs until you click" in warning
    assert not [d for d in at.dataframe if "configuration" in d.value.columns]  # nothing computed yet
    at.button(key="sn_stacks_run").click().run()
    assert not at.exception
    assert list(summary(at)["configuration"]) == ["only"]


def test_huge_settings_show_the_estimate_without_running(monkeypatch):
    monkeypatch.setattr(tab, "CONFIRM_SECONDS", 3.0)
    at = open_tab(sn_depth="200", sn_width="2048", sn_batch="8192", sn_configs="big|selu|||lecun|none|0")
    warning = next(w.value for w in at.warning if "TFLOP" in w.value)
    assert "MB" in warning
    assert at.button(key="sn_stacks_run")


def test_solver_errors_and_adding_the_solution():
    at = open_tab(**SMALL, sn_target_mean="2", sn_target_var="0.1")
    assert any("No solution" in e and "no SELU parameters" in e for e in errors(at))
    at = open_tab(**SMALL, sn_target_mean="0.2", sn_target_var="1.5", sn_configs="a|selu|||lecun|none|0")
    alpha = next(m.value for m in at.metric if m.label == "α")
    at.button(key="sn_add_solved").click().run()
    assert not at.exception
    names = list(summary(at)["configuration"])
    assert len(names) == 2 and names[1].startswith("SELU α=")
    exact = tab._solve(0.2, 1.5, "random", 0.0)[0].alpha
    assert float(alpha) == pytest.approx(exact, abs=1e-6)  # the metric: six decimals
    assert f"α = {exact!r}" in "\n".join(c.value for c in at.caption)  # the caption: every digit


def test_bad_link_values_give_a_notice_not_an_exception():
    at = open_tab(sn_depth="9999", sn_weights="sideways", sn_width="64", sn_batch="256")
    text = " ".join(w.value for w in at.warning)
    assert "sn_depth" in text and "sn_weights" in text
    assert at.number_input(key="sn_depth").value == 64
