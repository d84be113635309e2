"""The paper's mean/variance map for SELU-type units, its Jacobian, fixed points,
the SELU-parameter solver and the AlphaDropout constants.

Klambauer et al. 2017, "Self-Normalizing Neural Networks", Eq. 4–5 and appendix:
a unit receives inputs with mean μ and variance ν through weights with
ω = Σwᵢ and τ = Σwᵢ², so its pre-activation is z ~ N(μω, ντ) and its output
f(z) = λ·ELU_α(z) has mean μ̃ and variance ν̃. The map g: (μ, ν) ↦ (μ̃, ν̃) is
written here in the paper's erfc form; every e^a·erfc(y) product is evaluated
as e^(a−y²)·erfcx(y) when y > 0, so that no term overflows or underflows to
0·∞. The ELU family with a custom α and λ is the same map (ELU: λ = 1; CELU:
negative branch α(e^(z/α) − 1), i.e. rate k = 1/α).

Random weights (LeCun, He, …) are not normalised unit by unit: ωⱼ = Σᵢ wⱼᵢ is
≈ N(0, τ) across the units of a layer. Pooled over the units, the
pre-activation is then N(0, (ν + μ²)τ): the input mean is carried into the
variance. ``random_weights=True`` selects that pooled map, which is what a
deep stack measures layer by layer; with μ = 0 both maps coincide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.optimize import root
from scipy.special import erfc, erfcx

from selu_lab.activations import SELU_ALPHA, SELU_SCALE, Activation
from selu_lab.inits import check_init, weight_variance
from selu_lab.moments import gaussian_moments

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

ArrayLike = float | np.ndarray
Weights = Literal["random", "normalized", "paper_code"]
WEIGHTS: tuple[str, ...] = ("random", "normalized", "paper_code")


# ----------------------------------------------------------------------------- the map


def _exp_erfc(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """e^a·erfc(y) without overflow: e^(a−y²)·erfcx(y) for y > 0, e^a·erfc(y) otherwise.

    In every use below a − y² ≤ 0 when y > 0 and a ≤ 0 when y ≤ 0, so the clips
    only keep the branch that np.where discards from warning.
    """
    pos = y > 0
    yp = np.where(pos, y, 0.0)
    high = np.exp(np.minimum(a - yp * yp, 0.0)) * erfcx(yp)
    low = np.exp(np.minimum(a, 0.0)) * erfc(np.where(pos, 0.0, y))
    return np.where(pos, high, low)


@dataclass(frozen=True)
class _Terms:
    """Gaussian expectations of z ~ N(m, v) that the map and its Jacobian share."""

    p_pos: np.ndarray  # P(z > 0)
    p_neg: np.ndarray  # P(z ≤ 0)
    e1: np.ndarray  # E[e^(kz)·1{z≤0}]
    e2: np.ndarray  # E[e^(2kz)·1{z≤0}]
    z1: np.ndarray  # E[z·1{z>0}]
    z2: np.ndarray  # E[z²·1{z>0}]
    dens0: np.ndarray  # density of z at 0


def _terms(m: np.ndarray, v: np.ndarray, k: float) -> _Terms:
    """The paper's erfc terms for pre-activation mean m = μω, variance v = ντ > 0."""
    r = np.sqrt(2.0 * v)
    p_neg = 0.5 * erfc(m / r)
    p_pos = 0.5 * erfc(-m / r)
    e1 = 0.5 * _exp_erfc(k * m + 0.5 * k * k * v, (m + k * v) / r)
    e2 = 0.5 * _exp_erfc(2.0 * k * m + 2.0 * k * k * v, (m + 2.0 * k * v) / r)
    gauss = np.exp(-m * m / (2.0 * v))
    g = np.sqrt(v) * _INV_SQRT_2PI * gauss  # √(ντ/2π)·e^(−(μω)²/2ντ)
    z1 = m * p_pos + g
    z2 = (m * m + v) * p_pos + m * g
    return _Terms(p_pos, p_neg, e1, e2, z1, z2, gauss * _INV_SQRT_2PI / np.sqrt(v))


