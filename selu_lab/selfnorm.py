"""The deep dense stack experiment: random inputs through ``depth`` square layers.

Per layer it records the pooled mean and variance of the layer's output (after
dropout, i.e. what the next layer sees), the fraction of units in negative
saturation, and ‖∂L/∂W‖_F from one backward pass. Everything is computed on the
fly:

- Memory of the statistics pass is one layer: four batch×width buffers (input,
  output and two scratch) and the current weight matrix. Layer l's weights are drawn from
  a generator seeded by (seed, l) only, so they can be regenerated at will and are
  shared by every configuration with the same seed and width (only the standard
  matrix is drawn; each init multiplies it by its own standard deviation inside
  the matmul). A small byte-capped cache keeps recently drawn matrices.
- The gradient pass reuses the same forward: the first ``grad_batch`` rows of
  each layer's pre-activation are kept (depth × grad_batch × width floats), the
  rest is discarded. ``grad_batch`` defaults to 256 rows and shrinks to fit a
  memory budget; at sizes where even 16 rows would not fit the pass is switched off.
- The loss is L = Σ_b ⟨x_L[b], r_b⟩ / √B with r_b ~ N(0, I): a random readout
  whose gradient norm does not depend on the gradient batch B in expectation, so
  a smaller gradient batch gives the same curve, only noisier.

Negative saturation (column ``neg_saturation``): for SELU/ELU/CELU the fraction
of outputs within 10 % of the negative floor, f(z) < −0.9·λα (z < −ln 10 for
SELU/ELU; there f′ is below a tenth of its value at 0⁻); for ReLU the fraction of
zero outputs (z ≤ 0, no gradient); for tanh the fraction with tanh(z) < −0.9;
NaN for Leaky ReLU, GELU and SiLU, which have no saturating negative floor.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial

import numpy as np
import pandas as pd
import torch

from selu_lab import theory
from selu_lab.activations import SELU_ALPHA, SELU_SCALE, Activation, get_activation
from selu_lab.cpu import keep_freed_memory
from selu_lab.inits import INITS, check_init, weight_variance

DEPTH_RANGE = (1, 200)
WIDTH_RANGE = (8, 2048)
BATCH_RANGE = (64, 8192)
RATE_RANGE = (0.0, 0.3)
DROPOUTS: tuple[str, ...] = ("none", "alpha", "standard")
SATURATION_FRACTION = 0.9  # "saturated": f(z) below 90 % of the negative floor −λα
GRAD_MEMORY_MB = 512  # budget for the pre-activations the gradient pass keeps
MIN_GRAD_BATCH = 16
AUTO_GRAD_BATCH = 256  # rows of the gradient pass unless chosen
WEIGHT_CACHE_MB = 256
ASSUMED_EFFICIENCY = 0.7  # the stack's GFLOP/s as a fraction of a large matmul's (see bench)

Progress = Callable[[float, str], None]
Stop = Callable[[], bool]


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class StackConfig:
    """One deep-stack experiment. ``alpha``/``scale`` None mean the activation's defaults;
    ``grad_batch`` None means automatic (min(batch, 256) rows, fewer if they would not fit in memory)."""

    activation: str = "selu"
    alpha: float | None = None
    scale: float | None = None
    init: str = "lecun"
    depth: int = 64
    width: int = 256
    batch: int = 1024
    input_mean: float = 0.0
    input_std: float = 1.0
    dropout: str = "none"
    dropout_rate: float = 0.0
    seed: int = 0
    grad: bool = True
    grad_batch: int | None = None
    hist_layers: tuple[int, ...] = ()
    target_mean: float = 0.0  # the fixed point AlphaDropout's constants preserve
    target_var: float = 1.0

    def activation_fn(self) -> Activation:
        """The validated Activation of this configuration."""
        return get_activation(self.activation, self.alpha, self.scale)

    def validate(self) -> StackConfig:
        """Return self if every field is valid, else raise ValueError naming the field to fix."""
        self.activation_fn()
        check_init(self.init)
        for name, (lo, hi) in (("depth", DEPTH_RANGE), ("width", WIDTH_RANGE), ("batch", BATCH_RANGE)):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or not lo <= value <= hi:
                raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
        if not math.isfinite(self.input_mean) or abs(self.input_mean) > 100:
            raise ValueError(f"input mean must be a finite number in [-100, 100], got {self.input_mean!r}")
        if not math.isfinite(self.input_std) or not 0 <= self.input_std <= 100:
            raise ValueError(f"input std must be a number in [0, 100], got {self.input_std!r}")
        if self.dropout not in DROPOUTS:
            raise ValueError(f"unknown dropout {self.dropout!r}; choose one of: {', '.join(DROPOUTS)}")
        if not (math.isfinite(self.dropout_rate) and RATE_RANGE[0] <= self.dropout_rate <= RATE_RANGE[1]):
            raise ValueError(f"dropout rate must be in [{RATE_RANGE[0]:g}, {RATE_RANGE[1]:g}], "
                             f"got {self.dropout_rate!r}")
        if not isinstance(self.seed, int | np.integer) or not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be an integer in [0, 2⁶³), got {self.seed!r}")
        if self.grad_batch is not None and not (
                isinstance(self.grad_batch, int | np.integer) and 1 <= self.grad_batch <= self.batch):
            raise ValueError(f"grad batch must be an integer in [1, batch = {self.batch}], "
                             f"got {self.grad_batch!r}")
        bad = [layer for layer in self.hist_layers if not 1 <= layer <= self.depth]
        if bad:
            raise ValueError(f"histogram layers must be in [1, depth = {self.depth}], got {bad}")
        if not (math.isfinite(self.target_mean) and math.isfinite(self.target_var) and self.target_var > 0):
            raise ValueError("the target mean must be finite and the target variance finite and > 0")
        return self

    @property
    def label(self) -> str:
        """Short description such as 'SELU + LeCun'."""
        from selu_lab.inits import SHORT_LABELS

        text = f"{self.activation_fn().label} + {SHORT_LABELS[self.init]}"
        if self.dropout != "none" and self.dropout_rate > 0:
            text += f", {'AlphaDropout' if self.dropout == 'alpha' else 'Dropout'} {self.dropout_rate:g}"
        return text


def default_configs() -> dict[str, StackConfig]:
    """The default comparison of the view: SELU+LeCun, SELU+gain 3/4, ELU+LeCun, ReLU+He."""
    return {
        "SELU + LeCun": StackConfig("selu", init="lecun"),
        "SELU + gain 3/4": StackConfig("selu", init="selu_gain"),
        "ELU + LeCun": StackConfig("elu", init="lecun"),
        "ReLU + He": StackConfig("relu", init="he"),
    }


# ----------------------------------------------------------------------------- cost


def layer_flops(config: StackConfig, grad_rows: int | None = None) -> tuple[float, float]:
    """(forward FLOPs, gradient-pass FLOPs) of the whole stack: 2·d·w²·B and 4·d·w²·B_grad
    (B_grad: ``grad_rows``, by default the rows ``resolve_grad_batch`` gives)."""
    w2 = float(config.width) ** 2
    if grad_rows is None:
        grad_rows = resolve_grad_batch(config)[0]
    return 2.0 * config.depth * w2 * config.batch, 4.0 * config.depth * w2 * grad_rows


def _matmul_gflops(size: int, repeats: int) -> float:
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    out = torch.empty(size, size)
    torch.mm(a, b, out=out)
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * size**3 / best / 1e9


@lru_cache(maxsize=1)
def measure_gflops(size: int = 1024, repeats: int = 3) -> float:
    """This machine's fp32 GFLOP/s on a size×size matmul (best of ``repeats``; cached per process)."""
    return _matmul_gflops(size, repeats)


