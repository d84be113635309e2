"""The depth study: do SELU networks stay trainable as they get deeper? (the SNN paper's Figure 1).

Klambauer et al. 2017, Figure 1, trained plain feed-forward nets of 8, 16 and 32
layers on MNIST and compared self-normalising nets (SELU + LeCun normal) with
ReLU + BatchNorm. This module runs that comparison on a CPU budget, for two
architectures and five strategies:

* ``mlp``: ``depth`` hidden Linear layers of ``width`` units (784, the input size,
  by default) on standardised pixels, then a linear 10-way output;
* ``cnn``: a plain CNN of two stages (28×28 then 14×14, each ending in a 2×2
  max-pool) of 3×3 same-padded convolutions without residual connections —
  the seed CNN when ``depth`` is 2, deeper stages otherwise — then a hidden
  dense layer and the 10-way output.

Every run of a study sees the same mini-batches in the same order (one seeded
permutation shared by all runs) and starts from the same seed. Per-layer
statistics (mean and variance of every hidden layer's activations, norm of
every hidden layer's weight gradient) come from forward hooks on the training
forward pass itself, at initialisation and every ``checkpoint_every`` steps.

Plain SGD on a dense net without BatchNorm or dropout trains with a hand-written
step that folds the update into the weight-gradient product (``_fused_sgd_step``);
it gives autograd's results and is faster because it moves the weights fewer times.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from selu_lab.activations import COLORS, SELU_ALPHA, SELU_SCALE, get_activation
from selu_lab.cpu import prepare_cpu, release_freed_memory
from selu_lab.inits import apply_init_, check_init
from selu_lab.models import SeededDropout


@dataclass(frozen=True)
class Strategy:
    """One way of making a deep net: activation, weight init, BatchNorm or not; one colour."""

    name: str
    label: str
    activation: str
    init: str
    batchnorm: bool
    color: str


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in [
        Strategy("selu", "SELU + LeCun", "selu", "lecun", False, COLORS["selu"]),
        Strategy("elu", "ELU + LeCun", "elu", "lecun", False, COLORS["elu"]),
        Strategy("relu", "ReLU + He", "relu", "he", False, COLORS["relu"]),
        Strategy("relu_bn", "ReLU + He + BatchNorm", "relu", "he", True, "#8c564b"),
        Strategy("tanh", "tanh + Xavier", "tanh", "xavier", False, COLORS["tanh"]),
    ]
}
STRATEGY_NAMES: tuple[str, ...] = tuple(STRATEGIES)
ARCHS: tuple[str, ...] = ("mlp", "cnn")
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")

DEFAULT_WIDTH = {"mlp": 784, "cnn": 16}  # hidden units (mlp) / first-stage channels (cnn)
WIDTH_RANGE = {"mlp": (2, 4096), "cnn": (1, 256)}
DEPTH_RANGE = (2, 64)
CNN_HIDDEN = 128  # the dense layer between the convolutions and the output
INPUT_SIZE = 28 * 28
N_CLASSES = 10

# A run "stalled" when its final loss is above this fraction of its initial loss.
STALL_RATIO = 0.8
# Fraction of the last steps averaged into the final training loss (mini-batch losses are noisy).
FINAL_WINDOW = 0.1


def log_spaced_lrs(lo: float, hi: float, n: int = 3) -> tuple[float, ...]:
    """``n`` learning rates log-spaced from ``lo`` to ``hi`` (rounded to 3 significant digits)."""
    if not (0 < lo <= hi) or n < 1:
        raise ValueError(f"learning-rate sweep needs 0 < lo ≤ hi and n ≥ 1, got {lo}, {hi}, {n}")
    if n == 1:
        return (float(f"{lo:.3g}"),)
    ratio = (hi / lo) ** (1.0 / (n - 1))
    return tuple(float(f"{lo * ratio**i:.3g}") for i in range(n))


@dataclass(frozen=True)
class StudyConfig:
    """Everything that defines a depth study. Invalid values raise ValueError on construction.

    ``lr`` is one learning rate or a tuple of them (a sweep: every strategy runs at
    every rate). ``width`` None means the architecture's default (784 units for the
    dense net, 16 first-stage channels for the CNN). ``subset`` None uses the whole
    training set; ``test_size`` None the whole test set. ``checkpoint_every`` None
    means about 20 checkpoints per run. ``alpha_dropout`` is AlphaDropout's rate
    after every hidden SELU (SELU strategy only; 0 = off).
    """

    arch: str = "mlp"
    depths: tuple[int, ...] = (8, 16, 32)
    strategies: tuple[str, ...] = ("selu", "elu", "relu", "relu_bn")
    width: int | None = None
    steps: int = 150
    lr: float | tuple[float, ...] = 0.01
    optimizer: str = "sgd"
    batch_size: int = 128
    subset: int | None = None
    seed: int = 0
    checkpoint_every: int | None = None
    alpha_dropout: float = 0.0
    test_size: int | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.arch not in ARCHS:
            raise ValueError(f"unknown architecture {self.arch!r}; choose one of: {', '.join(ARCHS)}")
        depths = tuple(int(d) for d in self.depths)
        if not depths:
            raise ValueError("choose at least one depth")
        bad = [d for d in depths if not DEPTH_RANGE[0] <= d <= DEPTH_RANGE[1]]
        if bad:
            raise ValueError(f"depths must be in [{DEPTH_RANGE[0]}, {DEPTH_RANGE[1]}], got {bad}")
        set_(self, "depths", tuple(sorted(set(depths))))
        strategies = tuple(str(s) for s in self.strategies)
        if not strategies:
            raise ValueError("choose at least one strategy")
        unknown = [s for s in strategies if s not in STRATEGIES]
        if unknown:
            raise ValueError(f"unknown strategy {unknown[0]!r}; choose from: {', '.join(STRATEGY_NAMES)}")
        set_(self, "strategies", tuple(dict.fromkeys(strategies)))
        width = DEFAULT_WIDTH[self.arch] if self.width is None else int(self.width)
        lo, hi = WIDTH_RANGE[self.arch]
        if not lo <= width <= hi:
            raise ValueError(f"width for {self.arch} must be in [{lo}, {hi}], got {width}")
        set_(self, "width", width)
        if not 1 <= int(self.steps) <= 100_000:
            raise ValueError(f"steps must be in [1, 100000], got {self.steps}")
        lrs = (self.lr,) if isinstance(self.lr, int | float) else tuple(self.lr)
        if not lrs:
            raise ValueError("give at least one learning rate")
        lrs = tuple(float(v) for v in lrs)
        if any(not (math.isfinite(v) and 0 < v <= 10) for v in lrs):
            raise ValueError(f"learning rates must be in (0, 10], got {list(lrs)}")
        lrs = tuple(sorted(set(lrs)))
        set_(self, "lr", lrs[0] if len(lrs) == 1 else lrs)
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")
        if not 1 <= int(self.batch_size) <= 4096:
            raise ValueError(f"batch size must be in [1, 4096], got {self.batch_size}")
        if self.subset is not None and int(self.subset) < 1:
            raise ValueError(f"training-set size must be at least 1, got {self.subset}")
        if self.test_size is not None and int(self.test_size) < 1:
            raise ValueError(f"test-set size must be at least 1, got {self.test_size}")
        if self.checkpoint_every is not None and int(self.checkpoint_every) < 1:
            raise ValueError(f"checkpoint interval must be at least 1 step, got {self.checkpoint_every}")
        if not 0.0 <= float(self.alpha_dropout) < 1.0:
            raise ValueError(f"AlphaDropout rate must be in [0, 1), got {self.alpha_dropout}")
        if not 0 <= int(self.seed) <= 2**63 - 1:
            raise ValueError(f"seed must be in [0, {2**63 - 1}], got {self.seed}")

    @property
    def lrs(self) -> tuple[float, ...]:
        """The learning rates as a tuple (one element without a sweep)."""
        return self.lr if isinstance(self.lr, tuple) else (float(self.lr),)

    @property
    def every(self) -> int:
        """Steps between two layer-statistics checkpoints."""
        return int(self.checkpoint_every or max(1, self.steps // 20))

    def run_keys(self) -> list[tuple[int, float, str]]:
        """(depth, lr, strategy) of every run, in the order the study runs them."""
        return [(d, lr, s) for d in self.depths for lr in self.lrs for s in self.strategies]

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-ready values."""
        return {
            "arch": self.arch, "depths": list(self.depths), "strategies": list(self.strategies),
            "width": self.width, "steps": self.steps, "lrs": list(self.lrs),
            "optimizer": self.optimizer, "batch_size": self.batch_size, "subset": self.subset,
            "seed": self.seed, "checkpoint_every": self.every, "alpha_dropout": self.alpha_dropout,
            "test_size": self.test_size,
        }