def _check_map_args(nu: np.ndarray, tau: np.ndarray, alpha: float, scale: float, rate: float) -> None:
    if not np.all(np.isfinite(nu)) or np.any(nu <= 0):
        raise ValueError("ν (variance of the inputs) must be a finite number > 0")
    if not np.all(np.isfinite(tau)) or np.any(tau <= 0):
        raise ValueError("τ = Σwᵢ² must be a finite number > 0")
    for value, what in ((alpha, "α"), (scale, "λ (scale)"), (rate, "rate")):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{what} must be a finite number > 0, got {value!r}")


def _out(x: np.ndarray) -> ArrayLike:
    return float(x) if np.ndim(x) == 0 else x


def moment_map(mu: ArrayLike, nu: ArrayLike, omega: ArrayLike = 0.0, tau: ArrayLike = 1.0,
               alpha: float = SELU_ALPHA, scale: float = SELU_SCALE,
               rate: float = 1.0) -> tuple[ArrayLike, ArrayLike]:
    """The paper's g: (μ, ν) ↦ (μ̃, ν̃) for f(z) = λ·(z if z > 0 else α(e^(kz) − 1)).

    Eq. 4–5 of Klambauer et al. 2017 (k = ``rate`` = 1 for SELU/ELU). Broadcasts
    over NumPy arrays; returns floats for scalar inputs.
    """
    mu, nu, omega, tau = (np.asarray(a, dtype=np.float64) for a in (mu, nu, omega, tau))
    _check_map_args(nu, tau, alpha, scale, rate)
    t = _terms(mu * omega, nu * tau, rate)
    mean = scale * (t.z1 + alpha * (t.e1 - t.p_neg))
    second = scale * scale * (t.z2 + alpha * alpha * (t.e2 - 2.0 * t.e1 + t.p_neg))
    return _out(mean), _out(np.maximum(second - mean * mean, 0.0))


def moment_map_jacobian(mu: ArrayLike, nu: ArrayLike, omega: ArrayLike = 0.0, tau: ArrayLike = 1.0,
                        alpha: float = SELU_ALPHA, scale: float = SELU_SCALE,
                        rate: float = 1.0) -> np.ndarray:
    """The 2×2 Jacobian ∂(μ̃, ν̃)/∂(μ, ν) of ``moment_map``, in closed form; shape (..., 2, 2).

    Uses ∂E[h(z)]/∂m = E[h′(z)] and ∂E[h(z)]/∂v = ½E[h″(z)] for z ~ N(m, v); the kink
    of f at 0 (slopes λ and λαk) contributes λ(1 − αk)·density(0) to ∂μ̃/∂v.
    """
    mu, nu, omega, tau = (np.asarray(a, dtype=np.float64) for a in (mu, nu, omega, tau))
    _check_map_args(nu, tau, alpha, scale, rate)
    k, lam, a = rate, scale, alpha
    t = _terms(mu * omega, nu * tau, k)
    mean = lam * (t.z1 + a * (t.e1 - t.p_neg))
    dmean_dm = lam * (t.p_pos + a * k * t.e1)
    dmean_dv = 0.5 * lam * ((1.0 - a * k) * t.dens0 + a * k * k * t.e1)
    dsec_dm = 2.0 * lam * lam * (t.z1 + a * a * k * (t.e2 - t.e1))
    dsec_dv = lam * lam * (t.p_pos + a * a * k * k * (2.0 * t.e2 - t.e1))
    dvar_dm = dsec_dm - 2.0 * mean * dmean_dm
    dvar_dv = dsec_dv - 2.0 * mean * dmean_dv
    jac = np.stack([np.stack([omega * dmean_dm, tau * dmean_dv], axis=-1),
                    np.stack([omega * dvar_dm, tau * dvar_dv], axis=-1)], axis=-2)
    return jac


def spectral_norm(jacobian: np.ndarray) -> ArrayLike:
    """Largest singular value of a 2×2 matrix (or a stack of them): < 1 means g contracts."""
    jac = np.asarray(jacobian, dtype=np.float64)
    return _out(np.linalg.norm(jac, ord=2, axis=(-2, -1)))


# ----------------------------------------------------------------------------- any activation


def elu_parameters(act: Activation) -> tuple[float, float, float]:
    """(α, λ, k) with f(z) = λ·(z if z > 0 else α(e^(kz) − 1)); ValueError outside the ELU family."""
    if act.name == "selu":
        return float(act.alpha), float(act.scale), 1.0
    if act.name == "elu":
        return float(act.alpha), 1.0, 1.0
    if act.name == "celu":
        return float(act.alpha), 1.0, 1.0 / float(act.alpha)
    raise ValueError(f"the closed-form moment map covers SELU, ELU and CELU, not {act.label}")


