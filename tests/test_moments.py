"""Gaussian moments: exact values, Monte Carlo cross-check, edge cases."""

import warnings

import numpy as np
import pytest

from selu_lab.activations import NAMES, get_activation
from selu_lab.moments import gaussian_moments


def test_selu_maps_standard_normal_to_itself():
    m = gaussian_moments(get_activation("selu"), 0.0, 1.0)
    assert abs(m.mean) < 1e-9
    assert abs(m.var - 1.0) < 1e-9


def test_relu_closed_form():
    m = gaussian_moments(get_activation("relu"), 0.0, 1.0)
    assert m.mean == pytest.approx(1 / np.sqrt(2 * np.pi), abs=1e-14)
    assert m.var == pytest.approx(0.5 - 1 / (2 * np.pi), abs=1e-14)


def test_tanh_is_odd_so_its_mean_is_zero():
    assert abs(gaussian_moments(get_activation("tanh"), 0.0, 2.0).mean) < 1e-12


@pytest.mark.parametrize(("mu", "sigma"), [(0.0, 1.0), (0.7, 0.5), (-1.2, 2.0), (1.0, 2.0)])
@pytest.mark.parametrize("name", NAMES)
def test_closed_forms_agree_with_quadrature_and_monte_carlo(name, mu, sigma):
    act = get_activation(name)
    m = gaussian_moments(act, mu, sigma)
    # quadrature on a very fine grid: accurate far beyond Monte Carlo
    t = np.linspace(-12, 12, 400_001)
    w = np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi) * (t[1] - t[0])
    f = act.value(mu + sigma * t)
    mean = float(np.sum(f * w))
    var = float(np.sum(f * f * w)) - mean**2
    assert m.mean == pytest.approx(mean, abs=1e-8)
    assert m.var == pytest.approx(var, abs=1e-8)
    # Monte Carlo (cross-check only, loose)
    z = np.random.default_rng(0).normal(mu, sigma, 400_000)
    fz = act.value(z)
    assert m.mean == pytest.approx(fz.mean(), abs=5 * fz.std() / np.sqrt(z.size))


def test_degenerate_and_wide_inputs():
    selu = get_activation("selu")
    assert gaussian_moments(selu, 1.5, 0.0).mean == pytest.approx(1.5 * selu.scale)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = gaussian_moments(selu, -3.0, 40.0)
    assert np.isfinite(m.mean) and np.isfinite(m.var)
    with pytest.raises(ValueError, match="std"):
        gaussian_moments(selu, 0.0, -1.0)
