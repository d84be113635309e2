"""Weight initialisations compared throughout the lab.

The paper's self-normalising init is LeCun normal: w ~ N(0, 1/fan_in), zero
bias, i.e. ``kaiming_normal_(w, nonlinearity='linear')``. PyTorch's
``calculate_gain('selu')`` is 3/4, so ``nonlinearity='selu'`` gives weights with
variance (3/4)²/fan_in, which makes the variance shrink layer by layer.
"""

from __future__ import annotations

import torch
from torch import nn

INITS: dict[str, str] = {
    "lecun": "LeCun normal (paper): N(0, 1/fan_in)",
    "pytorch": "PyTorch default (Kaiming uniform, a=√5)",
    "selu_gain": "kaiming_normal_(nonlinearity='selu'): gain 3/4",
    "he": "He/Kaiming normal for ReLU: N(0, 2/fan_in)",
    "xavier": "Glorot/Xavier normal: N(0, 2/(fan_in+fan_out))",
}

SHORT_LABELS: dict[str, str] = {
    "lecun": "LeCun",
    "pytorch": "PyTorch default",
    "selu_gain": "gain 3/4",
    "he": "He",
    "xavier": "Xavier",
}


def check_init(name: str) -> str:
    """Return ``name`` if it is a known init, else raise ValueError listing the choices."""
    if name not in INITS:
        raise ValueError(f"unknown init {name!r}; choose one of: {', '.join(INITS)}")
    return name


def init_weight_(weight: torch.Tensor, name: str) -> None:
    """Initialise one Linear/Conv weight tensor in place (PyTorch default: leave as built)."""
    check_init(name)
    if name == "lecun":
        nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="linear")
    elif name == "selu_gain":
        nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="selu")
    elif name == "he":
        nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu")
    elif name == "xavier":
        nn.init.xavier_normal_(weight)


def apply_init_(model: nn.Module, name: str) -> nn.Module:
    """Initialise every Linear and Conv layer of ``model``; biases zero except for 'pytorch'."""
    check_init(name)
    if name == "pytorch":
        return model
    for module in model.modules():
        if isinstance(module, nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d):
            init_weight_(module.weight, name)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model


def weight_variance(name: str, fan_in: int, fan_out: int) -> float:
    """Var(w) each init draws from; for the analytic moment map τ = fan_in · Var(w).

    PyTorch's default Linear init is U(−1/√fan_in, 1/√fan_in): variance 1/(3·fan_in).
    """
    check_init(name)
    if name == "lecun":
        return 1.0 / fan_in
    if name == "selu_gain":
        return 0.75**2 / fan_in
    if name == "he":
        return 2.0 / fan_in
    if name == "xavier":
        return 2.0 / (fan_in + fan_out)
    return 1.0 / (3.0 * fan_in)