# --------------------------------------------------------------------------- networks


class DepthNet(nn.Sequential):
    """A plain deep net whose hidden layers are known: ``hidden`` lists (name, weight layer, activation).

    The statistics of layer i are those of ``hidden[i].activation``'s output and of
    the gradient of ``hidden[i].weight``'s weight.
    """

    def __init__(self, modules: list[nn.Module], hidden: list[tuple[str, nn.Module, nn.Module]],
                 arch: str, depth: int, strategy: str, width: int) -> None:
        super().__init__(*modules)
        self.hidden = hidden  # plain list: the modules are registered through Sequential
        self.arch, self.depth, self.strategy, self.width = arch, depth, strategy, width

    def set_dropout_generator(self, generator: torch.Generator | None) -> None:
        """Let every AlphaDropout layer draw its masks from ``generator`` (not the global RNG)."""
        for m in self.modules():
            if isinstance(m, SeededDropout):
                m.generator = generator

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Shape standardised float images [B, 28, 28] as this net wants them."""
        return images.reshape(len(images), -1) if self.arch == "mlp" else images.unsqueeze(1)


def cnn_stage_depths(depth: int) -> tuple[int, int]:
    """Convolutions per stage for a CNN of ``depth`` convolutions (the first stage gets the odd one)."""
    return (depth + 1) // 2, depth // 2


def build_net(arch: str, depth: int, strategy: str, width: int | None = None, *,
              alpha_dropout: float = 0.0, init: str | None = None, seed: int | None = None) -> DepthNet:
    """A freshly initialised net of ``depth`` hidden layers (mlp) or convolutions (cnn).

    BatchNorm (relu_bn) sits between every hidden weight layer and its activation;
    AlphaDropout (rate ``alpha_dropout``) follows every hidden SELU of the selu
    strategy. ``init`` overrides the strategy's init (e.g. 'pytorch' to show why
    He exists). ``seed`` draws the weights from ``torch.manual_seed(seed)`` without
    disturbing the global RNG; None uses the global RNG as it is.
    """
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; choose one of: {', '.join(ARCHS)}")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose from: {', '.join(STRATEGY_NAMES)}")
    if not DEPTH_RANGE[0] <= depth <= DEPTH_RANGE[1]:
        raise ValueError(f"depth must be in [{DEPTH_RANGE[0]}, {DEPTH_RANGE[1]}], got {depth}")
    width = DEFAULT_WIDTH[arch] if width is None else int(width)
    lo, hi = WIDTH_RANGE[arch]
    if not lo <= width <= hi:
        raise ValueError(f"width for {arch} must be in [{lo}, {hi}], got {width}")
    spec = STRATEGIES[strategy]
    init = check_init(init) if init is not None else spec.init
    rng = torch.random.fork_rng(devices=[]) if seed is not None else contextlib.nullcontext()
    with rng:
        if seed is not None:
            torch.manual_seed(seed)
        net = _make_net(arch, depth, strategy, width, alpha_dropout if strategy == "selu" else 0.0)
        apply_init_(net, init)
    return net


def _make_net(arch: str, depth: int, strategy: str, width: int, dropout: float) -> DepthNet:
    spec = STRATEGIES[strategy]
    act = get_activation(spec.activation)
    modules: list[nn.Module] = []
    hidden: list[tuple[str, nn.Module, nn.Module]] = []

    def block(name: str, layer: nn.Module, bn: nn.Module | None) -> None:
        activation = act.torch_module()
        modules.append(layer)
        if bn is not None:
            modules.append(bn)
        modules.append(activation)
        if dropout > 0:
            modules.append(SeededDropout(dropout, alpha=True))
        hidden.append((name, layer, activation))

    if arch == "mlp":
        fan_in = INPUT_SIZE
        for i in range(depth):
            block(f"dense{i + 1}", nn.Linear(fan_in, width),
                  nn.BatchNorm1d(width) if spec.batchnorm else None)
            fan_in = width
        modules.append(nn.Linear(width, N_CLASSES))
    else:
        channels_in = 1
        for stage, n_conv in enumerate(cnn_stage_depths(depth)):
            channels = width * 2**stage
            for j in range(n_conv):
                block(f"conv{stage + 1}.{j + 1}", nn.Conv2d(channels_in, channels, 3, padding=1),
                      nn.BatchNorm2d(channels) if spec.batchnorm else None)
                channels_in = channels
            modules.append(nn.MaxPool2d(2))
        modules.append(nn.Flatten())
        block("fc", nn.Linear(channels_in * 7 * 7, CNN_HIDDEN),
              nn.BatchNorm1d(CNN_HIDDEN) if spec.batchnorm else None)
        modules.append(nn.Linear(CNN_HIDDEN, N_CLASSES))
    return DepthNet(modules, hidden, arch, depth, strategy, width)


def forward_flops(arch: str, depth: int, width: int | None = None) -> float:
    """Multiply-add FLOPs (2 per MAC) of one image's forward pass through the weight layers."""
    width = DEFAULT_WIDTH[arch] if width is None else int(width)
    if arch == "mlp":
        macs = INPUT_SIZE * width + (depth - 1) * width * width + width * N_CLASSES
    else:
        n1, n2 = cnn_stage_depths(depth)
        c1, c2 = width, 2 * width
        macs = 28 * 28 * 9 * (1 * c1 + (n1 - 1) * c1 * c1)
        macs += 14 * 14 * 9 * (c1 * c2 + (n2 - 1) * c2 * c2)
        macs += c2 * 7 * 7 * CNN_HIDDEN + CNN_HIDDEN * N_CLASSES
    return 2.0 * macs


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class LayerStat:
    """One hidden layer at one step: its activations' mean and variance, its weight gradient's norm."""

    layer: int
    name: str
    mean: float
    var: float
    grad_norm: float

    def to_dict(self) -> dict[str, Any]:
        """The statistic as plain JSON-ready values."""
        return {"layer": self.layer, "name": self.name, "mean": self.mean, "var": self.var,
                "grad_norm": self.grad_norm}


