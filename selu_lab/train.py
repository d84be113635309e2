"""The training engine: config dataclass, recipes, events, stop requests, results.

Plain Python (no Streamlit): ``train(config, data, on_event, stop)`` runs in the
caller's thread, reports :class:`BatchEvent` and :class:`EpochEvent` through
``on_event`` and checks ``stop`` (a ``threading.Event``) before every batch, so
a stop request ends the run within one batch and the partial result (with a
quick evaluation of the model as it is) is returned.

Speed on a CPU comes from: the whole of MNIST as one uint8 tensor, shuffled
batches sliced from it (no DataLoader, no per-sample ``ToTensor``); flush-to-zero
for denormals; channels-last convolutions (oneDNN's fast path); pooling before
monotone activations (identical values, a quarter of the work; see models.py)
and a fused Adam step. A run is deterministic for a given seed and thread count on
a CPU (the thread count changes the order of sums): the weights, the shuffling and
the dropout masks come from their own generators, never the global RNG.
"""

from __future__ import annotations

import csv
import io
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from torch.nn import functional as F

from selu_lab.activations import get_activation
from selu_lab.cpu import prepare_cpu, release_freed_memory
from selu_lab.data import NUM_CLASSES, MnistData
from selu_lab.inits import INITS
from selu_lab.models import DROPOUTS, SeedCNN, build_cnn

# The assignment's reported per-epoch training losses for the seed recipe (SELU, 5 epochs):
# a reference line beside seed-recipe runs. (Here the seed's own script logs 0.137 … 0.019 and ends
# near 98.8 %; this trainer, with its own data order, logs 0.133 in its first epoch.)
ASSIGNMENT_EPOCH_LOSSES: tuple[float, ...] = (0.2154, 0.0901, 0.0602, 0.0453, 0.0351)

OPTIMIZERS: dict[str, str] = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD with momentum"}
SCHEDULES: dict[str, str] = {
    "constant": "constant learning rate",
    "onecycle": "one-cycle (warm-up to lr, cosine annealing to lr/10⁴)",
    "cosine": "cosine annealing from lr to 0",
}
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS: dict[str, str] = {
    "fp32": "float32 throughout (the seed's numerics)",
    "bf16": "bfloat16 autocast for the layers, float32 weights, loss and optimizer "
            "(about 2× faster on CPUs with AMX / AVX-512 BF16; slightly different losses)",
}
STATUSES = ("finished", "stopped", "diverged")
EVAL_BATCH = 250  # keeps the largest activation (conv1 output) under 32 MB: no page faults

RECIPES: dict[str, dict[str, Any]] = {
    # the assignment's setup: Adam 1e-3, batch 64, 5 epochs, PyTorch default init, raw [0, 1] pixels
    "seed": {},
    # ≥ 99.0 % test accuracy quickly with the same CNN: a self-normalising setup
    # (LeCun normal init, standardised inputs) trained with a one-cycle schedule
    "fast": {"init": "lecun", "standardize": True, "batch_size": 128, "lr": 3e-3,
             "schedule": "onecycle", "epochs": 2},
}
RECIPE_DESCRIPTIONS: dict[str, str] = {
    "seed": "the assignment's setup: Adam 1e-3, batch 64, 5 epochs, PyTorch default init, raw pixels",
    "fast": "LeCun init, standardised inputs, batch 128, one-cycle schedule peaking at 3e-3, 2 epochs",
    "custom": "settings chosen by hand",
}


@dataclass
class TrainConfig:
    """Everything that defines a training run (a recipe plus overrides)."""

    activation: str = "selu"
    alpha: float | None = None  # None: the activation's default (SELU: α of the paper)
    scale: float | None = None  # SELU's λ; None: the paper's value
    init: str = "pytorch"
    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-3  # peak learning rate for the one-cycle schedule
    optimizer: str = "adam"
    momentum: float = 0.9  # SGD only
    weight_decay: float = 0.0
    schedule: str = "constant"
    dropout: str = "none"  # none | alpha | standard, before the last layer
    dropout_rate: float = 0.0
    standardize: bool = False  # (x − 0.1307) / 0.3081 on [0, 1] pixels
    subset: int | None = None  # train on the first N training images
    test_subset: int | None = None  # evaluate on the first N test images (tests, quick looks)
    seed: int = 0
    device: str = "auto"  # auto: CUDA, then Apple MPS, then CPU
    recipe: str = "seed"
    threads: int | None = None  # CPU threads; None: every core this process may use
    precision: str = "fp32"  # fp32 | bf16 (autocast; see PRECISIONS)


