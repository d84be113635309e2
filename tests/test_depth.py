"""The depth study engine (selu_lab.depth) and its charts, on tiny nets and synthetic MNIST-shaped data."""

import math
import threading
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
from torch import nn

from selu_lab import depth as D
from selu_lab.activations import COLORS
from selu_lab.charts import depth as C


def synthetic_mnist(n_train: int = 512, n_test: int = 200, seed: int = 0) -> SimpleNamespace:
    """MNIST-shaped uint8 images whose label is readable from the image (so nets can learn)."""
    g = torch.Generator().manual_seed(seed)

    def split(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.randint(0, 10, (n,), generator=g)
        images = torch.randint(0, 60, (n, 28, 28), generator=g, dtype=torch.uint8)
        for k in range(10):  # a bright bar in row 2k+4 for digit k
            images[labels == k, 2 * k + 4, 4:24] = 255
        return images, labels

    train_images, train_labels = split(n_train)
    test_images, test_labels = split(n_test)
    return SimpleNamespace(train_images=train_images, train_labels=train_labels,
                           test_images=test_images, test_labels=test_labels)


@pytest.fixture(scope="module")
def data():
    return synthetic_mnist()


def tiny(**kw) -> D.StudyConfig:
    base = dict(arch="mlp", depths=(3,), strategies=("selu",), width=32, steps=12, lr=0.01,
                batch_size=32, seed=0, checkpoint_every=4)
    base.update(kw)
    return D.StudyConfig(**base)


# --------------------------------------------------------------------------- strategies and nets


def test_strategy_colours_are_the_registry_colours_and_batchnorm_is_distinct():
    for name in ("selu", "elu", "relu", "tanh"):
        assert D.STRATEGIES[name].color == COLORS[name]
    assert D.STRATEGIES["relu_bn"].color not in COLORS.values()
    assert len({s.color for s in D.STRATEGIES.values()}) == len(D.STRATEGIES)
    assert (D.STRATEGIES["selu"].activation, D.STRATEGIES["selu"].init) == ("selu", "lecun")
    assert (D.STRATEGIES["relu_bn"].init, D.STRATEGIES["relu_bn"].batchnorm) == ("he", True)
    assert D.STRATEGIES["tanh"].init == "xavier"


@pytest.mark.parametrize("arch", D.ARCHS)
@pytest.mark.parametrize("strategy", D.STRATEGY_NAMES)
def test_batchnorm_only_in_the_batchnorm_strategy_and_depth_is_what_was_asked(arch, strategy):
    depth = 5
    net = D.build_net(arch, depth, strategy, 8)
    n_bn = count_layers(net, (nn.BatchNorm1d, nn.BatchNorm2d))
    n_hidden = depth if arch == "mlp" else depth + 1  # the CNN's hidden dense layer
    assert len(net.hidden) == n_hidden
    assert n_bn == (n_hidden if strategy == "relu_bn" else 0)
    if arch == "mlp":
        assert count_layers(net, nn.Linear) == depth + 1
    else:
        assert count_layers(net, nn.Conv2d) == depth
        assert all(m.padding == (1, 1) and m.kernel_size == (3, 3)
                   for m in net.modules() if isinstance(m, nn.Conv2d))
    out = net(net.prepare(torch.randn(4, 28, 28)))
    assert out.shape == (4, 10)


def test_cnn_of_depth_2_and_width_32_is_the_seed_cnn_shape():
    net = D.build_net("cnn", 2, "relu", 32)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(1, 32), (32, 64)]
    assert [(li.in_features, li.out_features) for li in linears] == [(3136, 128), (128, 10)]
    assert D.cnn_stage_depths(32) == (16, 16) and D.cnn_stage_depths(7) == (4, 3)


def test_alpha_dropout_only_for_selu():
    from selu_lab.models import SeededDropout

    assert count_layers(D.build_net("mlp", 4, "selu", 8, alpha_dropout=0.1), SeededDropout) == 4
    assert count_layers(D.build_net("mlp", 4, "elu", 8, alpha_dropout=0.1), SeededDropout) == 0


