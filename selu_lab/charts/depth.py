"""Altair charts of the Depth study tab (the SNN paper's Figure 1 and why it comes out as it does).

The builders take the DataFrames of ``selu_lab.depth`` (``curves_frame``,
``divergence_frame``, ``summary_table``, ``layer_stats_frame``) and only shape
them for display: long curves are averaged over bins of steps so that a chart
never carries more than a few thousand points.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import altair as alt
import numpy as np
import pandas as pd

from selu_lab.depth import STRATEGIES

MAX_POINTS = 4500  # Altair's default row limit is 5000 per chart
VAR_FLOOR = 1e-8  # variances below this (dead layers, exactly 0) are drawn at the floor


def strategy_color(legend: bool = True, title: str | None = None,
                   present: Iterable[str] | None = None) -> alt.Color:
    """Colour by strategy label with each strategy's fixed colour (same in every chart and tab).

    ``present`` (labels) limits the legend to the strategies in the chart; colours never change.
    """
    keep = None if present is None else set(present)
    specs = [s for s in STRATEGIES.values() if keep is None or s.label in keep]
    labels = [s.label for s in specs]
    colors = [s.color for s in specs]
    return alt.Color("label:N", scale=alt.Scale(domain=labels, range=colors),
                     legend=alt.Legend(title=title, orient="bottom", direction="horizontal",
                                       columns=3) if legend else None)


def thin_curves(curves: pd.DataFrame, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Average each run's losses over bins of consecutive steps so that all runs fit in ``max_points``.

    The step of a bin is its last step; short curves are returned as they are.
    """
    if curves.empty:
        return curves
    keys = ["arch", "depth", "strategy", "label", "lr"]
    n_runs = curves.groupby(keys, sort=False).ngroups
    per_run = max(20, max_points // max(1, n_runs))
    longest = int(curves.groupby(keys, sort=False)["step"].count().max())
    if longest <= per_run:
        return curves
    width = math.ceil(longest / per_run)
    out = curves.assign(_bin=(curves["step"] - 1) // width)
    agg = out.groupby([*keys, "_bin"], sort=False, as_index=False).agg(
        step=("step", "max"), loss=("loss", "mean"))
    return agg.drop(columns="_bin")


def loss_small_multiples(curves: pd.DataFrame, diverged: pd.DataFrame | None = None, *,
                         log_y: bool = False, title: str = "Training loss", width: int | None = None,
                         height: int = 200) -> alt.FacetChart:
    """Figure 1 of the paper: one panel per depth, training loss against step, one line per strategy.

    Diverged runs end in a cross at their last finite loss (the tooltip gives the step). ``width``
    of a panel: by default the panels share ~900 px (between 200 and 420 px each).
    """
    if width is None:
        n_panels = max(1, curves["depth"].nunique()) if not curves.empty else 1
        width = max(200, min(420, 900 // n_panels - 40))
    data = thin_curves(curves)[["depth", "label", "lr", "step", "loss"]].assign(kind="curve")
    if diverged is not None and not diverged.empty:
        marks = diverged[["depth", "label", "lr", "step", "loss"]].assign(kind="diverged")
        data = pd.concat([data, marks], ignore_index=True)
    if log_y:
        data = data[data["loss"] > 0]
        scale = alt.Scale(type="log")
    else:
        # a linear axis up to 1.3 × the highest first loss, so that a blow-up does not flatten the rest
        first = curves.loc[curves["step"] == curves["step"].min(), "loss"] if not curves.empty else None
        top = float(first.max()) * 1.3 if first is not None and len(first) else None
        too_high = top is not None and math.isfinite(top) and float(data["loss"].max()) > top
        scale = alt.Scale(domain=[0, top]) if too_high else alt.Scale(zero=True)
    y = alt.Y("loss:Q", title="training loss" + (" (log)" if log_y else ""), scale=scale)
    x = alt.X("step:Q", title="step")
    base = alt.Chart().encode(x=x, y=y, color=strategy_color(present=data["label"].unique()))
    tooltip = [alt.Tooltip("label:N", title="strategy"), alt.Tooltip("lr:Q", title="learning rate"),
               alt.Tooltip("step:Q"), alt.Tooltip("loss:Q", format=".4f")]
    lines = base.mark_line(strokeWidth=2, clip=True).encode(
        detail="lr:N", tooltip=tooltip).transform_filter(alt.datum.kind == "curve")
    crosses = base.mark_point(shape="cross", size=160, strokeWidth=3, filled=True).encode(
        tooltip=[*tooltip[:2], alt.Tooltip("step:Q", title="diverged at step")]
    ).transform_filter(alt.datum.kind == "diverged")
    layered = alt.layer(lines, crosses, data=data).properties(width=width, height=height)
    return layered.facet(column=alt.Column("depth:O", title="depth (hidden layers)",
                                           header=alt.Header(labelFontSize=13))).properties(title=title)


def lr_sweep_chart(summary: pd.DataFrame, *, width: int = 230, height: int = 180) -> alt.FacetChart:
    """Final training loss against learning rate (log), per depth; diverged rates as crosses at the top."""
    df = summary[["depth", "label", "lr", "status", "final_loss"]].copy()
    df["diverged"] = df["status"].str.startswith("diverged")
    top = float(np.nanmax(df["final_loss"])) * 2 if df["final_loss"].notna().any() else 10.0
    df["y"] = df["final_loss"].where(~df["diverged"], top)
    lrs = sorted(df["lr"].unique().tolist())
    base = alt.Chart().encode(
        x=alt.X("lr:Q", scale=alt.Scale(type="log"), title="learning rate",
                axis=alt.Axis(values=lrs, format="~g")),
        y=alt.Y("y:Q", title="final training loss (log)", scale=alt.Scale(type="log")),
        color=strategy_color(present=df["label"].unique()),
        tooltip=[alt.Tooltip("label:N", title="strategy"), alt.Tooltip("lr:Q", title="learning rate"),
                 alt.Tooltip("status:N"), alt.Tooltip("final_loss:Q", format=".4f")])
    lines = base.mark_line(point=True).transform_filter(~alt.datum.diverged)
    crosses = base.mark_point(shape="cross", size=150, strokeWidth=3).transform_filter(alt.datum.diverged)
    return alt.layer(lines, crosses, data=df).properties(width=width, height=height).facet(
        column=alt.Column("depth:O", title="depth")).properties(
        title="Final loss against learning rate (× = diverged)")


def final_loss_by_depth(summary: pd.DataFrame, *, height: int = 220) -> alt.LayerChart:
    """Final training loss against depth, one line per strategy (how the gap changes with depth)."""
    df = summary[~summary["status"].str.startswith("diverged")]
    base = alt.Chart(df).encode(
        x=alt.X("depth:Q", scale=alt.Scale(type="log", base=2), title="depth (log₂)",
                axis=alt.Axis(values=sorted(summary["depth"].unique().tolist()))),
        y=alt.Y("final_loss:Q", title="final training loss"),
        color=strategy_color(legend=False, present=df["label"].unique()),
        tooltip=[alt.Tooltip("label:N", title="strategy"), "depth:Q", alt.Tooltip("lr:Q"),
                 alt.Tooltip("final_loss:Q", format=".4f"),
                 alt.Tooltip("test_accuracy:Q", format=".2%")])
    return alt.layer(base.mark_line(), base.mark_point(filled=True, size=60)).properties(
        height=height, title="Final loss against depth")


def _var_domain(values: pd.Series) -> list[float]:
    """A log domain symmetric around 1 that holds every value (at least 1/10 … 10)."""
    finite = values[np.isfinite(values) & (values > 0)]
    if finite.empty:
        return [0.1, 10.0]
    reach = max(1.0, float(np.abs(np.log10(finite)).max()))
    return [10.0 ** -reach, 10.0 ** reach]


HEATMAP_QUANTITIES: dict[str, str] = {
    "var": "activation variance",
    "mean": "activation mean",
    "grad_norm": "weight-gradient norm",
}


def layer_heatmap(stats: pd.DataFrame, quantity: str = "var", *, title: str | None = None,
                  height: int | None = None) -> alt.Chart:
    """Layer × checkpoint step, coloured by one statistic of ``layer_stats_frame``.

    ``var``: log scale centred at 1 (white = self-normalised, red growing, blue vanishing);
    ``mean``: linear scale centred at 0; ``grad_norm``: log scale, sequential.
    """
    if quantity not in HEATMAP_QUANTITIES:
        raise ValueError(f"unknown quantity {quantity!r}; choose one of: {', '.join(HEATMAP_QUANTITIES)}")
    df = stats.dropna(subset=[quantity]).copy()
    df = df[np.isfinite(df[quantity])]
    name = HEATMAP_QUANTITIES[quantity]
    if quantity == "var":
        df["shown"] = df["var"].clip(lower=VAR_FLOOR)
        scale = alt.Scale(type="log", scheme="redblue", reverse=True, domainMid=1,
                          domain=_var_domain(df["shown"]), clamp=True)
    elif quantity == "mean":
        df["shown"] = df["mean"]
        reach = max(0.1, float(df["mean"].abs().max())) if not df.empty else 1.0
        scale = alt.Scale(scheme="purpleorange", domainMid=0, domain=[-reach, reach])
    else:
        df["shown"] = df["grad_norm"].clip(lower=1e-12)
        scale = alt.Scale(type="log", scheme="viridis")
    n_layers = int(df["layer"].max()) if not df.empty else 1
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("step:O", title="step (0 = initialisation)"),
        y=alt.Y("layer:O", title="layer", sort="ascending"),
        color=alt.Color("shown:Q", title=name.split()[-1] if quantity != "grad_norm" else "‖∇W‖",
                        scale=scale),
        tooltip=[alt.Tooltip("layer:O"), alt.Tooltip("name:N"), alt.Tooltip("step:O"),
                 alt.Tooltip("var:Q", title="variance", format=".4g"),
                 alt.Tooltip("mean:Q", format=".4g"), alt.Tooltip("grad_norm:Q", title="‖∇W‖",
                                                                  format=".4g")],
    ).properties(title=title or f"{name.capitalize()} per layer",
                 height=height or max(160, min(560, 14 * n_layers)))


def layer_profile_chart(stats: pd.DataFrame, *, color: str = "#333", width: int = 220,
                        height: int = 200) -> alt.HConcatChart:
    """Per layer: activation mean, variance and weight-gradient norm, at initialisation and at the end.

    Reference rules at mean 0 and variance 1 (the self-normalising fixed point).
    """
    steps = [0, 0] if stats.empty else [int(stats["step"].min()), int(stats["step"].max())]
    df = stats[stats["step"].isin(steps)].copy()
    df["when"] = np.where(df["step"] == steps[0], "at initialisation", f"at step {steps[1]}")
    df["var_shown"] = df["var"].clip(lower=VAR_FLOOR)
    df["grad_shown"] = df["grad_norm"].clip(lower=1e-12)
    dash = alt.StrokeDash("when:N", title=None, sort=["at initialisation"],
                          legend=alt.Legend(orient="bottom"))
    x = alt.X("layer:Q", title="layer", axis=alt.Axis(tickMinStep=1))

    def panel(field: str, title: str, log: bool, ref: float | None) -> alt.LayerChart:
        y = alt.Y(f"{field}:Q", title=title, scale=alt.Scale(type="log") if log else alt.Scale())
        line = alt.Chart(df).mark_line(point=alt.OverlayMarkDef(color=color), color=color).encode(
            x=x, y=y, strokeDash=dash,
            tooltip=["when:N", "layer:Q", "name:N", alt.Tooltip("mean:Q", format=".4g"),
                     alt.Tooltip("var:Q", title="variance", format=".4g"),
                     alt.Tooltip("grad_norm:Q", title="‖∇W‖", format=".4g")])
        layers = [line]
        if ref is not None:
            layers.insert(0, alt.Chart(pd.DataFrame({"y": [ref]})).mark_rule(
                color="#bbb", strokeDash=[4, 3]).encode(y="y:Q"))
        return alt.layer(*layers).properties(title=title, width=width, height=height)

    return alt.hconcat(panel("mean", "activation mean", False, 0.0),
                       panel("var_shown", "activation variance (log)", True, 1.0),
                       panel("grad_shown", "weight-gradient norm (log)", True, None))
