"""The seed's CNN, with the activation, the init and the dropout as parameters.

conv 1→32 3×3 pad 1 → act → maxpool 2 → conv 32→64 3×3 pad 1 → act → maxpool 2
→ fc 3136→128 → act → [dropout] → fc 128→10. Parameter names (``conv1``, ``conv2``,
``fc1``, ``fc2``) and shapes are the seed's, so state_dicts load either way.

For a monotone non-decreasing activation (SELU, ELU, CELU, ReLU, Leaky ReLU, tanh)
``maxpool(act(x)) == act(maxpool(x))`` value for value, and so are the gradients
(both route the gradient to the window's maximum, times act′ there). Pooling first
evaluates the activation on a quarter of the elements; it is the single largest
saving on a CPU. GELU and SiLU are not monotone and keep the seed's order.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import nn

from selu_lab.activations import SELU_ALPHA, SELU_SCALE, get_activation
from selu_lab.data import MNIST_MEAN, MNIST_STD
from selu_lab.inits import apply_init_, check_init
from selu_lab.theory import alpha_dropout_constants

DROPOUTS: dict[str, str] = {
    "none": "no dropout",
    "alpha": "AlphaDropout (keeps SELU's mean and variance)",
    "standard": "standard Dropout",
}
MONOTONE_ACTIVATIONS = frozenset({"selu", "elu", "celu", "relu", "leaky_relu", "tanh"})
# multiply-adds ×2 per image: forward ≈ 8.4 MFLOP; a training step (fwd + bwd) ≈ 3× that
FORWARD_FLOPS_PER_IMAGE = 2 * (28 * 28 * 32 * 9 + 14 * 14 * 64 * 32 * 9 + 3136 * 128 + 128 * 10)
TRAIN_FLOPS_PER_IMAGE = 3 * FORWARD_FLOPS_PER_IMAGE

class SeededDropout(nn.Module):
    """Dropout or AlphaDropout drawing its masks from ``self.generator`` (None: the global RNG).

    Same maths as ``nn.Dropout`` / ``nn.AlphaDropout``; the own generator makes a training
    run reproducible without touching the process-wide RNG other threads may use.
    """

    def __init__(self, p: float, alpha: bool) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout_rate must be in [0, 1), got {p!r}")
        self.p = float(p)
        self.alpha = bool(alpha)
        self.generator: torch.Generator | None = None
        # as nn.AlphaDropout: SELU's floor α′ = −λα, whatever activation precedes it
        self._a, self._b = alpha_dropout_constants(self.p)
        self._floor = -SELU_SCALE * SELU_ALPHA

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty_like(x).bernoulli_(1.0 - self.p, generator=self.generator)
        if not self.alpha:
            return x * keep / (1.0 - self.p)
        # kept: a·x + b; dropped: a·α′ + b  (mean 0 and variance 1 preserved)
        return (x * keep + (1.0 - keep) * self._floor) * self._a + self._b

    def extra_repr(self) -> str:
        return f"p={self.p}, alpha={self.alpha}"


class _FlattenChannelsLast(torch.autograd.Function):
    """Flatten a channels-last [N, C, H, W] tensor in the seed's (C, H, W) order.

    Same values as ``torch.flatten``; the gradient goes back channels-last, so the
    activation and max-pool backward passes stay on their fast channels-last path
    instead of converting a mixed-layout gradient (≈ 10 % of a CPU training step).
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.shape = x.shape
        return x.contiguous().view(x.shape[0], -1)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return grad.reshape(ctx.shape).contiguous(memory_format=torch.channels_last)


def flatten(x: torch.Tensor) -> torch.Tensor:
    """``torch.flatten(x, 1)`` with a channels-last gradient for channels-last 4-d inputs."""
    if x.dim() == 4 and x.shape[1] > 1 and not x.is_contiguous() \
            and x.is_contiguous(memory_format=torch.channels_last):
        return _FlattenChannelsLast.apply(x)
    return torch.flatten(x, 1)


class SeedCNN(nn.Module):
    """The seed's two-conv CNN for 1×28×28 inputs in [0, 1]; returns 10 logits."""

    def __init__(self, act: nn.Module, pool_first: bool, dropout: nn.Module | None = None,
                 standardize: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)
        self.act = act
        self.pool = nn.MaxPool2d(2, 2)
        self.dropout = dropout if dropout is not None else nn.Identity()
        self.pool_first = bool(pool_first)
        # plain attributes, not buffers: the state_dict keeps the seed's keys
        self.standardize = bool(standardize)
        self.input_mean = MNIST_MEAN
        self.input_std = MNIST_STD

    def _act_pool(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.pool(x)) if self.pool_first else self.pool(self.act(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.standardize:
            x = (x - self.input_mean) / self.input_std
        x = self._act_pool(self.conv1(x))
        x = self._act_pool(self.conv2(x))
        x = flatten(x)
        x = self.dropout(self.act(self.fc1(x)))
        return self.fc2(x)

    def set_dropout_generator(self, generator: torch.Generator | None) -> None:
        """Let the dropout layer (if any) draw its masks from ``generator``."""
        if isinstance(self.dropout, SeededDropout):
            self.dropout.generator = generator


def check_dropout(name: str) -> str:
    """Return ``name`` if it is a known dropout kind, else raise ValueError listing them."""
    if name not in DROPOUTS:
        raise ValueError(f"unknown dropout {name!r}; choose one of: {', '.join(DROPOUTS)}")
    return name


def build_cnn(activation: str = "selu", alpha: float | None = None, scale: float | None = None,
              init: str = "pytorch", dropout: str = "none", dropout_rate: float = 0.0,
              standardize: bool = False, pool_first: bool | None = None,
              seed: int | None = None) -> SeedCNN:
    """The seed's CNN with the given activation (registry name), init and dropout.

    ``pool_first=None`` pools before the activation when that gives identical values
    (monotone activations). ``seed`` draws the initial weights from ``torch.manual_seed(seed)``
    without disturbing the global RNG; with the same seed they equal the seed script's
    ``torch.manual_seed(seed); CNN()`` for the PyTorch default init.
    """
    act = get_activation(activation, alpha, scale)
    check_init(init)
    check_dropout(dropout)
    if pool_first is None:
        pool_first = act.name in MONOTONE_ACTIVATIONS
    drop = None if dropout == "none" else SeededDropout(dropout_rate, alpha=dropout == "alpha")
    rng = torch.random.fork_rng(devices=[]) if seed is not None else contextlib.nullcontext()
    with rng:
        if seed is not None:
            torch.manual_seed(seed)
        model = SeedCNN(act.torch_module(), pool_first, drop, standardize)
        apply_init_(model, init)
    return model


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (the seed's CNN: 421 642)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