def activation_map(act: Activation, mu: float, nu: float, omega: float = 0.0, tau: float = 1.0,
                   *, random_weights: bool = False) -> tuple[float, float]:
    """(μ̃, ν̃) of one layer for any activation: closed form for the ELU family, else exact
    Gaussian moments of f(z), z ~ N(μω, ντ).

    With ``random_weights`` the layer-pooled map for zero-mean random weights with
    Σwᵢ² = τ is used: z ~ N(0, (ν + μ²)τ) (``omega`` must then be 0).
    """
    if random_weights:
        if omega != 0:
            raise ValueError("random_weights describes zero-mean weights: ω must be 0")
        nu, mu = nu + mu * mu, 0.0
    if act.is_elu_family:
        a, lam, k = elu_parameters(act)
        m, v = moment_map(mu, nu, omega, tau, a, lam, k)
        return float(m), float(v)
    if not (math.isfinite(nu) and nu > 0 and math.isfinite(tau) and tau > 0):
        raise ValueError("ν and τ must be finite numbers > 0")
    mom = gaussian_moments(act, mu * omega, math.sqrt(nu * tau))
    return mom.mean, mom.var


def activation_jacobian(act: Activation, mu: float, nu: float, omega: float = 0.0,
                        tau: float = 1.0) -> np.ndarray:
    """2×2 Jacobian of ``activation_map``: closed form for the ELU family, else central differences."""
    if act.is_elu_family:
        a, lam, k = elu_parameters(act)
        return moment_map_jacobian(mu, nu, omega, tau, a, lam, k)
    jac = np.empty((2, 2))
    hm = 1e-5 * max(1.0, abs(mu))
    hv = 1e-5 * nu
    plus, minus = activation_map(act, mu + hm, nu, omega, tau), activation_map(act, mu - hm, nu, omega, tau)
    jac[:, 0] = (np.array(plus) - np.array(minus)) / (2 * hm)
    plus, minus = activation_map(act, mu, nu + hv, omega, tau), activation_map(act, mu, nu - hv, omega, tau)
    jac[:, 1] = (np.array(plus) - np.array(minus)) / (2 * hv)
    return jac


def init_moments(init: str, width: int) -> tuple[float, float]:
    """(ω, τ) a square layer of ``width`` units has under ``init``: ω = 0 in expectation,
    τ = fan_in·Var(w) (1 for LeCun and, for square layers, Glorot; 2 for He; 9/16 for gain 3/4;
    1/3 for PyTorch's default)."""
    check_init(init)
    if width < 1:
        raise ValueError(f"width must be ≥ 1, got {width}")
    return 0.0, width * weight_variance(init, width, width)


# ----------------------------------------------------------------------------- fixed points, trajectories


@dataclass(frozen=True)
class FixedPoint:
    """A fixed point (μ*, ν*) of the map and its Jacobian's spectral norm there."""

    mu: float
    nu: float
    jacobian: np.ndarray
    spectral_norm: float

    @property
    def stable(self) -> bool:
        return self.spectral_norm < 1.0


def fixed_point(act: Activation, omega: float = 0.0, tau: float = 1.0, *,
                start: tuple[float, float] = (0.0, 1.0), random_weights: bool = False,
                max_iter: int = 2000) -> FixedPoint | None:
    """The fixed point of the map with ν* > 0 reached from ``start``, or None when there is none
    (the variance collapses to 0 or grows without bound)."""
    mu, nu = float(start[0]), float(start[1])
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(max_iter):
            try:
                new_mu, new_nu = activation_map(act, mu, nu, omega, tau, random_weights=random_weights)
            except ValueError:
                return None
            if not (math.isfinite(new_mu) and math.isfinite(new_nu)) or new_nu > 1e12 or new_nu < 1e-12:
                return None
            done = abs(new_mu - mu) < 1e-13 and abs(new_nu - nu) < 1e-13 * max(1.0, nu)
            mu, nu = new_mu, new_nu
            if done:
                break

        def residual(x: np.ndarray) -> np.ndarray:
            if x[1] <= 0:
                return np.array([1e3, 1e3])
            m, v = activation_map(act, x[0], x[1], omega, tau, random_weights=random_weights)
            return np.array([m - x[0], v - x[1]])

        sol = root(residual, np.array([mu, nu]), method="hybr", tol=1e-14)
    # judged by the residual: hybr reports "no further improvement" once it is at machine precision
    if sol.x[1] <= 1e-9 or np.max(np.abs(residual(sol.x))) > 1e-10 * max(1.0, sol.x[1]):
        return None
    mu, nu = float(sol.x[0]), float(sol.x[1])
    jac = _pooled_jacobian(act, mu, nu, omega, tau) if random_weights else \
        activation_jacobian(act, mu, nu, omega, tau)
    return FixedPoint(mu, nu, jac, float(spectral_norm(jac)))