@dataclass
class BatchEvent:
    """One optimisation step; ``images_per_s`` is the running rate of the current epoch."""

    epoch: int  # 1-based
    batch: int  # 1-based within the epoch
    batches_per_epoch: int
    step: int  # 1-based over the run
    total_steps: int
    loss: float
    images_per_s: float
    elapsed: float  # seconds since the run started
    lr: float = 0.0


@dataclass
class EpochEvent:
    """End of an epoch: mean batch loss (the seed's "Loss"), test metrics, speed."""

    epoch: int
    epochs: int
    train_loss: float
    test_loss: float
    test_accuracy: float  # fraction in [0, 1]
    images_per_s: float  # training images per second of training (evaluation excluded)
    elapsed: float  # seconds since the run started (evaluations included)

    def seed_line(self) -> str:
        """The seed script's progress line, e.g. ``Epoch [1/5], Loss: 0.1329``."""
        return f"Epoch [{self.epoch}/{self.epochs}], Loss: {self.train_loss:.4f}"


Event = BatchEvent | EpochEvent


@dataclass
class Misclassified:
    """The misclassified test images: indices into the test split, predicted and true labels."""

    indices: np.ndarray  # int64
    preds: np.ndarray  # int64
    labels: np.ndarray  # int64
    confidence: np.ndarray  # float32, softmax probability of the predicted class

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def images(self, data: MnistData) -> torch.Tensor:
        """The misclassified images, uint8 [K, 28, 28] (a copy)."""
        return data.test_images[torch.from_numpy(self.indices)]


