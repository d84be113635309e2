"""The run history of one app session: runs with their settings, live progress and results.

A :class:`Run` is filled from a training job's events while it runs
(:meth:`Run.ingest`) and completed from its result (:meth:`Run.finish`). A
:class:`RunHistory` keeps a session's finished, stopped and diverged runs in
order. The tab draws everything from the DataFrames built here, and everything
sent to the browser is bounded: :func:`loss_frame` keeps at most ``max_points``
rows per run (min/max decimation, so spikes survive) however long a run trains.

Events and results are read by attribute name (``train.BatchEvent``,
``train.EpochEvent``, ``train.TrainResult``), so this module does not import
the trainer and works with any object that has those fields.

No Streamlit here; the depth-study tab may reuse :func:`downsample_indices` and
:func:`smooth`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from selu_lab.activations import SPECS

MAX_POINTS = 2000
# the settings shown in the table, in order, with their column titles
SETTING_COLUMNS: dict[str, str] = {
    "activation": "activation",
    "init": "init",
    "recipe": "recipe",
    "epochs": "epochs",
    "batch_size": "batch",
    "lr": "lr",
    "optimizer": "optimizer",
    "schedule": "schedule",
    "dropout": "dropout",
    "dropout_rate": "dropout rate",
    "standardize": "standardize",
    "subset": "train images",
    "seed": "seed",
}
TABLE_COLUMNS = ("run", "status", *SETTING_COLUMNS.values(), "final train loss", "test accuracy",
                 "time (s)", "images/s")
LOSS_COLUMNS = ("run_id", "run", "activation", "function", "step", "epoch", "loss", "smooth")
EPOCH_COLUMNS = ("run_id", "run", "activation", "function", "epoch", "train_loss", "test_loss",
                 "test_accuracy", "elapsed", "images_per_s")


def activation_label(name: str) -> str:
    """'SELU' for 'selu' (the registry's label; the name itself if unknown)."""
    spec = SPECS.get(name)
    return spec.label if spec is not None else str(name)


# --- series helpers ----------------------------------------------------------
def smoothing_window(total_steps: int | None, n: int) -> int:
    """How many batches the smoothed loss averages over: ~1/40 of the run, in [5, 200]."""
    base = total_steps if total_steps else n
    return int(min(200, max(5, round(base / 40))))


def smooth(values: Sequence[float] | np.ndarray, window: int) -> np.ndarray:
    """Debiased exponential moving average with time constant ``window`` (as TensorBoard's)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0 or window <= 1:
        return x.copy()
    w = 1.0 - 1.0 / window
    ema = lfilter([1.0 - w], [1.0, -w], x)
    debias = 1.0 - w ** np.arange(1, x.size + 1)
    return ema / debias


def downsample_indices(values: Sequence[float] | np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most ``max_points`` values that keep the shape: each bucket's min and max.

    The first and last index are always kept; all indices are returned if they fit.
    """
    y = np.asarray(values, dtype=np.float64)
    n = y.size
    if max_points < 4:
        raise ValueError(f"max_points must be ≥ 4, got {max_points}")
    if n <= max_points:
        return np.arange(n)
    buckets = (max_points - 2) // 2
    size = math.ceil(n / buckets)
    nb = math.ceil(n / size)
    padded = np.full(nb * size, np.nan)
    padded[:n] = np.where(np.isfinite(y), y, np.nan)
    grid = padded.reshape(nb, size)
    valid = ~np.all(np.isnan(grid), axis=1)
    starts = np.arange(nb) * size
    filled_lo = np.where(np.isnan(grid), np.inf, grid)
    filled_hi = np.where(np.isnan(grid), -np.inf, grid)
    lo = starts + np.argmin(filled_lo, axis=1)
    hi = starts + np.argmax(filled_hi, axis=1)
    keep = np.concatenate([[0, n - 1], lo[valid], hi[valid]])
    return np.unique(keep)


# --- one run -------------------------------------------------------------------
@dataclass
class Run:
    """One training run of the session: settings, what it reported so far, and its result."""

    id: str
    name: str
    settings: dict[str, Any]
    status: str = "queued"
    message: str = ""
    created: float = field(default_factory=time.time)
    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    epochs: list[dict[str, float]] = field(default_factory=list)
    last_batch: dict[str, float] | None = None
    batches_per_epoch: int | None = None
    total_steps: int | None = None
    test_accuracy: float | None = None
    elapsed: float | None = None
    images_per_s: float | None = None
    per_class_accuracy: list[float] | None = None
    confusion: np.ndarray | None = None
    misclassified: pd.DataFrame | None = None
    result: Any = None
    n_events: int = 0  # how many of the job's events were read (the next ingest starts there)

    # --- filling ------------------------------------------------------------
    @property
    def activation(self) -> str:
        return str(self.settings.get("activation", ""))

    @property
    def function(self) -> str:
        """The activation's display label."""
        return activation_label(self.activation)

    @property
    def done(self) -> bool:
        return self.status in ("finished", "stopped", "diverged", "failed")

    def ingest(self, events: Iterable[Any]) -> None:
        """Add batch events (``loss``, ``step``, …) and epoch events (``test_accuracy``, …)."""
        for ev in events:
            self.n_events += 1
            if hasattr(ev, "test_accuracy"):
                self.epochs.append(_epoch_row(ev, self.batches_per_epoch))
                self.elapsed = float(ev.elapsed)
            elif hasattr(ev, "loss") and hasattr(ev, "step"):
                self.steps.append(int(ev.step))
                self.losses.append(float(ev.loss))
                self.batches_per_epoch = int(ev.batches_per_epoch)
                self.total_steps = int(ev.total_steps)
                self.last_batch = {k: float(getattr(ev, k)) for k in (
                    "epoch", "batch", "batches_per_epoch", "step", "total_steps", "loss",
                    "images_per_s", "elapsed")}
                self.images_per_s = float(ev.images_per_s)
                self.elapsed = float(ev.elapsed)
        if self.status in ("queued", "waiting") and (self.steps or self.epochs):
            self.status = "running"

    def finish(self, status: str, message: str = "", result: Any = None) -> None:
        """Complete the run from the job's end state and its result (a TrainResult or None)."""
        self.status = status
        self.message = message
        if result is None:
            return
        self.result = result
        losses = getattr(result, "batch_losses", None)
        if losses is not None and len(losses) >= len(self.losses):
            self.losses = [float(v) for v in losses]
            self.steps = list(range(1, len(self.losses) + 1))
        epochs = getattr(result, "epochs", None)
        if epochs is not None and len(epochs) >= len(self.epochs):
            self.epochs = [_epoch_row(ev, self.batches_per_epoch) for ev in epochs]
        for name in ("test_accuracy", "elapsed", "images_per_s"):
            value = getattr(result, name, None)
            if value is not None:
                setattr(self, name, float(value))
        per_class = getattr(result, "per_class_accuracy", None)
        if per_class is not None:
            self.per_class_accuracy = [float(v) for v in _as_list(per_class)]
        confusion = getattr(result, "confusion", None)
        if confusion is not None:
            self.confusion = np.asarray(_as_list(confusion), dtype=np.int64)
        self.misclassified = _misclassified_frame(result)

    # --- reading ------------------------------------------------------------
    @property
    def final_train_loss(self) -> float | None:
        """Mean train loss of the last epoch: as reported, or over its batches run so far if cut short."""
        if self.status == "finished" and self.epochs:
            return float(self.epochs[-1]["train_loss"])
        bpe = self.batches_per_epoch
        if bpe and self.steps and self.steps[-1] > len(self.epochs) * bpe:
            start = len(self.epochs) * bpe
            tail = [v for s, v in zip(self.steps, self.losses, strict=True) if s > start and math.isfinite(v)]
            if tail:
                return float(np.mean(tail))
        if self.epochs:
            return float(self.epochs[-1]["train_loss"])
        return None

    def progress(self) -> dict[str, float | None]:
        """Epoch, batch, step, fraction done, images/s, elapsed and ETA (seconds) of the last batch."""
        lb = self.last_batch
        if lb is None:
            return {"epoch": None, "epochs": self.settings.get("epochs"), "batch": None,
                    "batches_per_epoch": None, "step": 0, "total_steps": None, "fraction": 0.0,
                    "images_per_s": None, "elapsed": self.elapsed, "eta": None}
        step, total = lb["step"], lb["total_steps"]
        fraction = min(1.0, step / total) if total else 0.0
        eta = lb["elapsed"] * (total - step) / step if step > 0 and total else None
        return {"epoch": lb["epoch"], "epochs": self.settings.get("epochs"), "batch": lb["batch"],
                "batches_per_epoch": lb["batches_per_epoch"], "step": step, "total_steps": total,
                "fraction": fraction, "images_per_s": lb["images_per_s"], "elapsed": lb["elapsed"],
                "eta": eta}

    def loss_frame(self, max_points: int = MAX_POINTS, window: int | None = None,
                   labels: bool = True) -> pd.DataFrame:
        """≤ ``max_points`` rows of raw and smoothed per-batch loss (finite values only).

        ``labels=False`` leaves out the run's name columns (the live chart, redrawn every second,
        needs only the numbers)."""
        steps = np.asarray(self.steps, dtype=np.int64)
        losses = np.asarray(self.losses, dtype=np.float64)
        ok = np.isfinite(losses)
        steps, losses = steps[ok], losses[ok]
        if losses.size == 0:
            return pd.DataFrame(columns=list(LOSS_COLUMNS if labels else LOSS_COLUMNS[4:]))
        window = window or smoothing_window(self.total_steps, losses.size)
        smoothed = smooth(losses, window)
        keep = downsample_indices(losses, max_points)
        bpe = self.batches_per_epoch or max(1, int(steps[-1]))
        names = {"run_id": self.id, "run": self.name, "activation": self.activation,
                 "function": self.function} if labels else {}
        return pd.DataFrame({**names, "step": steps[keep], "epoch": steps[keep] / bpe, "loss": losses[keep],
                             "smooth": smoothed[keep]})

    def epoch_frame(self, labels: bool = True) -> pd.DataFrame:
        """One row per completed epoch: train/test loss, test accuracy, time (``labels=False``:
        without the run's name columns)."""
        if not self.epochs:
            return pd.DataFrame(columns=list(EPOCH_COLUMNS if labels else EPOCH_COLUMNS[4:]))
        frame = pd.DataFrame(self.epochs)
        if not labels:
            return frame[list(EPOCH_COLUMNS[4:])]
        frame.insert(0, "function", self.function)
        frame.insert(0, "activation", self.activation)
        frame.insert(0, "run", self.name)
        frame.insert(0, "run_id", self.id)
        return frame[list(EPOCH_COLUMNS)]

    def summary(self) -> dict[str, Any]:
        """One row of the runs table: name, status, settings, final metrics."""
        row: dict[str, Any] = {"run": self.name, "status": self.status}
        for key, title in SETTING_COLUMNS.items():
            value = self.settings.get(key)
            if key == "activation":
                value = self.function
            row[title] = value
        row["final train loss"] = self.final_train_loss
        row["test accuracy"] = self.test_accuracy
        row["time (s)"] = self.elapsed
        row["images/s"] = self.images_per_s
        return row

    def confusion_frame(self) -> pd.DataFrame:
        """Long table true, pred, count and the share of the true class (for a heatmap)."""
        if self.confusion is None:
            return pd.DataFrame(columns=["true", "pred", "count", "share"])
        cm = np.asarray(self.confusion, dtype=np.int64)
        totals = cm.sum(axis=1, keepdims=True)
        share = np.divide(cm, totals, out=np.zeros(cm.shape, dtype=np.float64), where=totals > 0)
        t, p = np.indices(cm.shape)
        return pd.DataFrame({"true": t.ravel(), "pred": p.ravel(), "count": cm.ravel(),
                             "share": share.ravel()})

    def per_class_frame(self) -> pd.DataFrame:
        """digit, accuracy and test images per digit (from the confusion matrix if it is known)."""
        if self.per_class_accuracy is None:
            return pd.DataFrame(columns=["digit", "accuracy", "count", "run", "activation", "function"])
        n = len(self.per_class_accuracy)
        counts = (np.asarray(self.confusion).sum(axis=1) if self.confusion is not None
                  else np.full(n, np.nan))
        return pd.DataFrame({"digit": np.arange(n), "accuracy": self.per_class_accuracy, "count": counts,
                             "run": self.name, "activation": self.activation, "function": self.function})


def _epoch_row(ev: Any, batches_per_epoch: int | None) -> dict[str, float]:
    epoch = int(ev.epoch)
    return {"epoch": epoch, "train_loss": float(ev.train_loss), "test_loss": float(ev.test_loss),
            "test_accuracy": float(ev.test_accuracy), "elapsed": float(ev.elapsed),
            "images_per_s": float(ev.images_per_s)}


def _misclassified_frame(result: Any) -> pd.DataFrame | None:
    """index, pred, label (and confidence) of the misclassified test images, if the result has them.

    Reads ``result.misclassified`` (with ``indices``, ``preds``, ``labels``, optional
    ``confidence``) or flat ``misclassified_indices`` / ``_preds`` / ``_labels`` attributes.
    """
    mis = getattr(result, "misclassified", None)
    if mis is not None and hasattr(mis, "indices"):
        parts = {"index": mis.indices, "pred": mis.preds, "label": mis.labels}
        confidence = getattr(mis, "confidence", None)
    else:
        parts = {name: getattr(result, f"misclassified_{attr}", None)
                 for name, attr in (("index", "indices"), ("pred", "preds"), ("label", "labels"))}
        confidence = None
    if any(v is None for v in parts.values()):
        return None
    frame = pd.DataFrame({k: _as_list(v) for k, v in parts.items()}, columns=["index", "pred", "label"])
    frame = frame.astype("int64")
    if confidence is not None and len(_as_list(confidence)) == len(frame):
        frame["confidence"] = np.asarray(_as_list(confidence), dtype=np.float64)
    return frame


def _as_list(value: Any) -> list[Any]:
    if hasattr(value, "tolist"):
        return value.tolist()
    return list(value)


# --- the session's runs -----------------------------------------------------------
class RunHistory:
    """The session's runs, oldest first; ids are unique."""

    def __init__(self) -> None:
        self._runs: dict[str, Run] = {}
        self._count = 0

    def __len__(self) -> int:
        return len(self._runs)

    def __iter__(self):
        return iter(list(self._runs.values()))

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._runs

    @property
    def runs(self) -> list[Run]:
        return list(self._runs.values())

    @property
    def ids(self) -> list[str]:
        return list(self._runs)

    def next_number(self) -> int:
        """A counter for naming runs (#1, #2, …), never reused after a delete."""
        self._count += 1
        return self._count

    def add(self, run: Run) -> None:
        """Append a run (replaces one with the same id)."""
        self._runs[run.id] = run

    def get(self, run_id: str) -> Run | None:
        return self._runs.get(run_id)

    def remove(self, run_ids: Iterable[str]) -> list[str]:
        """Delete runs; returns the ids that were there."""
        gone = [rid for rid in run_ids if rid in self._runs]
        for rid in gone:
            del self._runs[rid]
        return gone

    def select(self, run_ids: Iterable[str] | None = None) -> list[Run]:
        """The runs with these ids (all if None), in history order."""
        if run_ids is None:
            return self.runs
        wanted = set(run_ids)
        return [r for r in self._runs.values() if r.id in wanted]

    def table(self, run_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """One row per run: settings and final metrics."""
        rows = [r.summary() for r in self.select(run_ids)]
        return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))

    def loss_frame(self, run_ids: Iterable[str] | None = None, max_points: int = MAX_POINTS) -> pd.DataFrame:
        """Per-batch loss of several runs, each downsampled to ≤ ``max_points`` rows."""
        return _concat([r.loss_frame(max_points) for r in self.select(run_ids)], LOSS_COLUMNS)

    def epoch_frame(self, run_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """Per-epoch metrics of several runs."""
        return _concat([r.epoch_frame() for r in self.select(run_ids)], EPOCH_COLUMNS)


def _concat(frames: list[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=list(columns))
    return pd.concat(frames, ignore_index=True)


def reference_frame(epoch_losses: Sequence[float], label: str = "assignment reference") -> pd.DataFrame:
    """The reference per-epoch train losses as rows epoch (1-based), train_loss, run."""
    return pd.DataFrame({"epoch": np.arange(1, len(epoch_losses) + 1), "train_loss": list(epoch_losses),
                         "run": label})
