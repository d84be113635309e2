"""Altair charts of the Self-normalisation tab: per-layer moments of deep stacks, the paper's map.

Builders take the DataFrames of ``selu_lab.selfnorm`` and ``selu_lab.theory`` keyed by
configuration name and return Vega-Lite specs (cached templates + data, see
``selu_lab.charts``); they only reshape data for display.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from selu_lab.activations import COLORS
from selu_lab.charts import cached_template, placeholder, with_data

VAR_FLOOR = 1e-8  # variances below this (collapsed layers) are drawn at the floor on a log axis
GRAD_FLOOR = 1e-30
# colours for a second, third … configuration of the same activation (registry colours come first)
EXTRA_COLORS = ("#e377c2", "#8c564b", "#ff9896", "#98df8a", "#c5b0d5", "#c49c94", "#f7b6d2",
                "#dbdb8d", "#9edae5", "#aec7e8", "#ffbb78", "#393b79")


def config_colors(activations: Mapping[str, str]) -> dict[str, str]:
    """A colour per configuration name: its activation's registry colour for the first configuration of
    each activation, further configurations of the same activation get distinct extra colours."""
    used: set[str] = set()
    extra = iter(c for c in EXTRA_COLORS)
    out = {}
    for name, act in activations.items():
        color = COLORS.get(act)
        if color is None or color in used:
            color = next((c for c in extra if c not in used), "#444444")
        used.add(color)
        out[name] = color
    return out


def _long(frames: Mapping[str, pd.DataFrame], kind: str) -> pd.DataFrame:
    parts = [f.assign(config=name, kind=kind) for name, f in frames.items() if f is not None and len(f)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["config", "kind", "layer"])


def _color(names: Sequence[str], colors: Mapping[str, str], legend: bool = True) -> alt.Color:
    return alt.Color("config:N", scale=alt.Scale(domain=[placeholder(i) for i in range(len(names))],
                                                 range=[colors[n] for n in names]),
                     legend=alt.Legend(title=None, orient="bottom", direction="horizontal", columns=4)
                     if legend else None)


def stack_charts(measured: Mapping[str, pd.DataFrame], analytic: Mapping[str, pd.DataFrame] | None,
                 colors: Mapping[str, str], *, target: tuple[float, float] = (0.0, 1.0),
                 mean_tol: float = 0.1, var_tol: float = 0.15, log_var: bool = True,
                 height: int = 300) -> dict:
    """Mean and variance per layer for several configurations (solid: measured, dashed: analytic),
    with the target band (mean ± ``mean_tol``, variance ± ``var_tol``) shaded."""
    names = tuple(measured)
    data = _long(measured, "measured")
    if analytic:
        data = pd.concat([data, _long({k: v for k, v in analytic.items() if k in measured}, "analytic")],
                         ignore_index=True)
    data = data[["config", "kind", "layer", "mean", "var"]].copy()
    if log_var:
        data["var"] = data["var"].where(~(data["var"] < VAR_FLOOR), VAR_FLOOR)
    band = pd.DataFrame({"panel": ["mean", "var"], "lo": [target[0] - mean_tol, target[1] - var_tol],
                         "hi": [target[0] + mean_tol, target[1] + var_tol], "at": [target[0], target[1]]})
    spec = with_data(_stack_template(len(names), log_var, height), {"layers": data, "band": band},
                     names)
    _set_colors(spec, names, colors)
    return spec


def _set_colors(spec: dict, names: Sequence[str], colors: Mapping[str, str]) -> None:
    """Fill the colour range (templates are keyed by structure, not by colour)."""
    rng = [colors[n] for n in names]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            scale = node.get("scale")
            if node.get("field") == "config" and isinstance(scale, dict) and "range" in scale:
                scale["range"] = rng
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)


@cached_template
def _stack_template(n: int, log_var: bool, height: int) -> alt.HConcatChart:
    names = tuple(placeholder(i) for i in range(n))
    color = _color(names, {p: "#000" for p in names})
    layers = alt.NamedData("layers")
    band = alt.NamedData("band")
    dash = alt.StrokeDash("kind:N", scale=alt.Scale(domain=["measured", "analytic"], range=[[1, 0], [6, 4]]),
                          legend=alt.Legend(title=None, orient="bottom"))
    x = alt.X("layer:Q", title="layer l", axis=alt.Axis(tickMinStep=1))

    def panel(field: str, title: str, log: bool) -> alt.LayerChart:
        scale = alt.Scale(type="log") if log else alt.Scale(zero=False)
        y = alt.Y(f"{field}:Q", title=title, scale=scale)
        shade = alt.Chart(band).mark_rect(color="#2ca02c", opacity=0.12).encode(
            y=alt.Y("lo:Q", scale=scale, title=title), y2="hi:Q").transform_filter(alt.datum.panel == field)
        ref = alt.Chart(band).mark_rule(color="#2ca02c", strokeDash=[2, 2]).encode(
            y=alt.Y("at:Q", scale=scale, title=title)).transform_filter(alt.datum.panel == field)
        lines = alt.Chart(layers).mark_line(strokeWidth=2, clip=True).encode(
            x=x, y=y, color=color, strokeDash=dash, detail="kind:N",
            tooltip=[alt.Tooltip("config:N"), alt.Tooltip("kind:N"), alt.Tooltip("layer:Q"),
                     alt.Tooltip("mean:Q", format=".4f"), alt.Tooltip("var:Q", title="variance",
                                                                      format=".4g")])
        return alt.layer(shade, ref, lines).properties(title=title, height=height, width=420)

    return alt.hconcat(panel("mean", "mean of layer l's outputs", False),
                       panel("var", "variance of layer l's outputs" + (" (log)" if log_var else ""),
                             log_var)).resolve_scale(color="shared", strokeDash="shared")


def saturation_chart(measured: Mapping[str, pd.DataFrame], colors: Mapping[str, str],
                     height: int = 240) -> dict:
    """Fraction of units in negative saturation per layer (ELU family: f(z) < −0.9·λα)."""
    names = tuple(measured)
    data = _long(measured, "measured")[["config", "layer", "neg_saturation"]].dropna()
    spec = with_data(_line_template(len(names), "neg_saturation", "Negative saturation per layer",
                                    "fraction of units saturated", False, height), {"layers": data}, names)
    _set_colors(spec, names, colors)
    return spec


def grad_norm_chart(measured: Mapping[str, pd.DataFrame], colors: Mapping[str, str],
                    height: int = 240) -> dict:
    """‖∂L/∂W_l‖_F per layer on a log axis: falling towards layer 1 = vanishing, rising = exploding."""
    names = tuple(measured)
    data = _long(measured, "measured")[["config", "layer", "grad_norm"]].dropna()
    data = data[data["grad_norm"] > GRAD_FLOOR]
    spec = with_data(_line_template(len(names), "grad_norm", "Weight-gradient norm per layer",
                                    "‖∂L/∂W_l‖_F (log)", True, height), {"layers": data}, names)
    _set_colors(spec, names, colors)
    return spec


@cached_template
def _line_template(n: int, field: str, title: str, axis_title: str, log: bool,
                   height: int) -> alt.HConcatChart:
    names = tuple(placeholder(i) for i in range(n))
    y = alt.Y(f"{field}:Q", title=axis_title,
              scale=alt.Scale(type="log") if log else alt.Scale(domain=[0, 1], clamp=True))
    fmt = ".4g" if log else ".2%"
    # a layer, so that the named data stay with the mark: Streamlit drops a unit chart's top-level
    # named data (the points then lose their values and colours)
    line = alt.Chart(alt.NamedData("layers")).mark_line(strokeWidth=2, point=alt.OverlayMarkDef(size=12))
    panel = alt.layer(line.encode(
        x=alt.X("layer:Q", title="layer l", axis=alt.Axis(tickMinStep=1)), y=y,
        color=_color(names, {p: "#000" for p in names}),
        tooltip=[alt.Tooltip("config:N"), alt.Tooltip("layer:Q"), alt.Tooltip(f"{field}:Q", format=fmt)],
    )).properties(title=title, height=height, width=420)
    # inside a concat: Streamlit takes a top-level height as the whole element's height
    return alt.hconcat(panel)


def histogram_chart(hists: Mapping[str, pd.DataFrame], colors: Mapping[str, str],
                    height: int = 180) -> alt.FacetChart | alt.Chart:
    """Density of the outputs of a few chosen layers, one panel per layer, one outline per configuration."""
    names = tuple(k for k, v in hists.items() if v is not None and len(v))
    data = _long({k: hists[k] for k in names}, "measured")
    if data.empty:
        return alt.Chart(pd.DataFrame({"text": ["no histogram layers chosen"]})).mark_text().encode(
            text="text:N")
    data["x"] = 0.5 * (data["left"] + data["right"])
    color = alt.Color("config:N", scale=alt.Scale(domain=list(names), range=[colors[n] for n in names]),
                      legend=alt.Legend(title=None, orient="bottom", direction="horizontal", columns=4))
    return alt.Chart(data).mark_line(interpolate="step", strokeWidth=1.8).encode(
        x=alt.X("x:Q", title="activation value"),
        y=alt.Y("density:Q", title="density"),
        color=color,
        tooltip=[alt.Tooltip("config:N"), alt.Tooltip("layer:O"), alt.Tooltip("x:Q", format=".3f"),
                 alt.Tooltip("density:Q", format=".4f")],
    ).properties(width=260, height=height).facet(
        column=alt.Column("layer:O", title="layer")).resolve_scale(x="independent", y="independent")


def plane_chart(grid: pd.DataFrame, fixed: tuple[float, float, float] | None,
                path: pd.DataFrame | None, *, title: str, width: int = 420,
                height: int = 340) -> alt.LayerChart:
    """The (μ, ν) plane: an arrow from each grid point towards g(μ, ν) (length scaled to the grid,
    colour = spectral norm of the Jacobian there), the fixed point (μ*, ν*, ‖J‖) and a trajectory
    (columns layer, mean, var) from the input moments."""
    df = grid.copy()
    mus, nus = np.sort(df["mu"].unique()), np.sort(df["nu"].unique())
    dx_cell = float(np.diff(mus).min()) if len(mus) > 1 else 1.0
    dy_cell = float(np.diff(nus).min()) if len(nus) > 1 else 1.0
    span_x = float(mus.max() - mus.min()) or 1.0
    span_y = float(nus.max() - nus.min()) or 1.0
    ddx, ddy = df["mu_next"] - df["mu"], df["nu_next"] - df["nu"]
    # arrow length in units of a grid cell, at most 0.8 cells (the field shows directions; the
    # tooltip gives the step)
    cells = np.hypot(ddx / dx_cell, ddy / dy_cell)
    shrink = np.where(cells > 0, np.minimum(0.8, cells) / np.where(cells > 0, cells, 1.0), 0.0)
    df["mu_head"] = df["mu"] + ddx * shrink
    df["nu_head"] = df["nu"] + ddy * shrink
    df["angle"] = np.degrees(np.arctan2(ddx / span_x * width, ddy / span_y * height))
    df["norm_shown"] = df["spectral_norm"].clip(upper=2.0)
    x_scale = alt.Scale(domain=[float(mus.min()) - 0.5 * dx_cell, float(mus.max()) + 0.5 * dx_cell])
    y_scale = alt.Scale(domain=[max(0.0, float(nus.min()) - 0.5 * dy_cell), float(nus.max()) + 0.5 * dy_cell])
    x = alt.X("mu:Q", title="μ (mean of the inputs)", scale=x_scale)
    y = alt.Y("nu:Q", title="ν (variance of the inputs)", scale=y_scale)
    norm_scale = alt.Scale(scheme="plasma", domain=[0, 2], reverse=True)
    color = alt.Color("norm_shown:Q", title=["‖J‖₂", "(< 1: contracting)"], scale=norm_scale,
                      legend=alt.Legend(type="gradient", gradientLength=160))
    tips = [alt.Tooltip("mu:Q", title="μ", format=".3f"), alt.Tooltip("nu:Q", title="ν", format=".3f"),
            alt.Tooltip("mu_next:Q", title="μ̃", format=".4f"),
            alt.Tooltip("nu_next:Q", title="ν̃", format=".4f"),
            alt.Tooltip("spectral_norm:Q", title="‖J‖₂", format=".4f")]
    base = alt.Chart(df)
    shafts = base.mark_rule(strokeWidth=1.6).encode(x=x, y=y, x2="mu_head:Q", y2="nu_head:Q", color=color,
                                                    tooltip=tips)
    heads = base.mark_point(shape="triangle-up", filled=True, size=40).encode(
        x=alt.X("mu_head:Q", scale=x_scale), y=alt.Y("nu_head:Q", scale=y_scale), angle="angle:Q",
        color=alt.Color("norm_shown:Q", scale=norm_scale, legend=None), tooltip=tips)
    layers: list[alt.Chart] = [shafts, heads]
    if path is not None and len(path):
        p = path.rename(columns={"mean": "mu", "var": "nu"})
        p = p[(p["mu"] >= x_scale.domain[0]) & (p["mu"] <= x_scale.domain[1])
              & (p["nu"] >= y_scale.domain[0]) & (p["nu"] <= y_scale.domain[1])]
        layers.append(alt.Chart(p).mark_line(color="#111", strokeWidth=1.5, point=alt.OverlayMarkDef(
            color="#111", size=25)).encode(
            x=alt.X("mu:Q", scale=x_scale), y=alt.Y("nu:Q", scale=y_scale), order="layer:Q",
            tooltip=[alt.Tooltip("layer:Q"), alt.Tooltip("mu:Q", title="μ", format=".4f"),
                     alt.Tooltip("nu:Q", title="ν", format=".4f")]))
    subtitle = "no fixed point with ν > 0 reached"
    if fixed is not None and all(math.isfinite(v) for v in fixed):
        fp = pd.DataFrame({"mu": [fixed[0]], "nu": [fixed[1]], "norm": [fixed[2]]})
        layers.append(alt.Chart(fp).mark_point(shape="diamond", filled=True, size=220, color="#000",
                                               stroke="#fff", strokeWidth=1.5).encode(
            x=alt.X("mu:Q", scale=x_scale), y=alt.Y("nu:Q", scale=y_scale),
            tooltip=[alt.Tooltip("mu:Q", title="μ*", format=".6f"),
                     alt.Tooltip("nu:Q", title="ν*", format=".6f"),
                     alt.Tooltip("norm:Q", title="‖J(μ*, ν*)‖₂", format=".4f")]))
        subtitle = f"fixed point (μ*, ν*) = ({fixed[0]:.4f}, {fixed[1]:.4f}), ‖J‖₂ there = {fixed[2]:.4f}"
    return alt.layer(*layers).properties(
        title=alt.Title(title, subtitle=subtitle), width=width, height=height)
