"""`python -m selu_lab train`: train the seed's CNN on MNIST headless.

Prints the seed's lines (``Epoch [1/5], Loss: 0.1329``), a progress bar on a
terminal, then the test accuracy and the speed; ``--json`` prints one JSON
summary instead. ``--out DIR`` writes the weights (``model.pt``, a state_dict)
and the metrics (``metrics.csv``, ``batch_losses.csv``, ``summary.json``).
Ctrl+C stops after the current batch and still reports the partial run.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from selu_lab.activations import NAMES
from selu_lab.cli.common import (
    UsageError,
    finite_float,
    float_in,
    int_in,
    json_safe,
    positive_float,
    print_json,
)
from selu_lab.inits import INITS

# the choices as literals so that `--help` needs no torch import; a test keeps them equal to the trainer's
_RECIPES = ("seed", "fast")
_OPTIMIZERS = ("adam", "adamw", "sgd")
_SCHEDULES = ("constant", "onecycle", "cosine")
_DROPOUTS = ("none", "alpha", "standard")


def register(subparsers: Any) -> None:
    """Add the ``train`` command."""
    p = subparsers.add_parser(
        "train", help="train the seed's CNN on MNIST (seed or fast recipe)",
        description="Train the seed's CNN on MNIST. Settings not given come from the recipe "
                    "(seed: Adam 1e-3, batch 64, 5 epochs, PyTorch init, raw pixels; fast: LeCun init, "
                    "standardised inputs, batch 128, one-cycle to 3e-3, 2 epochs).")
    p.add_argument("--recipe", choices=_RECIPES, default="seed", help="starting point (default: seed)")
    p.add_argument("--activation", choices=NAMES, default=None, help="activation (default: selu)")
    p.add_argument("--alpha", type=finite_float, default=None, help="α of ELU/CELU/SELU, slope of Leaky ReLU")
    p.add_argument("--scale", type=finite_float, default=None, help="SELU's λ")
    p.add_argument("--init", choices=tuple(INITS), default=None, help="weight init")
    p.add_argument("--epochs", type=int_in(1, 1000), default=None)
    p.add_argument("--batch-size", type=int_in(1, 60_000), default=None)
    p.add_argument("--lr", type=positive_float, default=None, help="learning rate (peak for onecycle)")
    p.add_argument("--optimizer", choices=_OPTIMIZERS, default=None)
    p.add_argument("--momentum", type=float_in(0.0, 0.999), default=None, help="SGD momentum")
    p.add_argument("--weight-decay", type=float_in(0.0, 1.0), default=None)
    p.add_argument("--schedule", choices=_SCHEDULES, default=None)
    p.add_argument("--dropout", choices=_DROPOUTS, default=None, help="dropout before the last layer")
    p.add_argument("--dropout-rate", type=float_in(0.0, 0.9), default=None)
    p.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=None,
                   help="standardise the input pixels (mean 0.1307, std 0.3081)")
    p.add_argument("--subset", type=int_in(1, 60_000), default=None, help="train on the first N images")
    p.add_argument("--test-subset", type=int_in(1, 10_000), default=None,
                   help="evaluate on the first N test images")
    p.add_argument("--seed", type=int_in(0, 2**63 - 1), default=None, help="random seed (default 0)")
    p.add_argument("--threads", type=int_in(1, 1024), default=None,
                   help="CPU threads (default: every core; 1 can be faster on a busy shared CPU)")
    p.add_argument("--precision", choices=("fp32", "bf16"), default=None,
                   help="fp32 (default, the seed's numerics) or bf16 autocast (faster on CPUs with AMX)")
    p.add_argument("--device", default=None, help="auto (CUDA, then MPS, then CPU), cpu, cuda, mps")
    p.add_argument("--data-dir", default=None,
                   help="directory with the MNIST files (default: $SELU_LAB_DATA_DIR or ./data)")
    p.add_argument("--no-download", action="store_true", help="never try to download MNIST")
    p.add_argument("--out", default=None, help="write model.pt, metrics.csv, batch_losses.csv, summary.json")
    p.add_argument("--json", action="store_true", help="print one JSON summary (no progress output)")
    p.set_defaults(func=run)


_OVERRIDES = ("activation", "alpha", "scale", "init", "epochs", "batch_size", "lr", "optimizer",
              "momentum", "weight_decay", "schedule", "dropout", "dropout_rate", "standardize", "subset",
              "test_subset", "seed", "device", "threads", "precision")


class _Progress:
    """A one-line progress bar on stderr, redrawn at most ~10 times a second."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.last = 0.0
        self.shown = False

    def batch(self, ev: Any) -> None:
        now = time.monotonic()
        if now - self.last < 0.1 and ev.batch != ev.batches_per_epoch:
            return
        self.last = now
        frac = ev.batch / ev.batches_per_epoch
        width = 30
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        self.stream.write(f"\r[{bar}] epoch {ev.epoch} batch {ev.batch}/{ev.batches_per_epoch} "
                          f"loss {ev.loss:.4f} {ev.images_per_s:,.0f} img/s ")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