def test_build_net_seed_gives_same_weights_without_touching_the_global_rng():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a = D.build_net("mlp", 3, "selu", 16, seed=7)
    b = D.build_net("mlp", 3, "selu", 16, seed=7)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize("bad", [dict(arch="rnn"), dict(depths=(1,)), dict(depths=(65,)), dict(depths=()),
                                 dict(strategies=("swish",)), dict(strategies=()), dict(width=0),
                                 dict(arch="cnn", width=300), dict(steps=0), dict(lr=0.0),
                                 dict(lr=(0.1, -1.0)), dict(lr=float("nan")), dict(optimizer="rmsprop"),
                                 dict(batch_size=0), dict(subset=0), dict(alpha_dropout=1.0),
                                 dict(checkpoint_every=0)])
def test_bad_config_raises_value_error_naming_the_setting(bad):
    with pytest.raises(ValueError, match=r"\S"):
        tiny(**bad)


def test_config_normalises_depths_strategies_and_rates():
    cfg = tiny(depths=(16, 8, 16), strategies=("relu", "selu", "relu"), lr=(0.1, 0.01, 0.1))
    assert cfg.depths == (8, 16) and cfg.strategies == ("relu", "selu") and cfg.lrs == (0.01, 0.1)
    assert len(cfg.run_keys()) == 2 * 2 * 2
    assert D.StudyConfig().width == 784 and D.StudyConfig(arch="cnn").width == D.DEFAULT_WIDTH["cnn"]
    assert D.log_spaced_lrs(0.001, 0.1, 3) == (0.001, 0.01, 0.1)


# --------------------------------------------------------------------------- self-normalisation at init


def test_at_init_deep_selu_lecun_keeps_variance_near_one_while_relu_with_pytorch_init_vanishes():
    torch.manual_seed(0)
    x = torch.randn(512, 28, 28)  # standardised input: mean 0, variance 1
    y = torch.randint(0, 10, (512,))
    selu = D.layer_stats(D.build_net("mlp", 32, "selu", 256, seed=0), x, y)
    relu = D.layer_stats(D.build_net("mlp", 32, "relu", 256, init="pytorch", seed=0), x, y)
    assert len(selu) == len(relu) == 32
    assert all(0.75 < s.var < 1.25 and abs(s.mean) < 0.2 for s in selu), [round(s.var, 3) for s in selu]
    assert relu[-1].var < 0.01 and relu[-1].var < 0.05 * relu[0].var
    assert all(math.isfinite(s.grad_norm) and s.grad_norm > 0 for s in selu)


# --------------------------------------------------------------------------- training


@pytest.mark.parametrize(("arch", "width", "depth"), [("mlp", 32, 4), ("cnn", 2, 3)])
def test_every_strategy_trains_with_finite_losses(data, arch, width, depth):
    cfg = tiny(arch=arch, width=width, depths=(depth,), strategies=D.STRATEGY_NAMES, steps=10,
               batch_size=16, test_size=64, alpha_dropout=0.05 if arch == "mlp" else 0.0)
    result = D.run_study(cfg, data)
    assert [r.strategy for r in result.runs] == list(D.STRATEGY_NAMES)
    for r in result.runs:
        assert r.diverged_at is None and len(r.losses) == 10
        assert all(math.isfinite(v) and v > 0 for v in r.losses)
        assert math.isfinite(r.final_loss) and 0.0 <= r.test_accuracy <= 1.0 and r.seconds > 0
        n_hidden = depth if arch == "mlp" else depth + 1
        assert [c.step for c in r.checkpoints] == [0, 4, 8, 10]
        assert all(len(c.layers) == n_hidden for c in r.checkpoints)
        assert all(math.isfinite(s.var) and s.grad_norm > 0 for c in r.checkpoints for s in c.layers)


def test_learning_actually_happens_on_learnable_data(data):
    result = D.run_study(tiny(depths=(4,), strategies=("selu",), steps=60, lr=0.05), data)
    run = result.runs[0]
    assert run.final_loss < 0.6 * run.initial_loss and run.status == "trained"
    assert run.test_accuracy > 0.5


