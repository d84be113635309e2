"""Tables behind the Activations tab: curves f, f′ on a grid and each function's key facts."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from selu_lab.activations import Activation
from selu_lab.moments import gaussian_moments

MAX_POINTS = 2001


def curves_frame(acts: Sequence[Activation], x_min: float, x_max: float, points: int = 401) -> pd.DataFrame:
    """Long table x, f(x), f′(x) per activation on an even grid (for the linked charts)."""
    if not (math.isfinite(x_min) and math.isfinite(x_max)) or x_min >= x_max:
        raise ValueError(f"x-range must be finite with min < max, got [{x_min}, {x_max}]")
    if not 2 <= points <= MAX_POINTS:
        raise ValueError(f"points must be in [2, {MAX_POINTS}], got {points}")
    x = np.linspace(x_min, x_max, points)
    frames = [
        pd.DataFrame({"x": x, "function": act.label, "name": act.name,
                      "value": act.value(x), "derivative": act.derivative(x)})
        for act in acts
    ]
    if not frames:
        return pd.DataFrame(columns=["x", "function", "name", "value", "derivative"])
    return pd.concat(frames, ignore_index=True)


# how close to mean 0, variance 1 counts as keeping N(0, 1): the paper's α, λ are exact to 1e-15;
# α and λ set by hand to 4 decimals land within ~1e-4
N01_TOLERANCE = 1e-3


def facts_frame(acts: Sequence[Activation], mean: float = 0.0, std: float = 1.0) -> pd.DataFrame:
    """One row per activation: limit at −∞, minimum, one-sided f′(0), and the moments of f(z).

    z ~ N(mean, std²); ``maps_N01_to_N01`` says whether f keeps N(0, 1) at mean 0, variance 1
    (to ``N01_TOLERANCE``).
    """
    rows = []
    for act in acts:
        left, right = act.one_sided_derivatives_at_0()
        low, argmin = act.minimum()
        m = gaussian_moments(act, mean, std)
        m01 = gaussian_moments(act, 0.0, 1.0)
        rows.append({
            "function": act.label,
            "name": act.name,
            "limit_minus_inf": act.limit_at_minus_infinity(),
            "minimum": low,
            "argmin": argmin,
            "minimum_attained": argmin is not None,
            "derivative_left_at_0": left,
            "derivative_right_at_0": right,
            "kink_at_0": not math.isclose(left, right),
            "mean": m.mean,
            "var": m.var,
            "mean_N01": m01.mean,
            "var_N01": m01.var,
            "maps_N01_to_N01": abs(m01.mean) < N01_TOLERANCE and abs(m01.var - 1.0) < N01_TOLERANCE,
        })
    return pd.DataFrame(rows)
