"""Depth study speed: the 32-layer, width-784 dense net against a large fp32 matmul (goal ≥ 60 %),
and the wall time of the default study (goal: about 3 minutes), which also draws docs/depth_study.png.

Throughput: SGD steps of batch 128 through the depth-32 dense net, counted as 3 × the forward
multiply-adds ×2 per image (forward, input gradient, weight gradient), against a 2048³ fp32 matmul.
For SELU both the study's fused SGD step and autograd + torch.optim.SGD (for reference) are timed;
for ReLU + BatchNorm the study's (autograd) step. The steps and the matmul alternate in short
windows; the ratio printed first is best net window over best matmul window (which discounts other
processes' load), then the median of the paired windows' ratios.

    python bench/bench_depth.py                 # both parts (the study takes minutes)
    python bench/bench_depth.py --no-study      # throughput only (~30 s)
    python bench/bench_depth.py --no-throughput # the study and the chart only
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from selu_lab import depth as D  # noqa: E402
from selu_lab.cpu import prepare_cpu  # noqa: E402

PNG = ROOT / "docs" / "depth_study.png"


def matmul_gflops(n: int = 2048, reps: int = 3) -> float:
    """GFLOP/s of one window of ``reps`` n×n fp32 matmuls."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    t0 = time.perf_counter()
    for _ in range(reps):
        torch.mm(a, b)
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9


def net_window(step: D.StepFn, x: torch.Tensor, y: torch.Tensor, steps: int) -> float:
    """Images/s of one window of ``steps`` training steps."""
    t0 = time.perf_counter()
    for _ in range(steps):
        step(x, y)
    return steps * len(x) / (time.perf_counter() - t0)


def throughput(strategy: str = "selu", depth: int = 32, width: int = 784, batch: int = 128,
               windows: int = 9, steps: int = 5) -> dict[str, float]:
    """Print and return the best-window ratio of the net's GFLOP/s to the matmul's, per step.

    The step the study uses (``D.make_step``: the fused SGD step where it applies) and,
    when that is the fused one, autograd + torch.optim.SGD for reference, on two copies
    of the same net; their windows alternate with the matmul's.
    """
    x = torch.randn(batch, 28, 28)
    y = torch.randint(0, 10, (batch,))
    paths: dict[str, tuple[D.StepFn, torch.Tensor]] = {}  # the study's step first
    net = D.build_net("mlp", depth, strategy, width, seed=0)
    if D._fused_layers(net) is not None:
        paths["fused"] = (D.make_step(net, "sgd", lr=1e-3), net.prepare(x))
        net = D.build_net("mlp", depth, strategy, width, seed=0)
    paths["autograd"] = (D.make_step(net, "sgd", lr=1e-3, fused=False), net.prepare(x))
    flops_per_image = 3 * D.forward_flops("mlp", depth, width)
    for step, xs in paths.values():
        net_window(step, xs, y, 2)  # warm-up
    matmul_gflops(reps=1)
    mms: list[float] = []
    nets: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(windows):
        mms.append(matmul_gflops())
        for name, (step, xs) in paths.items():
            nets[name].append(net_window(step, xs, y, steps) * flops_per_image / 1e9)
    best = {}
    for name, gflops in nets.items():
        best[name] = max(gflops) / max(mms)
        median = statistics.median(g / m for g, m in zip(gflops, mms, strict=True))
        role = "the study's step" if name == next(iter(paths)) else "reference"
        print(f"{strategy:8s} {name:8s} ({role}) depth {depth}, width {width}, batch {batch}: best window "
              f"{max(gflops) / flops_per_image * 1e9:6.0f} images/s = {max(gflops):6.1f} GFLOP/s vs 2048³ "
              f"fp32 matmul {max(mms):6.1f} GFLOP/s: {best[name]:.0%} (goal ≥ 60 %); median of paired "
              f"windows {median:.0%}")
    return best


def study(png: Path = PNG) -> None:
    from selu_lab.charts.depth import loss_small_multiples
    from selu_lab.data import load_mnist

    config = D.StudyConfig()
    data = load_mnist()
    speed = D.measure_speed(config.arch, config.width, config.batch_size, config.strategies)
    estimate = D.estimate_seconds(config, speed)
    print(f"default study: {len(config.run_keys())} runs, estimated {estimate:.0f} s from the probe")
    result = D.run_study(config, data, speed=speed)
    print(f"default study wall time: {result.seconds:.1f} s = {result.seconds / 180:.2f}× the 3-minute goal "
          f"(estimate was {estimate / result.seconds:.2f}× the actual)")
    print(D.summary_table(result)[["depth", "label", "status", "final_loss", "test_accuracy",
                                   "seconds"]].to_string(index=False))
    print(D.reading(result))
    chart = loss_small_multiples(D.curves_frame(result), D.divergence_frame(result), log_y=True,
                                 title=f"Training loss, default depth study ({result.seconds:.0f} s on 2 CPU "
                                       "cores)")
    try:
        import vl_convert as vlc
    except ImportError:
        print("vl-convert-python is not installed: no PNG written (pip install vl-convert-python)")
        return
    png.parent.mkdir(parents=True, exist_ok=True)
    png.write_bytes(vlc.vegalite_to_png(chart.to_json(), scale=2))
    print(f"wrote {png.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-study", action="store_true", help="throughput only")
    parser.add_argument("--no-throughput", action="store_true", help="the default study only")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: every core)")
    args = parser.parse_args(argv)
    prepare_cpu(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if not args.no_throughput:
        for strategy in ("selu", "relu_bn"):
            throughput(strategy)
    if not args.no_study:
        study()


if __name__ == "__main__":
    main()
