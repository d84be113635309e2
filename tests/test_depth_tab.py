"""The Depth study tab through AppTest: estimate, start, live progress, stop, results, history, errors.

As in the Train tab's tests, AppTest cannot fire ``run_every`` fragments: each test
clicks Start, waits on the job found in the tab state, then reruns the script (what
the polling fragment triggers in a browser). Data are a small synthetic MNIST.
"""

from __future__ import annotations

import re
from functools import partial

import pytest
from streamlit.testing.v1 import AppTest

from selu_lab import data as mnist_data
from selu_lab import depth
from selu_lab.app import depth_tab, train_tab
from tests.test_train_tab import synthetic_mnist
from tests.util import open_tab, wait_for

TINY = {"ds_width": "16", "ds_steps": "20", "ds_depths": ["2", "3"], "ds_batch": "32", "ds_subset": "1k",
        "ds_strategies": ["SELU + LeCun", "ReLU + He + BatchNorm"]}


@pytest.fixture
def synthetic(monkeypatch):
    data = synthetic_mnist(n_train=1000, n_test=200)
    monkeypatch.setattr(mnist_data, "load_mnist", lambda *a, **k: data)
    train_tab.mnist.clear()
    yield data
    train_tab.mnist.clear()


open_app = partial(open_tab, "Depth study", 60)


def tab_state(at: AppTest) -> depth_tab.TabState:
    return at.session_state[depth_tab.STATE_KEY]



@pytest.fixture
def app(synthetic):
    at = open_app(**TINY)
    yield at
    job = tab_state(at).job
    if job is not None:
        job.stop()
        assert job.wait(15), f"{job} did not stop"


def texts(at: AppTest, kind: str) -> str:
    return "\n".join(str(e.value) for e in getattr(at, kind))


def specs(at: AppTest) -> str:
    return "".join(c.proto.spec for c in at.get("vega_lite_chart"))


def start_and_finish(at: AppTest) -> depth_tab.Study:
    finish(at)
    assert tab_state(at).studies
    return tab_state(at).studies[-1]


def finish(at: AppTest) -> None:
    """Click Start and rerun until the study has been harvested (a quick one may be by the click's rerun)."""
    n = len(tab_state(at).studies)
    at.button(key="ds_start").click().run()
    assert not at.exception, at.exception
    job = tab_state(at).job
    if job is not None:
        assert job.kind == depth_tab.KIND
        assert job.wait(60), job.snapshot()
        at.run()
        assert not at.exception, at.exception
    assert tab_state(at).job is None
    assert len(tab_state(at).studies) in (n, n + 1)


def test_defaults_follow_the_paper_and_the_estimate_is_shown(synthetic):
    at = open_app()
    assert at.radio(key="ds_arch").value == "mlp"
    assert at.multiselect(key="ds_depths").value == [8, 16, 32]
    assert at.multiselect(key="ds_strategies").value == ["selu", "elu", "relu", "relu_bn"]
    assert at.number_input(key="ds_width").value == 784 and at.selectbox(key="ds_opt").value == "sgd"
    assert at.selectbox(key="ds_batch").value == 128
    assert "**12 runs**, estimated" in texts(at, "caption")
    assert not at.button(key="ds_start").disabled


def test_a_tiny_study_finishes_with_results_reading_table_and_history(app):
    study = start_and_finish(app)
    result = study.result
    assert [(r.depth, r.strategy) for r in result.runs] == [(2, "selu"), (2, "relu_bn"), (3, "selu"),
                                                            (3, "relu_bn")]
    assert result.config.width == 16 and result.config.subset == 1000 and result.config.steps == 20
    assert "What the runs show." in texts(app, "markdown")
    assert depth.reading(result) in texts(app, "markdown")
    table = app.dataframe[0].value
    assert len(table) == 4 and set(table["label"]) == {"SELU + LeCun", "ReLU + He + BatchNorm"}
    all_specs = specs(app)
    assert "Training loss at learning rate 0.01" in all_specs
    assert "Activation variance per layer: SELU + LeCun, depth 3" in all_specs  # deepest SNN by default
    assert re.search(r'"domainMid":\s*1\b', all_specs)  # the variance scale is centred at 1
    assert app.selectbox(key=f"ds_inspect_{study.id}").value == 2
    # the runs joined the session's run history (the Train tab's table)
    history = app.session_state[train_tab.STATE_KEY].history
    assert len(history) == 4 and all("depth study" in r.settings["recipe"] for r in history)
    assert [r.final_train_loss for r in history] == pytest.approx([r.final_loss for r in result.runs])
    # inspecting another run redraws the layer charts for it
    app.selectbox(key=f"ds_inspect_{study.id}").set_value(1).run()
    assert not app.exception, app.exception
    assert "ReLU + He + BatchNorm, depth 2" in specs(app)
    app.selectbox(key="ds_heatmap").set_value("grad_norm").run()
    assert not app.exception, app.exception
    assert "Weight-gradient norm per layer: ReLU + He + BatchNorm, depth 2" in specs(app)
    app.toggle(key="ds_logy").set_value(False).run()
    assert not app.exception, app.exception


