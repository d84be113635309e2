"""Altair charts of the Train on MNIST tab: live loss, run overlay, confusion matrix, per-class accuracy.

Inputs are the DataFrames of :mod:`selu_lab.history` (already downsampled to
≤ 2 000 points a run); nothing is computed here. Each chart is a cached
Vega-Lite template (see :func:`selu_lab.charts.cached_template`) keyed on its
structure, returned as a spec dict whose named ``datasets`` are DataFrames
(``st.vega_lite_chart`` sends them as Arrow), so the live view can be redrawn
every second for a few milliseconds of server time. Each activation keeps its
registry colour.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from selu_lab.activations import COLORS
from selu_lab.charts import cached_template, with_data
from selu_lab.history import activation_label

REFERENCE_COLOR = "#222222"
RULE_COLOR = "#9a9a9a"
FALLBACK_COLOR = "#444444"


def _names(*frames: pd.DataFrame) -> tuple[str, ...]:
    """Registry names of the activations in the frames, in order of appearance."""
    seen: dict[str, None] = {}
    for frame in frames:
        if len(frame) and "activation" in frame:
            for name in frame["activation"]:
                seen.setdefault(str(name), None)
    return tuple(seen)


def _color(names: tuple[str, ...], legend: bool = True) -> alt.Color:
    scale = alt.Scale(domain=[activation_label(n) for n in names],
                      range=[COLORS.get(n, FALLBACK_COLOR) for n in names])
    return alt.Color("function:N", scale=scale, title="activation",
                     legend=alt.Legend(orient="right", labelLimit=260) if legend else None)


def _x(title: str, max_epoch: int | None) -> alt.X:
    scale = alt.Scale(domain=[0, max_epoch], nice=False) if max_epoch else alt.Scale(nice=False)
    return alt.X("epoch:Q", title=title, scale=scale, axis=alt.Axis(tickMinStep=1))


def _epoch_rules(max_epoch: int | None) -> alt.Chart | None:
    if not max_epoch or max_epoch < 2:
        return None
    rules = pd.DataFrame({"epoch": list(range(1, int(max_epoch)))})
    return alt.Chart(rules).mark_rule(color=RULE_COLOR, strokeDash=[3, 3], opacity=0.6).encode(x="epoch:Q")


def _epochs_ceiling(*values: float | None) -> int | None:
    finite = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    return max(1, math.ceil(max(finite) - 1e-9)) if finite else None


# --- live view -------------------------------------------------------------------
LIVE_LOSS_COLUMNS = ("step", "epoch", "loss", "smooth")
LIVE_EPOCH_COLUMNS = ("epoch", "train_loss", "test_loss", "test_accuracy")


def live_chart(loss: pd.DataFrame, epochs: pd.DataFrame, activation: str, total_epochs: int | None = None,
               height: int = 300) -> dict:
    """The running run in one chart: raw per-batch loss (faint), smoothed loss and epoch means on the
    left axis, test accuracy per epoch on the right axis, epoch boundaries as rules.

    ``loss``/``epochs`` are one run's ``Run.loss_frame()`` / ``Run.epoch_frame()`` (only their numeric
    columns are sent, rounded: it is redrawn every second). The x axis spans ``total_epochs`` from the
    start, so the curve grows into it; hover for values.
    """
    datasets = {"loss": _numeric(loss, LIVE_LOSS_COLUMNS), "epochs": _numeric(epochs, LIVE_EPOCH_COLUMNS)}
    return with_data(_live_template(activation, total_epochs or None, height), datasets, frames=True)


def _numeric(frame: pd.DataFrame, columns: Sequence[str], decimals: int = 5) -> pd.DataFrame:
    """Only ``columns``, as rounded float64 (built from numpy: pandas' column ops cost ~1 ms here)."""
    return pd.DataFrame({c: np.round(frame[c].to_numpy(np.float64), decimals) for c in columns if c in frame})


@cached_template
def _live_template(activation: str, total_epochs: int | None, height: int) -> alt.LayerChart:
    color = COLORS.get(activation, FALLBACK_COLOR)
    x = _x("epoch (batches ÷ batches per epoch)", total_epochs)
    hover = alt.selection_point(fields=["step"], nearest=True, on="pointerover", empty=False,
                                clear="pointerout", name="live_hover")
    loss_base = alt.Chart(alt.NamedData("loss")).encode(x=x)
    y_loss = alt.Y("loss:Q", title="train loss", axis=alt.Axis(titleColor=color))
    raw = loss_base.mark_line(strokeWidth=1, opacity=0.25, color=color).encode(y=y_loss)
    smoothed = loss_base.mark_line(strokeWidth=2.5, color=color).encode(y="smooth:Q")
    hover_points = loss_base.mark_point(filled=True, size=60, color=color).encode(
        y="smooth:Q", opacity=alt.condition(hover, alt.value(1.0), alt.value(0.0)),
        tooltip=[alt.Tooltip("step:Q", title="batch step", format="d"),
                 alt.Tooltip("epoch:Q", format=".2f"),
                 alt.Tooltip("loss:Q", title="batch loss", format=".4f"),
                 alt.Tooltip("smooth:Q", title="smoothed", format=".4f")]).add_params(hover)
    epoch_base = alt.Chart(alt.NamedData("epochs")).encode(x="epoch:Q")
    means = epoch_base.mark_point(shape="diamond", size=90, filled=True, color=REFERENCE_COLOR).encode(
        y="train_loss:Q",
        tooltip=[alt.Tooltip("epoch:Q", format="d"),
                 alt.Tooltip("train_loss:Q", title="epoch mean train loss", format=".4f"),
                 alt.Tooltip("test_loss:Q", title="test loss", format=".4f")])
    loss_layers: list = [raw, smoothed, hover_points, means]
    rules = _epoch_rules(total_epochs)
    if rules is not None:
        loss_layers.insert(0, rules)
    y_acc = alt.Y("test_accuracy:Q", title="test accuracy (green)", scale=alt.Scale(zero=False),
                  axis=alt.Axis(format=".1%", titleColor="#2ca02c", orient="right"))
    acc = alt.layer(
        epoch_base.mark_line(color="#2ca02c", strokeWidth=1.5, strokeDash=[5, 3]).encode(y=y_acc),
        epoch_base.mark_point(color="#2ca02c", filled=True, size=70, shape="square").encode(
            y="test_accuracy:Q",
            tooltip=[alt.Tooltip("epoch:Q", format="d"),
                     alt.Tooltip("test_accuracy:Q", title="test accuracy", format=".2%")]))
    return alt.layer(alt.layer(*loss_layers), acc).resolve_scale(y="independent").properties(
        height=height, title=f"{activation_label(activation)}: train loss per batch (faint), smoothed, "
                             "◆ epoch mean; ■ test accuracy after each epoch")


# --- overlay of finished runs ------------------------------------------------------
def overlay_charts(loss: pd.DataFrame, epochs: pd.DataFrame, reference: pd.DataFrame | None = None,
                   height: int = 320) -> tuple[dict, dict]:
    """Selected runs on one x axis (epochs): smoothed train loss (log scale; colour = activation,
    dash = run; ● epoch means, black ◆ the assignment's reference), and below it test accuracy per
    epoch. Returns the two specs, drawn one above the other with the same x range.
    """
    names = _names(loss, epochs)
    has_ref = reference is not None and len(reference) > 0
    max_epoch = _epochs_ceiling(loss["epoch"].max() if len(loss) else None,
                                epochs["epoch"].max() if len(epochs) else None,
                                reference["epoch"].max() if has_ref else None)
    data = {"loss": loss, "epochs": epochs, "reference": reference if has_ref else pd.DataFrame()}
    return (with_data(_overlay_loss_template(names, max_epoch, has_ref, height), data, frames=True),
            with_data(_overlay_accuracy_template(names, max_epoch, max(260, int(height * 0.8))),
                      {"epochs": epochs}, frames=True))


def _dash(legend: bool) -> alt.StrokeDash:
    return alt.StrokeDash("run:N", title="run",
                          legend=alt.Legend(orient="right", labelLimit=260) if legend else None)


@cached_template
def _overlay_loss_template(names: tuple[str, ...], max_epoch: int | None, has_ref: bool,
                           height: int) -> alt.LayerChart:
    color = _color(names)
    x = _x("epoch", max_epoch)
    hover = alt.selection_point(fields=["run"], on="pointerover", clear="pointerout", name="overlay_hover")
    lines = alt.Chart(alt.NamedData("loss")).mark_line(strokeWidth=2).encode(
        x=x, y=alt.Y("smooth:Q", title="train loss (smoothed)"),
        color=color, strokeDash=_dash(True),
        opacity=alt.condition(hover, alt.value(1.0), alt.value(0.6)),
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("epoch:Q", format=".2f"),
                 alt.Tooltip("smooth:Q", title="smoothed loss", format=".4f")]).add_params(hover)
    means = alt.Chart(alt.NamedData("epochs")).mark_point(filled=True, size=60).encode(
        x="epoch:Q", y="train_loss:Q", color=color,
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("epoch:Q", format="d"),
                 alt.Tooltip("train_loss:Q", title="epoch mean train loss", format=".4f"),
                 alt.Tooltip("test_accuracy:Q", title="test accuracy", format=".2%")])
    layers: list = [lines, means]
    if has_ref:
        ref = alt.Chart(alt.NamedData("reference")).encode(x="epoch:Q", y="train_loss:Q")
        layers.append(ref.mark_line(color=REFERENCE_COLOR, strokeDash=[6, 4], strokeWidth=1.5))
        layers.append(ref.mark_point(shape="diamond", filled=True, size=100, color=REFERENCE_COLOR).encode(
            tooltip=[alt.Tooltip("run:N", title="reference"), alt.Tooltip("epoch:Q", format="d"),
                     alt.Tooltip("train_loss:Q", title="epoch mean train loss", format=".4f")]))
    rules = _epoch_rules(max_epoch)
    if rules is not None:
        layers.insert(0, rules)
    title = "Train loss of the selected runs: ● epoch means" + (
        "; ◆ assignment reference (seed recipe, full data)" if has_ref else "")
    return alt.layer(*layers).properties(height=height, title=title)