def run(args: argparse.Namespace) -> int:
    """Run one training; exit 0 when it finished or was stopped, 1 when it diverged."""
    # torch and the trainer are imported here so that `--help` and argument errors stay fast
    from selu_lab.data import DataError, load_mnist
    from selu_lab.train import BatchEvent, EpochEvent, recipe_config, train

    overrides = {k: getattr(args, k) for k in _OVERRIDES if getattr(args, k) is not None}
    try:
        config = recipe_config(args.recipe, **overrides)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    out = Path(args.out) if args.out else None
    if out is not None:
        _check_out(out)
    try:
        data = load_mnist(args.data_dir, download=not args.no_download)
    except DataError as exc:
        raise UsageError(str(exc)) from None

    progress = _Progress(sys.stderr) if not args.json and sys.stderr.isatty() else None

    def on_event(ev: BatchEvent | EpochEvent) -> None:
        if isinstance(ev, BatchEvent):
            if progress is not None:
                progress.batch(ev)
            return
        if progress is not None:
            progress.clear()
        if not args.json:
            print(ev.seed_line(), flush=True)

    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        def on_sigint(_signum: int, _frame: Any) -> None:
            if stop.is_set():  # second Ctrl+C: give up at once
                raise KeyboardInterrupt
            stop.set()
        previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        result = train(config, data, on_event=on_event, stop=stop)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    finally:
        if progress is not None:
            progress.clear()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)

    summary = result.summary()
    write_error = ""
    if out is not None:
        try:  # checked before training, but the disk may have filled up or the folder gone since
            out.mkdir(parents=True, exist_ok=True)
            result.save_weights(out / "model.pt")
            result.metrics_csv(out / "metrics.csv")
            result.batch_losses_csv(out / "batch_losses.csv")
            summary["out"] = str(out)
            text = json.dumps(json_safe(summary), indent=1, allow_nan=False)
            (out / "summary.json").write_text(text + "\n")
        except OSError as exc:
            write_error = f"could not write the results to --out {out}: {exc.strerror or exc}"
            summary.pop("out", None)
            out = None
    if args.json:
        print_json(summary)
    else:
        if result.status != "finished":
            print(f"{result.status}: {result.reason}")
        print(f"Test Accuracy: {100 * result.test_accuracy:.2f}%")
        print(f"Images/s: {result.images_per_s:,.0f} (training, {result.device}); "
              f"elapsed {result.elapsed:.1f} s")
        if out is not None:
            print(f"Wrote {out / 'model.pt'}, {out / 'metrics.csv'}, {out / 'batch_losses.csv'}, "
                  f"{out / 'summary.json'}")
    if write_error:  # the results above are still printed: a finished run is not lost
        print(f"selu_lab train: error: {write_error}", file=sys.stderr)
        return 2
    return 1 if result.status == "diverged" else 0


def _check_out(out: Path) -> None:
    """Fail before training, not after it, when ``out`` cannot take the results."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".selu_lab_write_test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"--out {out} cannot be written: {exc.strerror or exc}") from None
