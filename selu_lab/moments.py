"""E[f(z)] and Var[f(z)] for z ~ N(μ, σ²), exact to ~1e-12.

Closed forms for the piecewise functions (ReLU, Leaky ReLU, ELU, CELU, SELU),
adaptive quadrature for the smooth ones (GELU, SiLU, tanh). Gaussian tail
terms are computed in log space so that large σ neither overflows nor warns; where
the moments themselves exceed double precision (|μ| or σ beyond ~1e150) a
ValueError says so.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr, ndtr

from selu_lab.activations import Activation

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Moments:
    """Mean and variance of f(z)."""

    mean: float
    var: float

    @property
    def std(self) -> float:
        """√var."""
        return math.sqrt(max(self.var, 0.0))


def _phi(t: float) -> float:
    return _INV_SQRT_2PI * math.exp(-0.5 * t * t)


def _positive_part(mu: float, sigma: float) -> tuple[float, float, float]:
    """P(z>0), E[z·1{z>0}], E[z²·1{z>0}] for z ~ N(mu, sigma²)."""
    t = mu / sigma
    p = float(ndtr(t))
    m1 = mu * p + sigma * _phi(t)
    m2 = (mu * mu + sigma * sigma) * p + mu * sigma * _phi(t)
    return p, m1, m2


def _exp_below_zero(k: float, mu: float, sigma: float) -> float:
    """E[e^(k z)·1{z≤0}] = e^(kμ + k²σ²/2)·Φ(−(μ + kσ²)/σ), evaluated in log space."""
    return math.exp(k * mu + 0.5 * k * k * sigma * sigma + float(log_ndtr(-(mu + k * sigma * sigma) / sigma)))


def _elu_family(act: Activation, mu: float, sigma: float) -> tuple[float, float]:
    lam = act.scale if act.name == "selu" else 1.0
    a = act.alpha
    k = 1.0 / a if act.name == "celu" else 1.0
    p, m1, m2 = _positive_part(mu, sigma)
    q = 1.0 - p
    e1 = _exp_below_zero(k, mu, sigma)
    e2 = _exp_below_zero(2.0 * k, mu, sigma)
    # negative branch g(z) = a(e^(kz) − 1) on z ≤ 0
    neg1 = a * (e1 - q)
    neg2 = a * a * (e2 - 2.0 * e1 + q)
    return lam * (m1 + neg1), lam * lam * (m2 + neg2)


def _leaky(slope: float, mu: float, sigma: float) -> tuple[float, float]:
    _p, m1, m2 = _positive_part(mu, sigma)
    neg1 = mu - m1  # E[z·1{z≤0}]
    neg2 = mu * mu + sigma * sigma - m2
    return m1 + slope * neg1, m2 + slope * slope * neg2


def _quadrature(act: Activation, mu: float, sigma: float) -> tuple[float, float]:
    """∫ f(μ+σt)^k φ(t) dt over |t| ≤ 40 (the rest is below 1e-300)."""

    from scipy import integrate  # ~1 s to import: only GELU, SiLU and tanh need it

    def moment(power: int) -> float:
        def integrand(t: float) -> float:
            return float(act.value(mu + sigma * t)) ** power * _phi(t)

        # split at the point where the argument crosses 0 so the kink-free pieces converge fast
        pts = [-40.0, 40.0]
        cross = -mu / sigma
        if -40.0 < cross < 40.0:
            pts.insert(1, cross)
        total = 0.0
        for lo, hi in itertools.pairwise(pts):
            val, _ = integrate.quad(integrand, lo, hi, epsabs=1e-14, epsrel=1e-13, limit=200)
            total += val
        return total

    return moment(1), moment(2)


def gaussian_moments(act: Activation, mean: float, std: float) -> Moments:
    """Mean and variance of f(z) for z ~ N(mean, std²)."""
    if not (math.isfinite(mean) and math.isfinite(std)) or std < 0:
        raise ValueError(f"mean must be finite and std a finite number ≥ 0, got {mean!r}, {std!r}")
    if std == 0.0:
        return Moments(float(act.value(np.array(mean))), 0.0)
    n = act.name
    if n in ("selu", "elu", "celu"):
        m1, m2 = _elu_family(act, mean, std)
    elif n == "relu":
        m1, m2 = _leaky(0.0, mean, std)
    elif n == "leaky_relu":
        m1, m2 = _leaky(act.alpha, mean, std)
    else:
        try:
            m1, m2 = _quadrature(act, mean, std)
        except OverflowError:
            m1 = m2 = math.inf
    var = m2 - m1 * m1
    if not (math.isfinite(m1) and math.isfinite(var)):
        raise ValueError(f"E[f(z)] and Var[f(z)] for z ~ N({mean:g}, {std:g}²) exceed double precision; "
                         "use |mean| and std below 1e150")
    return Moments(m1, max(var, 0.0))
