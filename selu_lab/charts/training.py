"""Altair charts of the Train on MNIST tab: live loss, run overlay, confusion matrix, per-class accuracy.

Inputs are the DataFrames of :mod:`selu_lab.history` (already downsampled);
nothing is computed here. Each activation keeps its registry colour.
"""

from __future__ import annotations

import warnings

import altair as alt
import pandas as pd

from selu_lab.activations import COLORS

REFERENCE_COLOR = "#222222"
RULE_COLOR = "#9a9a9a"


def activation_color(frames: list[pd.DataFrame], legend: alt.Legend | None = None) -> alt.Color:
    """Colour by activation label with the registry colours (same in every tab)."""
    pairs = pd.concat([f[["function", "activation"]] for f in frames if len(f)], ignore_index=True) \
        if any(len(f) for f in frames) else pd.DataFrame(columns=["function", "activation"])
    pairs = pairs.drop_duplicates()
    scale = alt.Scale(domain=list(pairs["function"]),
                      range=[COLORS.get(a, "#444444") for a in pairs["activation"]])
    return alt.Color("function:N", scale=scale, title="activation",
                     legend=legend if legend is not None else alt.Legend(orient="bottom"))


def _x(title: str, max_epoch: float | None) -> alt.X:
    scale = alt.Scale(domain=[0, max_epoch], nice=False) if max_epoch else alt.Scale(nice=False)
    return alt.X("epoch:Q", title=title, scale=scale, axis=alt.Axis(tickMinStep=1))


def _epoch_rules(max_epoch: float | None) -> alt.Chart | None:
    if not max_epoch or max_epoch < 2:
        return None
    rules = pd.DataFrame({"epoch": list(range(1, int(max_epoch)))})
    return alt.Chart(rules).mark_rule(color=RULE_COLOR, strokeDash=[3, 3], opacity=0.6).encode(x="epoch:Q")


def _accuracy_panel(epochs: pd.DataFrame, color: alt.Color, max_epoch: float | None, height: int,
                    dash: bool) -> alt.LayerChart:
    tooltip = [alt.Tooltip("run:N"), alt.Tooltip("epoch:Q", format="d"),
               alt.Tooltip("test_accuracy:Q", title="test accuracy", format=".2%"),
               alt.Tooltip("test_loss:Q", title="test loss", format=".4f"),
               alt.Tooltip("train_loss:Q", title="train loss (epoch mean)", format=".4f")]
    enc: dict = {"x": _x("epoch", max_epoch),
                 "y": alt.Y("test_accuracy:Q", title="test accuracy",
                            scale=alt.Scale(zero=False, nice=True), axis=alt.Axis(format="%")),
                 "color": color, "detail": "run:N"}
    if dash:
        enc["strokeDash"] = alt.StrokeDash("run:N", title="run", legend=None)
    base = alt.Chart(epochs).encode(**enc)
    layers = [base.mark_line(strokeWidth=2), base.mark_point(filled=True, size=60).encode(tooltip=tooltip)]
    rules = _epoch_rules(max_epoch)
    if rules is not None:
        layers.insert(0, rules)
    return alt.layer(*layers).properties(height=height, title="Test accuracy after each epoch")