@cached_template
def _overlay_accuracy_template(names: tuple[str, ...], max_epoch: int | None, height: int) -> alt.LayerChart:
    color = _color(names, legend=False)
    base = alt.Chart(alt.NamedData("epochs")).encode(
        x=_x("epoch", max_epoch),
        y=alt.Y("test_accuracy:Q", title="test accuracy", scale=alt.Scale(zero=False, padding=12),
                axis=alt.Axis(format=".1%")),  # "%" alone labelled a lone point 86.140000%
        color=color, strokeDash=_dash(False))
    tooltip = [alt.Tooltip("run:N"), alt.Tooltip("epoch:Q", format="d"),
               alt.Tooltip("test_accuracy:Q", title="test accuracy", format=".2%"),
               alt.Tooltip("test_loss:Q", title="test loss", format=".4f")]
    layers: list = [base.mark_line(strokeWidth=2),
                    base.mark_point(filled=True, size=60).encode(tooltip=tooltip)]
    rules = _epoch_rules(max_epoch)
    if rules is not None:
        layers.insert(0, rules)
    return alt.layer(*layers).properties(height=height, title="Test accuracy after each epoch")


# --- one run's results -------------------------------------------------------------
def confusion_chart(confusion: pd.DataFrame, size: int = 340) -> dict:
    """Heatmap of true vs predicted digit with counts; hover for the share of the true digit."""
    return with_data(_confusion_template(size), {"confusion": confusion}, frames=True)


