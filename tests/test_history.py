"""The run-history model (bounded series, frames, table, delete) and the training charts built on it."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from selu_lab import history
from selu_lab.charts import training as charts
from selu_lab.history import Run, RunHistory


@dataclass
class Batch:
    epoch: int
    batch: int
    batches_per_epoch: int
    step: int
    total_steps: int
    loss: float
    images_per_s: float = 1000.0
    elapsed: float = 1.0


@dataclass
class Epoch:
    epoch: int
    epochs: int
    train_loss: float
    test_loss: float
    test_accuracy: float
    images_per_s: float = 1000.0
    elapsed: float = 2.0


@dataclass
class Result:
    status: str
    reason: str = ""
    batch_losses: list = field(default_factory=list)
    epochs: list = field(default_factory=list)
    test_accuracy: float = 0.9
    per_class_accuracy: list = field(default_factory=lambda: [0.9] * 10)
    confusion: np.ndarray = field(default_factory=lambda: np.eye(10, dtype=np.int64) * 9 + 1)
    misclassified_indices: list = field(default_factory=lambda: [4, 8])
    misclassified_preds: list = field(default_factory=lambda: [3, 1])
    misclassified_labels: list = field(default_factory=lambda: [5, 7])
    elapsed: float = 12.5
    images_per_s: float = 2345.0


def events(epochs: int, bpe: int, upto: int | None = None, seed: int = 0):
    """Batch events with a falling noisy loss, and an epoch event after each epoch."""
    rng = np.random.default_rng(seed)
    total = epochs * bpe
    out = []
    for step in range(1, (upto or total) + 1):
        epoch, batch = (step - 1) // bpe + 1, (step - 1) % bpe + 1
        loss = 2.3 * math.exp(-step / (total / 3)) + 0.05 + 0.1 * rng.random()
        out.append(Batch(epoch, batch, bpe, step, total, loss, elapsed=step * 0.01))
        if batch == bpe:
            out.append(Epoch(epoch, epochs, loss, loss * 1.1, 0.8 + 0.03 * epoch, elapsed=step * 0.01))
    return out


def make_run(rid="r1", activation="selu", n_epochs=3, bpe=20, upto=None):
    run = Run(rid, f"#{rid} {activation}", {"activation": activation, "epochs": n_epochs, "batch_size": 64,
                                             "lr": 1e-3, "recipe": "seed", "subset": 1000, "seed": 0})
    run.ingest(events(n_epochs, bpe, upto))
    return run


def test_downsample_keeps_at_most_max_points_and_the_extremes():
    rng = np.random.default_rng(1)
    y = rng.normal(size=100_000)
    y[54_321] = 50.0
    y[77_777] = -50.0
    keep = history.downsample_indices(y, 2000)
    assert len(keep) <= 2000
    assert keep[0] == 0 and keep[-1] == len(y) - 1
    assert 54_321 in keep and 77_777 in keep
    assert np.all(np.diff(keep) > 0)
    assert list(history.downsample_indices(y[:50], 2000)) == list(range(50))
    with pytest.raises(ValueError, match="max_points"):
        history.downsample_indices(y, 2)


def test_downsample_survives_non_finite_values():
    y = np.linspace(1, 0, 10_000)
    y[5000:6000] = np.nan
    y[-1] = np.inf
    keep = history.downsample_indices(y, 500)
    assert len(keep) <= 500


def test_smooth_is_a_debiased_average():
    flat = history.smooth([2.0] * 100, 10)
    assert np.allclose(flat, 2.0)  # no bias towards 0 at the start
    noisy = history.smooth(np.r_[np.ones(500), np.zeros(500)], 20)
    assert noisy[499] == pytest.approx(1.0) and noisy[-1] < 0.01 and 0 < noisy[510] < 1
    assert history.smoothing_window(4690, 4690) == 117
    assert history.smoothing_window(None, 40) == 5


def test_run_ingests_events_and_reports_progress():
    run = make_run(upto=30)
    assert run.status == "running"
    assert len(run.losses) == 30 and run.steps == list(range(1, 31))
    assert len(run.epochs) == 1 and run.epochs[0]["epoch"] == 1
    p = run.progress()
    assert p["step"] == 30 and p["total_steps"] == 60 and p["fraction"] == pytest.approx(0.5)
    assert p["epoch"] == 2 and p["batch"] == 10 and p["eta"] == pytest.approx(0.3)
    assert run.n_events == 31
    assert Run("x", "x", {}).progress()["fraction"] == 0.0


def test_loss_frame_is_bounded_however_long_the_run():
    run = make_run(n_epochs=50, bpe=938)  # ~47 000 batches
    frame = run.loss_frame()
    assert len(frame) <= history.MAX_POINTS
    assert list(frame.columns) == list(history.LOSS_COLUMNS)
    assert frame["epoch"].iloc[-1] == pytest.approx(50.0)
    assert frame["smooth"].iloc[-1] < frame["smooth"].iloc[0]
    assert (frame["run_id"] == "r1").all() and (frame["function"] == "SELU").all()
    small = make_run(n_epochs=1, bpe=10).loss_frame()
    assert len(small) == 10


def test_finish_takes_the_result_and_keeps_partial_runs():
    run = make_run(upto=25)
    res = Result("stopped", "stopped on request", batch_losses=list(run.losses),
                 epochs=[e for e in events(3, 20, 25) if isinstance(e, Epoch)])
    run.finish("stopped", "stopped on request", res)
    assert run.status == "stopped" and run.result is res
    assert len(run.losses) == 25
    assert run.confusion.shape == (10, 10)
    assert list(run.misclassified["pred"]) == [3, 1] and list(run.misclassified["label"]) == [5, 7]
    # stopped mid-epoch 2: the final train loss is the mean of epoch 2's batches so far
    assert run.final_train_loss == pytest.approx(np.mean(run.losses[20:25]))
    cm = run.confusion_frame()
    assert len(cm) == 100 and cm["share"].between(0, 1).all()
    per_class = run.per_class_frame()
    assert list(per_class["digit"]) == list(range(10)) and (per_class["count"] == 19).all()


def test_finished_run_uses_the_reported_epoch_loss():
    run = make_run()
    run.finish("finished", "", Result("finished", epochs=[e for e in events(3, 20) if isinstance(e, Epoch)]))
    assert run.final_train_loss == run.epochs[-1]["train_loss"]
    row = run.summary()
    assert list(row) == list(history.TABLE_COLUMNS)
    assert row["activation"] == "SELU" and row["test accuracy"] == 0.9 and row["images/s"] == 2345.0


def test_failed_run_without_result():
    run = make_run(upto=3)
    run.finish("failed", "boom")
    assert run.status == "failed" and run.result is None and run.confusion_frame().empty
    assert run.per_class_frame().empty


def test_history_add_select_table_delete():
    h = RunHistory()
    for rid, act in [("a", "selu"), ("b", "elu"), ("c", "relu")]:
        h.add(make_run(rid, act))
    assert len(h) == 3 and h.ids == ["a", "b", "c"] and "b" in h
    assert [h.next_number(), h.next_number()] == [1, 2]
    table = h.table()
    assert list(table["activation"]) == ["SELU", "ELU", "ReLU"]
    assert len(h.loss_frame(["a", "c"])["run_id"].unique()) == 2
    assert set(h.epoch_frame()["run_id"]) == {"a", "b", "c"}
    assert h.remove(["b", "zzz"]) == ["b"]
    assert h.ids == ["a", "c"] and h.get("b") is None
    empty = RunHistory()
    assert empty.table().empty and empty.loss_frame().empty and empty.epoch_frame().empty


def _json(spec: dict) -> str:
    """The spec as Streamlit would send it: datasets as records (they are DataFrames here)."""
    assert spec["datasets"] and all(hasattr(f, "to_dict") for f in spec["datasets"].values())
    json.dumps({k: v for k, v in spec.items() if k != "datasets"}, allow_nan=False)
    data = {k: f.astype(object).where(f.notna(), None).to_dict("records")
            for k, f in spec["datasets"].items()}
    return json.dumps({**spec, "datasets": data}, allow_nan=False)


def test_charts_build_valid_specs():
    h = RunHistory()
    h.add(make_run("a", "selu"))
    h.add(make_run("b", "elu"))
    run = h.get("a")
    run.finish("finished", "", Result("finished"))
    live = _json(charts.live_chart(run.loss_frame(), run.epoch_frame(), "selu", total_epochs=3))
    assert "#d62728" in live  # SELU's registry colour
    assert "opacity" in live and "tooltip" in live and "independent" in live
    ref = history.reference_frame((0.2154, 0.0901, 0.0602, 0.0453, 0.0351))
    loss_spec, acc_spec = charts.overlay_charts(h.loss_frame(), h.epoch_frame(), ref)
    overlay = _json(loss_spec)
    assert "#1f77b4" in overlay and "assignment reference" in overlay and "0.2154" in overlay
    _json(acc_spec)
    no_ref, _ = charts.overlay_charts(h.loss_frame(), h.epoch_frame(), None)
    assert "assignment reference" not in _json(no_ref)
    assert '"count": 10' in _json(charts.confusion_chart(run.confusion_frame()))
    _json(charts.per_class_chart(run.per_class_frame()))


def test_live_chart_before_the_first_epoch_and_with_nan_accuracy():
    run = make_run(upto=5)
    _json(charts.live_chart(run.loss_frame(), run.epoch_frame(), "selu", total_epochs=3))
    empty = Run("x", "x", {"activation": "relu"})
    spec = charts.live_chart(empty.loss_frame(), empty.epoch_frame(), "relu", total_epochs=1)
    assert spec["datasets"]["loss"].empty
    done = make_run()
    done.finish("finished", "", Result("finished", per_class_accuracy=[float("nan")] + [0.9] * 9))
    _json(charts.per_class_chart(done.per_class_frame()))


def test_live_chart_gets_the_same_numbers_without_the_label_columns():
    run = make_run()
    full = charts.live_chart(run.loss_frame(), run.epoch_frame(), "selu", total_epochs=3)
    lean = charts.live_chart(run.loss_frame(labels=False), run.epoch_frame(labels=False), "selu",
                             total_epochs=3)
    for name in ("loss", "epochs"):
        pd.testing.assert_frame_equal(full["datasets"][name], lean["datasets"][name])
    assert list(run.loss_frame(labels=False).columns) == list(history.LOSS_COLUMNS[4:])
    assert list(Run("x", "x", {}).epoch_frame(labels=False).columns) == list(history.EPOCH_COLUMNS[4:])


def _data_names(spec: object) -> set[str]:
    if isinstance(spec, dict):
        data = spec.get("data")
        here = {data["name"]} if isinstance(data, dict) and "name" in data else set()
        return here.union(*(_data_names(v) for k, v in spec.items() if k != "datasets"))
    if isinstance(spec, list):
        return set().union(*(_data_names(v) for v in spec))
    return set()


def test_every_dataset_a_training_chart_names_is_shipped():
    run = make_run()
    live = charts.live_chart(run.loss_frame(labels=False), run.epoch_frame(labels=False), "selu",
                             total_epochs=3)  # the epoch rules are the template's own inline data
    loss_spec, acc_spec = charts.overlay_charts(run.loss_frame(), run.epoch_frame(), None)
    for spec in (live, loss_spec, acc_spec):
        assert _data_names(spec) <= set(spec["datasets"])


def test_misclassified_from_a_result_object():
    @dataclass
    class Mis:
        indices: np.ndarray
        preds: np.ndarray
        labels: np.ndarray
        confidence: np.ndarray

    @dataclass
    class Res:
        status: str = "finished"
        misclassified: Mis = field(default_factory=lambda: Mis(np.array([7, 9]), np.array([1, 2]),
                                                               np.array([3, 4]), np.array([0.9, 0.6])))

    run = make_run()
    run.finish("finished", "", Res())
    assert run.misclassified.to_dict("list") == {"index": [7, 9], "pred": [1, 2], "label": [3, 4],
                                                 "confidence": [0.9, 0.6]}