FWD_PASSES = 24  # elementwise passes per layer over batch×width (activation, saturation, statistics)
BWD_PASSES = 24  # … and over grad rows×width in the gradient pass
LAYER_OVERHEAD = 3e-4  # seconds of fixed cost (op launches, Python) per layer and pass
PROBE_TTL = 600.0  # seconds a speed measurement stays valid (other users' load changes)
_SPEED: list[tuple[float, float, float]] = []  # (gflops, ns per element, when)
_SPEED_LOCK = threading.Lock()


def machine_speed() -> tuple[float, float]:
    """(large fp32 matmul GFLOP/s, nanoseconds per element of one elementwise pass) on this machine now,
    with ``best_threads()`` threads.

    Measured in ~20 ms and kept ``PROBE_TTL`` seconds; on a CPU shared with busy processes both can be
    many times worse than on an idle one, and the estimate follows.
    """
    now = time.monotonic()
    with _SPEED_LOCK:
        if _SPEED and now - _SPEED[0][2] < PROBE_TTL:
            return _SPEED[0][0], _SPEED[0][1]
    previous, threads = torch.get_num_threads(), best_threads()  # as the tab runs stacks
    torch.set_num_threads(threads)
    try:
        gflops = _matmul_gflops(512, 3)
        x = torch.randn(256, 1024)
        x.mul_(1.0)
        best = math.inf
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(4):
                x.mul_(1.0).add_(0.0)
            best = min(best, time.perf_counter() - t0)
    finally:
        torch.set_num_threads(previous)
    ns = best / (8 * x.numel()) * 1e9
    with _SPEED_LOCK:
        _SPEED[:] = [(gflops, ns, now)]
    return gflops, ns


