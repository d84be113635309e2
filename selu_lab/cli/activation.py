"""`activation` and `moments`: values, derivatives and Gaussian moments of one activation."""

from __future__ import annotations

import argparse

import numpy as np

from selu_lab.activations import NAMES, ActivationError, get_activation
from selu_lab.cli.common import UsageError, finite_float, float_list, print_json
from selu_lab.moments import gaussian_moments


def _add_function_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", required=True, help=f"one of: {', '.join(NAMES)}")
    p.add_argument("--alpha", type=finite_float, help="α (ELU, CELU, SELU) or negative slope (Leaky ReLU)")
    p.add_argument("--scale", type=finite_float, help="SELU's λ")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``activation`` and ``moments`` commands."""
    p = sub.add_parser("activation", help="f(x) and f′(x) at given points",
                       description="Values and closed-form derivatives of one activation.")
    _add_function_args(p)
    p.add_argument("--x", type=float_list, required=True, help="comma-separated points, e.g. --x=-2,-0.5,1")
    p.set_defaults(func=run_activation)

    p = sub.add_parser("moments", help="mean and variance of f(z), z ~ N(mean, std²)",
                       description="E[f(z)] and Var[f(z)] for Gaussian z (closed forms or quadrature).")
    _add_function_args(p)
    p.add_argument("--mean", type=finite_float, default=0.0, help="mean of z (default 0)")
    p.add_argument("--std", type=finite_float, default=1.0, help="standard deviation of z (default 1)")
    p.set_defaults(func=run_moments)


def _activation(args: argparse.Namespace):
    try:
        return get_activation(args.name, args.alpha, args.scale)
    except ActivationError as exc:
        raise UsageError(str(exc)) from None


def run_activation(args: argparse.Namespace) -> int:
    """Print f(x) and f′(x) at the given points (and the one-sided slopes at 0)."""
    act = _activation(args)
    x = np.array(args.x, dtype=np.float64)
    left, right = act.one_sided_derivatives_at_0()
    out = {"name": act.name, "alpha": act.alpha, "scale": act.scale, "x": x.tolist(),
           "value": act.value(x).tolist(), "derivative": act.derivative(x).tolist(),
           "derivative_left_at_0": left, "derivative_right_at_0": right}
    if args.json:
        print_json(out)
    else:
        print(f"{act.label}: f′(0⁻) = {left:.10g}, f′(0⁺) = {right:.10g}")
        print(f"{'x':>14} {'f(x)':>20} {'f′(x)':>20}")
        for xi, v, d in zip(out["x"], out["value"], out["derivative"], strict=True):
            print(f"{xi:>14.6g} {v:>20.12g} {d:>20.12g}")
    return 0


def run_moments(args: argparse.Namespace) -> int:
    """Print E[f(z)] and Var[f(z)] for z ~ N(mean, std²)."""
    act = _activation(args)
    if args.std < 0:
        raise UsageError(f"--std must be ≥ 0, got {args.std:g}")
    try:
        m = gaussian_moments(act, args.mean, args.std)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print_json({"mean": m.mean, "var": m.var})
    else:
        print(f"{act.label}, z ~ N({args.mean:g}, {args.std:g}²): E[f(z)] = {m.mean:.12g}, "
              f"Var[f(z)] = {m.var:.12g}")
    return 0
