"""The deep-stack experiment: self-normalisation, its failures, gradients, cost and memory."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from selu_lab import selfnorm as S
from selu_lab import theory
from selu_lab.selfnorm import StackConfig


def in_band(layers: pd.DataFrame, start: int) -> tuple[float, float]:
    tail = layers[layers["layer"] >= start]
    return float(tail["mean"].abs().max()), float((tail["var"] - 1).abs().max())


@pytest.fixture(scope="module")
def selu_n01() -> pd.DataFrame:
    return S.run_stack(StackConfig("selu", init="lecun", depth=64, width=256, batch=512, grad=False))


def test_selu_lecun_stays_normalised_from_n01(selu_n01):
    max_mean, max_var = in_band(selu_n01, 8)
    assert len(selu_n01) == 64
    assert max_mean < 0.1 and max_var < 0.15


def test_selu_lecun_recovers_from_n_1_4():
    layers = S.run_stack(StackConfig("selu", init="lecun", depth=64, width=256, batch=512,
                                     input_mean=1.0, input_std=2.0, grad=False))
    assert layers["var"].iloc[0] > 2.5  # far from the target at first …
    max_mean, max_var = in_band(layers, 16)  # … inside the band from layer 16 to 64
    assert max_mean < 0.1 and max_var < 0.15


@pytest.mark.parametrize(("activation", "init"), [("selu", "selu_gain"), ("elu", "lecun")])
def test_gain_three_quarters_and_elu_collapse_the_variance(activation, init):
    layers = S.run_stack(StackConfig(activation, init=init, depth=64, width=128, batch=512, grad=False))
    var = layers["var"].to_numpy()
    assert var[-1] < 0.1  # far below the target 1 …
    assert var[-1] < var[0] < 0.8  # … and shrinking with depth
    analytic = S.analytic_curve(StackConfig(activation, init=init, depth=64, width=128))
    assert analytic["var"].iloc[-1] < 0.1


def test_analytic_and_empirical_curves_agree_for_selu_lecun(selu_n01):
    analytic = S.analytic_curve(StackConfig("selu", init="lecun", depth=64, width=256))
    assert list(analytic["layer"]) == list(selu_n01["layer"])
    assert (analytic["mean"] - selu_n01["mean"]).abs().max() < 0.05
    assert (analytic["var"] - selu_n01["var"]).abs().max() < 0.1


def test_analytic_curve_tracks_a_collapsing_stack():
    cfg = StackConfig("elu", init="lecun", depth=32, width=256, batch=512, grad=False)
    measured, analytic = S.run_stack(cfg), S.analytic_curve(cfg)
    ratio = measured["var"] / analytic["var"]
    assert ratio.between(0.75, 1.33).all()


def test_saturation_fractions():
    selu = S.run_stack(StackConfig("selu", depth=4, width=256, batch=1024, grad=False))
    # at the fixed point z ~ N(0, 1): f(z) < −0.9·λα ⇔ z < −ln 10
    expected = 0.5 * math.erfc(math.log(10) / math.sqrt(2))
    assert selu["neg_saturation"].to_numpy() == pytest.approx(expected, abs=0.004)
    relu = S.run_stack(StackConfig("relu", init="he", depth=2, width=256, batch=512, grad=False))
    assert relu["neg_saturation"].to_numpy() == pytest.approx(0.5, abs=0.05)
    gelu = S.run_stack(StackConfig("gelu", depth=2, width=32, batch=64, grad=False))
    assert gelu["neg_saturation"].isna().all()


def reference_grad_norms(cfg: StackConfig, rows: int) -> list[float]:
    """The same stack through autograd on the first ``rows`` rows, with the same weights and masks."""
    act = cfg.activation_fn()
    dist, mult = S._weight_dist(cfg.init, cfg.width)
    drop = S._Dropout(cfg)
    gen = torch.Generator().manual_seed(S._seed(cfg.seed, S._INPUT, 0))
    x = torch.randn(cfg.batch, cfg.width, generator=gen) * cfg.input_std + cfg.input_mean
    weights = [(S._CACHE.get(cfg.seed, layer, cfg.width, dist) * mult).clone().requires_grad_()
               for layer in range(1, cfg.depth + 1)]
    h = x[:rows]
    for layer, w in enumerate(weights, 1):
        h = act.torch_fn(h @ w)
        if drop.kind != "none":
            g = torch.Generator().manual_seed(S._seed(cfg.seed, S._DROPOUT, layer))
            dropped = (torch.rand(cfg.batch, cfg.width, generator=g) < cfg.dropout_rate)[:rows]
            if drop.kind == "alpha":
                h = torch.where(dropped, torch.full_like(h, drop.fill), h * drop.a + drop.b)
            else:
                h = torch.where(dropped, torch.zeros_like(h), h / (1 - cfg.dropout_rate))
    g = torch.Generator().manual_seed(S._seed(cfg.seed, S._READOUT, 0))
    readout = torch.randn(rows, cfg.width, generator=g)
    ((h * readout).sum() / math.sqrt(rows)).backward()
    return [float(w.grad.norm()) for w in weights]


@pytest.mark.parametrize("kwargs", [
    {}, {"dropout": "alpha", "dropout_rate": 0.1}, {"dropout": "standard", "dropout_rate": 0.2},
    {"activation": "gelu"}, {"activation": "tanh", "init": "xavier"}, {"activation": "celu", "alpha": 0.7},
    {"activation": "silu"}, {"activation": "leaky_relu"}, {"activation": "relu", "init": "pytorch"},
    {"activation": "selu", "alpha": 1.3, "scale": 1.2, "input_mean": 0.5},
])
def test_gradient_norms_match_autograd(kwargs):
    cfg = StackConfig(width=48, batch=96, depth=5, grad_batch=96, **kwargs)
    ours = S.run_stack(cfg)["grad_norm"].to_numpy()
    np.testing.assert_allclose(ours, reference_grad_norms(cfg, cfg.batch), rtol=2e-4)


def test_smaller_gradient_batch_uses_the_first_rows():
    # 2·rows < width switches the norm to the Gram-matrix form
    cfg = StackConfig(width=64, batch=128, depth=4, grad_batch=16, dropout="alpha", dropout_rate=0.1)
    result = S.simulate(cfg)
    assert result.grad_batch == 16 and "16 of 128" in " ".join(result.notes)
    np.testing.assert_allclose(result.layers["grad_norm"], reference_grad_norms(cfg, 16), rtol=2e-4)


def test_selu_gradients_neither_vanish_nor_explode_but_gain_three_quarters_ones_are_smaller():
    kw = {"depth": 32, "width": 128, "batch": 256}
    selu = S.run_stack(StackConfig("selu", init="lecun", **kw))["grad_norm"]
    ratio = selu.iloc[0] / selu.iloc[-1]
    assert 1 < ratio < 20  # mild growth towards the input, as E[f′(z)²] ≈ 1.07 predicts
    small = S.run_stack(StackConfig("selu", init="selu_gain", **kw))["grad_norm"]
    assert small.iloc[0] < selu.iloc[0] / 3


def test_dropout_variants():
    kw = {"depth": 24, "width": 256, "batch": 256, "grad": False, "dropout_rate": 0.1}
    alpha = S.run_stack(StackConfig(dropout="alpha", **kw))
    assert in_band(alpha, 4)[0] < 0.1 and in_band(alpha, 4)[1] < 0.15  # AlphaDropout keeps (0, 1)
    standard_cfg = StackConfig(dropout="standard", **kw)
    standard = S.run_stack(standard_cfg)
    assert standard["var"].iloc[-1] > 1.3  # plain dropout inflates the variance …
    analytic = S.analytic_curve(standard_cfg)
    assert abs(standard["var"].iloc[-1] - analytic["var"].iloc[-1]) < 0.15  # … as the map predicts


def test_runs_are_deterministic_and_weights_shared_across_configs():
    cfg = StackConfig(depth=6, width=64, batch=128)
    first = S.run_stack(cfg)
    S.clear_weight_cache()
    pd.testing.assert_frame_equal(first, S.run_stack(cfg))
    assert not first.equals(S.run_stack(StackConfig(depth=6, width=64, batch=128, seed=1)))
    # same seed, other init: the standard weights are the same, only their scale differs
    he = S.run_stack(StackConfig("selu", init="he", depth=1, width=64, batch=128, grad=False))
    lecun = S.run_stack(StackConfig("selu", init="lecun", depth=1, width=64, batch=128, grad=False))
    assert he["var"].iloc[0] > 1.5 * lecun["var"].iloc[0]


def test_solver_parameters_are_verified_by_the_stack():
    params = theory.solve_selu_parameters(0.0, 2.0)
    cfg = S.with_selu_parameters(StackConfig(depth=40, width=256, batch=512, grad=False), params)
    tail = S.run_stack(cfg).iloc[15:]
    assert abs(tail["mean"].mean()) < 0.05
    assert abs(tail["var"].mean() - 2.0) < 0.1


def test_histograms_are_densities():
    result = S.simulate(StackConfig(depth=8, width=64, batch=256, grad=False, hist_layers=(1, 8)))
    hist = result.histograms
    assert sorted(hist["layer"].unique()) == [1, 8]
    for _, part in hist.groupby("layer"):
        mass = float((part["density"] * (part["right"] - part["left"])).sum())
        assert 0.98 < mass <= 1.0 + 1e-9


def test_progress_and_stop():
    seen = []
    S.run_stack(StackConfig(depth=5, width=32, batch=64), progress=lambda f, t: seen.append(f))
    assert len(seen) == 10 and seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    with pytest.raises(S.Stopped) as stopped:
        S.run_stack(StackConfig(depth=5, width=32, batch=64), stop=lambda: len(seen) >= 12,
                    progress=lambda f, t: seen.append(f))
    assert len(stopped.value.partial.layers) == 2


def test_cost_estimate_and_memory_plan():
    cfg = StackConfig(depth=64, width=256, batch=1024)
    flops, seconds = S.estimate_cost(cfg, gflops=100.0, ns_per_element=0.0)
    assert flops == pytest.approx(2 * 64 * 256**2 * 1024 + 4 * 64 * 256**2 * S.AUTO_GRAD_BATCH)
    assert seconds == pytest.approx(flops / (100e9 * S.ASSUMED_EFFICIENCY) + 2 * 64 * S.LAYER_OVERHEAD)
    assert S.estimate_cost(StackConfig(depth=64, width=256, batch=1024, grad=False), 100.0, 0.0)[0] == \
        pytest.approx(2 * 64 * 256**2 * 1024)
    full = StackConfig(depth=64, width=256, batch=1024, grad_batch=1024)
    assert S.estimate_cost(full, 100.0, 0.0)[0] == pytest.approx(6 * 64 * 256**2 * 1024)
    huge = StackConfig(depth=200, width=2048, batch=8192)
    flops, seconds = S.estimate_cost(huge, gflops=100.0, ns_per_element=1.0)
    assert flops > 2 * 200 * 2048**2 * 8192 and seconds > 60  # terabytes of FLOPs: warn first
    assert S.resolve_grad_batch(huge)[0] == S.AUTO_GRAD_BATCH
    everything = StackConfig(depth=200, width=2048, batch=8192, grad_batch=8192)
    rows, note = S.resolve_grad_batch(everything)
    assert 0 < rows < 8192 and "MB" in note  # shrunk to fit the memory budget, and said so
    assert rows * 200 * 2048 * 4 <= S.GRAD_MEMORY_MB * 2**20
    mem = S.memory_estimate(everything)
    assert mem["statistics"] < 300 * 2**20  # one layer: a few batch×width buffers and one weight matrix
    assert mem["gradient"] <= S.GRAD_MEMORY_MB * 2**20 * 1.05
    assert S.resolve_grad_batch(StackConfig(grad=False))[0] == 0


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"depth": 0}, "depth"), ({"depth": 201}, "depth"), ({"width": 4096}, "width"), ({"batch": 32}, "batch"),
    ({"dropout_rate": 0.5}, "dropout rate"), ({"dropout": "gaussian"}, "dropout"), ({"init": "orth"}, "init"),
    ({"activation": "swish"}, "activation"), ({"hist_layers": (99,)}, "histogram"),
    ({"grad_batch": 5000}, "grad batch"), ({"input_std": -1.0}, "input std"), ({"seed": -1}, "seed"),
])
def test_bad_configs_raise_value_error(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        StackConfig(**kwargs).validate()


def test_thread_count_is_set_for_the_run_and_restored():
    cfg = StackConfig(depth=3, width=64, batch=128)
    before = torch.get_num_threads()
    one = S.run_stack(cfg)
    single = S.simulate(cfg, threads=1).layers
    assert torch.get_num_threads() == before
    np.testing.assert_allclose(single[["mean", "var", "grad_norm"]], one[["mean", "var", "grad_norm"]],
                               rtol=1e-4)
    assert S.best_threads() in (1, before)


@pytest.mark.parametrize("shift", [0.0, 0.5, 30.0])  # 30: mean² ≫ var, the two-pass fallback
def test_one_pass_mean_and_variance_match_float64(shift):
    x = torch.randn(512, 64, generator=torch.Generator().manual_seed(3)) * 0.7 + shift
    mean, var = S._mean_var(x, torch.empty_like(x))
    ref = x.double()
    assert mean == pytest.approx(float(ref.mean()), rel=1e-6, abs=1e-7)
    assert var == pytest.approx(float(ref.var(unbiased=False)), rel=1e-5)


@pytest.mark.parametrize(("activation", "kwargs"), [("selu", {}), ("elu", {}), ("celu", {"alpha": 0.7}),
                                                    ("relu", {}), ("tanh", {})])
def test_saturation_count_matches_its_definition(activation, kwargs):
    act = StackConfig(activation, **kwargs).activation_fn()
    kernel = S._Kernel(act)
    z = torch.randn(300, 40, generator=torch.Generator().manual_seed(1)) * 3
    out, tmp, aux = (torch.empty_like(z) for _ in range(3))
    raw = kernel.apply(z, out, tmp, aux)
    torch.testing.assert_close(out, act.torch_fn(z), rtol=1e-5, atol=1e-6)
    floor = {"relu": None, "tanh": -0.9}.get(activation, 0.9 * act.limit_at_minus_infinity())
    expected = int((out <= 0).sum()) if floor is None else int((out < floor).sum())
    assert kernel.saturated(float(raw), z.numel()) == pytest.approx(expected, abs=1)


@pytest.mark.skipif(not hasattr(__import__("resource"), "getrusage") or
                    __import__("platform").libc_ver()[0] != "glibc", reason="glibc-only memory reuse")
def test_a_repeated_run_reuses_its_memory_instead_of_faulting_in_fresh_pages():
    import resource

    config = StackConfig("selu", init="lecun", depth=64, width=256, batch=1024)  # keeps 16 MB of rows
    faults = []
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        S.simulate(config)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    assert faults[-1] < 500, faults  # a fresh 16 MB block each run page-faulted ≈ 3 800 times