def estimate_cost(config: StackConfig, gflops: float | None = None,
                  ns_per_element: float | None = None) -> tuple[float, float]:
    """(matmul FLOPs, estimated seconds): FLOPs / (``ASSUMED_EFFICIENCY`` · matmul speed) plus the
    elementwise passes (``FWD_PASSES`` over batch×width and ``BWD_PASSES`` over grad rows×width per
    layer) at ``ns_per_element``, plus ``LAYER_OVERHEAD`` per layer and pass. Both speeds default to
    ``machine_speed()``."""
    config.validate()
    fwd, bwd = layer_flops(config)
    if gflops is None or ns_per_element is None:
        measured = machine_speed()
        gflops = measured[0] if gflops is None else gflops
        ns_per_element = measured[1] if ns_per_element is None else ns_per_element
    rows = resolve_grad_batch(config)[0]
    elements = config.depth * config.width * (FWD_PASSES * config.batch + BWD_PASSES * rows)
    overhead = config.depth * LAYER_OVERHEAD * (2 if rows else 1)
    return fwd + bwd, ((fwd + bwd) / (gflops * 1e9 * ASSUMED_EFFICIENCY) + elements * ns_per_element * 1e-9
                       + overhead)


def resolve_grad_batch(config: StackConfig, memory_mb: float = GRAD_MEMORY_MB) -> tuple[int, str]:
    """(rows used by the gradient pass, note). 0 rows when the pass is off or would not fit.

    Automatic (``grad_batch`` None): min(batch, ``AUTO_GRAD_BATCH``) rows, fewer if the kept
    pre-activations would exceed ``memory_mb``.
    """
    if not config.grad:
        return 0, "gradient pass switched off"
    per_row = _grad_bytes_per_row(config)
    fits = int(memory_mb * 2**20 // per_row)
    wanted = min(config.batch, AUTO_GRAD_BATCH) if config.grad_batch is None else config.grad_batch
    if fits < MIN_GRAD_BATCH:
        return 0, (f"gradient pass off: even {MIN_GRAD_BATCH} rows would need more than "
                   f"{memory_mb:g} MB at depth {config.depth} × width {config.width}")
    if wanted > fits:
        return fits, (f"gradient pass on {fits} of {config.batch} rows to stay within {memory_mb:g} MB "
                      "(the gradient norm does not depend on the rows used, only its noise does)")
    if wanted < config.batch:
        return wanted, (f"gradient pass on {wanted} of {config.batch} rows (the norm does not depend on "
                        "the rows used; its noise, a few %, comes mostly from the random readout)")
    return wanted, ""


def memory_estimate(config: StackConfig, memory_mb: float = GRAD_MEMORY_MB) -> dict[str, int]:
    """Bytes each pass holds: 'statistics' (one layer: x, z, scratch, a mask and one weight matrix,
    whatever the depth) and 'gradient' (the kept pre-activations and masks of the gradient rows).
    The weight cache adds at most ``WEIGHT_CACHE_MB``, shared by all runs."""
    b, w = config.batch, config.width
    stats = 4 * b * w * 4 + w * w * 4
    rows = resolve_grad_batch(config, memory_mb)[0]
    per_row = _grad_bytes_per_row(config)
    grad = rows * per_row + (3 * rows * w * 4 + min(rows, w) ** 2 * 4 * 2 if rows else 0)
    return {"statistics": stats, "gradient": grad}


def _grad_bytes_per_row(config: StackConfig) -> int:
    """Bytes the gradient pass keeps per row: every layer's pre-activation (and keep mask)."""
    return config.depth * config.width * (8 if _uses_dropout(config) else 4)


def _uses_dropout(config: StackConfig) -> bool:
    return config.dropout != "none" and config.dropout_rate > 0


# ----------------------------------------------------------------------------- weights and seeds


@lru_cache(maxsize=1 << 16)
def _seed(seed: int, stream: int, layer: int) -> int:
    """An independent 64-bit seed per (seed, stream, layer) (cached: SeedSequence costs ~7 µs)."""
    return int(np.random.SeedSequence((int(seed), stream, layer)).generate_state(1, np.uint64)[0])


_WEIGHTS, _INPUT, _DROPOUT, _READOUT = range(4)


class _WeightCache:
    """Standard weight matrices by (seed, layer, width, distribution), LRU, capped in bytes.

    A cache only: a matrix is a pure function of its key, so results never depend on it.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, torch.Tensor] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, seed: int, layer: int, width: int, dist: str) -> torch.Tensor:
        key = (seed, layer, width, dist)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        gen = torch.Generator().manual_seed(_seed(seed, _WEIGHTS, layer))
        mat = torch.empty(width, width)
        if dist == "normal":
            mat.normal_(generator=gen)
        else:
            mat.uniform_(-1.0, 1.0, generator=gen)
        size = mat.numel() * mat.element_size()
        with self._lock:
            if size <= self.max_bytes and key not in self._items:
                self._items[key] = mat
                self._bytes += size
                while self._bytes > self.max_bytes:
                    _, old = self._items.popitem(last=False)
                    self._bytes -= old.numel() * old.element_size()
        return mat

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


_CACHE = _WeightCache(WEIGHT_CACHE_MB * 2**20)


def clear_weight_cache() -> None:
    """Drop the cached weight matrices (to measure generation cost, or free memory)."""
    _CACHE.clear()


def _weight_dist(init: str, width: int) -> tuple[str, float]:
    """(standard distribution, multiplier) such that multiplier·standard has the init's variance."""
    var = weight_variance(init, width, width)
    if init == "pytorch":  # kaiming_uniform_(a=√5): U(−1/√fan_in, 1/√fan_in)
        return "uniform", math.sqrt(3.0 * var)
    return "normal", math.sqrt(var)


# ----------------------------------------------------------------------------- activation kernels


class _Kernel:
    """Activation forward, gradient and saturation count on fp32 tensors, with preallocated buffers.

    Few, cheap passes: every op over batch×width costs one trip through memory (and a few µs of
    dispatch at small sizes), so the ELU family takes five (clamp, exp, clamp, add, one
    scale-and-shift) and the saturation count three (subtract, sign, sum). Only float ops:
    comparisons into bool tensors and masked fills are 5–10× slower on CPU, and Python-float
    operands of binary ops are converted to a tensor on every call, so constants are 0-dim tensors.
    """

    def __init__(self, act: Activation) -> None:
        self.act = act
        self.elu = act.is_elu_family
        self.has_saturation = self.elu or act.name in ("relu", "tanh")
        const = partial(torch.tensor, dtype=torch.float32)
        if self.elu:
            self.alpha, self.scale, self.rate = theory.elu_parameters(act)
            # f(z) < −0.9·λα ⇔ e^(kz) < 0.1 ⇔ z < ln(0.1)/k
            self.sat_z = const(math.log(1.0 - SATURATION_FRACTION) / self.rate)
            self.c_rate = const(self.rate)
            self.c_shift = const(-self.scale * self.alpha)
        elif act.name == "tanh":
            self.sat_out = const(-SATURATION_FRACTION)

    def apply(self, z: torch.Tensor, out: torch.Tensor, tmp: torch.Tensor,
              aux: torch.Tensor | None = None) -> torch.Tensor | None:
        """out ← f(z) (out may be z itself; ``tmp``, ``aux``: scratch). With ``aux``, returns a 0-dim
        tensor that ``saturated`` turns into the number of saturated units (None when the activation
        has no saturating floor)."""
        n = self.act.name
        raw = None
        if self.elu:
            if aux is not None:  # Σ sign(z − threshold): see ``saturated``
                raw = torch.sub(z, self.sat_z, out=aux).sign_().sum()
            torch.clamp_max(z, 0.0, out=tmp)
            if self.rate != 1.0:
                tmp.mul_(self.c_rate)
            tmp.exp_()  # e^(k·min(z, 0)); equals 1 where z > 0
            torch.clamp_min(z, 0.0, out=out).add_(tmp, alpha=self.alpha)
            torch.add(self.c_shift, out, alpha=self.scale, out=out)  # λ·(max(z, 0) + α·e) − λα
        elif n == "relu":
            torch.clamp_min(z, 0.0, out=out)
            if aux is not None:
                raw = torch.count_nonzero(out)
        elif n == "leaky_relu":
            if out is not z:
                out.copy_(z)
            torch.nn.functional.leaky_relu_(out, self.act.alpha)
        elif n == "tanh":
            torch.tanh(z, out=out)
            if aux is not None:
                raw = torch.sub(out, self.sat_out, out=aux).sign_().sum()
        elif n == "silu":
            out.copy_(torch.nn.functional.silu(z))
        elif n == "gelu":
            out.copy_(torch.nn.functional.gelu(z))
        else:  # pragma: no cover - the registry is closed
            raise AssertionError(n)
        return raw

    def saturated(self, raw: float, numel: int) -> float:
        """The saturated count from ``apply``'s raw value: numel − #nonzero outputs for ReLU, else
        (numel − Σ sign) / 2 (a unit exactly at the threshold counts one half)."""
        if self.act.name == "relu":
            return numel - raw
        return 0.5 * (numel - raw)

    def grad_(self, grad: torch.Tensor, z: torch.Tensor, out: torch.Tensor) -> None:
        """out ← grad·f′(z) (chain rule through the activation)."""
        if self.elu:  # one fused kernel: λ for z > 0, λαk·e^(kz) otherwise
            torch.ops.aten.elu_backward.grad_input(grad, self.alpha, self.scale, self.rate, False, z,
                                                   grad_input=out)
            return
        n = self.act.name
        if n == "relu":
            torch.sign(z, out=out).clamp_min_(0.0).mul_(grad)
        elif n == "leaky_relu":
            torch.sign(z, out=out).clamp_min_(0.0).mul_(1.0 - self.act.alpha).add_(self.act.alpha).mul_(grad)
        elif n == "tanh":
            torch.tanh(z, out=out)
            out.mul_(out).neg_().add_(1.0).mul_(grad)
        elif n == "silu":
            s = torch.sigmoid(z)
            out.copy_(s * (1.0 + z * (1.0 - s))).mul_(grad)
        else:  # gelu (exact, erf form)
            cdf = 0.5 * (1.0 + torch.erf(z * (1.0 / math.sqrt(2.0))))
            out.copy_(cdf + z * torch.exp(-0.5 * z * z) * (1.0 / math.sqrt(2.0 * math.pi))).mul_(grad)


def dropout_constants(config: StackConfig) -> tuple[float, float, float]:
    """(α′, a, b) of AlphaDropout for this configuration.

    α′ = −λα, the negative floor, for the ELU family; for other activations PyTorch's
    nn.AlphaDropout constant for SELU (it assumes SELU whatever precedes it).
    (a, b) keep (target_mean, target_var), see ``theory.alpha_dropout_constants``.
    """
    act = config.activation_fn()
    floor = act.limit_at_minus_infinity() if act.is_elu_family else -SELU_SCALE * SELU_ALPHA
    a, b = theory.alpha_dropout_constants(config.dropout_rate, -floor, 1.0, config.target_mean,
                                          config.target_var)
    return floor, a, b


class _Dropout:
    """Training-mode dropout applied in place; the keep mask (1.0 kept, 0.0 dropped) is drawn per layer
    from its own seed, so the gradient pass can keep just its rows."""

    def __init__(self, config: StackConfig) -> None:
        self.kind = config.dropout if _uses_dropout(config) else "none"
        self.rate = config.dropout_rate
        self.seed = config.seed
        if self.kind == "alpha":
            alpha_prime, self.a, self.b = dropout_constants(config)
            self.fill = self.a * alpha_prime + self.b
            self.grad_factor = self.a
        elif self.kind == "standard":
            self.grad_factor = 1.0 / (1.0 - self.rate)

    def mask(self, layer: int, keep: torch.Tensor) -> None:
        """keep ← 1.0 with probability 1 − rate, else 0.0 (floor(u + 1 − rate), u ~ U[0, 1))."""
        gen = torch.Generator().manual_seed(_seed(self.seed, _DROPOUT, layer))
        torch.rand(keep.shape, generator=gen, out=keep)
        keep.add_(1.0 - self.rate).floor_()

    def apply_(self, x: torch.Tensor, keep: torch.Tensor) -> None:
        """x ← dropout(x) with a given keep mask."""
        if self.kind == "alpha":  # a·x + b where kept, a·α′ + b where dropped
            x.mul_(self.a).add_(self.b - self.fill).mul_(keep).add_(self.fill)
        elif self.kind == "standard":
            x.mul_(keep).mul_(self.grad_factor)

    def backward_(self, grad: torch.Tensor, keep: torch.Tensor | None) -> None:
        if self.kind != "none" and keep is not None:
            grad.mul_(keep).mul_(self.grad_factor)


# ----------------------------------------------------------------------------- the experiment


class Stopped(Exception):
    """Raised inside ``simulate`` when ``stop()`` returned True; the partial result is attached."""

    def __init__(self, partial: StackResult) -> None:
        super().__init__("stopped")
        self.partial = partial


@dataclass
class StackResult:
    """Per-layer statistics, optional histograms and what the run had to adapt."""

    config: StackConfig
    layers: pd.DataFrame  # layer, mean, var, neg_saturation, grad_norm
    histograms: pd.DataFrame  # layer, left, right, density
    grad_batch: int
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    flops: float = 0.0

    @property
    def gflops(self) -> float:
        """Achieved GFLOP/s (matmul FLOPs over wall time)."""
        return self.flops / self.seconds / 1e9 if self.seconds > 0 else math.nan


HIST_BINS = 60


def _histogram(x: torch.Tensor, layer: int, mean: float, std: float) -> pd.DataFrame:
    lo, hi = float(x.min()), float(x.max())
    if math.isfinite(std) and std > 0:
        lo, hi = max(lo, mean - 5 * std), min(hi, mean + 5 * std)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return pd.DataFrame(columns=["layer", "left", "right", "density"])
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts = torch.histc(x, bins=HIST_BINS, min=lo, max=hi).double().numpy()
    edges = np.linspace(lo, hi, HIST_BINS + 1)
    width = edges[1] - edges[0]
    return pd.DataFrame({"layer": layer, "left": edges[:-1], "right": edges[1:],
                         "density": counts / (x.numel() * width)})


VAR_RECHECK = 0.25  # below this fraction of E[x²] the one-pass variance is recomputed in two passes


def _mean_var(x: torch.Tensor, tmp: torch.Tensor) -> tuple[float, float]:
    """Pooled mean and (biased) variance of ``x`` in two read-only passes, Σx and Σx².

    Var = E[x²] − mean² loses relative precision as mean² approaches E[x²], so when the variance
    is below ``VAR_RECHECK``·E[x²] (or not finite) it is recomputed as E[(x − mean)²] (``tmp``:
    scratch); above it the error stays within 4× that of the fp32 sum of squares.
    """
    flat, n = x.view(-1), x.numel()
    mean = float(flat.sum()) / n
    second = float(torch.dot(flat, flat)) / n
    var = second - mean * mean
    if not var >= VAR_RECHECK * second:
        centred = torch.sub(x, mean, out=tmp).view(-1)
        var = float(torch.dot(centred, centred)) / n
    return mean, var


def simulate(config: StackConfig, progress: Progress | None = None, stop: Stop | None = None,
             *, grad_memory_mb: float = GRAD_MEMORY_MB, threads: int | None = None) -> StackResult:
    """Run the stack: one forward pass for the statistics (memory of one layer) that also keeps
    the gradient batch's pre-activations, then one backward pass for the gradient norms.

    ``progress(fraction, text)`` is called after every layer; when ``stop()`` returns True the
    run raises ``Stopped`` carrying the layers finished so far. ``threads`` sets torch's
    (process-wide) CPU thread count for the run and restores it afterwards (see ``best_threads``).
    """
    if threads is None or threads == torch.get_num_threads():
        return _simulate(config, progress, stop, grad_memory_mb)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _simulate(config, progress, stop, grad_memory_mb)
    finally:
        torch.set_num_threads(previous)


_THREADS: list[tuple[int, float]] = []  # (best thread count, when)


def best_threads() -> int:
    """1 or torch's thread count, whichever runs a small stack faster on this machine now.

    On a CPU shared with busy processes, OpenMP threads that spin while waiting for each other
    can make every elementwise op 10–20× slower with 2 threads than with 1; on an idle machine
    all threads win. Measured in a few ms, kept ``PROBE_TTL`` seconds.
    """
    now = time.monotonic()
    with _SPEED_LOCK:
        if _THREADS and now - _THREADS[0][1] < PROBE_TTL:
            return _THREADS[0][0]
    default = torch.get_num_threads()
    best = default
    if default > 1:
        probe = StackConfig(depth=4, width=256, batch=256, grad_batch=64)
        timings = {}
        for n in (default, 1, default, 1):
            t0 = time.perf_counter()
            simulate(probe, threads=n)
            timings[n] = min(timings.get(n, math.inf), time.perf_counter() - t0)
        best = 1 if timings[1] < 0.8 * timings[default] else default
    with _SPEED_LOCK:
        _THREADS[:] = [(best, now)]
    return best


def _simulate(config: StackConfig, progress: Progress | None, stop: Stop | None,
              grad_memory_mb: float) -> StackResult:
    config.validate()
    t_start = time.perf_counter()
    kernel = _Kernel(config.activation_fn())
    drop = _Dropout(config)
    dist, mult = _weight_dist(config.init, config.width)
    grad_rows, note = resolve_grad_batch(config, grad_memory_mb)
    notes = [note] if note else []
    if config.init == "xavier":
        notes.append("for square layers Glorot/Xavier has the same variance as LeCun: 1/width")
    fwd_flops, bwd_flops = layer_flops(config, grad_rows)
    total_flops = fwd_flops + bwd_flops
    depth, n_elems = config.depth, config.batch * config.width
    hist_layers = set(config.hist_layers)

    rows: list[tuple[int, float, float, float, float]] = []
    hists: list[pd.DataFrame] = []
    # one block per kind for the gradient batch's rows of every layer: a fresh 256 KB clone per
    # layer came from mmap and page-faulted on every run (≈ 60 µs a layer at the default view)
    kept_z = torch.empty(depth, grad_rows, config.width) if grad_rows else None
    kept_keep = torch.empty(depth, grad_rows, config.width) if grad_rows and drop.kind != "none" else None

    def report(done: float, text: str) -> None:
        if progress is not None:
            progress(min(done / total_flops, 1.0), text)
        if stop is not None and stop():
            raise Stopped(_result(config, rows, hists, grad_rows, notes, t_start, 0.0))

    torch.set_flush_denormal(True)  # this thread's flag; denormals only slow things down here
    keep_freed_memory()  # the kept block comes from the heap again next run, not fresh pages
    with torch.no_grad():
        gen = torch.Generator().manual_seed(_seed(config.seed, _INPUT, 0))
        x = torch.randn(config.batch, config.width, generator=gen)
        x.mul_(config.input_std).add_(config.input_mean)
        x0 = x[:grad_rows].clone() if grad_rows else None
        z = torch.empty_like(x)
        tmp = torch.empty_like(x)
        aux = torch.empty_like(x)
        for layer in range(1, depth + 1):
            weight = _CACHE.get(config.seed, layer, config.width, dist)
            torch.addmm(z, x, weight, beta=0.0, alpha=mult, out=z)
            if kept_z is not None:
                kept_z[layer - 1].copy_(z[:grad_rows])
            raw = kernel.apply(z, z, tmp, aux if kernel.has_saturation else None)
            if drop.kind != "none":
                drop.mask(layer, aux)
                drop.apply_(z, aux)
                if kept_keep is not None:
                    kept_keep[layer - 1].copy_(aux[:grad_rows])
            mean, var = _mean_var(z, tmp)
            sat = kernel.saturated(float(raw), n_elems) / n_elems if raw is not None else math.nan
            rows.append((layer, mean, var, sat, math.nan))
            if layer in hist_layers:
                hists.append(_histogram(z, layer, mean, math.sqrt(var) if var >= 0 else math.nan))
            x, z = z, x
            report(2.0 * layer * config.width**2 * config.batch, f"forward: layer {layer} of {depth}")
        del z, tmp, aux
        grad_norms = _backward(config, kernel, drop, kept_z, kept_keep, x0, dist, mult, grad_rows,
                               lambda done, text: report(fwd_flops + done, text)) if grad_rows else []
    for i, g in enumerate(grad_norms):
        rows[i] = (*rows[i][:4], g)
    return _result(config, rows, hists, grad_rows, notes, t_start, total_flops)


def _backward(config: StackConfig, kernel: _Kernel, drop: _Dropout, kept_z: torch.Tensor,
              kept_keep: torch.Tensor | None, x0: torch.Tensor, dist: str, mult: float,
              rows: int, report: Progress) -> list[float]:
    """‖∂L/∂W_l‖_F for every layer, L = Σ⟨x_L, R⟩/√rows, by hand (no autograd graph)."""
    depth, width = config.depth, config.width
    gen = torch.Generator().manual_seed(_seed(config.seed, _READOUT, 0))
    grad = torch.randn(rows, width, generator=gen).mul_(1.0 / math.sqrt(rows))  # ∂L/∂x_L
    gram = 2 * rows < width  # ‖xᵀg‖²_F = Σ (x xᵀ) ⊙ (g gᵀ) is cheaper for few rows
    buf = torch.empty(rows, rows) if gram else torch.empty(width, width)
    buf2 = torch.empty(rows, rows) if gram else None
    x_prev, tmp, spare = (torch.empty(rows, width) for _ in range(3))
    norms = [math.nan] * depth
    for layer in range(depth, 0, -1):
        drop.backward_(grad, kept_keep[layer - 1] if kept_keep is not None else None)
        kernel.grad_(grad, kept_z[layer - 1], spare)  # ∂L/∂z_l
        grad, spare = spare, grad
        if layer > 1:  # the layer's input x_{l−1}, recomputed from the kept pre-activation
            kernel.apply(kept_z[layer - 2], x_prev, tmp)
            if kept_keep is not None:
                drop.apply_(x_prev, kept_keep[layer - 2])
            inputs = x_prev
        else:
            inputs = x0
        if gram:
            torch.mm(inputs, inputs.t(), out=buf)
            torch.mm(grad, grad.t(), out=buf2)
            norms[layer - 1] = math.sqrt(max(float(torch.dot(buf.view(-1), buf2.view(-1))), 0.0))
        else:
            torch.mm(inputs.t(), grad, out=buf)  # ‖·‖² as a dot: faster and, for millions of
            flat = buf.view(-1)  # entries, 10–100× more accurate in fp32 than linalg.vector_norm
            norms[layer - 1] = math.sqrt(max(float(torch.dot(flat, flat)), 0.0))
        if layer > 1:
            weight = _CACHE.get(config.seed, layer, width, dist)
            torch.addmm(spare, grad, weight.t(), beta=0.0, alpha=mult, out=spare)  # ∂L/∂x_{l−1}
            grad, spare = spare, grad
        report(4.0 * (depth - layer + 1) * width**2 * rows, f"gradient pass: layer {layer}")
    return norms


def _result(config: StackConfig, rows: list, hists: list[pd.DataFrame], grad_rows: int,
            notes: list[str], t_start: float, flops: float) -> StackResult:
    layers = pd.DataFrame(rows, columns=["layer", "mean", "var", "neg_saturation", "grad_norm"])
    hist = pd.concat(hists, ignore_index=True) if hists else \
        pd.DataFrame(columns=["layer", "left", "right", "density"])
    return StackResult(config, layers, hist, grad_rows, list(notes), time.perf_counter() - t_start, flops)


def run_stack(config: StackConfig, progress: Progress | None = None,
              stop: Stop | None = None) -> pd.DataFrame:
    """Per-layer statistics of ``config``: columns layer, mean, var, neg_saturation, grad_norm."""
    return simulate(config, progress, stop).layers


def analytic_curve(config: StackConfig) -> pd.DataFrame:
    """The analytic prediction for ``config``: iterate the pooled random-weight moment map from
    the input moments with τ implied by the init (ω = 0), including dropout. Columns layer, mean, var."""
    config.validate()
    act = config.activation_fn()
    omega, tau = theory.init_moments(config.init, config.width)
    kwargs = {}
    if _uses_dropout(config):
        kwargs = {"dropout": config.dropout, "dropout_rate": config.dropout_rate}
        if config.dropout == "alpha":
            alpha_prime, a, b = dropout_constants(config)
            kwargs.update(alpha_prime=alpha_prime, dropout_a=a, dropout_b=b)
    return theory.trajectory(act, config.input_mean, config.input_std**2, config.depth, omega, tau,
                             random_weights=True, **kwargs)


MEAN_TOL = 0.1  # the target band: |mean − target| < 0.1 and |var − target| < 0.15
VAR_TOL = 0.15


def band_entry(layers: pd.DataFrame, target: tuple[float, float] = (0.0, 1.0), mean_tol: float = MEAN_TOL,
               var_tol: float = VAR_TOL) -> int | None:
    """The first layer from which every later layer stays inside the target band, or None."""
    inside = ((layers["mean"] - target[0]).abs() < mean_tol) & ((layers["var"] - target[1]).abs() < var_tol)
    if inside.empty or not bool(inside.iloc[-1]):
        return None
    outside = np.flatnonzero(~inside.to_numpy())
    return int(layers["layer"].iloc[outside[-1] + 1]) if len(outside) else int(layers["layer"].iloc[0])


def summary_table(results: dict[str, pd.DataFrame], target: tuple[float, float] = (0.0, 1.0),
                  mean_tol: float = MEAN_TOL, var_tol: float = VAR_TOL) -> pd.DataFrame:
    """One row per configuration: last layer's mean and variance, the layer from which it stays in the
    target band, and the gradient-norm ratio layer 1 / last layer (≫ 1 exploding towards the input,
    ≪ 1 vanishing)."""
    rows = []
    for name, layers in results.items():
        last = layers.iloc[-1]
        grads = layers["grad_norm"]
        ratio = float(grads.iloc[0] / grads.iloc[-1]) if grads.notna().all() and grads.iloc[-1] > 0 \
            else math.nan
        entry = band_entry(layers, target, mean_tol, var_tol)
        rows.append({"configuration": name, "last_mean": float(last["mean"]), "last_var": float(last["var"]),
                     "in_band_from": entry, "self_normalising": entry is not None,
                     "grad_ratio": ratio, "saturation": float(layers["neg_saturation"].mean())})
    return pd.DataFrame(rows).astype({"in_band_from": "Int64"}) if rows else pd.DataFrame(rows)


def convergence(layers: pd.DataFrame, target: tuple[float, float], start: int | None = None) -> dict:
    """How close a stack's tail comes to a target fixed point: mean and variance averaged over the
    layers from ``start`` (default: the second half) to the last, and their largest deviations."""
    start = max(1, len(layers) // 2) if start is None else start
    tail = layers[layers["layer"] >= start]
    return {"from_layer": int(tail["layer"].iloc[0]) if len(tail) else start,
            "mean": float(tail["mean"].mean()), "var": float(tail["var"].mean()),
            "max_mean_error": float((tail["mean"] - target[0]).abs().max()),
            "max_var_error": float((tail["var"] - target[1]).abs().max()),
            "entered_band": band_entry(layers, target)}


def with_selu_parameters(config: StackConfig, params: theory.SeluParameters) -> StackConfig:
    """``config`` with SELU's α and λ replaced by a solver result (and its target for AlphaDropout)."""
    return replace(config, activation="selu", alpha=params.alpha, scale=params.scale,
                   target_mean=params.mean, target_var=params.var)


__all__ = [
    "BATCH_RANGE", "DEPTH_RANGE", "DROPOUTS", "INITS", "RATE_RANGE", "WIDTH_RANGE", "StackConfig",
    "StackResult", "Stopped", "analytic_curve", "band_entry", "best_threads", "clear_weight_cache",
    "convergence",
    "default_configs", "dropout_constants", "estimate_cost", "machine_speed", "measure_gflops",
    "memory_estimate", "resolve_grad_batch", "run_stack", "simulate", "summary_table", "with_selu_parameters",
]