@dataclass
class TrainResult:
    """A run's outcome; also returned for stopped and diverged runs (history so far)."""

    config: TrainConfig
    status: str  # finished | stopped | diverged
    reason: str  # '' when finished; why it stopped or diverged otherwise
    batch_losses: list[float]
    epochs: list[EpochEvent]
    test_accuracy: float  # fraction in [0, 1]
    test_loss: float
    per_class_accuracy: np.ndarray  # (10,), fraction; nan for a class absent from the test subset
    confusion: np.ndarray  # (10, 10) int64, rows = true label, columns = prediction
    misclassified: Misclassified
    elapsed: float  # wall time of the whole run, evaluations included
    images_per_s: float  # training images per second of training
    steps: int
    batches_per_epoch: int
    device: str
    state_dict: dict[str, torch.Tensor] = field(repr=False)

    @property
    def epoch_losses(self) -> list[float]:
        return [e.train_loss for e in self.epochs]

    def model(self) -> SeedCNN:
        """A CPU model with the trained weights, in eval mode."""
        model = model_for(self.config)
        model.load_state_dict(self.state_dict)
        return model.eval()

    def save_weights(self, path: str | Path | None = None) -> bytes:
        """The state_dict as ``torch.save`` bytes (written to ``path`` too if given)."""
        buf = io.BytesIO()
        torch.save(self.state_dict, buf)
        payload = buf.getvalue()
        if path is not None:
            Path(path).write_bytes(payload)
        return payload

    def metrics_rows(self) -> list[dict[str, float | int]]:
        """One dict per completed epoch."""
        return [{"epoch": e.epoch, "train_loss": e.train_loss, "test_loss": e.test_loss,
                 "test_accuracy": e.test_accuracy, "images_per_s": e.images_per_s,
                 "elapsed_s": e.elapsed} for e in self.epochs]

    def metrics_csv(self, path: str | Path | None = None) -> bytes:
        """Per-epoch metrics as CSV bytes (written to ``path`` too if given)."""
        cols = ["epoch", "train_loss", "test_loss", "test_accuracy", "images_per_s", "elapsed_s"]
        return _csv_bytes(cols, self.metrics_rows(), path)

    def batch_losses_csv(self, path: str | Path | None = None) -> bytes:
        """Every batch loss (step, epoch, loss) as CSV bytes."""
        n = max(1, self.batches_per_epoch)
        rows = [{"step": i + 1, "epoch": i // n + 1, "loss": loss}
                for i, loss in enumerate(self.batch_losses)]
        return _csv_bytes(["step", "epoch", "loss"], rows, path)

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly summary (no weights, no per-image arrays)."""
        return {
            "status": self.status, "reason": self.reason, "config": asdict(self.config),
            "device": self.device, "steps": self.steps,
            "test_accuracy": self.test_accuracy, "test_loss": self.test_loss,
            "per_class_accuracy": [float(a) for a in self.per_class_accuracy],
            "misclassified": len(self.misclassified),
            "images_per_s": self.images_per_s, "elapsed_s": self.elapsed,
            "epochs": self.metrics_rows(),
            "confusion": self.confusion.tolist(),
        }


def _csv_bytes(cols: list[str], rows: list[dict[str, Any]], path: str | Path | None) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()} for r in rows)
    payload = buf.getvalue().encode()
    if path is not None:
        Path(path).write_bytes(payload)
    return payload


def _batches_per_epoch(n: int, batch_size: int) -> int:
    return -(-n // batch_size)


# ---------------------------------------------------------------- configuration


def _int_field(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    return int(value)


def _float_field(name: str, value: Any, lo: float, hi: float, lo_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    bracket = "(" if lo_open else "["
    if not math.isfinite(value) or value > hi or value < lo or (lo_open and value == lo):
        raise ValueError(f"{name} must be a finite number in {bracket}{lo:g}, {hi:g}], got {value!r}")
    return value


def _choice_field(name: str, value: Any, choices: Any) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of: {', '.join(choices)}; got {value!r}")
    return value


def validate(config: TrainConfig) -> TrainConfig:
    """Check every field; return a normalised copy. ValueError names the field to fix."""
    if not isinstance(config, TrainConfig):
        raise ValueError(f"expected a TrainConfig, got {type(config).__name__}")
    c = replace(config)
    try:
        act = get_activation(str(c.activation), c.alpha, c.scale)
    except ValueError as exc:
        raise ValueError(f"activation: {exc}") from None
    c.activation = act.name
    c.init = _choice_field("init", c.init, INITS)
    c.epochs = _int_field("epochs", c.epochs, 1, 1000)
    c.batch_size = _int_field("batch_size", c.batch_size, 1, 60_000)
    c.lr = _float_field("lr", c.lr, 0.0, 1e6, lo_open=True)
    c.optimizer = _choice_field("optimizer", c.optimizer, OPTIMIZERS)
    c.momentum = _float_field("momentum", c.momentum, 0.0, 0.999)
    c.weight_decay = _float_field("weight_decay", c.weight_decay, 0.0, 1.0)
    c.schedule = _choice_field("schedule", c.schedule, SCHEDULES)
    c.dropout = _choice_field("dropout", c.dropout, DROPOUTS)
    c.dropout_rate = _float_field("dropout_rate", c.dropout_rate, 0.0, 0.9)
    if not isinstance(c.standardize, bool | np.bool_):
        raise ValueError(f"standardize must be true or false, got {c.standardize!r}")
    c.standardize = bool(c.standardize)
    if c.subset is not None:
        c.subset = _int_field("subset", c.subset, 1, 60_000)
    if c.test_subset is not None:
        c.test_subset = _int_field("test_subset", c.test_subset, 1, 10_000)
    c.seed = _int_field("seed", c.seed, 0, 2**63 - 1)
    dev = str(c.device)
    if dev.split(":")[0] not in DEVICES or (dev != "auto" and not _parses_as_device(dev)):
        raise ValueError(f"device must be one of: {', '.join(DEVICES)} (or cuda:N); got {c.device!r}")
    c.device = dev
    c.recipe = _choice_field("recipe", c.recipe, RECIPE_DESCRIPTIONS)
    if c.threads is not None:
        c.threads = _int_field("threads", c.threads, 1, 1024)
    c.precision = _choice_field("precision", c.precision, PRECISIONS)
    return c


def _parses_as_device(name: str) -> bool:
    try:
        torch.device(name)
    except RuntimeError:  # e.g. 'cpu:x'
        return False
    return True


def recipe_config(recipe: str = "seed", **overrides: Any) -> TrainConfig:
    """The named recipe ("seed" or "fast") with any field overridden; validated."""
    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of: {', '.join(RECIPES)}; got {recipe!r}")
    names = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    settings = {**RECIPES[recipe], **overrides}
    settings.setdefault("recipe", recipe)
    return validate(TrainConfig(**settings))


def model_for(config: TrainConfig) -> SeedCNN:
    """The (untrained, seeded) CNN a config describes, on the CPU."""
    return build_cnn(config.activation, config.alpha, config.scale, init=config.init,
                     dropout=config.dropout, dropout_rate=config.dropout_rate,
                     standardize=config.standardize, seed=config.seed)


def load_weights(source: str | Path | bytes | BinaryIO, config: TrainConfig | None = None) -> SeedCNN:
    """A CPU model for ``config`` (default: the seed recipe) with weights from a saved state_dict.

    Loads with ``weights_only=True`` (no pickled code runs). Raises ValueError when
    the file is not such a state_dict.
    """
    config = validate(config or TrainConfig())
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # an unpicklable/corrupt file: one clear message
        raise ValueError(f"cannot load weights: {str(exc).splitlines()[0] if str(exc) else exc!r}") from None
    if not isinstance(state, dict):
        raise ValueError(f"cannot load weights: expected a state_dict, got {type(state).__name__}")
    model = model_for(config)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"weights do not fit the CNN: {str(exc).splitlines()[0]}") from None
    return model.eval()


# ---------------------------------------------------------------- device


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' → CUDA, then Apple MPS, then CPU; an explicit device must be available."""
    kind = name.split(":")[0]
    mps = getattr(torch.backends, "mps", None)
    mps_ok = bool(mps is not None and mps.is_available())
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if mps_ok else torch.device("cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: CUDA is not available here; use --device cpu or auto")
    if kind == "mps" and not mps_ok:
        raise ValueError("device: Apple MPS is not available here; use --device cpu or auto")
    if kind not in DEVICES:
        raise ValueError(f"device must be one of: {', '.join(DEVICES)}; got {name!r}")
    return torch.device(name)


# ---------------------------------------------------------------- training


def _check_bf16(device: torch.device) -> None:
    """bfloat16 only where it is native (emulated it is slower than float32)."""
    if device.type == "cpu" and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        raise ValueError("precision: this CPU has no native bfloat16 support; use fp32")
    if device.type == "mps":
        raise ValueError("precision: bf16 is not supported on Apple MPS here; use fp32")


def _to_input(images: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """uint8 [B, 28, 28] → float32 [B, 1, 28, 28] in [0, 1]."""
    x = images.unsqueeze(1).to(torch.float32).mul_(1.0 / 255.0)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def _make_optimizer(config: TrainConfig, model: SeedCNN, device: torch.device) -> torch.optim.Optimizer:
    params = model.parameters()
    fused = {"fused": True} if device.type in ("cpu", "cuda") else {}
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, **fused)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, **fused)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                           weight_decay=config.weight_decay)