def _pooled_jacobian(act: Activation, mu: float, nu: float, omega: float, tau: float) -> np.ndarray:
    """Jacobian of the pooled random-weight map (μ, ν) ↦ g(0, ν + μ²): chain rule on ν + μ²."""
    inner = activation_jacobian(act, 0.0, nu + mu * mu, omega, tau)
    return np.column_stack([inner[:, 1] * 2.0 * mu, inner[:, 1]])


def dropout_moments(mean: float, var: float, kind: str, rate: float,
                    alpha_prime: float = 0.0, a: float = 1.0, b: float = 0.0) -> tuple[float, float]:
    """Mean and variance after dropout in training mode (keep probability q = 1 − rate).

    'standard': x·d/q; 'alpha': a·(x·d + α′(1 − d)) + b; 'none': unchanged.
    """
    if kind == "none" or rate == 0:
        return mean, var
    q = 1.0 - rate
    second = var + mean * mean
    if kind == "standard":
        return mean, second / q - mean * mean
    if kind == "alpha":
        m = q * mean + (1.0 - q) * alpha_prime
        v = q * second + (1.0 - q) * alpha_prime * alpha_prime - m * m
        return a * m + b, a * a * v
    raise ValueError(f"unknown dropout {kind!r}; choose none, alpha or standard")


def trajectory(act: Activation, mu0: float, nu0: float, depth: int, omega: float = 0.0,
               tau: float = 1.0, *, random_weights: bool = False, dropout: str = "none",
               dropout_rate: float = 0.0, alpha_prime: float = 0.0, dropout_a: float = 1.0,
               dropout_b: float = 0.0) -> pd.DataFrame:
    """Iterate the map ``depth`` times from the input moments: columns layer (1…depth), mean, var.

    Once the variance collapses below 1e-300 or leaves the float range the remaining
    layers are NaN (the map is undefined at ν = 0).
    """
    if not (math.isfinite(mu0) and math.isfinite(nu0) and nu0 >= 0):
        raise ValueError("the input mean must be finite and the input variance finite and ≥ 0")
    rows = []
    mu, nu = float(mu0), float(nu0)
    alive = True
    for layer in range(1, depth + 1):
        if alive and (nu + mu * mu if random_weights else nu) > 1e-300 and math.isfinite(nu):
            with np.errstate(over="ignore", invalid="ignore", under="ignore"):
                mu, nu = activation_map(act, mu, max(nu, 1e-300), omega, tau, random_weights=random_weights)
                mu, nu = dropout_moments(mu, nu, dropout, dropout_rate, alpha_prime, dropout_a, dropout_b)
            alive = math.isfinite(mu) and math.isfinite(nu) and abs(nu) < 1e300
        else:
            alive = False
        rows.append((layer, mu if alive else math.nan, nu if alive else math.nan))
    return pd.DataFrame(rows, columns=["layer", "mean", "var"])


