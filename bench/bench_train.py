"""The trainer against the seed's pipeline: throughput, GFLOP/s, time to 99 %, peak RSS.

1. Throughput: the seed's exact pipeline (torchvision ``DataLoader`` + ``ToTensor``, batch 64,
   Adam 1e-3, the same CNN; bench/train_seed_pipeline.py) against ``selu_lab.train`` with the
   seed recipe, the same number of batches from a fresh model, alternately for ``--rounds``
   rounds in this one process (goal ≥ 1.25×, stretch 1.5×). The seed runs with the torch
   defaults it had (no flush-to-zero); "seed + FTZ" shows how much of the gain is that flag.
2. Effective GFLOP/s of our training (≈ 25.4 MFLOP per image) as a fraction of a large fp32
   matmul's GFLOP/s measured in the same run (goal ≥ 60 %), in fp32 for the seed recipe
   (batch 64) and the fast recipe (batch 128); also the seed recipe with ``--precision bf16``
   (bfloat16 autocast, where the CPU has it natively), labelled as such.
3. Time to accuracy: the fast recipe's wall time until an end-of-epoch test accuracy
   ≥ 99.0 %, against the seed recipe's 5 epochs in the seed's pipeline (goal ≤ 0.4×).
   ``--seed-reference SECONDS`` skips the 3-minute seed run and uses that time instead.
4. Peak RSS of a training run: the fast-recipe run happens in a fresh process
   (``python -m selu_lab train --recipe fast --json``); its maxrss is reported.

The CPU here is shared with other work, so only ratios measured in one run mean anything;
each throughput round alternates seed / ours and the medians are compared.

    python bench/bench_train.py [--data-dir D] [--batches 200] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from train_seed_pipeline import run_seed, seed_loaders, torchvision_root  # noqa: E402

from selu_lab.data import default_data_dir, find_mnist_files, load_mnist  # noqa: E402
from selu_lab.models import TRAIN_FLOPS_PER_IMAGE  # noqa: E402
from selu_lab.train import BatchEvent, recipe_config, train  # noqa: E402


def matmul_gflops(n: int = 2048, seconds: float = 1.5) -> float:
    """Best fp32 GFLOP/s of an n×n matmul over ``seconds`` (the machine's practical peak)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    out = torch.empty(n, n)
    torch.mm(a, b, out=out)
    best = 0.0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        torch.mm(a, b, out=out)
        best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def ours_batches(data, batches: int, recipe: str = "seed", **overrides) -> float:
    """Images/s of our trainer (``recipe``) over ``batches`` steps from a fresh model."""
    stop = threading.Event()

    def on_event(ev) -> None:
        if isinstance(ev, BatchEvent) and ev.step >= batches:
            stop.set()

    result = train(recipe_config(recipe, test_subset=100, **overrides), data, on_event=on_event, stop=stop)
    assert result.steps == batches, result.steps
    return result.images_per_s


def seed_batches(train_loader, batches: int, ftz: bool = False) -> float:
    """Images/s of the seed's pipeline over ``batches`` steps (torch defaults unless ``ftz``)."""
    torch.set_flush_denormal(ftz)
    try:
        return run_seed(train_loader, None, epochs=1, max_batches=batches)["images_per_s"]
    finally:
        torch.set_flush_denormal(False)


def cpu_pressure() -> str:
    """The kernel's CPU pressure ("some" avg10/avg60: % of time runnable tasks waited), if known."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return "n/a"
    fields = dict(part.split("=") for part in line.split()[1:])
    return f"{fields.get('avg10', '?')} % (10 s), {fields.get('avg60', '?')} % (60 s)"


def fast_run_subprocess(data_dir: Path, *extra: str) -> dict:
    """The fast recipe in a fresh process: its JSON summary, wall time and peak RSS.

    The peak RSS is the largest of all children so far: run the fp32 one first.
    """
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "selu_lab", "train", "--recipe", "fast", "--json",
                           "--data-dir", str(data_dir), *extra], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"fast run failed: {proc.stderr.strip()}")
    summary = json.loads(proc.stdout)
    summary["process_wall_s"] = wall
    summary["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None,
                        help="MNIST directory (default: $SELU_LAB_DATA_DIR or ./data)")
    parser.add_argument("--batches", type=int, default=100, help="batches per throughput measurement")
    parser.add_argument("--rounds", type=int, default=6, help="alternating throughput rounds")
    parser.add_argument("--seed-reference", type=float, default=None,
                        help="seconds of the seed recipe's 5 epochs (skip running it)")
    parser.add_argument("--quick", action="store_true", help="throughput and GFLOP/s only")
    parser.add_argument("--json", action="store_true", help="also print all numbers as one JSON line")
    args = parser.parse_args()

    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    data = load_mnist(data_dir)
    files = find_mnist_files(data_dir)
    root, tmp = torchvision_root(files)
    train_loader, test_loader = seed_loaders(root)
    report: dict = {"threads": torch.get_num_threads(), "batches": args.batches, "rounds": args.rounds}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{args.batches} batches of 64 per measurement, {args.rounds} rounds; "
          f"CPU pressure {cpu_pressure()}")

    # ---- 1. throughput (after one short warm-up of each)
    seed_batches(train_loader, 20)
    ours_batches(data, 20)
    bf16 = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    seed, seed_ftz, ours, ours_1t, ours_bf16, ours_fast, mm = [], [], [], [], [], [], []
    for r in range(args.rounds):
        mm.append(matmul_gflops())
        seed.append(seed_batches(train_loader, args.batches))
        ours.append(ours_batches(data, args.batches))
        seed_ftz.append(seed_batches(train_loader, args.batches, ftz=True))
        ours_1t.append(ours_batches(data, args.batches, threads=1))
        torch.set_num_threads(report["threads"])
        ours_bf16.append(ours_batches(data, args.batches, precision="bf16") if bf16 else float("nan"))
        ours_fast.append(ours_batches(data, max(1, args.batches // 2), recipe="fast"))
        print(f"round {r + 1}: seed {seed[-1]:6.0f} img/s | ours {ours[-1]:6.0f} img/s "
              f"({ours[-1] / seed[-1]:.2f}×) | seed+FTZ {seed_ftz[-1]:6.0f} | "
              f"ours 1 thread {ours_1t[-1]:6.0f} | ours bf16 {ours_bf16[-1]:6.0f} | "
              f"ours fast recipe (batch 128) {ours_fast[-1]:6.0f} | "
              f"matmul {mm[-1]:.0f} GFLOP/s")
    med = {k: statistics.median(v) for k, v in
           (("seed", seed), ("seed_ftz", seed_ftz), ("ours", ours), ("ours_1t", ours_1t),
            ("ours_bf16", ours_bf16), ("ours_fast", ours_fast), ("matmul", mm))}
    best = {k: max(v) for k, v in
            (("seed", seed), ("seed_ftz", seed_ftz), ("ours", ours), ("ours_1t", ours_1t),
             ("ours_bf16", ours_bf16), ("ours_fast", ours_fast), ("matmul", mm))}
    ratios = [o / s for o, s in zip(ours, seed, strict=True)]
    report.update({f"{k}_images_per_s": v for k, v in med.items() if k != "matmul"})
    report.update({f"{k}_images_per_s_best": v for k, v in best.items() if k != "matmul"})
    report["throughput_ratio"] = statistics.median(ratios)
    report["throughput_ratio_best"] = best["ours"] / best["seed"]
    report["throughput_ratio_vs_seed_ftz"] = best["ours"] / best["seed_ftz"]
    gflops = best["ours"] * TRAIN_FLOPS_PER_IMAGE / 1e9
    report.update(matmul_gflops=best["matmul"], train_gflops=gflops, gflops_fraction=gflops / best["matmul"])
    print(f"THROUGHPUT  ours / seed pipeline = {report['throughput_ratio']:.2f}× (median of per-round "
          f"ratios), {report['throughput_ratio_best']:.2f}× (best vs best) (goal ≥ 1.25×, stretch 1.5×); "
          f"best vs seed + flush-to-zero {report['throughput_ratio_vs_seed_ftz']:.2f}×; an epoch of "
          f"60 000 at the best rates: seed {60000 / best['seed']:.0f} s, ours {60000 / best['ours']:.0f} s")
    print(f"GFLOP/S     ours {gflops:.0f} GFLOP/s ({TRAIN_FLOPS_PER_IMAGE / 1e6:.1f} MFLOP/image, "
          f"best round) = {100 * report['gflops_fraction']:.0f} % of fp32 matmul "
          f"{best['matmul']:.0f} GFLOP/s (best; goal ≥ 60 %), seed recipe (batch 64, fp32)")
    gflops_fast = best["ours_fast"] * TRAIN_FLOPS_PER_IMAGE / 1e9
    report.update(train_gflops_fast=gflops_fast, gflops_fraction_fast=gflops_fast / best["matmul"])
    print(f"            fast recipe (batch 128, fp32): {gflops_fast:.0f} GFLOP/s = "
          f"{100 * report['gflops_fraction_fast']:.0f} % of the fp32 matmul")
    if bf16:
        gflops_bf16 = best["ours_bf16"] * TRAIN_FLOPS_PER_IMAGE / 1e9
        report.update(train_gflops_bf16=gflops_bf16, gflops_fraction_bf16=gflops_bf16 / best["matmul"])
        print(f"            with --precision bf16 (mixed precision, not the seed's numerics): "
              f"{gflops_bf16:.0f} GFLOP/s = {100 * gflops_bf16 / best['matmul']:.0f} % of the fp32 matmul; "
              f"{best['ours_bf16'] / best['seed']:.2f}× the seed pipeline")

    if not args.quick:
        # ---- 3. time to accuracy and 4. peak RSS
        fast = fast_run_subprocess(data_dir)
        hit = next((e for e in fast["epochs"] if e["test_accuracy"] >= 0.99), None)
        t99 = hit["elapsed_s"] if hit else None
        report.update(fast_epochs=fast["epochs"], fast_test_accuracy=fast["test_accuracy"],
                      fast_time_to_99_s=t99, fast_process_wall_s=fast["process_wall_s"],
                      peak_rss_mb=fast["peak_rss_mb"])
        fast16 = fast_run_subprocess(data_dir, "--precision", "bf16") if bf16 else None
        if fast16 is not None:
            hit16 = next((e for e in fast16["epochs"] if e["test_accuracy"] >= 0.99), None)
            report.update(fast_bf16_epochs=fast16["epochs"],
                          fast_bf16_time_to_99_s=hit16["elapsed_s"] if hit16 else None)
        for e in fast["epochs"]:
            print(f"fast recipe epoch {e['epoch']}: test accuracy {100 * e['test_accuracy']:.2f} % "
                  f"at {e['elapsed_s']:.1f} s ({e['images_per_s']:.0f} img/s)")
        if args.seed_reference is not None:
            seed_time, seed_acc = args.seed_reference, None
            print(f"seed recipe, 5 epochs: {seed_time:.0f} s (given with --seed-reference)")
        else:
            torch.set_flush_denormal(False)
            seed_run = run_seed(train_loader, test_loader, epochs=5, log=print)
            seed_time, seed_acc = seed_run["wall_time"], seed_run["test_accuracy"]
            report.update(seed_epoch_losses=seed_run["epoch_losses"], seed_test_accuracy=seed_acc)
            print(f"seed pipeline, seed recipe, 5 epochs: {seed_time:.0f} s, test accuracy "
                  f"{100 * seed_acc:.2f} %")
        report["seed_5_epochs_s"] = seed_time
        if t99 is None:
            print(f"TIME TO 99 % not reached: fast recipe ended at {100 * fast['test_accuracy']:.2f} %")
        else:
            report["time_to_accuracy_ratio"] = t99 / seed_time
            print(f"TIME TO 99 % fast recipe {t99:.0f} s (training + evaluations; whole process "
                  f"{fast['process_wall_s']:.0f} s) / seed recipe 5 epochs {seed_time:.0f} s = "
                  f"{report['time_to_accuracy_ratio']:.2f}× (goal ≤ 0.4×)")
        if fast16 is not None:
            t16 = report["fast_bf16_time_to_99_s"]
            text = f"{t16:.0f} s = {t16 / seed_time:.2f}×" if t16 is not None else "not reached"
            print(f"            fast recipe with --precision bf16: final "
                  f"{100 * fast16['test_accuracy']:.2f} %, 99 % after {text} the seed recipe's time")
        print(f"PEAK RSS    a fast-recipe training process: {fast['peak_rss_mb']:.0f} MB")
        print(f"CPU pressure at the end: {cpu_pressure()}")
    if tmp is not None:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