def _make_schedule(config: TrainConfig, optimizer: torch.optim.Optimizer,
                   total_steps: int) -> torch.optim.lr_scheduler.LRScheduler | None:
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total_steps)
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return None


@dataclass
class _Eval:
    loss: float
    accuracy: float
    preds: torch.Tensor  # int64 [N] (CPU)
    confidence: torch.Tensor  # float32 [N] (CPU)


def _autocast(device: torch.device, precision: str) -> Any:
    """bfloat16 autocast for ``precision == "bf16"``, else a no-op context."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def evaluate(model: SeedCNN, images: torch.Tensor, labels: torch.Tensor,
             channels_last: bool = False, batch: int = EVAL_BATCH, precision: str = "fp32") -> _Eval:
    """Mean cross-entropy, accuracy, predictions and confidences on uint8 images (no grad)."""
    was_training = model.training
    model.eval()
    total_loss = 0.0
    preds, confs = [], []
    with torch.inference_mode():
        for i in range(0, images.shape[0], batch):
            with _autocast(images.device, precision):
                logits = model(_to_input(images[i:i + batch], channels_last)).float()
            y = labels[i:i + batch]
            total_loss += float(F.cross_entropy(logits, y, reduction="sum"))
            prob, pred = torch.softmax(logits, dim=1).max(dim=1)
            preds.append(pred.cpu())
            confs.append(prob.float().cpu())
    model.train(was_training)
    n = max(1, images.shape[0])
    pred = torch.cat(preds) if preds else torch.empty(0, dtype=torch.int64)
    conf = torch.cat(confs) if confs else torch.empty(0)
    correct = int((pred == labels.cpu()).sum())
    return _Eval(total_loss / n, correct / n, pred, conf)


def train(config: TrainConfig, data: MnistData, on_event: Callable[[Event], None] | None = None,
          stop: threading.Event | None = None) -> TrainResult:
    """Train the seed's CNN on ``data`` as ``config`` says; never modifies ``data``.

    ``on_event`` gets a BatchEvent after every step and an EpochEvent after every
    epoch (with a test-set evaluation). ``stop`` is checked before every batch.
    A non-finite loss ends the run as "diverged" before the bad step is applied.
    """
    config = validate(config)
    device = resolve_device(config.device)
    on_cpu = device.type == "cpu"
    if config.precision == "bf16":
        _check_bf16(device)
    if on_cpu:
        prepare_cpu(config.threads)
    t_start = time.perf_counter()

    n_train = data.n_train if config.subset is None else config.subset
    if n_train > data.n_train:
        raise ValueError(f"subset must be at most {data.n_train} (the training images available), "
                         f"got {n_train}")
    n_test = data.n_test if config.test_subset is None else min(config.test_subset, data.n_test)
    # views (no copy) on the CPU; one uint8 copy on an accelerator
    train_x = data.train_images[:n_train].to(device)
    train_y = data.train_labels[:n_train].to(device)
    test_x = data.test_images[:n_test].to(device)
    test_y = data.test_labels[:n_test].to(device)

    model = model_for(config).to(device)
    if on_cpu:
        model = model.to(memory_format=torch.channels_last)
    drop_gen = torch.Generator(device=device)
    drop_gen.manual_seed(config.seed + 1)
    model.set_dropout_generator(drop_gen)
    shuffle_gen = torch.Generator().manual_seed(config.seed)
    optimizer = _make_optimizer(config, model, device)
    bs = config.batch_size
    batches = _batches_per_epoch(n_train, bs)
    total_steps = batches * config.epochs
    schedule = _make_schedule(config, optimizer, total_steps)

    autocast = _autocast(device, config.precision)
    emit = on_event or (lambda _event: None)
    batch_losses: list[float] = []
    epoch_events: list[EpochEvent] = []
    status, reason = "finished", ""
    train_time = 0.0  # seconds spent in training steps (evaluations excluded)
    images_seen = 0
    last_eval: _Eval | None = None
    step = 0
    model.train()
    for epoch in range(1, config.epochs + 1):
        perm = torch.randperm(n_train, generator=shuffle_gen).to(device)
        epoch_start = time.perf_counter()
        epoch_images = 0
        epoch_loss_sum = 0.0
        for b in range(batches):
            if stop is not None and stop.is_set():
                status = "stopped"
                reason = f"stopped on request at epoch {epoch}, batch {b + 1} of {batches}"
                break
            idx = perm[b * bs:(b + 1) * bs]
            x = _to_input(train_x.index_select(0, idx), on_cpu)
            y = train_y.index_select(0, idx)
            with autocast:
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y)
            loss_value = loss.detach().item()
            if not math.isfinite(loss_value):
                batch_losses.append(loss_value)
                status = "diverged"
                reason = (f"training diverged: the loss became {loss_value} at epoch {epoch}, batch {b + 1} "
                          f"(learning rate {config.lr:g} too high?); kept the history up to there")
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
            step += 1
            epoch_images += idx.shape[0]
            epoch_loss_sum += loss_value
            batch_losses.append(loss_value)
            now = time.perf_counter()
            emit(BatchEvent(epoch, b + 1, batches, step, total_steps, loss_value,
                            epoch_images / max(now - epoch_start, 1e-9), now - t_start,
                            optimizer.param_groups[0]["lr"]))
        epoch_time = time.perf_counter() - epoch_start
        train_time += epoch_time
        images_seen += epoch_images
        if status != "finished":
            break
        last_eval = evaluate(model, test_x, test_y, on_cpu, precision=config.precision)
        event = EpochEvent(epoch, config.epochs, epoch_loss_sum / batches, last_eval.loss,
                           last_eval.accuracy, epoch_images / max(epoch_time, 1e-9),
                           time.perf_counter() - t_start)
        epoch_events.append(event)
        emit(event)

    if status != "finished" or last_eval is None:
        last_eval = evaluate(model, test_x, test_y, on_cpu, precision=config.precision)
    labels_np = test_y.cpu().numpy()
    preds_np = last_eval.preds.numpy()
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(confusion, (labels_np, preds_np), 1)
    support = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(support > 0, np.diag(confusion) / np.maximum(support, 1), np.nan)
    wrong = np.flatnonzero(preds_np != labels_np)
    misclassified = Misclassified(wrong.astype(np.int64), preds_np[wrong].astype(np.int64),
                                  labels_np[wrong].astype(np.int64), last_eval.confidence.numpy()[wrong])
    state = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}
    release_freed_memory()
    return TrainResult(
        config=config, status=status, reason=reason, batch_losses=batch_losses, epochs=epoch_events,
        test_accuracy=last_eval.accuracy, test_loss=last_eval.loss, per_class_accuracy=per_class,
        confusion=confusion, misclassified=misclassified, elapsed=time.perf_counter() - t_start,
        images_per_s=images_seen / train_time if train_time > 0 else 0.0, steps=step,
        batches_per_epoch=batches, device=str(device), state_dict=state)