def map_grid(act: Activation, mus: np.ndarray, nus: np.ndarray, omega: float = 0.0,
             tau: float = 1.0) -> pd.DataFrame:
    """g over a (μ, ν) grid: columns mu, nu, mu_next, nu_next, spectral_norm (arrows of the plane view)."""
    mm, vv = np.meshgrid(np.asarray(mus, float), np.asarray(nus, float))
    mm, vv = mm.ravel(), vv.ravel()
    if act.is_elu_family:
        a, lam, k = elu_parameters(act)
        m2, v2 = moment_map(mm, vv, omega, tau, a, lam, k)
        norms = spectral_norm(moment_map_jacobian(mm, vv, omega, tau, a, lam, k))
    else:  # quadrature per point; the Jacobian from differences across the grid (for colour only)
        pairs = [activation_map(act, m, v, omega, tau) for m, v in zip(mm, vv, strict=True)]
        m2 = np.array([p[0] for p in pairs])
        v2 = np.array([p[1] for p in pairs])
        shape = (len(nus), len(mus))
        mus_a, nus_a = np.asarray(mus, float), np.asarray(nus, float)
        jac = np.empty((*shape, 2, 2))
        for row, out in enumerate((m2.reshape(shape), v2.reshape(shape))):
            d_nu, d_mu = np.gradient(out, nus_a, mus_a) if min(shape) > 1 else (np.zeros(shape),) * 2
            jac[..., row, 0], jac[..., row, 1] = d_mu, d_nu
        norms = np.asarray(spectral_norm(jac)).ravel()
    return pd.DataFrame({"mu": mm, "nu": vv, "mu_next": m2, "nu_next": v2,
                         "spectral_norm": np.broadcast_to(norms, mm.shape)})


def plane_view(act: Activation, omega: float, tau: float, mu0: float, nu0: float, depth: int,
               ) -> tuple[pd.DataFrame, tuple[float, float, float] | None, pd.DataFrame]:
    """Everything the (μ, ν) plane shows: ``map_grid`` arrows over a window that holds the
    start (mu0, nu0) and the fixed point, the fixed point (μ*, ν*, ‖J‖₂) or None, and the
    ``trajectory`` of ``depth`` layers from the start."""
    fp = fixed_point(act, omega, tau)
    path = trajectory(act, mu0, nu0, depth, omega, tau)
    points = [(mu0, nu0)] + ([(fp.mu, fp.nu)] if fp else [])
    mu_lo = min(-1.0, *(p[0] for p in points)) - 0.1
    mu_hi = max(1.0, *(p[0] for p in points)) + 0.1
    nu_hi = max(2.0, *(p[1] for p in points)) * 1.1
    grid = map_grid(act, np.linspace(mu_lo, mu_hi, 13), np.linspace(0.1, nu_hi, 11), omega, tau)
    return grid, ((fp.mu, fp.nu, fp.spectral_norm) if fp else None), path


# ----------------------------------------------------------------------------- SELU parameters, AlphaDropout


@dataclass(frozen=True)
class SeluParameters:
    """α and λ that make (mean, var) a fixed point of the map."""

    alpha: float
    scale: float
    mean: float
    var: float
    weights: str

    @property
    def alpha_prime(self) -> float:
        """α′ = −λα, the negative floor AlphaDropout sets dropped units to."""
        return -self.scale * self.alpha


def _preactivation(mean: float, var: float, weights: str) -> tuple[float, float]:
    """(m, v) of the pre-activation at the fixed point under each weight convention."""
    if weights == "random":
        return 0.0, var + mean * mean
    if weights == "normalized":
        return 0.0, var
    if weights == "paper_code":
        return mean, var
    raise ValueError(f"unknown weights convention {weights!r}; choose one of: {', '.join(WEIGHTS)}")


