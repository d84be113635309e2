"""`depth`: the depth study (paper Figure 1) headless — progress bar and table, or JSON."""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import TextIO

from selu_lab import depth
from selu_lab.cli.common import (
    UsageError,
    choice_list,
    float_list,
    int_in,
    int_list,
    print_json,
)

DEFAULT_STRATEGIES = ",".join(depth.StudyConfig().strategies)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``depth`` command."""
    p = sub.add_parser(
        "depth", help="train deep nets of several depths per strategy (the SNN paper's Figure 1)",
        description="Depth study: plain deep nets on MNIST, one run per (depth, strategy, learning rate); "
                    "same data order and seed for every run.")
    p.add_argument("--arch", choices=depth.ARCHS, default="mlp",
                   help="mlp: dense net of --width units per layer; cnn: plain CNN (default mlp)")
    p.add_argument("--depths", type=int_list(*depth.DEPTH_RANGE), default=[8, 16, 32],
                   help="comma-separated depths in [2, 64] (default 8,16,32)")
    p.add_argument("--strategies", type=choice_list(depth.STRATEGY_NAMES),
                   default=DEFAULT_STRATEGIES.split(","),
                   help=f"comma-separated from {', '.join(depth.STRATEGY_NAMES)} "
                        f"(default {DEFAULT_STRATEGIES})")
    p.add_argument("--width", type=int_in(1, 4096), default=None,
                   help="hidden units (mlp, default 784) or first-stage channels (cnn, default 16)")
    p.add_argument("--steps", type=int_in(1, 100_000), default=150,
                   help="training steps per run (default 150)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 0.01)")
    p.add_argument("--lrs", type=float_list, default=None,
                   help="learning-rate sweep, comma-separated (every strategy runs at every rate)")
    p.add_argument("--optimizer", choices=depth.OPTIMIZERS, default="sgd", help="default sgd (as the paper)")
    p.add_argument("--batch-size", type=int_in(1, 4096), default=128, help="default 128 (as the paper)")
    p.add_argument("--subset", type=int_in(1, 60_000), default=None,
                   help="training-set size (a seeded random subset; default all 60000)")
    p.add_argument("--seed", type=int_in(0, 2**63 - 1), default=0,
                   help="seed of the weights and the data order (default 0)")
    p.add_argument("--checkpoint-every", type=int_in(1, 100_000), default=None,
                   help="steps between layer-statistics checkpoints (default steps/20)")
    p.add_argument("--data-dir", default=None, help="MNIST directory (default $SELU_LAB_DATA_DIR or ./data)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=run_depth)


def config_from_args(args: argparse.Namespace) -> depth.StudyConfig:
    """The StudyConfig the arguments describe (ValueError for bad combinations)."""
    if args.lr is not None and args.lrs is not None:
        raise ValueError("give --lr or --lrs, not both")
    lr: float | tuple[float, ...] = 0.01
    if args.lrs is not None:
        lr = tuple(args.lrs)
    elif args.lr is not None:
        lr = args.lr
    return depth.StudyConfig(
        arch=args.arch, depths=tuple(args.depths), strategies=tuple(args.strategies), width=args.width,
        steps=args.steps, lr=lr, optimizer=args.optimizer, batch_size=args.batch_size,
        subset=args.subset, seed=args.seed, checkpoint_every=args.checkpoint_every)


class _ProgressBar:
    """A progress bar for the whole study on stderr: redrawn at most 5×/s on a terminal,
    one line per finished run otherwise (logs)."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self.last = 0.0

    def __call__(self, ev: depth.StudyEvent) -> None:
        if ev.kind == "done":
            if self.tty:
                self.stream.write("\n")
                self.stream.flush()
            return
        now = time.monotonic()
        if self.tty and ev.kind == "step" and now - self.last < 0.2:
            return
        if not self.tty and ev.kind != "run_done":
            return
        self.last = now
        filled = round(ev.fraction * self.width)
        eta = f"{ev.eta_seconds:.0f}s left" if math.isfinite(ev.eta_seconds) else ""
        what = ""
        if ev.depth is not None:
            what = f"depth {ev.depth} {ev.strategy} lr {ev.lr:g} step {ev.step}/{ev.steps}"
        line = (f"[{'#' * filled}{'.' * (self.width - filled)}] {ev.fraction:4.0%} "
                f"run {min(ev.run_index + 1, ev.n_runs)}/{ev.n_runs} {what} {eta}")
        self.stream.write(f"\r{line}\033[K" if self.tty else f"{line}\n")
        self.stream.flush()


def _table(result: depth.StudyResult) -> str:
    df = depth.summary_table(result)
    lines = [f"{'depth':>5} {'strategy':<24} {'lr':>8} {'status':<22} {'final loss':>10} "
             f"{'test acc':>8} {'seconds':>8}"]
    for row in df.itertuples():
        lines.append(f"{row.depth:>5} {row.label:<24} {row.lr:>8.3g} {row.status:<22} "
                     f"{row.final_loss:>10.4g} {row.test_accuracy:>8.2%} {row.seconds:>8.1f}")
    return "\n".join(lines)


def run_depth(args: argparse.Namespace) -> int:
    """Run the depth study and print its table and reading (or one JSON object)."""
    from selu_lab.data import load_mnist

    try:
        config = config_from_args(args)
        data = load_mnist(args.data_dir)
        if config.subset is not None and config.subset > len(data.train_images):
            raise ValueError(f"--subset {config.subset} exceeds the {len(data.train_images)} training images")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    n_train = len(data.train_images) if config.subset is None else config.subset
    if config.batch_size > n_train:
        sys.stderr.write(f"note: a batch of {config.batch_size} is larger than the {n_train} training "
                         "images, so every batch repeats images\n")
    on_event = None
    if not args.json:
        speed = depth.measure_speed(config.arch, config.width, config.batch_size, config.strategies)
        n_runs = len(config.run_keys())
        sys.stderr.write(f"{n_runs} runs, estimated {depth.estimate_seconds(config, speed):.0f} s "
                         "on this machine (from a quick speed probe)\n")
        on_event = _ProgressBar()
    else:
        speed = None
    try:
        result = depth.run_study(config, data, on_event=on_event, speed=speed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print_json({"config": config.to_dict(), "seconds": result.seconds,
                    "runs": [r.to_dict() for r in result.runs]})
    else:
        print(_table(result))
        print(f"\n{result.seconds:.1f} s in all.\n")
        print(depth.reading(result))
    return 0