def live_chart(loss: pd.DataFrame, epochs: pd.DataFrame, total_epochs: int | None = None,
               height: int = 280) -> alt.VConcatChart:
    """The running run: raw per-batch loss (faint), smoothed loss, epoch rules; test accuracy below.

    ``loss`` is one run's :meth:`Run.loss_frame`, ``epochs`` its :meth:`Run.epoch_frame`; the x axis
    spans ``total_epochs`` from the start so the curve grows into it. Hover for values.
    """
    color = activation_color([loss, epochs])
    x = _x("epoch (fractional: batches / batches per epoch)", total_epochs)
    hover = alt.selection_point(fields=["step"], nearest=True, on="pointerover", empty=False,
                                clear="pointerout", name="live_hover")
    base = alt.Chart(loss).encode(x=x, color=color)
    raw = base.mark_line(strokeWidth=1, opacity=0.25).encode(y=alt.Y("loss:Q", title="train loss"))
    smoothed = base.mark_line(strokeWidth=2.5).encode(y="smooth:Q")
    points = base.mark_point(filled=True, size=50).encode(
        y="smooth:Q", opacity=alt.condition(hover, alt.value(1.0), alt.value(0.0)),
        tooltip=[alt.Tooltip("step:Q", title="batch step", format="d"),
                 alt.Tooltip("epoch:Q", format=".2f"),
                 alt.Tooltip("loss:Q", title="batch loss", format=".4f"),
                 alt.Tooltip("smooth:Q", title="smoothed", format=".4f")]).add_params(hover)
    layers: list = [raw, smoothed, points]
    if len(epochs):
        means = alt.Chart(epochs).mark_point(shape="diamond", size=90, filled=True, color=REFERENCE_COLOR)\
            .encode(x="epoch:Q", y="train_loss:Q",
                    tooltip=[alt.Tooltip("epoch:Q", format="d"),
                             alt.Tooltip("train_loss:Q", title="epoch mean train loss", format=".4f")])
        layers.append(means)
    rules = _epoch_rules(total_epochs)
    if rules is not None:
        layers.insert(0, rules)
    top = alt.layer(*layers).properties(height=height,
                                        title="Train loss per batch (faint) and smoothed; ◆ epoch mean")
    bottom = _accuracy_panel(epochs, color, total_epochs, max(120, height // 2), dash=False)
    return alt.vconcat(top, bottom).resolve_scale(x="shared", color="shared")


def overlay_chart(loss: pd.DataFrame, epochs: pd.DataFrame, reference: pd.DataFrame | None = None,
                  height: int = 320) -> alt.VConcatChart:
    """Several runs on one chart: smoothed loss per run (colour = activation, dash = run), epoch means,
    the assignment's reference losses (black, dashed) if given; test accuracy per epoch below.
    """
    color = activation_color([loss, epochs])
    max_epoch = None
    if len(loss) or len(epochs):
        max_epoch = float(max(loss["epoch"].max() if len(loss) else 0, epochs["epoch"].max() if len(epochs)
                              else 0))
    if reference is not None and len(reference):
        max_epoch = max(max_epoch or 0.0, float(reference["epoch"].max()))
    x = _x("epoch", max_epoch)
    dash = alt.StrokeDash("run:N", title="run", legend=alt.Legend(orient="bottom"))
    hover = alt.selection_point(fields=["run"], on="pointerover", clear="pointerout", name="overlay_hover")
    base = alt.Chart(loss).encode(x=x, color=color, strokeDash=dash)
    lines = base.mark_line(strokeWidth=2).encode(
        y=alt.Y("smooth:Q", title="train loss (smoothed)", scale=alt.Scale(type="log")),
        opacity=alt.condition(hover, alt.value(1.0), alt.value(0.55)),
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("epoch:Q", format=".2f"),
                 alt.Tooltip("smooth:Q", title="smoothed loss", format=".4f")]).add_params(hover)
    layers: list = [lines]
    if len(epochs):
        layers.append(alt.Chart(epochs).mark_point(filled=True, size=60).encode(
            x="epoch:Q", y="train_loss:Q", color=color, shape=alt.value("circle"),
            tooltip=[alt.Tooltip("run:N"), alt.Tooltip("epoch:Q", format="d"),
                     alt.Tooltip("train_loss:Q", title="epoch mean train loss", format=".4f"),
                     alt.Tooltip("test_accuracy:Q", title="test accuracy", format=".2%")]))
    if reference is not None and len(reference):
        ref = alt.Chart(reference).encode(x="epoch:Q", y="train_loss:Q")
        layers.append(ref.mark_line(color=REFERENCE_COLOR, strokeDash=[6, 4], strokeWidth=1.5))
        layers.append(ref.mark_point(shape="diamond", filled=True, size=90, color=REFERENCE_COLOR).encode(
            tooltip=[alt.Tooltip("run:N", title="reference"), alt.Tooltip("epoch:Q", format="d"),
                     alt.Tooltip("train_loss:Q", title="epoch mean train loss", format=".4f")]))
    rules = _epoch_rules(max_epoch)
    if rules is not None:
        layers.insert(0, rules)
    title = "Train loss of the selected runs (● epoch means" + \
        (", ◆ assignment reference)" if reference is not None and len(reference) else ")")
    top = alt.layer(*layers).properties(height=height, title=title)
    bottom = _accuracy_panel(epochs, color, max_epoch, max(140, height // 2), dash=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Automatically deduplicated selection")
        return alt.vconcat(top, bottom).resolve_scale(x="shared", color="shared", strokeDash="shared")


def confusion_chart(confusion: pd.DataFrame, title: str = "Confusion matrix (test set)",
                    size: int = 360) -> alt.LayerChart:
    """Heatmap of true vs predicted digit with counts; hover for the share of the true class."""
    base = alt.Chart(confusion).encode(
        x=alt.X("pred:O", title="predicted digit", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("true:O", title="true digit"))
    heat = base.mark_rect().encode(
        color=alt.Color("count:Q", title="images", scale=alt.Scale(scheme="blues", type="symlog")),
        tooltip=[alt.Tooltip("true:O", title="true"), alt.Tooltip("pred:O", title="predicted"),
                 alt.Tooltip("count:Q", title="images"),
                 alt.Tooltip("share:Q", title="share of this true digit", format=".2%")])
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("count:Q"),
        color=alt.condition(alt.datum.share > 0.5, alt.value("white"), alt.value("#333")))
    return alt.layer(heat, text).properties(width=size, height=size, title=title)


def per_class_chart(per_class: pd.DataFrame, title: str = "Accuracy per digit",
                    height: int = 300) -> alt.LayerChart:
    """Bars of test accuracy per digit (zoomed to the range that matters), labelled."""
    color = activation_color([per_class], legend=None)
    low = float(per_class["accuracy"].min()) if len(per_class) else 0.0
    lower = max(0.0, min(0.9, low - 0.05))
    base = alt.Chart(per_class).encode(
        x=alt.X("digit:O", title="digit", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("accuracy:Q", title="test accuracy", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[lower, 1.0], clamp=True)))
    bars = base.mark_bar().encode(
        color=color,
        tooltip=[alt.Tooltip("digit:O"), alt.Tooltip("accuracy:Q", format=".2%"),
                 alt.Tooltip("count:Q", title="test images", format="d")])
    labels = base.mark_text(dy=-6, fontSize=10).encode(text=alt.Text("accuracy:Q", format=".1%"))
    return alt.layer(bars, labels).properties(height=height, title=title)