@dataclass(frozen=True)
class Checkpoint:
    """Layer statistics measured on the mini-batch seen after ``step`` updates (0 = initialisation)."""

    step: int
    layers: tuple[LayerStat, ...]


class _StatsRecorder:
    """Forward hooks on the hidden activations that keep (mean, var) of the last forward pass."""

    def __init__(self, net: DepthNet) -> None:
        self.net = net
        self.moments: list[torch.Tensor | None] = [None] * len(net.hidden)
        self.handles: list[Any] = []

    def __enter__(self) -> _StatsRecorder:
        for i, (_, _, act) in enumerate(self.net.hidden):
            self.handles.append(act.register_forward_hook(self._hook(i)))
        return self

    def __exit__(self, *exc: object) -> None:
        for h in self.handles:
            h.remove()
        self.handles.clear()

    def _hook(self, i: int) -> Callable[..., None]:
        def hook(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
            with torch.no_grad():
                var, mean = torch.var_mean(output.detach().double(), correction=0)
                self.moments[i] = torch.stack([mean, var])
        return hook

    def collect(self, step: int) -> Checkpoint:
        """Combine the recorded moments with the weight-gradient norms (call after backward)."""
        stats = []
        for i, (name, weight, _) in enumerate(self.net.hidden):
            m = self.moments[i]
            mean, var = (float("nan"), float("nan")) if m is None else (float(m[0]), float(m[1]))
            grad = weight.weight.grad
            gnorm = float("nan") if grad is None else float(grad.norm())
            stats.append(LayerStat(i + 1, name, mean, var, gnorm))
        return Checkpoint(step, tuple(stats))


def layer_stats(net: DepthNet, images: torch.Tensor, labels: torch.Tensor) -> list[LayerStat]:
    """One forward/backward pass (no update) on standardised ``images``: every hidden layer's statistics.

    Gradients are left in ``net``'s ``.grad``; the net stays in its train/eval mode.
    """
    net.zero_grad(set_to_none=True)
    with _StatsRecorder(net) as rec:
        loss = F.cross_entropy(net(net.prepare(images)), labels)
        loss.backward()
        return list(rec.collect(0).layers)


# --------------------------------------------------------------------------- results


@dataclass
class RunResult:
    """One trained net: losses per step (loss i = mini-batch i+1 before update i+1), stats, accuracy."""

    arch: str
    depth: int
    strategy: str
    lr: float
    losses: list[float]
    diverged_at: int | None
    test_accuracy: float
    seconds: float
    checkpoints: list[Checkpoint] = field(default_factory=list)
    images: int = 0  # training images processed

    @property
    def label(self) -> str:
        return STRATEGIES[self.strategy].label

    @property
    def final_loss(self) -> float:
        """Mean loss over the last 10 % of the steps (NaN if the run diverged)."""
        if self.diverged_at is not None or not self.losses:
            return float("nan")
        k = max(1, math.ceil(len(self.losses) * FINAL_WINDOW))
        return sum(self.losses[-k:]) / k

    @property
    def initial_loss(self) -> float:
        """The loss of the first mini-batch (the untrained net)."""
        return self.losses[0] if self.losses else float("nan")

    @property
    def status(self) -> str:
        """'diverged' (NaN/inf), 'unstable' (finite, but the final loss is above the initial one),
        'stalled' (above STALL_RATIO × the initial loss) or 'trained'."""
        if self.diverged_at is not None:
            return "diverged"
        if not self.final_loss <= self.initial_loss:
            return "unstable"
        if not self.final_loss < STALL_RATIO * self.initial_loss:
            return "stalled"
        return "trained"

    @property
    def init_stats(self) -> list[LayerStat]:
        return list(self.checkpoints[0].layers) if self.checkpoints else []

    @property
    def end_stats(self) -> list[LayerStat]:
        return list(self.checkpoints[-1].layers) if self.checkpoints else []

    def key(self) -> str:
        return f"{self.arch} depth {self.depth} · {self.label} · lr {self.lr:g}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the CLI's run record (layer statistics at the end of training)."""
        return {
            "arch": self.arch, "depth": self.depth, "strategy": self.strategy, "label": self.label,
            "lr": self.lr, "losses": list(self.losses), "diverged_at": self.diverged_at,
            "status": self.status, "final_loss": self.final_loss, "test_accuracy": self.test_accuracy,
            "seconds": self.seconds,
            "layer_stats": [s.to_dict() for s in self.end_stats],
            "layer_stats_step": self.checkpoints[-1].step if self.checkpoints else None,
        }


@dataclass
class StudyResult:
    """The finished (or stopped) runs of a study, in run order."""

    config: StudyConfig
    runs: list[RunResult]
    stopped: bool = False
    seconds: float = 0.0

    @property
    def status(self) -> str:
        """'stopped' or 'finished' (the background worker reads it)."""
        return "stopped" if self.stopped else "finished"

    @property
    def reason(self) -> str:
        n = len(self.config.run_keys())
        return f"stopped after {len(self.runs)} of {n} runs" if self.stopped else ""

    def to_dict(self) -> dict[str, Any]:
        """The whole study as plain JSON-ready values."""
        return {"config": self.config.to_dict(), "stopped": self.stopped, "seconds": self.seconds,
                "runs": [r.to_dict() for r in self.runs]}


@dataclass(frozen=True)
class StudyEvent:
    """Progress of a study. kind: 'start', 'step', 'run_done' or 'done'.

    ``fraction`` is the share of the study's FLOPs done; ``eta_seconds`` the
    remaining time at the speed measured so far (the estimate before any step).
    """

    kind: str
    run_index: int
    n_runs: int
    fraction: float
    elapsed: float
    eta_seconds: float
    depth: int | None = None
    strategy: str | None = None
    lr: float | None = None
    step: int = 0
    steps: int = 0
    loss: float | None = None
    run: RunResult | None = None


class MnistLike(Protocol):
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor


# --------------------------------------------------------------------------- speed


@dataclass(frozen=True)
class Speed:
    """Measured cost of one training step on this machine: ``intercept + slope × depth`` seconds.

    One (intercept, slope) per strategy, for one architecture, width and batch size.
    A linear model in depth because every hidden layer of a plain net costs the same
    (the dense net), or about the same on average (the CNN, whose two stages are
    equally deep); the intercept holds the input, output and optimizer overheads.
    """

    arch: str
    width: int
    batch_size: int
    per_strategy: dict[str, tuple[float, float]]

    def step_seconds(self, strategy: str, depth: int) -> float:
        """Seconds of one training step (forward, backward, update) at ``depth``."""
        if strategy in self.per_strategy:
            a, b = self.per_strategy[strategy]
        else:  # a strategy not probed: the slowest one probed
            a, b = max(self.per_strategy.values(), key=lambda ab: ab[0] + 16 * ab[1])
        return max(a + b * depth, 1e-6)

    def matches(self, config: StudyConfig) -> bool:
        """Whether this probe measured the architecture, width, batch size and strategies of ``config``."""
        return (self.arch, self.width, self.batch_size) == (config.arch, config.width, config.batch_size) \
            and set(config.strategies) <= set(self.per_strategy)


PROBE_DEPTHS = (2, 6)


def measure_speed(arch: str = "mlp", width: int | None = None, batch_size: int = 128,
                  strategies: Iterable[str] = STRATEGY_NAMES, steps: int = 3,
                  probe_batch: int | None = None) -> Speed:
    """Time a few training steps of depth-2 and depth-6 nets per strategy on random data.

    The two depths alternate and the fastest of ``steps`` timed steps (after a
    warm-up) is kept, which discounts other processes' bursts; if noise still
    makes the deeper net look cheaper, the step time is taken proportional to
    depth. The CNN is probed on batches of at most 16 images (``probe_batch``) and
    its times scaled to ``batch_size``, since convolutions cost in proportion to
    the batch. About 0.5 s for the five default dense nets on an idle 2-core
    machine, 1–2 s for the default CNN. The global RNG state is restored.
    """
    prepare_cpu()
    width = DEFAULT_WIDTH[arch] if width is None else int(width)
    if probe_batch is None:
        probe_batch = batch_size if arch == "mlp" else min(batch_size, 16)
    scale = batch_size / probe_batch
    times: dict[str, tuple[float, float]] = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        x = torch.randn(probe_batch, 28, 28)
        y = torch.randint(0, N_CLASSES, (probe_batch,))
        for strategy in dict.fromkeys(strategies):
            nets = [build_net(arch, d, strategy, width) for d in PROBE_DEPTHS]
            steppers = [make_step(n, "sgd", lr=1e-4) for n in nets]  # the study's step
            inputs = [n.prepare(x) for n in nets]
            best = [math.inf] * len(nets)
            for i in range(steps + 1):
                for k, (step, xs) in enumerate(zip(steppers, inputs, strict=True)):
                    t0 = time.perf_counter()
                    step(xs, y)
                    if i:
                        best[k] = min(best[k], time.perf_counter() - t0)
            times[strategy] = (best[0] * scale, best[1] * scale)
    return Speed(arch, width, batch_size, _fit_lines(times))


def _fit_lines(times: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Per strategy (intercept, slope) through its times at the two probe depths, made robust.

    All strategies do the same matrix products, so one line (the median intercept and
    slope over strategies) describes them, scaled per strategy by the median ratio of
    its two times to that line, within [0.7, 2] (BatchNorm, exp and tanh cost extra).
    A burst of another process during one probe then moves one point, not the estimate.
    """
    (d0, d1) = PROBE_DEPTHS
    lines = []
    for t0, t1 in times.values():
        slope = (t1 - t0) / (d1 - d0) if t1 > t0 else t1 / d1
        lines.append((max(t0 - slope * d0, 0.0), slope))
    a = statistics.median(ab[0] for ab in lines)
    b = statistics.median(ab[1] for ab in lines)
    out = {}
    for strategy, (t0, t1) in times.items():
        factor = statistics.median([t0 / (a + b * d0), t1 / (a + b * d1)])
        factor = min(max(factor, 0.7), 2.0)
        out[strategy] = (a * factor, b * factor)
    return out


# Forward-only testing costs about this fraction of a training step per image.
_EVAL_FRACTION = 0.35


def run_seconds(config: StudyConfig, speed: Speed, depth: int, strategy: str, n_test: int) -> float:
    """Estimated seconds of one run: its steps plus testing on ``n_test`` images."""
    step = speed.step_seconds(strategy, depth)
    return step * (config.steps + 1 + _EVAL_FRACTION * n_test / config.batch_size)


def estimate_seconds(config: StudyConfig, speed: Speed | None = None, n_test: int = 10_000) -> float:
    """Estimated wall time of a whole study on this machine.

    Every run costs ``steps + 1`` training steps (the last one measures the final
    layer statistics) plus testing. The step time comes from ``speed``, a quick
    probe of this machine (``measure_speed``: depth 2 and 6 per strategy, a line
    through them extrapolated to each depth); without ``speed`` the probe runs now.
    """
    if speed is None or not speed.matches(config):
        speed = measure_speed(config.arch, config.width, config.batch_size, config.strategies)
    n_test = min(n_test, config.test_size or n_test)
    return sum(run_seconds(config, speed, d, s, n_test) for d, _, s in config.run_keys())


# --------------------------------------------------------------------------- training


def _is_stopped(stop: Any) -> bool:
    if stop is None:
        return False
    if isinstance(stop, threading.Event) or hasattr(stop, "is_set"):
        return bool(stop.is_set())
    return bool(stop())


def _pixel_moments(images: torch.Tensor) -> tuple[float, float]:
    """Mean and standard deviation of uint8 pixels, exactly, from their histogram."""
    if images.dtype != torch.uint8:
        x = images.double()
        return float(x.mean()), float(x.std(correction=0))
    counts = torch.bincount(images.reshape(-1), minlength=256).double()
    values = torch.arange(256, dtype=torch.float64)
    n = counts.sum()
    mean = (counts * values).sum() / n
    var = (counts * (values - mean) ** 2).sum() / n
    return float(mean), float(var.sqrt())


class _Batches:
    """Standardised mini-batches in one seeded order, shared by every run of a study."""

    def __init__(self, data: MnistLike, config: StudyConfig) -> None:
        images, labels = data.train_images, data.train_labels
        if images.ndim != 3 or tuple(images.shape[1:]) != (28, 28) or len(labels) != len(images):
            raise ValueError(f"training images must be [N, 28, 28] with N labels, got "
                             f"{tuple(images.shape)} and {len(labels)} labels")
        n = len(images)
        subset = n if config.subset is None else int(config.subset)
        if subset > n:
            raise ValueError(f"training-set size {subset} exceeds the {n} training images")
        g = torch.Generator().manual_seed(config.seed)
        # the data is shared read-only (the app holds one copy): index it, never copy it whole
        self.images, self.labels = images, labels
        index = torch.randperm(n, generator=g)[:subset] if subset < n else None
        self.mean, self.std = _pixel_moments(images if index is None else images[index])
        self.std = self.std or 1.0
        need = (config.steps + 1) * config.batch_size
        order = torch.cat([torch.randperm(subset, generator=g) for _ in range(math.ceil(need / subset))])
        self.order = order[:need] if index is None else index[order[:need]]
        self.batch_size = config.batch_size
        n_test = len(data.test_images) if config.test_size is None else min(config.test_size,
                                                                             len(data.test_images))
        self.test_images, self.test_labels = data.test_images[:n_test], data.test_labels[:n_test]

    def standardise(self, images: torch.Tensor) -> torch.Tensor:
        return (images.float() - self.mean) / self.std

    def batch(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Mini-batch i (0-based)."""
        idx = self.order[i * self.batch_size:(i + 1) * self.batch_size]
        return self.standardise(self.images[idx]), self.labels[idx]


def _accuracy(net: DepthNet, batches: _Batches, chunk: int = 1000) -> float:
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(batches.test_images), chunk):
            x = batches.standardise(batches.test_images[i:i + chunk])
            pred = net(net.prepare(x)).argmax(1)
            correct += int((pred == batches.test_labels[i:i + chunk]).sum())
    net.train()
    return correct / max(1, len(batches.test_images))


class StudyStopped(Exception):
    """Raised inside a run when the stop signal is seen (the run is dropped)."""


# Backward of each activation the fused step supports: (module, d loss / d output, output) ->
# d loss / d input, from the saved output (not the input), as aten's in-place variants do.
_Backward = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]
_ACTIVATION_BACKWARD: dict[type[nn.Module], _Backward] = {
    nn.SELU: lambda _a, grad, out: torch.ops.aten.elu_backward(grad, SELU_ALPHA, SELU_SCALE, 1.0, True, out),
    nn.ELU: lambda act, grad, out: torch.ops.aten.elu_backward(grad, act.alpha, 1.0, 1.0, True, out),
    nn.ReLU: lambda _a, grad, out: torch.ops.aten.threshold_backward(grad, out, 0),
    nn.Tanh: lambda _a, grad, out: torch.ops.aten.tanh_backward(grad, out),
}