def test_live_progress_and_stop_keeps_the_finished_runs(app):
    app.number_input(key="ds_steps").set_value(3000).run()
    app.button(key="ds_start").click().run()
    st_state = tab_state(app)
    job = st_state.job
    assert wait_for(lambda: any(getattr(e, "kind", "") == "run_done" for e in job.events()), 60)
    assert wait_for(lambda: job.events()[-1].kind == "step" and job.events()[-1].run_index >= 1, 30)
    app.run()  # what the fragment shows meanwhile
    assert not app.exception, app.exception
    progress = app.get("progress")
    assert progress and re.search(r"Run [234] of 4", progress[0].proto.text)
    assert "ETA" in progress[0].proto.text and "step" in progress[0].proto.text
    assert "Finished runs so far" in specs(app)
    app.button(key="ds_stop").click().run()
    assert job.wait(15) and job.status == "stopped"
    app.run()
    assert not app.exception, app.exception
    result = st_state.studies[-1].result
    assert result.stopped and len(result.runs) == 1 and result.runs[0].strategy == "selu"
    assert "stopped after 1 of 4 runs" in texts(app, "info")
    app.button(key="ds_dismiss").click().run()
    assert "stopped after" not in texts(app, "info")


def test_a_sweep_offers_the_best_rate_view(app):
    app.toggle(key="ds_sweep").set_value(True).run()
    app.number_input(key="ds_lr_min").set_value(0.01).run()
    app.number_input(key="ds_lr_max").set_value(0.1).run()
    app.selectbox(key="ds_lr_n").set_value(2).run()
    assert "**8 runs**" in texts(app, "caption")
    study = start_and_finish(app)
    assert study.result.config.lrs == (0.01, 0.1)
    assert "Final loss against learning rate" in specs(app)
    app.radio(key="ds_view").set_value("best").run()
    assert not app.exception, app.exception
    assert "each strategy at its best rate" in specs(app)
    assert "each strategy at its own best of the learning rates 0.01, 0.1" in texts(app, "markdown")


def test_bad_settings_explain_and_disable_start(app):
    app.multiselect(key="ds_strategies").set_value([]).run()
    assert "choose at least one strategy" in texts(app, "error")
    assert app.button(key="ds_start").disabled
    app.multiselect(key="ds_strategies").set_value(["tanh"]).run()
    app.toggle(key="ds_sweep").set_value(True).run()
    app.number_input(key="ds_lr_min").set_value(0.2).run()
    app.number_input(key="ds_lr_max").set_value(0.1).run()
    assert "must be below" in texts(app, "error") and app.button(key="ds_start").disabled


def test_bad_link_values_become_a_notice(synthetic):
    at = open_app(ds_depths=["8", "99"], ds_opt="rmsprop", ds_nope="1")
    warning = texts(at, "warning")
    assert "ds_depths" in warning and "ds_opt" in warning and "unknown setting `ds_nope`" in warning
    assert at.selectbox(key="ds_opt").value == "sgd"


def test_missing_dataset_is_a_message(app, monkeypatch):
    message = "MNIST not found: expected its four files in /nowhere or /nowhere/MNIST/raw"

    def missing(*args, **kwargs):
        raise mnist_data.DataError(message)

    monkeypatch.setattr(mnist_data, "load_mnist", missing)
    train_tab.mnist.clear()
    finish(app)
    assert message in texts(app, "error") and not tab_state(app).studies


def test_config_from_values():
    values = {"arch": "cnn", "depths": [4, 2], "strategies": ["elu", "selu"], "width": 784, "channels": 8,
              "steps": 50, "lr": 0.02, "sweep": False, "lr_min": 0.001, "lr_max": 0.1, "lr_n": 3,
              "optimizer": "adam", "batch_size": 64, "subset": 60_000, "seed": 3, "alpha_dropout": 0.05}
    cfg = depth_tab.config_from_values(values)
    assert (cfg.arch, cfg.depths, cfg.width, cfg.lrs, cfg.subset, cfg.alpha_dropout) == (
        "cnn", (2, 4), 8, (0.02,), None, 0.05)
    cfg = depth_tab.config_from_values({**values, "sweep": True, "strategies": ["elu"]})
    assert cfg.lrs == (0.001, 0.01, 0.1) and cfg.alpha_dropout == 0.0
    with pytest.raises(ValueError, match="width for cnn"):
        depth_tab.config_from_values({**values, "channels": 999})


def test_the_train_tab_shows_the_study_runs_in_its_history(app):
    study = start_and_finish(app)
    app.query_params["tab"] = "Train on MNIST"
    app.run()
    assert not app.exception, app.exception
    assert not [e for e in app.error if "could not be drawn" in str(e.value)]
    history = app.session_state[train_tab.STATE_KEY].history
    app.multiselect(key="tr_show").set_value(history.ids[:2]).run()
    assert not app.exception, app.exception
    assert not [e for e in app.error if "could not be drawn" in str(e.value)]
    table = app.dataframe[0].value
    assert list(table["final train loss"]) == pytest.approx([r.final_loss for r in study.result.runs[:2]])
    assert "depth study: dense depth 2" in table["recipe"].iloc[0]
