"""`selfnorm`, `moment-map` and `selu-params`: the Self-normalisation tab, headless."""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np
import torch

from selu_lab import selfnorm, theory
from selu_lab.activations import NAMES, SELU_ALPHA, SELU_SCALE
from selu_lab.cli.common import UsageError, finite_float, float_in, int_in, positive_float, print_json
from selu_lab.inits import INITS


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``selfnorm``, ``moment-map`` and ``selu-params`` commands."""
    p = sub.add_parser("selfnorm", help="per-layer mean, variance and gradient norm of a deep dense stack",
                       description="Random inputs N(mean, std²) through DEPTH square layers of WIDTH units.")
    p.add_argument("--activation", default="selu", choices=NAMES, help="activation (default selu)")
    p.add_argument("--alpha", type=finite_float, help="α (ELU, CELU, SELU) or negative slope (Leaky ReLU)")
    p.add_argument("--scale", type=finite_float, help="SELU's λ")
    p.add_argument("--init", default="lecun", choices=tuple(INITS), help="weight init (default lecun)")
    p.add_argument("--depth", type=int_in(*selfnorm.DEPTH_RANGE), default=64, help="layers (default 64)")
    p.add_argument("--width", type=int_in(*selfnorm.WIDTH_RANGE), default=256, help="units (default 256)")
    p.add_argument("--batch", type=int_in(*selfnorm.BATCH_RANGE), default=1024, help="rows (default 1024)")
    p.add_argument("--input-mean", type=float_in(-100, 100), default=0.0, help="input mean μ_in (default 0)")
    p.add_argument("--input-std", type=float_in(0, 100), default=1.0, help="input std σ_in (default 1)")
    p.add_argument("--dropout", default="none", choices=selfnorm.DROPOUTS, help="dropout (default none)")
    p.add_argument("--dropout-rate", type=float_in(*selfnorm.RATE_RANGE), default=0.0,
                   help="dropout rate, training mode (default 0)")
    p.add_argument("--seed", type=int_in(0, 2**63 - 1), default=0, help="random seed (default 0)")
    p.add_argument("--no-grad", action="store_true", help="skip the gradient pass")
    p.add_argument("--grad-batch", type=int_in(1, selfnorm.BATCH_RANGE[1]),
                   help="rows for the gradient pass (default: min(batch, 256), fewer if they would not fit)")
    p.add_argument("--threads", type=int_in(1, 256),
                   help="torch CPU threads (default: torch's; 1 can win on a CPU shared with busy processes)")
    p.add_argument("--analytic", action="store_true",
                   help="add the analytic prediction (analytic_mean, analytic_var) to every layer")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_selfnorm)

    p = sub.add_parser("moment-map", help="the paper's map g(μ, ν; ω, τ), its Jacobian and spectral norm",
                       description="Klambauer et al. 2017, Eq. 4–5: mean and variance after one SELU layer.")
    p.add_argument("--mu", type=finite_float, required=True, help="input mean μ")
    p.add_argument("--nu", type=positive_float, required=True, help="input variance ν > 0")
    p.add_argument("--omega", type=finite_float, default=0.0, help="ω = Σwᵢ (default 0)")
    p.add_argument("--tau", type=positive_float, default=1.0, help="τ = Σwᵢ² > 0 (default 1)")
    p.add_argument("--alpha", type=positive_float, default=SELU_ALPHA, help="α (default SELU's)")
    p.add_argument("--scale", type=positive_float, default=SELU_SCALE, help="λ (default SELU's; 1 for ELU)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_moment_map)

    p = sub.add_parser("selu-params", help="SELU α, λ for a chosen fixed point, and AlphaDropout's a, b",
                       description="Solve for α and λ so that (mean, var) is a fixed point "
                                   "(the paper's getSELUparameters).")
    p.add_argument("--mean", type=finite_float, default=0.0, help="target mean (default 0)")
    p.add_argument("--var", type=positive_float, default=1.0, help="target variance > 0 (default 1)")
    p.add_argument("--dropout-rate", type=float_in(0, 0.99), default=0.0,
                   help="AlphaDropout rate for a and b (default 0)")
    p.add_argument("--weights", default="random", choices=[w.replace("_", "-") for w in theory.WEIGHTS],
                   help="how the weights carry the moments: random (LeCun init, default), normalized "
                        "(ω=0, τ=1), paper-code (z ~ N(mean, var), as the authors' notebook)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_selu_params)


def _config(args: argparse.Namespace) -> selfnorm.StackConfig:
    try:
        return selfnorm.StackConfig(
            activation=args.activation, alpha=args.alpha, scale=args.scale, init=args.init,
            depth=args.depth, width=args.width, batch=args.batch, input_mean=args.input_mean,
            input_std=args.input_std, dropout=args.dropout, dropout_rate=args.dropout_rate, seed=args.seed,
            grad=not args.no_grad, grad_batch=args.grad_batch).validate()
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def run_selfnorm(args: argparse.Namespace) -> int:
    """Run one deep stack and print its per-layer statistics."""
    config = _config(args)
    if args.dropout != "none" and args.dropout_rate == 0:
        sys.stderr.write("note: --dropout-rate is 0, so no dropout is applied\n")
    elif args.dropout == "none" and args.dropout_rate > 0:
        sys.stderr.write(f"note: --dropout-rate {args.dropout_rate:g} is ignored without --dropout alpha "
                         "or standard\n")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    result = selfnorm.simulate(config)
    layers = result.layers
    if args.analytic:
        curve = selfnorm.analytic_curve(config)
        layers = layers.assign(analytic_mean=curve["mean"].to_numpy(), analytic_var=curve["var"].to_numpy())
    records = [{k: (int(v) if k == "layer" else float(v)) for k, v in row.items()}
               for row in layers.to_dict(orient="records")]
    if args.json:
        print_json({"layers": records, "grad_batch": result.grad_batch, "notes": result.notes,
                    "seconds": result.seconds, "gflops": result.gflops})
        return 0
    print(f"{config.label}: depth {config.depth}, width {config.width}, batch {config.batch}, "
          f"inputs N({config.input_mean:g}, {config.input_std:g}²)")
    for note in result.notes:
        print(f"note: {note}")
    cols = [c for c in layers.columns if c != "layer"]
    print(f"{'layer':>5} " + " ".join(f"{c:>14}" for c in cols))
    for rec in records:
        print(f"{rec['layer']:>5} " + " ".join(_fmt(rec[c]) for c in cols))
    print(f"{result.flops / 1e9:.3g} GFLOP in {result.seconds:.3g} s ({result.gflops:.3g} GFLOP/s)")
    return 0


def _fmt(value: float) -> str:
    return f"{'—':>14}" if not math.isfinite(value) else f"{value:>14.6g}"


def run_moment_map(args: argparse.Namespace) -> int:
    """Print g(μ, ν), its Jacobian and the Jacobian's spectral norm."""
    try:
        with np.errstate(all="ignore"):
            mu, nu = theory.moment_map(args.mu, args.nu, args.omega, args.tau, args.alpha, args.scale)
            jac = theory.moment_map_jacobian(args.mu, args.nu, args.omega, args.tau, args.alpha, args.scale)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not (math.isfinite(mu) and math.isfinite(nu) and np.all(np.isfinite(jac))):
        raise UsageError("the map or its Jacobian exceeds double precision at these arguments; "
                         "use smaller |μω|, ντ, α or λ")
    norm = float(theory.spectral_norm(jac))
    if args.json:
        print_json({"mu": mu, "nu": nu, "jacobian": jac.tolist(), "spectral_norm": norm})
        return 0
    print(f"g(μ={args.mu:g}, ν={args.nu:g}; ω={args.omega:g}, τ={args.tau:g}) with α={args.alpha:.10g}, "
          f"λ={args.scale:.10g}:")
    print(f"  μ̃ = {mu:.12g}\n  ν̃ = {nu:.12g}")
    print(f"  Jacobian ∂(μ̃, ν̃)/∂(μ, ν) = [[{jac[0, 0]:.8g}, {jac[0, 1]:.8g}], "
          f"[{jac[1, 0]:.8g}, {jac[1, 1]:.8g}]]")
    print(f"  spectral norm = {norm:.8g} ({'contracting' if norm < 1 else 'not contracting'})")
    return 0


def run_selu_params(args: argparse.Namespace) -> int:
    """Print the SELU α, λ for a target fixed point and the matching AlphaDropout a, b."""
    try:
        params, a, b = theory.selu_parameters_with_dropout(args.mean, args.var, args.dropout_rate,
                                                           weights=args.weights.replace("-", "_"))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print_json({"alpha": params.alpha, "scale": params.scale, "dropout_a": a, "dropout_b": b})
        return 0
    print(f"fixed point (mean {args.mean:g}, variance {args.var:g}), {args.weights} weights:")
    print(f"  α = {params.alpha:.15g}\n  λ = {params.scale:.15g}")
    print(f"  AlphaDropout (rate {args.dropout_rate:g}): a = {a:.15g}, b = {b:.15g}, "
          f"α′ = −λα = {-params.scale * params.alpha:.15g}")
    return 0
