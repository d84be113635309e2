"""The Activations tab: ELU vs SELU (and friends), their derivatives and key facts."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from selu_lab.activations import NAMES, SELU_ALPHA, SELU_SCALE, SPECS, Activation, get_activation
from selu_lab.app import guide, links
from selu_lab.charts.activations import activation_charts, moments_chart
from selu_lab.facts import N01_TOLERANCE, curves_frame, facts_frame

FUNCS = links.Setting("act_funcs", ("selu", "elu"), "multi", options=NAMES,
                      labels=tuple(SPECS[n].label for n in NAMES))
ELU_ALPHA = links.Setting("act_elu_alpha", 1.0, "float", 0.1, 3.0)
SELU_MODE = links.Setting("act_selu_mode", "paper", "choice", options=("paper", "custom"),
                          labels=("paper's α, λ", "custom α, λ"))
SELU_CUSTOM_ALPHA = links.Setting("act_selu_alpha", round(SELU_ALPHA, 4), "float", 0.1, 3.0)
SELU_CUSTOM_SCALE = links.Setting("act_selu_scale", round(SELU_SCALE, 4), "float", 0.5, 2.0)
LEAKY_SLOPE = links.Setting("act_leaky_slope", 0.01, "float", 0.0, 0.5)
CELU_ALPHA = links.Setting("act_celu_alpha", 1.0, "float", 0.1, 3.0)
X_RANGE = links.Setting("act_x", (-4.0, 3.0), "range", -10.0, 10.0)
MU = links.Setting("act_mu", 0.0, "float", -3.0, 3.0)
SIGMA = links.Setting("act_sigma", 1.0, "float", 0.0, 3.0)

SETTINGS = (FUNCS, ELU_ALPHA, SELU_MODE, SELU_CUSTOM_ALPHA, SELU_CUSTOM_SCALE, LEAKY_SLOPE,
            CELU_ALPHA, X_RANGE, MU, SIGMA)


@st.cache_data(max_entries=64, show_spinner=False)
def _curves(acts: tuple[Activation, ...], x_min: float, x_max: float) -> pd.DataFrame:
    return curves_frame(acts, x_min, x_max)


@st.cache_data(max_entries=64, show_spinner=False)
def _facts(acts: tuple[Activation, ...], mu: float, sigma: float) -> pd.DataFrame:
    return facts_frame(acts, mu, sigma)


def _parameter_controls(selected: list[str]) -> dict[str, Activation]:
    """Sliders for the parameters of the selected functions; returns the built activations."""
    params: dict[str, dict[str, float]] = {}
    cols = st.columns(3)
    if "elu" in selected:
        with cols[0]:
            params["elu"] = {"alpha": links.slider(ELU_ALPHA, "ELU α", step=0.05,
                                                   help="ELU saturates at −α for very negative x")}
    if "selu" in selected:
        with cols[1]:
            mode = links.radio(SELU_MODE, "SELU constants", horizontal=True)
            if mode == "custom":
                a = links.slider(SELU_CUSTOM_ALPHA, "SELU α", step=0.0001, format="%.4f")
                lam = links.slider(SELU_CUSTOM_SCALE, "SELU λ", step=0.0001, format="%.4f")
                params["selu"] = {"alpha": a, "scale": lam}
            else:
                st.caption(f"α = {SELU_ALPHA!r}  \nλ = {SELU_SCALE!r}")
    if "leaky_relu" in selected:
        with cols[2]:
            params["leaky_relu"] = {"alpha": links.slider(LEAKY_SLOPE, "Leaky ReLU slope", step=0.01)}
    if "celu" in selected:
        with cols[2]:
            params["celu"] = {"alpha": links.slider(CELU_ALPHA, "CELU α", step=0.05)}
    return {name: get_activation(name, **params.get(name, {})) for name in selected}


def _number(value: float) -> str:
    """Six decimals, or ±∞."""
    return f"{value:.6f}" if math.isfinite(value) else ("-∞" if value < 0 else "∞")


def _facts_table(facts: pd.DataFrame) -> None:
    shown = pd.DataFrame({
        "function": facts["function"],
        "lim x→−∞": [_number(v) for v in facts["limit_minus_inf"]],
        "minimum": [f"{_number(m)} at x = {x:.4f}" if attained else f"{_number(m)} (approached)"
                    for m, x, attained in zip(facts["minimum"], facts["argmin"],
                                              facts["minimum_attained"], strict=True)],
        "f′(0⁻)": facts["derivative_left_at_0"],
        "f′(0⁺)": facts["derivative_right_at_0"],
        "E[f(z)], z ~ N(0, 1)": facts["mean_N01"],
        "Var[f(z)]": facts["var_N01"],
        "keeps mean 0, variance 1": facts["maps_N01_to_N01"],
    })
    config: dict[str, Any] = {c: st.column_config.NumberColumn(format="%.6f")
                              for c in shown.columns if shown[c].dtype.kind == "f"}
    config["function"] = st.column_config.TextColumn(width="medium")
    config["keeps mean 0, variance 1"] = st.column_config.CheckboxColumn(
        help=f"E[f(z)] within {N01_TOLERANCE:g} of 0 and Var[f(z)] within {N01_TOLERANCE:g} of 1 "
             "for z ~ N(0, 1)")
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config)


def _gaussian_table(facts: pd.DataFrame, mu: float, sigma: float) -> None:
    shown = pd.DataFrame({"function": facts["function"], f"E[f(z)], z ~ N({mu:g}, {sigma:g}²)": facts["mean"],
                          "Var[f(z)]": facts["var"]})
    config: dict[str, Any] = {c: st.column_config.NumberColumn(format="%.6f") for c in shown.columns[1:]}
    config["function"] = st.column_config.TextColumn(width="medium")
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config)


def render() -> None:
    """Draw the tab."""
    st.subheader("ELU vs SELU: shape, slope and what they do to a Gaussian")
    selected = links.multiselect(FUNCS, "Functions",
                                 help="ELU and SELU, with other common activations for context")
    if not selected:
        st.info("Pick at least one function above.")
        return
    acts = _parameter_controls(selected)
    x_min, x_max = links.slider(X_RANGE, "x range", step=0.5)
    tup = tuple(acts.values())
    st.vega_lite_chart(activation_charts(_curves(tup, x_min, x_max)), width="stretch")
    st.caption("Hover either chart to read x, f(x) and f′(x) of every function. "
               "Derivatives are closed forms; at a kink the chart shows the left derivative.")

    st.markdown("#### Facts")
    facts = _facts(tup, 0.0, 1.0)
    _facts_table(facts)
    keepers = facts.loc[facts["maps_N01_to_N01"], "function"].tolist()
    left, right = st.columns([3, 2], vertical_alignment="center")
    with left:
        st.vega_lite_chart(moments_chart(facts), width="stretch")
    with right:
        if keepers:
            st.success(f"Only {', '.join(keepers)} maps z ~ N(0, 1) to mean 0 and variance 1: "
                       "the fixed point that makes deep SELU networks self-normalising.")
        else:
            st.warning("None of the selected functions maps N(0, 1) to mean 0, variance 1 "
                       "(SELU with the paper's α, λ does).")
        if keepers:
            st.caption("The other functions move the mean away from 0 or change the variance, "
                       "so each further layer drifts further from the target.")
        else:
            st.caption("Each of them moves the mean away from 0 or changes the variance, so a deep stack "
                       "drifts away from mean 0, variance 1 (the Self-normalisation tab shows where to).")

    st.markdown("#### Any Gaussian through one activation")
    st.caption("z ~ N(μ, σ²) in, the mean and variance of f(z) out: one step of the map that the "
               "Self-normalisation tab iterates layer after layer.")
    c1, c2 = st.columns(2)
    with c1:
        mu = links.slider(MU, "Input mean μ", step=0.1)
    with c2:
        sigma = links.slider(SIGMA, "Input std σ", step=0.1)
    _gaussian_table(_facts(tup, mu, sigma), mu, sigma)

    st.markdown("#### ELU vs SELU")
    guide.render_comparison()