StepFn = Callable[..., float]


def _fused_layers(net: DepthNet) -> list[tuple[nn.Linear, nn.Module | None]] | None:
    """``net`` as (Linear, activation) pairs, the output layer's activation None, if the fused step
    can train it: a dense net of Linear + SELU/ELU/ReLU/tanh blocks only (no BatchNorm, no dropout)."""
    modules = list(net)
    if net.arch != "mlp" or len(modules) % 2 == 0 or not isinstance(modules[-1], nn.Linear):
        return None
    pairs: list[tuple[nn.Linear, nn.Module | None]] = []
    for layer, act in zip(modules[:-1:2], modules[1::2], strict=True):
        if not isinstance(layer, nn.Linear) or type(act) not in _ACTIVATION_BACKWARD:
            return None
        pairs.append((layer, act))
    pairs.append((modules[-1], None))
    return pairs


def _fused_sgd_step(layers: list[tuple[nn.Linear, nn.Module | None]], x: torch.Tensor, y: torch.Tensor,
                    lr: float, keep_grads: bool = False, update: bool = True) -> float:
    """One plain-SGD step (cross-entropy loss) of a dense net, by hand; returns the mini-batch loss.

    Why: the deep dense net's weights (79 MB at depth 32, width 784) are far larger
    than its activations, so a step costs mostly the trips through them. Autograd
    writes every weight gradient and SGD then reads it back with the weights; here
    each layer's update is folded into its weight-gradient product
    (``W.addmm_(g.t(), h, alpha=-lr)``, after ``g @ W`` for the input gradient), so
    no gradient tensor exists, and activations are differentiated from their saved
    outputs. Same arithmetic as autograd + ``torch.optim.SGD`` up to rounding.

    The modules are called for the forward pass, so forward hooks (the layer
    statistics) see it. ``keep_grads`` stores the weight gradients in ``.grad`` as
    autograd would (then applies SGD from them); otherwise ``.grad`` is cleared.
    The weights change only when ``update`` and the loss is finite.
    """
    with torch.no_grad():
        outputs = [x]  # the input of layer i is outputs[i]
        h = x
        for layer, act in layers:
            h = layer(h)
            if act is not None:
                h = act(h)
                outputs.append(h)
        log_p = F.log_softmax(h, dim=1)
        loss = float(F.nll_loss(log_p, y))
        if not math.isfinite(loss):
            return loss
        # d loss / d logits of the mean cross-entropy: (softmax - onehot) / batch
        grad = log_p.exp_().sub_(F.one_hot(y, h.shape[1])).div_(len(y))
        for i in range(len(layers) - 1, -1, -1):
            layer, h_in = layers[i][0], outputs[i]
            grad_in = grad @ layer.weight if i else None  # with the weights before their update
            if keep_grads:
                layer.weight.grad, layer.bias.grad = grad.t() @ h_in, grad.sum(0)
                if update:
                    layer.weight.sub_(layer.weight.grad, alpha=lr)
                    layer.bias.sub_(layer.bias.grad, alpha=lr)
            else:
                layer.weight.grad = layer.bias.grad = None
                if update:
                    layer.weight.addmm_(grad.t(), h_in, alpha=-lr)
                    layer.bias.sub_(grad.sum(0), alpha=lr)
            if grad_in is not None:
                act = layers[i - 1][1]
                grad = _ACTIVATION_BACKWARD[type(act)](act, grad_in, outputs[i])
    return loss