def test_same_seed_same_losses_and_a_shared_data_order(data):
    cfg = tiny(strategies=("selu", "relu_bn"), alpha_dropout=0.1)
    a = D.run_study(cfg, data)
    b = D.run_study(cfg, data)
    assert [r.losses for r in a.runs] == [r.losses for r in b.runs]
    assert [r.test_accuracy for r in a.runs] == [r.test_accuracy for r in b.runs]
    c = D.run_study(tiny(strategies=("selu", "relu_bn"), alpha_dropout=0.1, seed=1), data)
    assert c.runs[0].losses != a.runs[0].losses
    # the order of mini-batches depends on the seed only, never on strategy, depth or rate
    o1 = D._Batches(data, cfg).order
    o2 = D._Batches(data, tiny(strategies=("tanh",), depths=(7,), lr=0.5)).order
    assert torch.equal(o1, o2)
    assert not torch.equal(o1, D._Batches(data, tiny(seed=1)).order)


def test_subset_is_a_seeded_subset_of_the_training_set(data):
    batches = D._Batches(data, tiny(subset=50, steps=20))
    assert len(set(batches.order.tolist())) == 50
    with pytest.raises(ValueError, match="exceeds"):
        D.run_study(tiny(subset=10_000), data)


def test_divergence_is_marked_at_its_step_and_the_study_goes_on(data):
    cfg = tiny(depths=(6,), strategies=("relu", "selu"), lr=10.0, steps=30, width=64)
    events = []
    result = D.run_study(cfg, data, on_event=events.append)
    assert len(result.runs) == 2
    for r in result.runs:
        assert r.diverged_at is not None and 1 <= r.diverged_at <= 30
        assert len(r.losses) == r.diverged_at - 1 and r.status == "diverged"
        assert math.isnan(r.final_loss) and math.isnan(r.test_accuracy)
    assert "diverged at step" in D.summary_table(result)["status"].iloc[0]
    assert len(D.divergence_frame(result)) == 2
    assert [e.kind for e in events].count("run_done") == 2 and events[-1].kind == "done"


def test_stop_keeps_the_finished_runs_and_drops_the_one_in_progress(data):
    cfg = tiny(strategies=("selu", "elu", "relu"))
    stop = threading.Event()

    def on_event(ev):
        if ev.kind == "run_done":
            stop.set()

    result = D.run_study(cfg, data, on_event=on_event, stop=stop)
    assert result.stopped and result.status == "stopped" and len(result.runs) == 1
    assert "1 of 3" in result.reason

    def stop_mid_run(ev):
        if ev.kind == "step" and ev.step == 3:
            stop2.set()

    stop2 = threading.Event()
    result = D.run_study(cfg, data, on_event=stop_mid_run, stop=stop2)
    assert result.stopped and result.runs == []
    assert D.run_study(cfg, data, stop=lambda: True).runs == []
    assert "stopped" in D.reading(D.run_study(cfg, data, stop=lambda: True)).lower()


def test_progress_events_cover_the_whole_study(data):
    events = []
    D.run_study(tiny(depths=(2, 3), strategies=("selu", "tanh")), data, on_event=events.append)
    assert events[0].kind == "start" and events[-1].kind == "done"
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert {e.n_runs for e in events} == {4}
    assert all(e.run is not None for e in events if e.kind == "run_done")


# --------------------------------------------------------------------------- the fused SGD step

FUSED = ("selu", "elu", "relu", "tanh")


