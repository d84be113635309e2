"""Benchmark of the Self-normalisation engine; prints ratios measured in one run.

1. The default view: four configurations (SELU+LeCun, SELU+gain 3/4, ELU+LeCun, ReLU+He),
   depth 64, width 256, batch 1024, gradient pass included; cold (weights drawn) and warm
   (weights cached). Target: ≤ 1 s.
2. Stacks of several sizes: achieved GFLOP/s (matmul FLOPs of the forward and gradient passes over
   wall time) against a large fp32 matmul's GFLOP/s measured right before and after each stack in
   the same run (the machine is shared, so the reference is re-measured). Target: ≥ 60 %. Each
   stack is also compared with its ceiling: the same GEMMs as a bare chain of torch.mm calls
   (weights pre-generated, no activation, no statistics). The smallest sizes (width 8–64, batch
   64/256) show where even bare GEMMs cannot reach 60 % of a large matmul (a few µs of work per
   call against a few µs of per-call overhead). The last line says from which per-layer work
   width²·batch on every measured stack reached 60 %.

    python bench/bench_selfnorm.py            # a few seconds of CPU
    python bench/bench_selfnorm.py --large    # adds bigger stacks (tens of seconds)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from selu_lab import selfnorm as S


def matmul_gflops(n: int = 2048, budget: float = 0.4) -> float:
    """Best GFLOP/s of an n×n fp32 matmul over ~``budget`` seconds."""
    a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
    torch.mm(a, b, out=c)
    best, start = float("inf"), time.perf_counter()
    while time.perf_counter() - start < budget:
        t0 = time.perf_counter()
        torch.mm(a, b, out=c)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best / 1e9


def ceiling_gflops(depth: int, width: int, batch: int, rows: int, repeats: int = 3) -> float:
    """GFLOP/s of the stack's GEMMs alone: ``depth`` forward (batch×width)·(width×width) products and, with
    ``rows`` > 0, the gradient pass's two per layer (the weight gradient as Gram matrices when
    2·rows < width, as the stack does), weights pre-generated, no activation, no statistics. Counted
    with the stack's nominal FLOPs, 2·d·w²·B + 4·d·w²·rows; best of ``repeats``."""
    distinct = min(depth, max(1, 2**26 // width**2))  # ≤ 256 MB of weights, cycled beyond that
    weights = [torch.randn(width, width) for _ in range(distinct)] * (depth // distinct + 1)
    weights = weights[:depth]
    x, z = torch.randn(batch, width), torch.empty(batch, width)
    inputs, grad, grad_in = torch.randn(rows, width), torch.randn(rows, width), torch.empty(rows, width)
    gram = 2 * rows < width
    buf = torch.empty(rows, rows) if gram else torch.empty(width, width)
    buf2 = torch.empty(rows, rows) if gram else None
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for w in weights:
            torch.mm(x, w, out=z)
        for w in weights if rows else ():
            if gram:
                torch.mm(inputs, inputs.t(), out=buf)
                torch.mm(grad, grad.t(), out=buf2)
            else:
                torch.mm(inputs.t(), grad, out=buf)
            torch.mm(grad, w.t(), out=grad_in)
        best = min(best, time.perf_counter() - t0)
    return (2.0 * depth * width**2 * batch + 4.0 * depth * width**2 * rows) / best / 1e9


def conclusion(found: list[tuple[int, float]], goal: float = 0.6) -> str:
    """One line: the per-layer work width²·batch from which every measured stack reached ``goal``."""
    found = sorted(found)
    failing = [work for work, ratio in found if ratio < goal]
    above = [work for work, _ in found if not failing or work > max(failing)]
    if not above:
        best = max(found, key=lambda f: f[1])
        return (f"conclusion: no stack reached {goal:.0%} of the large matmul in this run (best "
                f"{best[1]:.0%} at width²·batch = {best[0]:.1e})")
    return (f"conclusion: from width²·batch ≥ {above[0]:.1e} per layer every stack measured reached "
            f"≥ {goal:.0%} of the large matmul; below {above[0]:.1e} at least one did not")


def default_view(cold: bool) -> tuple[float, float]:
    """(seconds, GFLOP) of the four default configurations."""
    if cold:
        S.clear_weight_cache()
    start, flops = time.perf_counter(), 0.0
    for cfg in S.default_configs().values():
        flops += S.simulate(cfg).flops
    return time.perf_counter() - start, flops / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also run bigger stacks")
    parser.add_argument("--threads", default="", help="comma-separated thread counts to compare "
                        "(default: torch's default and 1)")
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    default_threads = torch.get_num_threads()
    counts = [int(t) for t in args.threads.split(",") if t.strip()] or sorted({default_threads, 1},
                                                                             reverse=True)
    print(f"torch {torch.__version__}; thread counts compared: {counts}")

    best = None
    for threads in counts:
        torch.set_num_threads(default_threads)  # the reference: a large matmul on all threads
        peak0 = matmul_gflops()
        torch.set_num_threads(threads)
        default_view(cold=True)  # warm up kernels and allocator
        cold, gflop = default_view(cold=True)
        warm, _ = default_view(cold=False)
        torch.set_num_threads(default_threads)
        peak = max(peak0, matmul_gflops())
        plural = "s" if threads > 1 else ""
        print(f"\n[stack on {threads} thread{plural}] large fp32 matmul (2048³, {default_threads} threads): "
              f"{peak:.1f} GFLOP/s")
        print(f"default view (4 configs × depth 64, width 256, batch 1024, gradient pass on "
              f"{S.AUTO_GRAD_BATCH} rows): {gflop:.1f} GFLOP")
        print(f"  cold (weights drawn):  {cold:.3f} s = {gflop / cold:6.1f} GFLOP/s = "
              f"{gflop / cold / peak:4.0%} of matmul   [target ≤ 1 s: {'ok' if cold <= 1 else 'MISSED'}]")
        print(f"  warm (weights cached): {warm:.3f} s = {gflop / warm:6.1f} GFLOP/s = "
              f"{gflop / warm / peak:4.0%}")
        if best is None or cold < best[1]:
            best = (threads, cold)
    print(f"default view fastest with {best[0]} thread(s): {best[1]:.3f} s")

    sizes = [(64, 256, 1024, None), (64, 256, 1024, 0), (64, 256, 1024, 1024), (64, 512, 2048, None),
             (200, 256, 512, None), (16, 1024, 2048, 2048), (8, 2048, 2048, 2048), (64, 128, 4096, None),
             (64, 64, 256, None)]
    sizes += [(64, w, b, None) for w in (8, 32, 64) for b in (64, 256)]  # where 60 % is out of reach
    if args.large:
        sizes += [(32, 2048, 8192, 0), (200, 1024, 2048, None), (200, 2048, 1024, 1024)]
    sizes = sorted(set(sizes), key=lambda s: (s[1] ** 2 * s[2], s[0], s[1], s[3] or 0))
    print(f"\nstacks (weights drawn cold), each at thread counts {counts}, best kept; ceiling = the same "
          "GEMMs as bare torch.mm calls (weights pre-generated, no activation, no statistics)")
    print(f"{'depth':>5} {'width':>5} {'batch':>5} {'grad':>4} {'w²·B':>8} {'GFLOP':>7} {'s':>7} {'thr':>3} "
          f"{'GFLOP/s':>8} {'ceiling':>8} {'matmul':>7} {'÷matmul':>8} {'÷ceiling':>8} {'ceil÷mm':>8} "
          f"{'estimate':>8}")
    found = []
    for depth, width, batch, grad_batch in sizes:
        cfg = S.StackConfig(depth=depth, width=width, batch=batch, grad=grad_batch != 0,
                            grad_batch=grad_batch or None)
        rows = S.resolve_grad_batch(cfg)[0]
        repeats = 3 if depth * width**2 * batch < 2**31 else 1
        torch.set_num_threads(default_threads)
        before = matmul_gflops(budget=0.25)
        stack, ceil = (float("inf"), 0), 0.0
        for threads in counts:
            torch.set_num_threads(threads)
            for _ in range(repeats):
                S.clear_weight_cache()
                result = S.simulate(cfg)
                stack = min(stack, (result.seconds, threads))
            ceil = max(ceil, ceiling_gflops(depth, width, batch, rows, repeats))
        torch.set_num_threads(default_threads)
        ref = max(before, matmul_gflops(budget=0.25))
        gflops = result.flops / stack[0] / 1e9
        _, secs_est = S.estimate_cost(cfg, gflops=ref)
        work = width**2 * batch
        found.append((work, gflops / ref))
        print(f"{depth:>5} {width:>5} {batch:>5} {rows:>4} {work:>8.1e} {result.flops / 1e9:>7.2f} "
              f"{stack[0]:>7.3f} {stack[1]:>3} {gflops:>8.1f} {ceil:>8.1f} {ref:>7.1f} {gflops / ref:>8.0%} "
              f"{gflops / ceil:>8.0%} {ceil / ref:>8.0%} {secs_est:>7.2f}s")
    print("\n÷matmul = the stack's GFLOP/s (matmul FLOPs of both passes over wall time) over the best 2048³ "
          "matmul measured just before/after it (all threads); ÷ceiling = over the bare GEMM chain of the "
          "same shapes; ceil÷mm = what 60 % of the matmul asks of the bare GEMMs alone")
    print(conclusion(found))
    torch.set_num_threads(default_threads)


if __name__ == "__main__":
    main()
