"""The Train on MNIST tab through AppTest: start, live state, stop, run limit, session end, failures.

AppTest cannot fire ``run_every`` fragments, so each test clicks through the app's
own code path, waits on the job the click queued (found in the tab state), then
reruns the script, which is what the polling fragment triggers in a browser.
All AppTests of a process share one session id, hence one session worker; each
test leaves it idle. Training data are a small synthetic MNIST (learnable bars).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pytest
import torch
from streamlit.runtime.caching import clear_session_resource_cache
from streamlit.testing.v1 import AppTest

from selu_lab import data as mnist_data
from selu_lab import jobs
from selu_lab import train as trainer
from selu_lab.app import train_tab
from selu_lab.history import Run
from tests.util import open_tab, wait_for

SESSION_ID = "test session id"  # AppTest's fixed session id


def synthetic_mnist(n_train: int = 1000, n_test: int = 300, seed: int = 0) -> mnist_data.MnistData:
    """Digits drawn as a bright bar whose row depends on the label, on noise: easy to learn."""
    gen = torch.Generator().manual_seed(seed)

    def split(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.randperm(n, generator=gen) % 10
        images = torch.randint(0, 60, (n, 28, 28), generator=gen).to(torch.uint8)
        for k in range(10):
            images[labels == k, 3 + 2 * k: 5 + 2 * k, 4:24] = 255
        return images, labels.to(torch.int64)

    return mnist_data.MnistData(*split(n_train), *split(n_test), source="synthetic")


LOADS: list[int] = []  # one entry per (patched) MNIST load


@pytest.fixture
def synthetic(monkeypatch):
    data = synthetic_mnist()

    def load(*args, **kwargs):
        LOADS.append(1)
        return data

    LOADS.clear()
    monkeypatch.setattr(mnist_data, "load_mnist", load)
    train_tab.mnist.clear()
    yield data
    train_tab.mnist.clear()


open_app = partial(open_tab, "Train on MNIST", 30)


def tab_state(at: AppTest) -> train_tab.TabState:
    return at.session_state[train_tab.STATE_KEY]


def only_job(at: AppTest) -> jobs.Job:
    pending = list(tab_state(at).jobs.values())
    assert len(pending) == 1, pending
    return pending[0]



@pytest.fixture
def app(synthetic):
    at = open_app(tr_subset="1k", tr_epochs=2)
    yield at
    st_state = tab_state(at)
    for job in st_state.jobs.values():
        job.stop()
    for job in st_state.jobs.values():
        assert job.wait(15), f"{job} did not stop"


def texts(at: AppTest, kind: str) -> str:
    return "\n".join(str(e.value) for e in getattr(at, kind))


def test_a_tiny_run_finishes_and_lands_in_the_history(app):
    assert app.selectbox(key="tr_subset").value == 1000 and app.number_input(key="tr_epochs").value == 2
    assert "Overrides of the seed recipe: epochs 2" in texts(app, "caption")
    app.button(key="tr_start").click().run()
    assert not app.exception, app.exception
    job = only_job(app)
    assert job.kind == train_tab.KIND and job.meta.subset == 1000 and job.meta.epochs == 2
    assert job.label == "#1 SELU · custom · 1k×2"  # epochs overridden: no longer the seed recipe
    assert app.button(key="tr_stop")  # the live section is up while it runs
    assert "Queued next" not in texts(app, "caption")  # starting or running, a lone run is not queued
    assert job.wait(30), job.snapshot()
    app.run()
    assert not app.exception, app.exception
    st_state = tab_state(app)
    assert not st_state.jobs and len(st_state.history) == 1
    run = st_state.history.runs[0]
    assert run.status == "finished" and run.settings["recipe"] == "custom"
    assert len(run.losses) == 2 * 16 and len(run.epochs) == 2
    assert np.mean(run.losses[-4:]) < 0.7 * np.mean(run.losses[:4])  # the loss falls
    assert run.epochs[-1]["train_loss"] < run.epochs[0]["train_loss"]
    assert run.test_accuracy is not None and run.confusion.shape == (10, 10)
    # the history section: overlay, table, details with the confusion heatmap and gallery
    table = app.dataframe[0].value
    assert list(table["run"]) == [run.name] and table["status"].iloc[0] == "finished"
    assert app.multiselect(key="tr_show").value == [run.id]
    assert app.selectbox(key="tr_inspect").value == run.id
    specs = "".join(c.proto.spec for c in app.get("vega_lite_chart"))
    assert "Confusion matrix" in specs and "Accuracy per digit" in specs
    assert "assignment reference" not in specs  # only beside seed-recipe runs
    assert "Train on MNIST" in [t.label for t in app.tabs]
    assert table["init"].iloc[0] == "PyTorch default" and list(table.columns[2:4]) == [
        "test accuracy", "final train loss"]  # labels, and the metrics first
    # the download caption gives a call that loads this run's weights as they are offered
    call = re.search(r'load_weights\("(selu_lab_run1_selu_weights\.pt)", (TrainConfig\(.*?\))\)',
                     texts(app, "caption"))
    assert call, texts(app, "caption")
    from selu_lab.train import TrainConfig, load_weights

    model = load_weights(run.result.save_weights(), eval(call.group(2), {"TrainConfig": TrainConfig}))
    assert torch.equal(model.state_dict()["fc2.weight"], run.result.state_dict["fc2.weight"])
    # a second run reuses the MNIST tensors already loaded in this process
    app.button(key="tr_start").click().run()
    second = only_job(app)
    assert wait_for(lambda: second.n_events >= 1)
    second.stop()
    assert second.wait(10)
    app.run()
    assert len(LOADS) == 1
    assert [r.status for r in st_state.history.runs] == ["finished", "stopped"]


def test_compare_queues_three_activations_that_run_one_after_another(app):
    app.button(key="tr_compare").click().run()
    assert not app.exception, app.exception
    st_state = tab_state(app)
    queued = list(st_state.jobs.values())
    assert [j.meta.activation for j in queued] == ["selu", "elu", "relu"]
    assert len({(j.meta.lr, j.meta.subset, j.meta.epochs, j.meta.seed) for j in queued}) == 1
    assert "Queued next" in texts(app, "caption")
    for job in queued:
        job.stop()  # the first stops within a batch, the others never start
    assert all(j.wait(15) for j in queued)
    app.run()
    assert not app.exception and not tab_state(app).jobs


def test_stop_keeps_the_partial_run_marked_stopped(app):
    app.number_input(key="tr_epochs").set_value(40).run()
    app.button(key="tr_start").click().run()
    job = only_job(app)
    assert wait_for(lambda: job.n_events >= 5)
    app.run()  # what the fragment shows meanwhile: progress and the live chart
    assert not app.exception, app.exception
    progress = app.get("progress")
    assert progress and "images/s" in progress[0].proto.text and "ETA" in progress[0].proto.text
    assert any('"live_hover"' in c.proto.spec for c in app.get("vega_lite_chart"))
    app.button(key="tr_stop").click().run()
    assert job.wait(10) and job.status == "stopped"
    app.run()
    assert not app.exception, app.exception
    run = tab_state(app).history.runs[0]
    assert run.status == "stopped" and "stopped on request" in run.message
    assert 5 <= len(run.losses) < 40 * 16
    assert run.result is not None and run.confusion is not None  # evaluated as it was
    assert app.dataframe[0].value["status"].iloc[0] == "stopped"


def test_a_second_session_waits_for_the_run_slot(app):
    slot = jobs.shared_slot()
    if slot.limit != 1:
        pytest.skip(f"{jobs.MAX_RUNS_ENV} sets {slot.limit} runs")
    other = jobs.Worker(slot=slot, name="other-session")  # another browser session's worker
    started = threading.Event()

    def hold(emit, stop):
        started.set()
        stop.wait(30)

    try:
        held = other.submit("other session's run", hold)
        assert started.wait(5)
        app.button(key="tr_start").click().run()
        job = only_job(app)
        assert wait_for(lambda: job.status == "waiting", 5)
        app.run()
        assert not app.exception, app.exception
        assert jobs.WAITING_MESSAGE in texts(app, "info")
        time.sleep(0.3)
        assert job.status == "waiting" and job.n_events == 0
        held.stop()
        assert job.wait(30) and job.status == "finished"
        app.run()
        assert tab_state(app).history.runs[0].status == "finished"
    finally:
        other.close(timeout=5)


def test_session_end_stops_the_worker_within_seconds(app):
    app.number_input(key="tr_epochs").set_value(40).run()
    app.button(key="tr_start").click().run()
    job = only_job(app)
    assert wait_for(lambda: job.n_events >= 3)
    t0 = time.monotonic()
    clear_session_resource_cache(SESSION_ID)  # what Streamlit does when the session disconnects
    assert time.monotonic() - t0 < 1.0  # on_release does not block the server
    assert job.wait(5), "the run did not stop within 5 s of the session ending"
    assert job.status == "stopped"
    assert wait_for(lambda: not any(t.name == "selu-lab-train" and t.is_alive()
                                    for t in threading.enumerate()), 5), "orphan worker thread"
    # a reconnecting session gets a fresh worker; the stopped run is kept
    app.run()
    assert not app.exception, app.exception
    assert tab_state(app).history.runs[0].status == "stopped"


def test_missing_dataset_shows_the_message_and_keeps_earlier_runs(app, monkeypatch):
    earlier = Run("earlier", "#0 earlier run", {"activation": "elu"}, status="finished")
    tab_state(app).history.add(earlier)
    message = "MNIST not found: expected its four files in /nowhere or /nowhere/MNIST/raw"

    go = threading.Event()  # fail only once the test has seen the job

    def missing(*args, **kwargs):
        go.wait(10)
        raise mnist_data.DataError(message)

    monkeypatch.setattr(mnist_data, "load_mnist", missing)
    train_tab.mnist.clear()
    app.button(key="tr_start").click().run()
    job = only_job(app)
    go.set()
    assert job.wait(10) and job.status == "failed" and job.error == message
    app.run()
    assert not app.exception, app.exception
    assert message in texts(app, "error")
    assert tab_state(app).history.ids == ["earlier"]
    app.button(key="tr_dismiss").click().run()
    assert message not in texts(app, "error")


@dataclass
class FakeResult:
    """What a diverged trainer returns, as far as the tab reads it."""

    status: str
    reason: str
    batch_losses: list[float]
    epochs: list = field(default_factory=list)
    test_accuracy: float = 0.1
    elapsed: float = 0.5
    images_per_s: float = 100.0


def test_divergence_and_crashes_show_messages(app, monkeypatch):
    go = threading.Event()  # the fakes finish only once the test has seen their job

    def diverging(config, data, on_event=None, stop=None):
        go.wait(10)
        for step, loss in enumerate([2.3, 5.0], start=1):
            on_event(trainer.BatchEvent(1, step, 16, step, 32, loss, 100.0, 0.1 * step))
        return FakeResult("diverged", "training diverged: the loss became nan at epoch 1, batch 3",
                          [2.3, 5.0, float("nan")])

    monkeypatch.setattr(trainer, "train", diverging)
    app.button(key="tr_start").click().run()
    job = only_job(app)
    go.set()
    assert job.wait(10) and job.status == "diverged"
    app.run()
    assert not app.exception, app.exception
    assert "training diverged" in texts(app, "warning")
    run = tab_state(app).history.runs[0]
    assert run.status == "diverged" and run.losses[:2] == [2.3, 5.0]  # kept up to the divergence

    def crashing(config, data, on_event=None, stop=None):
        go.wait(10)
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    go.clear()
    monkeypatch.setattr(trainer, "train", crashing)
    app.button(key="tr_start").click().run()
    job = only_job(app)
    go.set()
    assert job.wait(10) and job.status == "failed"
    app.run()
    assert not app.exception, app.exception
    assert "RuntimeError: mat1 and mat2 shapes cannot be multiplied" in texts(app, "error")
    assert [r.status for r in tab_state(app).history.runs] == ["diverged"]


def test_a_bad_value_in_a_fast_recipe_link_falls_back_to_the_recipes_value(synthetic):
    at = open_app(tr_recipe="fast", tr_init="he")  # the URL wants the label, "He"
    assert at.selectbox(key="tr_init").value == "lecun"  # the fast recipe's init, not the seed's
    notices = "\n".join(w.value for w in at.warning)
    assert "tr_init=he" in notices and "using the default (LeCun)" in notices
    assert "Overrides" not in texts(at, "caption")  # still the fast recipe, not 'custom'


def test_fast_recipe_link_fills_in_the_recipe_values(synthetic):
    at = open_app(tr_recipe="fast", tr_epochs=1)
    assert at.radio(key="tr_recipe").value == "fast"
    assert at.selectbox(key="tr_batch").value == 128 and at.selectbox(key="tr_init").value == "lecun"
    assert at.number_input(key="tr_epochs").value == 1  # the link's value wins
    at.radio(key="tr_recipe").set_value("seed").run()
    assert at.selectbox(key="tr_batch").value == 64 and at.number_input(key="tr_epochs").value == 5
    assert train_tab.config_from_values(
        {**{n: getattr(trainer.recipe_config("seed"), n) for n in train_tab.RECIPE_FIELDS},
         "recipe": "seed", "activation": "elu", "subset": 60_000, "seed": 3}).recipe == "seed"
    with pytest.raises(ValueError, match="lr"):
        train_tab.config_from_values({**{n: getattr(trainer.recipe_config("seed"), n)
                                         for n in train_tab.RECIPE_FIELDS},
                                      "lr": 0.0, "recipe": "seed", "activation": "elu", "subset": 1000,
                                      "seed": 0})


def test_overlay_reference_and_delete_runs(app):
    st_state = tab_state(app)
    for rid, recipe in (("a", "seed"), ("b", "fast")):
        run = Run(rid, f"run {rid}", {"activation": "selu", "recipe": recipe}, status="finished")
        run.ingest([trainer.BatchEvent(1, i, 10, i, 10, 2.0 / i, 100.0, 0.1 * i) for i in range(1, 11)])
        st_state.history.add(run)
    app.run()
    app.multiselect(key="tr_show").set_value(["b"]).run()
    specs = "".join(c.proto.spec for c in app.get("vega_lite_chart"))
    assert "assignment reference" not in specs
    app.multiselect(key="tr_show").set_value(["a"]).run()
    specs = "".join(c.proto.spec for c in app.get("vega_lite_chart"))
    assert "assignment reference" in specs  # beside the seed-recipe run
    app.button(key="tr_delete").click().run()
    assert not app.exception, app.exception
    assert st_state.history.ids == ["b"]
