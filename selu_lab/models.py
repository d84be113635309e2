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
import math
from typing import Any

import torch
from torch import nn

from selu_lab.activations import get_activation
from selu_lab.data import MNIST_MEAN, MNIST_STD
from selu_lab.inits import apply_init_, check_init

DROPOUTS: dict[str, str] = {
    "none": "no dropout",
    "alpha": "AlphaDropout (keeps SELU's mean and variance)",
    "standard": "standard Dropout",
}
MONOTONE_ACTIVATIONS = frozenset({"selu", "elu", "celu", "relu", "leaky_relu", "tanh"})
# multiply-adds ×2 per image: forward ≈ 8.4 MFLOP; a training step (fwd + bwd) ≈ 3× that
FORWARD_FLOPS_PER_IMAGE = 2 * (28 * 28 * 32 * 9 + 14 * 14 * 64 * 32 * 9 + 3136 * 128 + 128 * 10)
TRAIN_FLOPS_PER_IMAGE = 3 * FORWARD_FLOPS_PER_IMAGE

# AlphaDropout's saturation value −λα of SELU (Klambauer et al. 2017, Sec. "New dropout technique")
_ALPHA_PRIME = 1.7580993408473766


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty_like(x).bernoulli_(1.0 - self.p, generator=self.generator)
        if not self.alpha:
            return x * keep / (1.0 - self.p)
        a = 1.0 / math.sqrt((_ALPHA_PRIME**2 * self.p + 1.0) * (1.0 - self.p))
        # kept: a·x + aα′p; dropped: a·(−α′) + aα′p  (mean 0, variance 1 preserved)
        return (x * keep + (keep - 1.0) * _ALPHA_PRIME) * a + _ALPHA_PRIME * a * self.p

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


def _max4(y: torch.Tensor, masks: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Max over the 2×2 window positions ``y[di, dj]`` of a [2, 2, …] tensor, first maximum wins.

    A two-level tree of plain element-wise ops (``torch.max(dim)`` with indices and bool
    ``torch.where`` are 10–15× slower on a CPU). The 0/1 float masks say which side won:
    ``masks[:2]`` the right column in each row, ``masks[2]`` the lower row; ties go to
    the earlier position in raster order, as ``nn.MaxPool2d`` does.
    """
    m = torch.maximum(y[:, 0], y[:, 1])
    if not masks:
        return torch.maximum(m[0], m[1]), None
    won = y.new_empty((3, *y.shape[2:]))
    torch.gt(y[:, 1], y[:, 0], out=won[:2])
    torch.gt(m[1], m[0], out=won[2])
    return torch.maximum(m[0], m[1]), won


def _max4_backward(grad: torch.Tensor, won: torch.Tensor, out: torch.Tensor) -> None:
    """Route ``grad`` to the winning window position: ``out[di, dj]`` (a [2, 2, …] view) is written.

    ``g − g·mask`` is exactly ``g`` or ``0``, so no value changes by rounding.
    """
    rows = grad.new_empty((2, *grad.shape))
    torch.mul(grad, won[2], out=rows[1])
    torch.sub(grad, rows[1], out=rows[0])
    torch.mul(rows, won[:2], out=out[:, 1])
    torch.sub(rows, out[:, 1], out=out[:, 0])


_OFFSETS = ((0, 0), (0, 1), (1, 0), (1, 1))


class _Conv1Pool(torch.autograd.Function):
    """conv 1→C 3×3 pad 1 (+ bias) then 2×2 max-pool, as one small batched GEMM.

    Every 2×2 pool window of the conv output reads one 4×4 input patch (stride 2), so the
    four conv outputs of a window are ``patch @ frames[o]``, with the 3×3 kernel placed at
    offset o of a 4×4 zero frame: a GEMM with K = 16 instead of the 1-channel convolution
    (memory-bound in oneDNN), then the max tree; no 28×28 gradient is zero-filled and
    scattered into. Values and gradients equal ``max_pool2d(conv2d(x, w, b, padding=1), 2)``
    up to float rounding, ties included (the bias is added after the max: the max commutes
    with a per-channel constant). The result is channels-last. No gradient for ``x``.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        c = weight.shape[0]
        xp = torch.nn.functional.pad(x.reshape(n, h, w), (1, 1, 1, 1))
        patches = xp.as_strided((n, h // 2, w // 2, 4, 4),
                                (xp.stride(0), 2 * xp.stride(1), 2, xp.stride(1), 1)).reshape(-1, 16)
        frames = weight.new_zeros((2, 2, 4, 4, c))
        kernel = weight.reshape(c, 3, 3).permute(1, 2, 0)
        for di, dj in _OFFSETS:
            frames[di, dj, di:di + 3, dj:dj + 3] = kernel
        y = torch.matmul(patches, frames.view(4, 16, c)).view(2, 2, -1, c)
        pooled, won = _max4(y, masks=ctx.needs_input_grad[1] or ctx.needs_input_grad[2])
        pooled += bias
        ctx.save_for_backward(patches, won)
        ctx.weight_meta = (weight.shape, weight.stride())
        return pooled.view(n, h // 2, w // 2, c).permute(0, 3, 1, 2)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, torch.Tensor, torch.Tensor]:
        patches, won = ctx.saved_tensors
        c = grad.shape[1]
        g = grad.permute(0, 2, 3, 1).reshape(-1, c)
        routed = g.new_empty((2, 2, g.shape[0], c))
        _max4_backward(g, won, routed)
        d = torch.matmul(patches.t(), routed.view(4, -1, c)).view(2, 2, 4, 4, c)
        dk = d[0, 0, 0:3, 0:3] + d[0, 1, 0:3, 1:4] + d[1, 0, 1:4, 0:3] + d[1, 1, 1:4, 1:4]
        shape, stride = ctx.weight_meta
        dw = g.new_empty_strided(shape, stride)
        dw.copy_(dk.permute(2, 0, 1).reshape(shape))
        return None, dw, g.sum(0)


def conv1_pool(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``F.max_pool2d(F.conv2d(x, weight, bias, padding=1), 2)`` for 1-channel ``x`` (see _Conv1Pool).

    The CPU fast path of the seed CNN's first layer; ``x`` [N, 1, H, W] with H and W even.
    """
    if x.dim() != 4 or x.shape[1] != 1 or x.shape[2] % 2 or x.shape[3] % 2 \
            or tuple(weight.shape[1:]) != (1, 3, 3):
        raise ValueError(f"conv1_pool needs x [N, 1, H, W] with even H, W and a [C, 1, 3, 3] weight; "
                         f"got x {tuple(x.shape)}, weight {tuple(weight.shape)}")
    return _Conv1Pool.apply(x, weight, bias)


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

    def _fused(self, x: torch.Tensor) -> bool:
        """Whether conv1 + pool run as one GEMM (CPU, pool-first, fp32, no input gradient)."""
        return (self.pool_first and x.device.type == "cpu" and x.dim() == 4 and x.shape[1] == 1
                and x.shape[2] % 2 == 0 and x.shape[3] % 2 == 0 and not x.requires_grad
                and not torch.is_autocast_enabled("cpu"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.standardize:
            x = (x - self.input_mean) / self.input_std
        if self._fused(x):
            x = self.act(conv1_pool(x, self.conv1.weight, self.conv1.bias))
        else:
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


def images_to_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 images [N, 28, 28] (or [N, 1, 28, 28]) → float32 [N, 1, 28, 28] in [0, 1]."""
    x = images.to(torch.float32).div_(255.0)
    return x.unsqueeze(1) if x.dim() == 3 else x


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (the seed's CNN: 421 642)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
