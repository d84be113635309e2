"""Activation functions, their closed-form derivatives and their torch modules.

One registry serves every tab: the Activations charts (NumPy, float64), the
deep stacks and the CNN (torch modules), and the CLI. Each function has one
colour used everywhere in the app.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtr

if TYPE_CHECKING:  # torch is imported only where a tensor is needed: the Activations tab doesn't
    import torch
    from torch import nn

# Klambauer et al. 2017, Eq. 14: the SELU constants for the fixed point (0, 1).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

_SQRT_2PI = math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class ActivationSpec:
    """What the registry knows about one activation family."""

    name: str
    label: str
    color: str
    formula: str
    default_alpha: float | None = None  # alpha (ELU/CELU/SELU) or negative slope (Leaky ReLU)
    default_scale: float | None = None  # SELU's lambda
    alpha_range: tuple[float, float] | None = None
    scale_range: tuple[float, float] | None = None


SPECS: dict[str, ActivationSpec] = {
    spec.name: spec
    for spec in [
        ActivationSpec("selu", "SELU", "#d62728", "λx if x>0, λα(eˣ−1) otherwise",
                       SELU_ALPHA, SELU_SCALE, (0.01, 10.0), (0.01, 10.0)),
        ActivationSpec("elu", "ELU", "#1f77b4", "x if x>0, α(eˣ−1) otherwise",
                       1.0, None, (0.01, 10.0)),
        ActivationSpec("relu", "ReLU", "#7f7f7f", "max(0, x)"),
        ActivationSpec("leaky_relu", "Leaky ReLU", "#bcbd22", "x if x>0, αx otherwise",
                       0.01, None, (0.0, 1.0)),
        ActivationSpec("gelu", "GELU", "#9467bd", "x·Φ(x)"),
        ActivationSpec("silu", "SiLU", "#2ca02c", "x·σ(x)"),
        ActivationSpec("celu", "CELU", "#17becf", "max(0,x) + min(0, α(e^(x/α)−1))",
                       1.0, None, (0.01, 10.0)),
        ActivationSpec("tanh", "tanh", "#ff7f0e", "tanh(x)"),
    ]
}

NAMES: tuple[str, ...] = tuple(SPECS)
COLORS: dict[str, str] = {name: spec.color for name, spec in SPECS.items()}
ELU_FAMILY = ("selu", "elu", "celu")


class ActivationError(ValueError):
    """A bad activation name or parameter; the message says what is allowed."""


@dataclass(frozen=True)
class Activation:
    """One activation with its parameters fixed: values, derivatives, torch module."""

    name: str
    alpha: float | None = None
    scale: float | None = None

    @property
    def spec(self) -> ActivationSpec:
        return SPECS[self.name]

    @property
    def label(self) -> str:
        """Display label, with parameters when they differ from the defaults."""
        spec = self.spec
        parts = []
        if self.alpha is not None and not math.isclose(self.alpha, spec.default_alpha or 0.0):
            parts.append(f"slope={self.alpha:g}" if self.name == "leaky_relu" else f"α={self.alpha:g}")
        if self.scale is not None and not math.isclose(self.scale, spec.default_scale or 0.0):
            parts.append(f"λ={self.scale:g}")
        return f"{spec.label} ({', '.join(parts)})" if parts else spec.label

    @property
    def color(self) -> str:
        return self.spec.color

    @property
    def is_elu_family(self) -> bool:
        return self.name in ELU_FAMILY

    def _neg_rate(self) -> float:
        """k in the negative branch c·(e^(kx) − 1)."""
        return 1.0 / self.alpha if self.name == "celu" else 1.0

    def value(self, x: np.ndarray) -> np.ndarray:
        """f(x) in float64; finite and warning-free for any finite x."""
        x = np.asarray(x, dtype=np.float64)
        n = self.name
        if n in ELU_FAMILY:
            lam = self.scale if n == "selu" else 1.0
            neg = self.alpha * np.expm1(self._neg_rate() * np.minimum(x, 0.0))
            return lam * np.where(x > 0, x, neg)
        if n == "relu":
            return np.maximum(x, 0.0)
        if n == "leaky_relu":
            return np.where(x > 0, x, self.alpha * x)
        if n == "gelu":
            return x * ndtr(x)
        if n == "silu":
            return x * _sigmoid(x)
        if n == "tanh":
            return np.tanh(x)
        raise AssertionError(n)

    def derivative(self, x: np.ndarray) -> np.ndarray:
        """f′(x) from closed forms; at kinks (x = 0) the left derivative, as torch does."""
        x = np.asarray(x, dtype=np.float64)
        n = self.name
        if n in ELU_FAMILY:
            lam = self.scale if n == "selu" else 1.0
            k = self._neg_rate()
            neg = self.alpha * k * np.exp(k * np.minimum(x, 0.0))
            return lam * np.where(x > 0, 1.0, neg)
        if n == "relu":
            return np.where(x > 0, 1.0, 0.0)
        if n == "leaky_relu":
            return np.where(x > 0, 1.0, self.alpha)
        if n == "gelu":
            xc = np.clip(x, -40.0, 40.0)  # beyond ±40 the density term is exactly 0
            return ndtr(x) + xc * np.exp(-0.5 * xc * xc) / _SQRT_2PI
        if n == "silu":
            s = _sigmoid(x)
            return s * (1.0 + x * (1.0 - s))
        if n == "tanh":
            t = np.tanh(x)
            return 1.0 - t * t
        raise AssertionError(n)

    def one_sided_derivatives_at_0(self) -> tuple[float, float]:
        """(f′(0⁻), f′(0⁺)); they differ where f has a kink at 0."""
        n = self.name
        if n in ELU_FAMILY:
            lam = self.scale if n == "selu" else 1.0
            return lam * self.alpha * self._neg_rate(), lam
        if n == "relu":
            return 0.0, 1.0
        if n == "leaky_relu":
            return self.alpha, 1.0
        if n in ("gelu", "silu"):
            return 0.5, 0.5
        return 1.0, 1.0  # tanh

    def limit_at_minus_infinity(self) -> float:
        """lim f(x) as x → −∞ (−inf for Leaky ReLU with a positive slope)."""
        n = self.name
        if n in ELU_FAMILY:
            return -(self.scale if n == "selu" else 1.0) * self.alpha
        if n == "leaky_relu":
            return -math.inf if self.alpha > 0 else 0.0
        if n == "tanh":
            return -1.0
        return 0.0

    def minimum(self) -> tuple[float, float | None]:
        """(inf f, argmin x); argmin is None when the infimum is only approached."""
        n = self.name
        if n in ("gelu", "silu"):
            from scipy.optimize import minimize_scalar

            res = minimize_scalar(lambda t: float(self.value(t)), bracket=(-3.0, -1.0, 0.0),
                                  tol=1e-12)
            return float(res.fun), float(res.x)
        if n == "relu" or (n == "leaky_relu" and self.alpha == 0):
            return 0.0, 0.0
        return self.limit_at_minus_infinity(), None

    def torch_fn(self, x: torch.Tensor) -> torch.Tensor:
        """The same function on tensors (autograd-friendly)."""
        import torch
        from torch.nn import functional as F

        n = self.name
        if n == "selu":
            if self.alpha == SELU_ALPHA and self.scale == SELU_SCALE:
                return F.selu(x)
            return self.scale * F.elu(x, alpha=self.alpha)
        if n == "elu":
            return F.elu(x, alpha=self.alpha)
        if n == "celu":
            return F.celu(x, alpha=self.alpha)
        if n == "relu":
            return F.relu(x)
        if n == "leaky_relu":
            return F.leaky_relu(x, negative_slope=self.alpha)
        if n == "gelu":
            return F.gelu(x)
        if n == "silu":
            return F.silu(x)
        return torch.tanh(x)

    def torch_module(self) -> nn.Module:
        """An nn.Module computing this activation (built-in modules where they exist)."""
        from torch import nn

        from selu_lab.layers import ScaledELU

        n = self.name
        if n == "selu" and self.alpha == SELU_ALPHA and self.scale == SELU_SCALE:
            return nn.SELU()
        builtin = {
            "elu": lambda: nn.ELU(alpha=self.alpha),
            "celu": lambda: nn.CELU(alpha=self.alpha),
            "relu": nn.ReLU,
            "leaky_relu": lambda: nn.LeakyReLU(negative_slope=self.alpha),
            "gelu": nn.GELU,
            "silu": nn.SiLU,
            "tanh": nn.Tanh,
        }
        if n in builtin:
            return builtin[n]()
        return ScaledELU(self.alpha, self.scale)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def get_activation(name: str, alpha: float | None = None, scale: float | None = None) -> Activation:
    """Build an Activation, validating the name and parameters.

    ``alpha`` is α for ELU, CELU and SELU and the negative slope for Leaky ReLU;
    ``scale`` is SELU's λ. Parameters a function does not have are rejected.
    """
    key = name.strip().lower().replace("-", "_")
    if key not in SPECS:
        raise ActivationError(f"unknown activation {name!r}; choose one of: {', '.join(NAMES)}")
    spec = SPECS[key]
    if spec.default_alpha is None and alpha is not None:
        raise ActivationError(f"{spec.label} has no α parameter; drop --alpha")
    if spec.default_scale is None and scale is not None:
        raise ActivationError(f"{spec.label} has no λ (scale) parameter; drop --scale")
    alpha = spec.default_alpha if alpha is None else float(alpha)
    scale = spec.default_scale if scale is None else float(scale)
    for value, bounds, what in ((alpha, spec.alpha_range, "α"), (scale, spec.scale_range, "λ")):
        if bounds is None or value is None:
            continue
        if not math.isfinite(value) or not bounds[0] <= value <= bounds[1]:
            raise ActivationError(
                f"{spec.label}: {what} must be a finite number in [{bounds[0]:g}, {bounds[1]:g}], "
                f"got {value!r}")
    return Activation(key, alpha, scale)