def make_step(net: DepthNet, optimizer: str = "sgd", lr: float = 0.01, fused: bool = True) -> StepFn:
    """The training step the study uses for ``net``: ``step(x, y, keep_grads=False, update=True)``.

    ``x`` is a prepared batch (``net.prepare``); the step returns its loss and
    updates the weights only when the loss is finite and ``update``; ``keep_grads``
    leaves the weight gradients in ``.grad`` (for the layer statistics). Plain SGD on
    a dense net the fused step supports takes ``_fused_sgd_step``; anything else
    (BatchNorm, dropout, the CNN, Adam, or ``fused=False``: the reference) takes
    autograd and a torch optimizer.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")
    layers = _fused_layers(net) if fused and optimizer == "sgd" else None
    if layers is not None:
        def fused_step(x: torch.Tensor, y: torch.Tensor, keep_grads: bool = False,
                       update: bool = True) -> float:
            return _fused_sgd_step(layers, x, y, lr, keep_grads, update)
        return fused_step
    opt: torch.optim.Optimizer = (torch.optim.SGD(net.parameters(), lr=lr) if optimizer == "sgd"
                                  else torch.optim.Adam(net.parameters(), lr=lr))

    def autograd_step(x: torch.Tensor, y: torch.Tensor, keep_grads: bool = False,
                      update: bool = True) -> float:
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        value = float(loss.detach())
        if math.isfinite(value) and (keep_grads or update):
            loss.backward()
            if update:
                opt.step()
        return value
    return autograd_step


def _train_one(config: StudyConfig, batches: _Batches, depth: int, lr: float, strategy: str,
               on_step: Callable[[int, float], None], stop: Any) -> RunResult:
    t0 = time.perf_counter()
    net = build_net(config.arch, depth, strategy, config.width, alpha_dropout=config.alpha_dropout,
                    seed=config.seed)
    net.set_dropout_generator(torch.Generator().manual_seed(config.seed + 1))
    net.train()
    step = make_step(net, config.optimizer, lr)
    losses: list[float] = []
    checkpoints: list[Checkpoint] = []
    diverged_at = None
    every = config.every
    recorder = _StatsRecorder(net)
    # Step s (1-based) trains on mini-batch s-1 with the weights after s-1 updates; the
    # checkpoint "after k updates" is measured on the forward/backward pass of step k+1,
    # and one extra pass without an update measures the end of training.
    for s in range(1, config.steps + 2):
        if _is_stopped(stop):
            raise StudyStopped
        final_probe = s == config.steps + 1
        record = (s - 1) % every == 0 or final_probe
        x, y = batches.batch(s - 1)
        with recorder if record else contextlib.nullcontext():
            value = step(net.prepare(x), y, keep_grads=record, update=not final_probe)
        if not math.isfinite(value):
            if not final_probe:
                diverged_at = s
            break
        if record:
            checkpoints.append(recorder.collect(s - 1))
        if final_probe:
            break
        losses.append(value)
        on_step(s, value)
    accuracy = float("nan") if diverged_at is not None else _accuracy(net, batches)
    return RunResult(config.arch, depth, strategy, lr, losses, diverged_at, accuracy,
                     time.perf_counter() - t0, checkpoints, images=len(losses) * config.batch_size)


def run_study(config: StudyConfig, data: MnistLike, on_event: Callable[[StudyEvent], None] | None = None,
              stop: threading.Event | Callable[[], bool] | None = None,
              speed: Speed | None = None) -> StudyResult:
    """Train every (depth, learning rate, strategy) of ``config`` on ``data``; return the finished runs.

    ``stop`` (an Event or a callable) is checked before every step: the run in
    progress is dropped, the finished ones are returned with ``stopped=True``.
    A run whose loss becomes NaN/inf is marked ``diverged_at`` that step and the
    study goes on. ``on_event`` receives StudyEvents (a 'step' event about every
    1 % of a run). ``speed`` (a probe) weights the runs for the progress fraction
    and gives the ETA before the first step; without it FLOPs weight the runs.
    """
    prepare_cpu()  # flush denormals (vanishing activations slow CPUs 10–100×), every core
    batches = _Batches(data, config)
    keys = config.run_keys()
    n_test = len(batches.test_images)
    if speed is not None and speed.matches(config):
        costs = [run_seconds(config, speed, d, s, n_test) for d, _, s in keys]
    else:
        speed = None
        costs = [forward_flops(config.arch, d, config.width)
                 * (3 * config.batch_size * (config.steps + 1) + n_test) for d, _, _ in keys]
    total = sum(costs)
    t_start = time.perf_counter()
    runs: list[RunResult] = []

    def emit(kind: str, i: int, done: float, **kw: Any) -> None:
        if on_event is None:
            return
        elapsed = time.perf_counter() - t_start
        fraction = min(1.0, done / total) if total > 0 else 1.0
        if fraction > 0.002 and elapsed > 0.5:
            eta = elapsed * (1 - fraction) / fraction
        elif speed is not None:
            eta = total - done
        else:
            eta = float("nan")
        on_event(StudyEvent(kind, i, len(keys), fraction, elapsed, eta, **kw))

    emit("start", 0, 0.0, steps=config.steps)
    stride = max(1, config.steps // 100)
    stopped = False
    done = 0.0
    for i, (depth, lr, strategy) in enumerate(keys):
        per_step = costs[i] / (config.steps + 1)

        def on_step(s: int, loss: float, i: int = i, depth: int = depth, lr: float = lr,
                    strategy: str = strategy, per_step: float = per_step, base: float = done) -> None:
            if s % stride == 0 or s == config.steps:
                emit("step", i, base + s * per_step, depth=depth, strategy=strategy, lr=lr,
                     step=s, steps=config.steps, loss=loss)

        try:
            run = _train_one(config, batches, depth, lr, strategy, on_step, stop)
        except StudyStopped:
            stopped = True
            break
        runs.append(run)
        done += costs[i]
        emit("run_done", i, done, depth=depth, strategy=strategy, lr=lr,
             step=len(run.losses), steps=config.steps, run=run)
    result = StudyResult(config, runs, stopped, time.perf_counter() - t_start)
    release_freed_memory()
    emit("done", len(runs), done)
    return result


# --------------------------------------------------------------------------- views and tables


def _pick_best(runs: Sequence[RunResult]) -> RunResult:
    """Lowest final loss among runs that did not diverge; else the one that diverged last."""
    ok = [r for r in runs if r.diverged_at is None]
    if ok:
        return min(ok, key=lambda r: (r.final_loss, r.lr))
    return max(runs, key=lambda r: (r.diverged_at or 0, -r.lr))


def best_lr_view(result: StudyResult) -> StudyResult:
    """One run per (depth, strategy): the learning rate with the lowest final loss (diverged runs last)."""
    groups: dict[tuple[int, str], list[RunResult]] = {}
    for r in result.runs:
        groups.setdefault((r.depth, r.strategy), []).append(r)
    return replace(result, runs=[_pick_best(g) for g in groups.values()])


def same_lr_view(result: StudyResult, lr: float) -> StudyResult:
    """Only the runs at learning rate ``lr`` (every strategy at the same rate)."""
    runs = [r for r in result.runs if math.isclose(r.lr, lr, rel_tol=1e-9)]
    if not runs and result.runs:
        raise ValueError(f"no runs at learning rate {lr:g}; the study used {list(result.config.lrs)}")
    return replace(result, runs=runs)


def summary_table(result: StudyResult) -> pd.DataFrame:
    """One row per run: depth, strategy, rate, status, final training loss, test accuracy, time."""
    rows = [{
        "arch": r.arch, "depth": r.depth, "strategy": r.strategy, "label": r.label, "lr": r.lr,
        "status": r.status if r.diverged_at is None else f"diverged at step {r.diverged_at}",
        "initial_loss": r.initial_loss, "final_loss": r.final_loss,
        "test_accuracy": r.test_accuracy, "seconds": r.seconds,
        "images_per_s": r.images / r.seconds if r.seconds > 0 else float("nan"),
    } for r in result.runs]
    cols = ["arch", "depth", "strategy", "label", "lr", "status", "initial_loss", "final_loss",
            "test_accuracy", "seconds", "images_per_s"]
    return pd.DataFrame(rows, columns=cols)


def curves_frame(result: StudyResult) -> pd.DataFrame:
    """Every training-loss curve in long form (one row per run and step); the CSV download."""
    frames = []
    for r in result.runs:
        n = len(r.losses)
        frames.append(pd.DataFrame({
            "arch": r.arch, "depth": r.depth, "strategy": r.strategy, "label": r.label, "lr": r.lr,
            "step": range(1, n + 1), "loss": r.losses,
            "diverged_at": pd.array([r.diverged_at] * n, dtype="Int64"),
        }))
    if not frames:
        return pd.DataFrame(columns=["arch", "depth", "strategy", "label", "lr", "step", "loss",
                                     "diverged_at"])
    return pd.concat(frames, ignore_index=True)


def divergence_frame(result: StudyResult) -> pd.DataFrame:
    """Where each diverged run stopped: its step and last finite loss (for the chart's marker)."""
    rows = [{"arch": r.arch, "depth": r.depth, "strategy": r.strategy, "label": r.label, "lr": r.lr,
             "step": r.diverged_at, "loss": r.losses[-1] if r.losses else r.initial_loss}
            for r in result.runs if r.diverged_at is not None]
    return pd.DataFrame(rows, columns=["arch", "depth", "strategy", "label", "lr", "step", "loss"])


def layer_stats_frame(run: RunResult) -> pd.DataFrame:
    """A run's layer statistics at every checkpoint: step, layer, name, mean, var, grad_norm."""
    rows = [{"step": c.step, **s.to_dict()} for c in run.checkpoints for s in c.layers]
    return pd.DataFrame(rows, columns=["step", "layer", "name", "mean", "var", "grad_norm"])


# --------------------------------------------------------------------------- the reading


def _fmt_lr(lr: float) -> str:
    return f"{lr:g}"


def _names(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _var_range(stats: list[LayerStat]) -> tuple[float, float]:
    """(smallest, largest) activation variance over the hidden layers (NaN if none is finite)."""
    vals = [s.var for s in stats if math.isfinite(s.var)]
    return (min(vals), max(vals)) if vals else (float("nan"), float("nan"))


def _var_spread(run: RunResult) -> float:
    """How far the end-of-training variances stray from 1: max |log10 var| (inf for a dead layer)."""
    lo, hi = _var_range(run.end_stats)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return float("nan")
    return float("inf") if lo <= 0 else max(abs(math.log10(lo)), abs(math.log10(hi)))


def _fmt_range(lo: float, hi: float) -> str:
    return f"{lo:.2g}–{hi:.2g}"


def reading(result: StudyResult) -> str:
    """A paragraph describing what the runs show, computed from their numbers (never canned)."""
    runs = result.runs
    if not runs:
        return ("No run has finished yet." if not result.stopped
                else "The study was stopped before any run finished.")
    cfg = result.config
    lrs = sorted({r.lr for r in runs})
    sweep = len(lrs) > 1
    view = best_lr_view(result) if sweep else result
    by_depth: dict[int, list[RunResult]] = {}
    for r in view.runs:
        by_depth.setdefault(r.depth, []).append(r)
    depths = sorted(by_depth)
    label = {s: STRATEGIES[s].label for s in STRATEGIES}
    parts: list[str] = []
    how = (f"each strategy at its own best of the learning rates {', '.join(_fmt_lr(v) for v in lrs)}"
           if sweep else f"all at learning rate {_fmt_lr(lrs[0])}")
    parts.append(f"After {cfg.steps} {cfg.optimizer.upper()} steps of batch {cfg.batch_size} ({how}), ")

    # the winner at each depth
    winners: dict[int, RunResult] = {}
    clauses = []
    for d in depths:
        ok = sorted((r for r in by_depth[d] if r.diverged_at is None), key=lambda r: r.final_loss)
        if not ok:
            clauses.append(f"at depth {d} every strategy diverged")
            continue
        best = ok[0]
        winners[d] = best
        lr_note = f" (rate {_fmt_lr(best.lr)})" if sweep else ""
        margin = f" (next: {label[ok[1].strategy]}, {ok[1].final_loss:.3g})" if len(ok) > 1 else ""
        if len(by_depth[d]) == 1:  # nothing to compare with
            clauses.append(f"at depth {d} {label[best.strategy]}{lr_note} reached a training loss of "
                           f"{best.final_loss:.3g}")
        else:
            clauses.append(f"at depth {d} {label[best.strategy]}{lr_note} reached the lowest training loss, "
                           f"{best.final_loss:.3g}{margin}")
    parts.append("; ".join(clauses) + ". ")

    # diverged, unstable and stalled runs (every run: in a sweep, at which rates)
    def where(rs: list[RunResult]) -> str:
        by_s: dict[str, list[str]] = {}
        for r in rs:
            at = f"depth {r.depth}" + (f" at rate {_fmt_lr(r.lr)}" if sweep else "")
            if r.diverged_at is not None:
                at += f" (step {r.diverged_at})"
            by_s.setdefault(r.strategy, []).append(at)
        return "; ".join(f"{label[s]} at {_names(v)}" for s, v in by_s.items())

    diverged = [r for r in runs if r.status == "diverged"]
    unstable = [r for r in runs if r.status == "unstable"]
    stalled = [r for r in runs if r.status == "stalled"]
    if diverged:
        parts.append(f"Diverged (NaN/inf loss): {where(diverged)}. ")
    if unstable:
        parts.append(f"Ended above their initial loss: {where(unstable)}. ")
    if stalled:
        parts.append(f"Stalled (loss still above {STALL_RATIO:.0%} of its start): {where(stalled)}. ")
    if not (diverged or unstable or stalled):
        parts.append("No run diverged or stalled. ")

    # in a sweep: does one shared rate decide the verdict?
    if sweep:
        deepest = max(r.depth for r in runs)
        per_lr = []
        for v in lrs:
            ok = [r for r in runs if r.depth == deepest and r.lr == v and r.diverged_at is None]
            if ok:
                per_lr.append((v, min(ok, key=lambda r: r.final_loss).strategy))
        if len({s for _, s in per_lr}) > 1:
            parts.append(f"With one rate shared by all, the verdict at depth {deepest} depends on the rate: "
                         + ", ".join(f"{label[s]} wins at {_fmt_lr(v)}" for v, s in per_lr) + ". ")

    # how the gap between the SNN and the paper's baseline (or the first two strategies) changes
    pair = ("selu", "relu_bn") if {"selu", "relu_bn"} <= set(cfg.strategies) else (
        (cfg.strategies[0], cfg.strategies[1]) if len(cfg.strategies) >= 2 else None)
    if pair is not None and len(depths) >= 2:
        gaps = []
        for d in depths:
            rs = {r.strategy: r for r in by_depth[d] if r.diverged_at is None}
            if pair[0] in rs and pair[1] in rs:
                gaps.append((d, rs[pair[1]].final_loss - rs[pair[0]].final_loss))
        if len(gaps) >= 2:
            (d0, g0), (d1, g1) = gaps[0], gaps[-1]

            def side(g: float) -> str:
                return label[pair[0]] if g > 0 else label[pair[1]]

            if (g0 > 0) != (g1 > 0):
                trend = (f"the lead changes hands: {side(g0)} is ahead by {abs(g0):.3g} at depth {d0}, "
                         f"{side(g1)} by {abs(g1):.3g} at depth {d1}")
            elif abs(g1) > abs(g0):
                trend = (f"{side(g1)}'s lead grows with depth, from {abs(g0):.3g} at depth {d0} "
                         f"to {abs(g1):.3g} at depth {d1}")
            else:
                trend = (f"{side(g1)}'s lead shrinks with depth, from {abs(g0):.3g} at depth {d0} "
                         f"to {abs(g1):.3g} at depth {d1}")
            parts.append(f"In final loss between {label[pair[0]]} and {label[pair[1]]}, {trend}. ")

    # self-normalisation while the weights move, at the deepest depth: SELU against the most drifting other
    deep = [r for r in by_depth[depths[-1]] if len(r.checkpoints) >= 2]
    snn = next((r for r in deep if r.strategy == "selu"), None)
    others = [r for r in deep if r.strategy != "selu" and not math.isnan(_var_spread(r))]
    worst = max(others, key=_var_spread) if others else None
    shown = [r for r in (snn, worst) if r is not None]
    if shown:
        descr = []
        for r in shown:
            (a0, b0), (a1, b1) = _var_range(r.init_stats), _var_range(r.end_stats)
            descr.append(f"{label[r.strategy]} {_fmt_range(a0, b0)} at initialisation and "
                         f"{_fmt_range(a1, b1)} at step {r.checkpoints[-1].step}")
        parts.append(f"Across the {len(shown[0].init_stats)} hidden layers of the depth-{depths[-1]} nets "
                     f"the activation variance ranged: {'; '.join(descr)}. ")

    # compare with the paper's Figure 1 (the SNN reaches the lowest training loss at every depth)
    if "selu" in cfg.strategies and len(cfg.strategies) > 1 and winners:
        selu_wins = sorted(d for d, r in winners.items() if r.strategy == "selu")
        if len(selu_wins) == len(depths):
            parts.append("This agrees with the paper's Figure 1, where the SNN trains best at every depth.")
        elif selu_wins:
            parts.append("The paper's Figure 1 has the SNN ahead at every depth; here it led only at depth "
                         f"{_names([str(d) for d in selu_wins])}.")
        else:
            hint = "" if sweep else " (one learning rate can decide the verdict: try a sweep)"
            parts.append("Unlike the paper's Figure 1, where the SNN trains best at every depth, it led "
                         f"at no depth here{hint}.")
    if result.stopped:
        parts.append(f" Stopped early: {len(runs)} of {len(cfg.run_keys())} runs finished.")
    return "".join(parts).strip()