@pytest.mark.parametrize("strategy", FUSED)
def test_fused_sgd_step_gives_autograd_sgds_losses_gradients_and_weights(strategy):
    fused_net, ref_net = (D.build_net("mlp", 4, strategy, 32, seed=0) for _ in range(2))
    fused = D.make_step(fused_net, "sgd", lr=0.05)
    ref = D.make_step(ref_net, "sgd", lr=0.05, fused=False)
    g = torch.Generator().manual_seed(1)
    for i in range(20):
        x, y = torch.randn(16, 784, generator=g), torch.randint(0, 10, (16,), generator=g)
        keep = i % 5 == 0
        assert fused(x, y, keep_grads=keep) == pytest.approx(ref(x, y, keep_grads=keep), rel=1e-5)
        for p, q in zip(fused_net.parameters(), ref_net.parameters(), strict=True):
            assert (p.grad is None) == (not keep)
            if keep:
                torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6)
    for p, q in zip(fused_net.parameters(), ref_net.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    before = [p.clone() for p in fused_net.parameters()]
    fused(x, y, keep_grads=True, update=False)  # the final probe: gradients, no update
    assert all(torch.equal(p, b) for p, b in zip(fused_net.parameters(), before, strict=True))


def test_fused_step_only_for_plain_sgd_on_dense_nets_without_batchnorm_or_dropout(monkeypatch):
    assert all(D._fused_layers(D.build_net("mlp", 3, s, 8)) is not None for s in FUSED)
    assert D._fused_layers(D.build_net("mlp", 3, "relu_bn", 8)) is None
    assert D._fused_layers(D.build_net("mlp", 3, "selu", 8, alpha_dropout=0.1)) is None
    assert D._fused_layers(D.build_net("cnn", 2, "selu", 2)) is None
    calls = []
    real = D._fused_sgd_step
    monkeypatch.setattr(D, "_fused_sgd_step", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    x, y = torch.randn(4, 784), torch.randint(0, 10, (4,))
    D.make_step(D.build_net("mlp", 3, "selu", 8), "adam", lr=0.01)(x, y)
    D.make_step(D.build_net("mlp", 3, "relu_bn", 8), "sgd", lr=0.01)(x, y)
    assert calls == []
    D.measure_speed("mlp", 16, 8, ("selu",), steps=1)  # the probe times the study's step
    assert calls


def test_study_with_the_fused_step_matches_autograd_losses_stats_divergence_accuracy(data, monkeypatch):
    cfg = tiny(strategies=FUSED, steps=20, checkpoint_every=6, test_size=100)
    diverging = tiny(depths=(6,), strategies=("relu", "selu"), lr=10.0, steps=30, width=64, test_size=10)
    fused, fused_div = D.run_study(cfg, data), D.run_study(diverging, data)
    assert [r.losses for r in D.run_study(cfg, data).runs] == [r.losses for r in fused.runs]  # deterministic
    monkeypatch.setattr(D, "_fused_layers", lambda net: None)  # every run takes the autograd path
    ref, ref_div = D.run_study(cfg, data), D.run_study(diverging, data)
    for f, r in zip(fused.runs, ref.runs, strict=True):
        assert f.diverged_at is None and f.losses == pytest.approx(r.losses, rel=1e-5)
        assert f.test_accuracy == r.test_accuracy
        assert [c.step for c in f.checkpoints] == [c.step for c in r.checkpoints] == [0, 6, 12, 18, 20]
        for cf, cr in zip(f.checkpoints, r.checkpoints, strict=True):
            for sf, sr in zip(cf.layers, cr.layers, strict=True):
                assert (sf.mean, sf.var, sf.grad_norm) == pytest.approx((sr.mean, sr.var, sr.grad_norm),
                                                                        rel=1e-4, abs=1e-6)
    assert [r.diverged_at for r in fused_div.runs] == [r.diverged_at for r in ref_div.runs]
    assert all(r.diverged_at is not None for r in fused_div.runs)


# --------------------------------------------------------------------------- speed and estimate


def test_estimate_is_the_probe_line_summed_over_runs():
    speed = D.Speed("mlp", 32, 32, {"selu": (0.001, 0.002), "relu": (0.0, 0.001)})
    cfg = tiny(depths=(2, 4), strategies=("selu", "relu"), steps=9, test_size=64)
    per_run = [(0.001 + 0.002 * d if s == "selu" else 0.001 * d) * (10 + D._EVAL_FRACTION * 64 / 32)
               for d in (2, 4) for s in ("selu", "relu")]
    assert D.estimate_seconds(cfg, speed) == pytest.approx(sum(per_run))
    assert speed.matches(cfg) and not speed.matches(tiny(width=64))


def test_measure_speed_is_quick_and_positive():
    speed = D.measure_speed("mlp", 16, 8, ("selu", "relu_bn"), steps=1)
    assert set(speed.per_strategy) == {"selu", "relu_bn"}
    assert all(a >= 0 and b > 0 for a, b in speed.per_strategy.values())
    assert D.estimate_seconds(tiny(width=16, batch_size=8, strategies=("selu",)), speed) > 0


# --------------------------------------------------------------------------- views, tables, reading


def fake_run(depth, strategy, lr, final, diverged_at=None, start=2.3, n=20):
    losses = [start] + [final] * (n - 1) if diverged_at is None else [start] * (diverged_at - 1)
    layers = tuple(D.LayerStat(i + 1, f"dense{i + 1}", 0.0, 1.0, 1.0) for i in range(depth))
    return D.RunResult("mlp", depth, strategy, lr, losses, diverged_at,
                       float("nan") if diverged_at else 0.9, 1.0,
                       [D.Checkpoint(0, layers), D.Checkpoint(n, layers)], images=32 * n)


def fake_result(runs, lrs=(0.01,)):
    cfg = D.StudyConfig(depths=tuple(sorted({r.depth for r in runs})),
                        strategies=tuple(dict.fromkeys(r.strategy for r in runs)), steps=20,
                        lr=tuple(lrs) if len(lrs) > 1 else lrs[0])
    return D.StudyResult(cfg, runs)


def test_best_lr_view_picks_each_strategys_lowest_final_loss_and_never_a_diverged_run():
    runs = [fake_run(8, "selu", 0.01, 0.3), fake_run(8, "selu", 0.05, None, diverged_at=5),
            fake_run(8, "relu_bn", 0.01, 2.1), fake_run(8, "relu_bn", 0.05, 0.9),
            fake_run(8, "relu", 0.01, None, diverged_at=3), fake_run(8, "relu", 0.05, None, diverged_at=9)]
    best = D.best_lr_view(fake_result(runs, (0.01, 0.05)))
    chosen = {r.strategy: r.lr for r in best.runs}
    assert chosen == {"selu": 0.01, "relu_bn": 0.05, "relu": 0.05}  # relu: the later divergence
    same = D.same_lr_view(fake_result(runs, (0.01, 0.05)), 0.05)
    assert {r.lr for r in same.runs} == {0.05} and len(same.runs) == 3
    with pytest.raises(ValueError, match="no runs at learning rate"):
        D.same_lr_view(fake_result(runs, (0.01, 0.05)), 0.3)


def test_statuses():
    assert fake_run(8, "selu", 0.01, 0.3).status == "trained"
    assert fake_run(8, "selu", 0.01, 2.0).status == "stalled"
    assert fake_run(8, "selu", 0.01, 9.0).status == "unstable"
    assert fake_run(8, "selu", 0.01, None, diverged_at=4).status == "diverged"


def test_reading_is_computed_from_the_numbers():
    a = fake_result([fake_run(8, "selu", 0.01, 0.30), fake_run(8, "relu_bn", 0.01, 0.50),
                     fake_run(32, "selu", 0.01, 0.25), fake_run(32, "relu_bn", 0.01, 2.10)])
    text = D.reading(a)
    assert "at depth 8 SELU + LeCun reached the lowest training loss, 0.3" in text
    assert "at depth 32 SELU + LeCun" in text
    assert "Stalled" in text and "ReLU + He + BatchNorm at depth 32" in text
    assert "lead grows with depth, from 0.2 at depth 8 to 1.85 at depth 32" in text
    assert "agrees with the paper" in text
    assert "the activation variance ranged: SELU + LeCun 1–1 at initialisation and 1–1 at step 20" in text

    b = fake_result([fake_run(8, "selu", 0.01, 0.60), fake_run(8, "relu_bn", 0.01, 0.40),
                     fake_run(32, "selu", 0.01, None, diverged_at=7), fake_run(32, "relu_bn", 0.01, 0.9)])
    text = D.reading(b)
    assert "at depth 8 ReLU + He + BatchNorm reached the lowest training loss, 0.4" in text
    assert "Diverged (NaN/inf loss): SELU + LeCun at depth 32 (step 7)" in text
    assert "Unlike the paper's Figure 1" in text and "try a sweep" in text
    assert text != D.reading(a)


def test_reading_of_a_sweep_names_the_rates_and_the_rate_dependent_verdict():
    runs = [fake_run(32, "selu", 0.01, 0.25), fake_run(32, "selu", 0.05, None, diverged_at=12),
            fake_run(32, "relu_bn", 0.01, 2.1), fake_run(32, "relu_bn", 0.05, 0.9)]
    text = D.reading(fake_result(runs, (0.01, 0.05)))
    assert "each strategy at its own best of the learning rates 0.01, 0.05" in text
    assert "SELU + LeCun (rate 0.01) reached the lowest training loss, 0.25" in text
    assert "SELU + LeCun at depth 32 at rate 0.05 (step 12)" in text
    assert "SELU + LeCun wins at 0.01, ReLU + He + BatchNorm wins at 0.05" in text
    assert D.reading(D.StudyResult(D.StudyConfig(), [])) == "No run has finished yet."


def test_tables_and_frames(data):
    result = D.run_study(tiny(strategies=("selu", "tanh"), lr=(0.01, 0.02)), data)
    table = D.summary_table(result)
    assert len(table) == 4 and {"depth", "strategy", "lr", "status", "final_loss", "test_accuracy",
                                "seconds"} <= set(table.columns)
    curves = D.curves_frame(result)
    assert len(curves) == 4 * 12 and curves["step"].min() == 1 and curves["step"].max() == 12
    csv = curves.to_csv(index=False)
    assert csv.splitlines()[0] == "arch,depth,strategy,label,lr,step,loss,diverged_at"
    stats = D.layer_stats_frame(result.runs[0])
    assert sorted(stats["step"].unique()) == [0, 4, 8, 12] and sorted(stats["layer"].unique()) == [1, 2, 3]
    record = result.runs[0].to_dict()
    assert set(record) >= {"arch", "depth", "strategy", "losses", "final_loss", "test_accuracy",
                           "layer_stats"}
    assert [s["layer"] for s in record["layer_stats"]] == [1, 2, 3]
    assert set(record["layer_stats"][0]) >= {"layer", "mean", "var", "grad_norm"}
    assert len(D.summary_table(result)) == 4


# --------------------------------------------------------------------------- charts


def test_charts_build_with_fixed_colours_and_a_variance_scale_centred_at_one(data):
    result = D.run_study(tiny(strategies=("selu", "relu_bn"), lr=(0.01, 10.0), depths=(2, 3)), data)
    curves, div = D.curves_frame(result), D.divergence_frame(result)
    spec = C.loss_small_multiples(curves, div, log_y=True).to_dict()
    assert spec["facet"]["column"]["field"] == "depth"
    color = spec["spec"]["layer"][0]["encoding"]["color"]["scale"]
    assert dict(zip(color["domain"], color["range"], strict=True)) == {
        "SELU + LeCun": COLORS["selu"], "ReLU + He + BatchNorm": D.STRATEGIES["relu_bn"].color}
    assert spec["spec"]["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"
    best = D.best_lr_view(result)
    C.lr_sweep_chart(D.summary_table(result)).to_dict()
    C.final_loss_by_depth(D.summary_table(best)).to_dict()
    stats = D.layer_stats_frame(result.runs[0])
    heat = C.layer_heatmap(stats, "var").to_dict()
    scale = heat["encoding"]["color"]["scale"]
    assert scale["type"] == "log" and scale["domainMid"] == 1
    assert scale["domain"][0] == pytest.approx(1 / scale["domain"][1])
    C.layer_profile_chart(stats, color=COLORS["selu"]).to_dict()
    mean = C.layer_heatmap(stats, "mean").to_dict()["encoding"]["color"]["scale"]
    assert mean["domainMid"] == 0 and mean["domain"][0] == -mean["domain"][1]
    assert C.layer_heatmap(stats, "grad_norm").to_dict()["encoding"]["color"]["scale"]["type"] == "log"
    with pytest.raises(ValueError, match="unknown quantity"):
        C.layer_heatmap(stats, "median")


def test_long_curves_are_thinned_below_the_altair_row_limit():
    n = 3000
    curves = pd.concat([pd.DataFrame({"arch": "mlp", "depth": 8, "strategy": s, "label": s, "lr": 0.01,
                                      "step": range(1, n + 1), "loss": 1.0}) for s in ("a", "b", "c")])
    thin = C.thin_curves(curves)
    assert len(thin) <= C.MAX_POINTS and thin["step"].max() == n
    assert C.thin_curves(curves.head(100)).equals(curves.head(100))


def count_layers(net: nn.Module, kind: type[nn.Module] | tuple[type[nn.Module], ...]) -> int:
    """How many sub-modules of ``net`` are instances of ``kind``."""
    return sum(isinstance(m, kind) for m in net.modules())


def test_one_strategy_gets_no_comparison_in_the_reading(data):
    text = D.reading(D.run_study(tiny(), data))
    assert "reached a training loss of" in text
    assert "lowest" not in text and "Figure 1" not in text  # nothing to compare it with
