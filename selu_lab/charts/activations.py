"""Altair charts of the Activations tab: f(x) and f′(x), linked by one hover."""

from __future__ import annotations

import math
import warnings

import altair as alt
import pandas as pd

from selu_lab.activations import COLORS
from selu_lab.charts import cached_template, placeholder, with_data


def functions_of(frame: pd.DataFrame) -> tuple[tuple[str, str], ...]:
    """(label, registry name) of each function in ``frame``, in order of appearance."""
    pairs = frame[["function", "name"]].drop_duplicates()
    return tuple(zip(pairs["function"], pairs["name"], strict=True))


def color_scale(names: tuple[str, ...]) -> alt.Scale:
    """Each function keeps its registry colour (same in every tab); labels are filled in later."""
    return alt.Scale(domain=[placeholder(i) for i in range(len(names))], range=[COLORS[n] for n in names])


def activation_charts(curves: pd.DataFrame, height: int = 320) -> dict:
    """f(x) beside f′(x) as a Vega-Lite spec; hovering either shows x, f(x), f′(x) in both."""
    functions = functions_of(curves)
    return with_data(_activation_template(tuple(n for _, n in functions), height), {"curves": curves},
                     tuple(f for f, _ in functions))


def moments_chart(facts: pd.DataFrame, height: int = 320) -> dict:
    """Where z ~ N(0, 1) lands: (E[f(z)], Var[f(z)]) per function, with the target (0, 1) marked.

    Functions whose points (nearly) coincide share one label, e.g. "ELU, CELU" for α = 1,
    instead of printing their names over each other.
    """
    functions = functions_of(facts)
    return with_data(_moments_template(tuple(n for _, n in functions), height, *_moment_domains(facts)),
                     {"facts": facts, "labels": point_labels(facts)}, tuple(f for f, _ in functions))


def _moment_domains(facts: pd.DataFrame) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis ranges that hold every point: at least mean −0.1…0.5 and variance 0…1.3, widened in
    steps of 0.1 (e.g. for SELU with a custom α) so that no point is drawn at the edge instead."""
    means, variances = facts["mean_N01"].dropna(), facts["var_N01"].dropna()
    lo = min(-0.1, math.floor((means.min() - 0.05) * 10) / 10) if len(means) else -0.1
    hi = max(0.5, math.ceil((means.max() + 0.05) * 10) / 10) if len(means) else 0.5
    top = max(1.3, math.ceil(variances.max() * 1.1 * 10) / 10) if len(variances) else 1.3
    return (lo, hi), (0.0, top)


LABEL_SPAN = (0.03, 0.06)  # points closer than this in (mean, variance) share a label (~ its height)


def point_labels(facts: pd.DataFrame) -> pd.DataFrame:
    """One label per group of nearby points: at the group's first point, in its colour, names joined."""
    groups: list[list[int]] = []
    for i, (m, v) in enumerate(zip(facts["mean_N01"], facts["var_N01"], strict=True)):
        for group in groups:
            m0, v0 = facts["mean_N01"].iloc[group[0]], facts["var_N01"].iloc[group[0]]
            if abs(m - m0) < LABEL_SPAN[0] and abs(v - v0) < LABEL_SPAN[1]:
                group.append(i)
                break
        else:
            groups.append([i])
    return pd.DataFrame({
        "mean_N01": [facts["mean_N01"].iloc[g[0]] for g in groups],
        "var_N01": [facts["var_N01"].iloc[g[0]] for g in groups],
        "function": [facts["function"].iloc[g[0]] for g in groups],
        "text": [", ".join(facts["function"].iloc[g]) for g in groups],
    })


@cached_template
def _activation_template(functions: tuple[str, ...], height: int) -> alt.HConcatChart:
    curves = alt.NamedData("curves")
    hover = alt.selection_point(fields=["x"], nearest=True, on="pointerover", empty=False,
                                clear="pointerout", name="hover")
    color = alt.Color("function:N", scale=color_scale(functions),
                      legend=alt.Legend(title=None, orient="bottom", direction="horizontal"))
    tooltip = [alt.Tooltip("function:N", title="function"),
               alt.Tooltip("x:Q", format=".3f"),
               alt.Tooltip("value:Q", title="f(x)", format=".4f"),
               alt.Tooltip("derivative:Q", title="f′(x)", format=".4f")]
    base = alt.Chart(curves).encode(x=alt.X("x:Q", title="x"), color=color)

    def panel(field: str, title: str) -> alt.LayerChart:
        y = alt.Y(f"{field}:Q", title=title)
        lines = base.mark_line(strokeWidth=2.5).encode(y=y)
        points = base.mark_point(filled=True, size=70).encode(
            y=y, opacity=alt.condition(hover, alt.value(1.0), alt.value(0.0)), tooltip=tooltip)
        rule = base.mark_rule(color="#888", strokeDash=[4, 3]).encode(
            x="x:Q", color=alt.value("#888")).transform_filter(hover)
        zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#bbb").encode(y="y:Q")
        return alt.layer(zero, lines, points, rule).properties(title=title, height=height, width=520)

    with warnings.catch_warnings():
        # Altair notes that the shared hover is defined once for both panels: that is the intent
        warnings.filterwarnings("ignore", message="Automatically deduplicated selection")
        return alt.hconcat(panel("value", "f(x)"), panel("derivative", "f′(x)")).add_params(
            hover).resolve_scale(color="shared")


@cached_template
def _moments_template(functions: tuple[str, ...], height: int, x_domain: tuple[float, float],
                      y_domain: tuple[float, float]) -> alt.LayerChart:
    facts = alt.NamedData("facts")
    target = pd.DataFrame({"mean": [0.0], "var": [1.0], "label": ["target: mean 0, var 1"]})
    color = alt.Color("function:N", scale=color_scale(functions), legend=None)
    points = alt.Chart(facts).mark_point(filled=True, size=160).encode(
        x=alt.X("mean_N01:Q", title="E[f(z)] for z ~ N(0, 1)",
                scale=alt.Scale(domain=list(x_domain))),
        y=alt.Y("var_N01:Q", title="Var[f(z)] for z ~ N(0, 1)",
                scale=alt.Scale(domain=list(y_domain))),
        color=color,
        tooltip=[alt.Tooltip("function:N"), alt.Tooltip("mean_N01:Q", title="mean", format=".6f"),
                 alt.Tooltip("var_N01:Q", title="variance", format=".6f")])
    labels = alt.Chart(alt.NamedData("labels")).mark_text(align="left", dx=10, fontSize=13).encode(
        x=alt.X("mean_N01:Q", scale=alt.Scale(domain=list(x_domain))),
        y=alt.Y("var_N01:Q", scale=alt.Scale(domain=list(y_domain))),
        color=color, text="text:N")
    cross = alt.Chart(target).mark_point(shape="cross", size=500, color="black", strokeWidth=2).encode(
        x="mean:Q", y="var:Q", tooltip=["label:N"])
    return alt.layer(cross, points, labels).properties(
        height=height, width="container", title="Where N(0, 1) lands after one activation (+ = target)")
