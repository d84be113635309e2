"""The seed's CNN: shape, parameters, pool-first equivalence, inits, dropout, seeding."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from bench.train_seed_pipeline import SeedCNN as LiteralSeedCNN  # the seed script's model, verbatim
from selu_lab.models import (
    MONOTONE_ACTIVATIONS,
    TRAIN_FLOPS_PER_IMAGE,
    SeededDropout,
    build_cnn,
    count_parameters,
)


def test_shape_and_parameter_count() -> None:
    model = build_cnn()
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert count_parameters(model) == 421_642
    assert set(model.state_dict()) == {f"{m}.{p}" for m in ("conv1", "conv2", "fc1", "fc2")
                                       for p in ("weight", "bias")}
    assert 25e6 <= TRAIN_FLOPS_PER_IMAGE <= 26e6  # "≈ 25 MFLOP per training image"


def test_same_weights_and_outputs_as_the_seed_script() -> None:
    torch.manual_seed(7)
    seed = LiteralSeedCNN()
    ours = build_cnn(seed=7)
    for key, value in seed.state_dict().items():
        assert torch.equal(value, ours.state_dict()[key]), key
    x = torch.rand(5, 1, 28, 28)
    assert torch.allclose(seed(x), ours(x), atol=1e-6)


def test_seeded_build_leaves_the_global_rng_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_cnn(seed=5, init="lecun")
    assert torch.equal(torch.rand(3), expected)
    a, b = build_cnn(seed=5), build_cnn(seed=5)
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    c = build_cnn(seed=6)
    assert not torch.equal(a.conv1.weight, c.conv1.weight)


@pytest.mark.parametrize("activation", sorted(MONOTONE_ACTIVATIONS))
def test_pool_first_gives_the_same_values_and_gradients(activation: str) -> None:
    x = torch.randn(4, 1, 28, 28)
    y = torch.tensor([0, 3, 5, 9])
    models = [build_cnn(activation, seed=1, pool_first=flag) for flag in (True, False)]
    assert models[0].pool_first and not models[1].pool_first
    outs, grads = [], []
    for model in models:
        out = model(x)
        F.cross_entropy(out, y).backward()
        outs.append(out.detach())
        grads.append([p.grad.clone() for p in model.parameters()])
    assert torch.allclose(outs[0], outs[1], rtol=1e-5, atol=1e-6)
    for g0, g1 in zip(*grads, strict=True):
        assert torch.allclose(g0, g1, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("activation", ["gelu", "silu"])
def test_non_monotone_activations_keep_the_seed_order(activation: str) -> None:
    assert not build_cnn(activation).pool_first


def test_lecun_init_is_self_normalising() -> None:
    model = build_cnn(init="lecun", seed=0)
    for layer in (model.conv2, model.fc1):
        fan_in = layer.weight[0].numel()
        assert layer.weight.std().item() == pytest.approx(1 / math.sqrt(fan_in), rel=0.05)
        assert torch.count_nonzero(layer.bias) == 0
    # the PyTorch default (the seed) is U(±1/√fan_in): std 1/√(3·fan_in), non-zero biases
    default = build_cnn(seed=0)
    fan_in = default.fc1.weight.shape[1]
    assert default.fc1.weight.std().item() == pytest.approx(1 / math.sqrt(3 * fan_in), rel=0.05)


def test_activation_choice_reaches_the_model() -> None:
    assert isinstance(build_cnn("elu", alpha=0.5).act, nn.ELU)
    assert build_cnn("elu", alpha=0.5).act.alpha == 0.5
    assert isinstance(build_cnn("relu").act, nn.ReLU)
    assert isinstance(build_cnn().act, nn.SELU)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"activation": "swish"}, "unknown activation"),
    ({"init": "orthogonal"}, "unknown init"),
    ({"dropout": "spatial"}, "unknown dropout"),
    ({"dropout": "alpha", "dropout_rate": 1.0}, "dropout_rate"),
    ({"activation": "relu", "alpha": 0.1}, "no α"),
])
def test_bad_settings_raise_value_error(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build_cnn(**kwargs)


def test_alpha_dropout_keeps_mean_and_variance() -> None:
    drop = SeededDropout(0.2, alpha=True)
    drop.generator = torch.Generator().manual_seed(0)
    z = torch.randn(400_000, generator=torch.Generator().manual_seed(1))
    out = drop(z)
    assert out.mean().item() == pytest.approx(0.0, abs=0.01)
    assert out.var().item() == pytest.approx(1.0, abs=0.01)
    a = 1 / math.sqrt((1.7580993408473766**2 * 0.2 + 1) * 0.8)
    dropped = a * -1.7580993408473766 + a * 1.7580993408473766 * 0.2  # every dropped unit has this value
    assert torch.isclose(out, torch.tensor(dropped)).float().mean().item() == pytest.approx(0.2, abs=0.01)
    drop.eval()
    assert torch.equal(drop(z), z)


def test_standard_dropout_and_its_generator() -> None:
    drop = SeededDropout(0.5, alpha=False)
    z = torch.ones(10_000)
    drop.generator = torch.Generator().manual_seed(3)
    a = drop(z)
    drop.generator = torch.Generator().manual_seed(3)
    assert torch.equal(a, drop(z))
    assert set(a.unique().tolist()) == {0.0, 2.0}


def test_dropout_sits_before_the_last_layer() -> None:
    model = build_cnn(dropout="alpha", dropout_rate=0.1)
    assert isinstance(model.dropout, SeededDropout) and model.dropout.alpha
    assert isinstance(build_cnn().dropout, nn.Identity)


def test_standardisation_is_applied_inside() -> None:
    plain = build_cnn(seed=2)
    std = build_cnn(seed=2, standardize=True)
    x = torch.rand(2, 1, 28, 28)
    assert torch.allclose(std(x), plain((x - 0.1307) / 0.3081), atol=1e-6)





def test_channels_last_model_matches_the_plain_one() -> None:
    """The CPU fast path (channels-last weights and inputs, own flatten) changes no value."""
    plain = build_cnn(seed=4)
    fast = build_cnn(seed=4).to(memory_format=torch.channels_last)
    x = torch.rand(6, 1, 28, 28)
    y = torch.tensor([1, 2, 3, 4, 5, 6])
    outs = []
    for model, inp in ((plain, x), (fast, x.contiguous(memory_format=torch.channels_last))):
        out = model(inp)
        F.cross_entropy(out, y).backward()
        outs.append(out.detach())
    assert torch.allclose(outs[0], outs[1], atol=1e-5)
    for (name, p0), p1 in zip(plain.named_parameters(), fast.parameters(), strict=True):
        assert torch.allclose(p0.grad, p1.grad, rtol=1e-4, atol=1e-6), name
    assert fast.conv2.weight.grad.is_contiguous(memory_format=torch.channels_last)