def solve_selu_parameters(mean: float = 0.0, var: float = 1.0, *, weights: str = "random") -> SeluParameters:
    """α, λ > 0 such that (mean, var) is a fixed point of the SELU map (the paper's getSELUparameters).

    At the fixed point the pre-activation distribution depends only on the target, so
    μ̃ = λ(A − αB) and ξ̃ = λ²(Z₂ + α²C) with Gaussian expectations A, B, C, Z₂; the ratio
    mean/√var fixes α through a quadratic and the variance then fixes λ. ``weights`` says how
    the target reaches the pre-activation:

    - 'random' (default): zero-mean random weights with Σwᵢ² = 1 (LeCun init), pooled over units,
      z ~ N(0, var + mean²); a deep stack with these α, λ converges to (mean, var).
    - 'normalized': ω = 0, τ = 1 exactly, z ~ N(0, var).
    - 'paper_code': z ~ N(mean, var), as in the authors' getSELUparameters notebook (ω = τ = 1).

    All three agree for mean = 0. Raises ValueError when no α, λ > 0 exist.
    """
    if not (math.isfinite(mean) and math.isfinite(var)):
        raise ValueError("target mean and variance must be finite numbers")
    if var <= 0:
        raise ValueError(f"target variance must be > 0, got {var:g}")
    beyond = ValueError(f"target (mean {mean:g}, variance {var:g}) is beyond what double precision "
                        "resolves; use a variance between 1e-12 and 1e12 and |mean| below 1e6")
    if not (1e-12 <= var <= 1e12 and abs(mean) < 1e6):
        raise beyond
    m, v = _preactivation(mean, var, weights)
    with np.errstate(all="ignore"):  # overflow and underflow are reported below, in one line
        t = _terms(np.float64(m), np.float64(v), 1.0)
    big_a = float(t.z1)  # E[z⁺]
    big_b = float(t.p_neg - t.e1)  # E[(1 − e^z)·1{z≤0}] > 0
    big_c = float(t.e2 - 2.0 * t.e1 + t.p_neg)  # E[(e^z − 1)²·1{z≤0}]
    z2 = float(t.z2)
    if not (big_b > 0 and all(math.isfinite(x) for x in (big_a, big_b, big_c, z2))):
        raise beyond
    rho = mean / math.sqrt(var)

    def mean_unit(alpha: float) -> float:  # μ̃/λ
        return big_a - alpha * big_b

    def var_unit(alpha: float) -> float:  # ν̃/λ²
        return z2 + alpha * alpha * big_c - mean_unit(alpha) ** 2

    if rho == 0.0:
        candidates = [big_a / big_b]
    else:
        qa = (1.0 + rho * rho) * big_b * big_b - rho * rho * big_c
        qb = -2.0 * (1.0 + rho * rho) * big_a * big_b
        qc = (1.0 + rho * rho) * big_a * big_a - rho * rho * z2
        if abs(qa) < 1e-300:
            candidates = [-qc / qb] if qb != 0 else []
        else:
            disc = qb * qb - 4.0 * qa * qc
            if disc < 0:
                candidates = []
            else:
                sq = math.sqrt(disc)
                candidates = [(-qb + sq) / (2.0 * qa), (-qb - sq) / (2.0 * qa)]
    good = [a for a in candidates
            if math.isfinite(a) and a > 0 and var_unit(a) > 0 and mean_unit(a) * mean >= 0
            and abs(mean_unit(a) / math.sqrt(var_unit(a)) - rho) < 1e-8 * max(1.0, abs(rho))]
    if not good:
        raise ValueError(
            f"no SELU parameters α, λ > 0 have (mean {mean:g}, variance {var:g}) as a fixed point "
            f"with '{weights}' weights; try a target with |mean|/√var closer to 0")
    alpha = min(good)
    scale = math.sqrt(var / var_unit(alpha))
    return SeluParameters(alpha, scale, float(mean), float(var), weights)


def alpha_dropout_constants(rate: float, alpha: float = SELU_ALPHA, scale: float = SELU_SCALE,
                            mean: float = 0.0, var: float = 1.0) -> tuple[float, float]:
    """AlphaDropout's affine (a, b) that keep mean and variance: out = a·(x·d + α′(1 − d)) + b, α′ = −λα.

    With keep probability q = 1 − rate (paper, Section "New Dropout Technique"):
    a = √(var / (q((1 − q)(α′ − mean)² + var))), b = mean − a(q·mean + (1 − q)α′).
    """
    if not (math.isfinite(rate) and 0.0 <= rate < 1.0):
        raise ValueError(f"dropout rate must be in [0, 1), got {rate!r}")
    if not (math.isfinite(var) and var > 0 and math.isfinite(mean)):
        raise ValueError("the mean must be finite and the variance finite and > 0")
    if not (math.isfinite(alpha) and math.isfinite(scale)):
        raise ValueError("α and λ must be finite")
    q = 1.0 - rate
    alpha_prime = -scale * alpha
    a = math.sqrt(var / (q * ((1.0 - q) * (alpha_prime - mean) ** 2 + var)))
    b = mean - a * (q * mean + (1.0 - q) * alpha_prime)
    return a, b


def selu_parameters_with_dropout(mean: float, var: float, rate: float, *, weights: str = "random",
                                 ) -> tuple[SeluParameters, float, float]:
    """``solve_selu_parameters`` and the AlphaDropout (a, b) that keep the same (mean, var) at ``rate``."""
    params = solve_selu_parameters(mean, var, weights=weights)
    a, b = alpha_dropout_constants(rate, params.alpha, params.scale, mean, var)
    return params, a, b