@cached_template
def _confusion_template(size: int) -> alt.LayerChart:
    base = alt.Chart(alt.NamedData("confusion")).encode(
        x=alt.X("pred:O", title="predicted digit", axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("true:O", title="true digit"))
    heat = base.mark_rect().encode(
        color=alt.Color("count:Q", title="images", scale=alt.Scale(scheme="blues", type="symlog")),
        tooltip=[alt.Tooltip("true:O", title="true digit"), alt.Tooltip("pred:O", title="predicted"),
                 alt.Tooltip("count:Q", title="images"),
                 alt.Tooltip("share:Q", title="share of this true digit", format=".2%")])
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("count:Q"),
        color=alt.condition(alt.datum.share > 0.5, alt.value("white"), alt.value("#333333")))
    return alt.layer(heat, text).properties(width=size, height=size, title="Confusion matrix (test set)")


def per_class_chart(per_class: pd.DataFrame, height: int = 340) -> dict:
    """Bars of test accuracy per digit, zoomed to the range that matters, labelled."""
    names = _names(per_class)
    accuracies = [v for v in per_class.get("accuracy", pd.Series(dtype=float)) if pd.notna(v)]
    low = min(accuracies) if accuracies else 0.0
    lower = max(0.0, min(0.9, math.floor((low - 0.02) * 20) / 20))  # a multiple of 5 %
    return with_data(_per_class_template(names, lower, height), {"per_class": per_class}, frames=True)


@cached_template
def _per_class_template(names: Sequence[str], lower: float, height: int) -> alt.LayerChart:
    base = alt.Chart(alt.NamedData("per_class")).encode(
        x=alt.X("digit:O", title="digit", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("accuracy:Q", title="test accuracy", axis=alt.Axis(format=".1%"),
                scale=alt.Scale(domain=[lower, 1.0], clamp=True)))
    bars = base.mark_bar().encode(
        color=_color(tuple(names), legend=False),
        tooltip=[alt.Tooltip("digit:O"), alt.Tooltip("accuracy:Q", format=".2%"),
                 alt.Tooltip("count:Q", title="test images", format="d")])
    labels = base.mark_text(dy=-6, fontSize=10).encode(text=alt.Text("accuracy:Q", format=".1%"))
    return alt.layer(bars, labels).properties(height=height, title="Accuracy per digit (test set)")
