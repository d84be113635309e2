"""Values and closed-form derivatives against torch (and autograd)."""

import warnings

import numpy as np
import pytest
import torch

from selu_lab.activations import (
    NAMES,
    SELU_ALPHA,
    SELU_SCALE,
    ActivationError,
    get_activation,
)

XS = np.concatenate([np.linspace(-12, 12, 481), [-1e-9, 1e-9, -700.0, 700.0]])
XS = XS[XS != 0.0]  # kinks: checked separately through the one-sided derivatives

CASES = [(n, {}) for n in NAMES] + [
    ("elu", {"alpha": 2.5}), ("elu", {"alpha": 0.3}), ("celu", {"alpha": 2.0}),
    ("leaky_relu", {"alpha": 0.2}), ("selu", {"alpha": 1.2, "scale": 1.3}),
]


@pytest.mark.parametrize(("name", "params"), CASES)
def test_values_and_derivatives_match_torch_autograd(name, params):
    act = get_activation(name, **params)
    x = torch.tensor(XS, dtype=torch.float64, requires_grad=True)
    y = act.torch_module()(x) if name != "gelu" else torch.nn.functional.gelu(x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    np.testing.assert_allclose(act.value(XS), y.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(act.derivative(XS), grad.numpy(), rtol=1e-10, atol=1e-12)
    # the functional form used by the stacks agrees with the module
    np.testing.assert_allclose(act.torch_fn(x).detach().numpy(), y.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_selu_constants_at_full_double_precision():
    assert SELU_ALPHA == 1.6732632423543772848170429916717
    assert SELU_SCALE == 1.0507009873554804934193349852946
    assert isinstance(get_activation("selu").torch_module(), torch.nn.SELU)
    x = torch.linspace(-5, 5, 101, dtype=torch.float64)
    custom = get_activation("selu", alpha=SELU_ALPHA * (1 + 1e-15), scale=SELU_SCALE)
    torch.testing.assert_close(custom.torch_module()(x), torch.selu(x), rtol=1e-12, atol=1e-12)


def test_extreme_inputs_are_finite_without_warnings():
    x = np.array([-1e300, -1e6, -800.0, 800.0, 1e6, 1e300])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in NAMES:
            act = get_activation(name)
            v, d = act.value(x), act.derivative(x)
            assert np.all(np.isfinite(v[1:-1])) and np.all(np.isfinite(d)), name
    selu = get_activation("selu")
    assert selu.value(np.array([-1e6]))[0] == pytest.approx(-SELU_SCALE * SELU_ALPHA)
    assert selu.derivative(np.array([-1e6]))[0] == 0.0


def test_one_sided_derivatives_at_zero():
    selu = get_activation("selu")
    assert selu.one_sided_derivatives_at_0() == pytest.approx((SELU_SCALE * SELU_ALPHA, SELU_SCALE))
    assert get_activation("elu").one_sided_derivatives_at_0() == (1.0, 1.0)
    assert get_activation("elu", alpha=2.0).one_sided_derivatives_at_0() == (2.0, 1.0)
    assert get_activation("relu").one_sided_derivatives_at_0() == (0.0, 1.0)
    # numerically: finite differences on each side
    for name in NAMES:
        act = get_activation(name)
        h = 1e-7
        left = (act.value(np.array(0.0)) - act.value(np.array(-h))) / h
        right = (act.value(np.array(h)) - act.value(np.array(0.0))) / h
        assert (left, right) == pytest.approx(act.one_sided_derivatives_at_0(), abs=1e-5), name


def test_limits_and_minima():
    assert get_activation("selu").limit_at_minus_infinity() == pytest.approx(-1.7580993408473766)
    assert get_activation("elu", alpha=2).limit_at_minus_infinity() == -2.0
    assert get_activation("leaky_relu").limit_at_minus_infinity() == -np.inf
    low, at = get_activation("gelu").minimum()
    assert at == pytest.approx(-0.7517915, abs=1e-6) and low == pytest.approx(-0.1699712, abs=1e-6)
    low, at = get_activation("silu").minimum()
    assert at == pytest.approx(-1.2784645, abs=1e-6) and low == pytest.approx(-0.2784645, abs=1e-6)
    assert get_activation("elu").minimum() == (-1.0, None)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [("swish2", {}, "unknown activation"), ("relu", {"alpha": 1.0}, "no α"),
     ("elu", {"scale": 1.0}, "no λ"), ("elu", {"alpha": float("nan")}, "finite"),
     ("selu", {"scale": 0.0}, "λ must be")],
)
def test_bad_parameters_name_what_to_fix(name, params, message):
    with pytest.raises(ActivationError, match=message):
        get_activation(name, **params)


def test_coinciding_points_share_one_label():
    from selu_lab.charts.activations import point_labels
    from selu_lab.facts import facts_frame

    facts = facts_frame([get_activation(n) for n in ("selu", "elu", "celu", "relu", "leaky_relu")])
    labels = point_labels(facts)
    assert labels["text"].tolist() == ["SELU", "ELU, CELU", "ReLU, Leaky ReLU"]  # CELU(α=1) = ELU


def test_the_moments_chart_widens_its_axes_to_hold_every_point():
    from selu_lab.charts.activations import moments_chart
    from selu_lab.facts import facts_frame

    facts = facts_frame([get_activation("selu", alpha=2.7421, scale=1.0507)])  # mean −0.27, var 1.68
    spec = moments_chart(facts)
    x = spec["layer"][1]["encoding"]["x"]["scale"]["domain"]
    y = spec["layer"][1]["encoding"]["y"]["scale"]["domain"]
    assert x[0] <= facts["mean_N01"].iloc[0] and y[1] >= facts["var_N01"].iloc[0]
    assert moments_chart(facts_frame([get_activation("selu")]))["layer"][1]["encoding"]["x"]["scale"][
        "domain"] == [-0.1, 0.5]  # the usual view is unchanged
    assert get_activation("leaky_relu", alpha=0.2).label == "Leaky ReLU (slope=0.2)"
