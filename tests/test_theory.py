"""The paper's moment map, its Jacobian, fixed points, the SELU solver and AlphaDropout constants."""

import math

import numpy as np
import pytest

from selu_lab import theory
from selu_lab.activations import SELU_ALPHA, SELU_SCALE, get_activation
from selu_lab.moments import gaussian_moments


def test_map_at_paper_fixed_point_is_identity():
    mu, nu = theory.moment_map(0.0, 1.0, 0.0, 1.0, SELU_ALPHA, SELU_SCALE)
    assert abs(mu - 0.0) < 1e-9
    assert abs(nu - 1.0) < 1e-9


def test_jacobian_at_fixed_point_matches_paper():
    # Klambauer et al. 2017, appendix: J(0, 1) with ω = 0, τ = 1 has entries 0.0888 and 0.7826 and
    # spectral norm 0.7877 < 1 (the map contracts there).
    jac = theory.moment_map_jacobian(0.0, 1.0, 0.0, 1.0)
    assert jac.shape == (2, 2)
    assert jac[0, 0] == 0.0 and jac[1, 0] == 0.0
    assert jac[0, 1] == pytest.approx(0.088834755, abs=1e-8)
    assert jac[1, 1] == pytest.approx(0.782647883, abs=1e-8)
    assert theory.spectral_norm(jac) == pytest.approx(0.78767336, abs=1e-7)


@pytest.mark.parametrize(("mu", "nu", "omega", "tau", "alpha", "scale", "rate"), [
    (0.3, 1.2, 0.1, 1.05, SELU_ALPHA, SELU_SCALE, 1.0),
    (-0.5, 0.6, 0.2, 0.9, SELU_ALPHA, SELU_SCALE, 1.0),
    (2.0, 3.0, 0.5, 1.5, 1.3, 1.1, 1.0),
    (0.4, 0.8, -0.3, 1.2, 0.7, 1.0, 1 / 0.7),  # CELU-type rate
])
def test_analytic_jacobian_matches_central_differences(mu, nu, omega, tau, alpha, scale, rate):
    jac = theory.moment_map_jacobian(mu, nu, omega, tau, alpha, scale, rate)
    h = 1e-6
    num = np.empty((2, 2))

    def g(m, v):
        return np.array(theory.moment_map(m, v, omega, tau, alpha, scale, rate))

    num[:, 0] = (g(mu + h, nu) - g(mu - h, nu)) / (2 * h)
    num[:, 1] = (g(mu, nu + h) - g(mu, nu - h)) / (2 * h)
    np.testing.assert_allclose(jac, num, atol=1e-7)


@pytest.mark.parametrize(("name", "alpha"), [("selu", None), ("elu", 1.0), ("elu", 2.5), ("celu", 0.6)])
def test_map_agrees_with_gaussian_moments(name, alpha):
    act = get_activation(name, alpha)
    for mu, nu, omega, tau in [(0.0, 1.0, 0.0, 1.0), (0.7, 2.0, 0.4, 1.3), (-1.5, 0.3, 1.0, 0.8)]:
        m, v = theory.activation_map(act, mu, nu, omega, tau)
        ref = gaussian_moments(act, mu * omega, math.sqrt(nu * tau))
        assert m == pytest.approx(ref.mean, abs=1e-12)
        assert v == pytest.approx(ref.var, abs=1e-12)


def test_map_is_vectorised_and_stable_in_the_tails():
    mu = np.array([-50.0, 0.0, 50.0, 3.0])
    nu = np.array([1e-4, 1e4, 0.01, 200.0])
    m, v = theory.moment_map(mu, nu, 1.0, 1.0)
    assert np.all(np.isfinite(m)) and np.all(np.isfinite(v)) and np.all(v >= 0)
    # far below 0 the unit outputs its floor −λα; far above, λ·z
    assert m[0] == pytest.approx(-SELU_SCALE * SELU_ALPHA, rel=1e-9)
    assert m[2] == pytest.approx(SELU_SCALE * 50.0, rel=1e-9)


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"nu": 0.0}, "ν"), ({"nu": -1.0}, "ν"), ({"tau": 0.0}, "τ"), ({"alpha": -1.0}, "α"),
    ({"scale": math.nan}, "λ"),
])
def test_map_rejects_bad_arguments(kwargs, needle):
    args = {"mu": 0.0, "nu": 1.0, "omega": 0.0, "tau": 1.0, "alpha": SELU_ALPHA, "scale": SELU_SCALE}
    args.update(kwargs)
    with pytest.raises(ValueError, match=needle):
        theory.moment_map(**args)


def test_solver_returns_paper_constants():
    p = theory.solve_selu_parameters(0.0, 1.0)
    assert abs(p.alpha - SELU_ALPHA) < 1e-9
    assert abs(p.scale - SELU_SCALE) < 1e-9
    for weights in theory.WEIGHTS:  # every convention agrees for mean 0
        q = theory.solve_selu_parameters(0.0, 1.0, weights=weights)
        assert abs(q.alpha - SELU_ALPHA) < 1e-9 and abs(q.scale - SELU_SCALE) < 1e-9


@pytest.mark.parametrize(("mean", "var"), [(0.0, 0.5), (0.0, 2.0), (0.3, 1.0), (-0.3, 2.0), (0.1, 0.2)])
def test_solver_makes_the_target_a_fixed_point(mean, var):
    act_of = lambda p: get_activation("selu", p.alpha, p.scale)  # noqa: E731
    p = theory.solve_selu_parameters(mean, var, weights="random")
    m, v = theory.activation_map(act_of(p), mean, var, 0.0, 1.0, random_weights=True)
    assert m == pytest.approx(mean, abs=1e-10) and v == pytest.approx(var, abs=1e-10)
    p = theory.solve_selu_parameters(mean, var, weights="normalized")
    m, v = theory.moment_map(mean, var, 0.0, 1.0, p.alpha, p.scale)
    assert m == pytest.approx(mean, abs=1e-10) and v == pytest.approx(var, abs=1e-10)
    p = theory.solve_selu_parameters(mean, var, weights="paper_code")
    m, v = theory.moment_map(mean, var, 1.0, 1.0, p.alpha, p.scale)  # z ~ N(mean, var)
    assert m == pytest.approx(mean, abs=1e-10) and v == pytest.approx(var, abs=1e-10)


@pytest.mark.parametrize(("mean", "var", "needle"), [
    (0.0, 0.0, "variance must be > 0"), (0.0, -1.0, "variance must be > 0"),
    (math.nan, 1.0, "finite"), (3.0, 0.1, "no SELU parameters"),
])
def test_solver_failures_are_clear(mean, var, needle):
    with pytest.raises(ValueError, match=needle):
        theory.solve_selu_parameters(mean, var)
    with pytest.raises(ValueError, match="weights convention"):
        theory.solve_selu_parameters(0.0, 1.0, weights="nope")


def test_alpha_dropout_constants_match_torch_and_keep_moments():
    import torch

    rate = 0.2
    a, b = theory.alpha_dropout_constants(rate)
    # torch.nn.functional.alpha_dropout with the same mask: compare on a fixed input
    alpha_p = -SELU_SCALE * SELU_ALPHA
    q = 1 - rate
    assert a == pytest.approx((q + alpha_p**2 * q * (1 - q)) ** -0.5, rel=1e-12)
    assert b == pytest.approx(-a * (1 - q) * alpha_p, rel=1e-12)
    torch.manual_seed(0)
    x = torch.randn(400_000, dtype=torch.float64)
    y = torch.nn.functional.alpha_dropout(x, rate, training=True)
    kept = torch.isclose(y, a * x + b, rtol=0, atol=1e-9)
    dropped = torch.isclose(y, torch.tensor(a * alpha_p + b, dtype=torch.float64), rtol=0, atol=1e-9)
    assert bool((kept | dropped).all())
    assert float(dropped.double().mean()) == pytest.approx(rate, abs=0.005)
    # general fixed point: the moments after dropout equal the target
    for mean, var in [(0.0, 1.0), (0.5, 2.0)]:
        a, b = theory.alpha_dropout_constants(0.1, 1.3, 1.2, mean, var)
        m, v = theory.dropout_moments(mean, var, "alpha", 0.1, -1.3 * 1.2, a, b)
        assert m == pytest.approx(mean, abs=1e-12) and v == pytest.approx(var, abs=1e-12)
    assert theory.alpha_dropout_constants(0.0) == pytest.approx((1.0, 0.0))
    with pytest.raises(ValueError, match="rate"):
        theory.alpha_dropout_constants(1.0)


def test_fixed_points_and_trajectories():
    selu = get_activation("selu")
    fp = theory.fixed_point(selu, 0.0, 1.0)
    assert fp is not None and fp.stable
    assert fp.mu == pytest.approx(0.0, abs=1e-12) and fp.nu == pytest.approx(1.0, abs=1e-12)
    # gain 3/4 (τ = 9/16): the variance settles far below 1
    low = theory.fixed_point(selu, 0.0, 0.75**2)
    assert low is not None and low.nu < 0.05
    # ELU with LeCun: the variance decays towards 0, there is no fixed point with ν > 0
    assert theory.fixed_point(get_activation("elu"), 0.0, 1.0) is None
    # the map with ω ≠ 0 has its own fixed point, found from (0, 1)
    fp2 = theory.fixed_point(selu, 0.1, 1.1)
    assert fp2 is not None
    m, v = theory.moment_map(fp2.mu, fp2.nu, 0.1, 1.1)
    assert (m, v) == pytest.approx((fp2.mu, fp2.nu), abs=1e-10)
    path = theory.trajectory(selu, 1.0, 4.0, 40, 0.0, 1.0, random_weights=True)
    assert list(path.columns) == ["layer", "mean", "var"] and path["layer"].tolist() == list(range(1, 41))
    assert abs(path["mean"].iloc[-1]) < 1e-3 and abs(path["var"].iloc[-1] - 1) < 1e-3
    # pooled random weights: the input mean is carried into the variance at layer 1
    first = theory.activation_map(selu, 1.0, 4.0, 0.0, 1.0, random_weights=True)
    assert first == pytest.approx(theory.moment_map(0.0, 5.0, 0.0, 1.0))


def test_non_elu_activations_use_exact_gaussian_moments():
    relu = get_activation("relu")
    m, v = theory.activation_map(relu, 0.0, 1.0, 0.0, 2.0)  # He: z ~ N(0, 2)
    assert m == pytest.approx(math.sqrt(2) / math.sqrt(2 * math.pi), rel=1e-10)
    assert v + m * m == pytest.approx(1.0, rel=1e-10)
    jac = theory.activation_jacobian(get_activation("tanh"), 0.2, 1.0, 0.5, 1.0)
    assert jac.shape == (2, 2) and np.all(np.isfinite(jac))
    grid = theory.map_grid(get_activation("gelu"), np.array([0.0, 0.5]), np.array([0.5, 1.0]), 0.0, 1.0)
    assert len(grid) == 4 and grid["spectral_norm"].notna().all()


def test_init_moments():
    assert theory.init_moments("lecun", 256) == (0.0, pytest.approx(1.0))
    assert theory.init_moments("selu_gain", 256)[1] == pytest.approx(0.5625)
    assert theory.init_moments("he", 64)[1] == pytest.approx(2.0)
    assert theory.init_moments("xavier", 64)[1] == pytest.approx(1.0)
    assert theory.init_moments("pytorch", 64)[1] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="init"):
        theory.init_moments("nope", 8)


def test_plane_view_frames_the_start_and_the_fixed_point():
    from selu_lab.activations import get_activation

    grid, fixed, path = theory.plane_view(get_activation("selu"), 0.0, 1.0, 2.5, 4.0, 10)
    mu_star, nu_star, norm = fixed
    assert mu_star == pytest.approx(0.0, abs=1e-9) and nu_star == pytest.approx(1.0, abs=1e-9) and norm < 1
    assert grid["mu"].min() < 0 and grid["mu"].max() > 2.5 and grid["nu"].max() > 4.0  # start inside
    assert path["layer"].tolist() == list(range(1, 11))  # the iterates after each layer …
    assert abs(path["mean"].iloc[-1]) < abs(path["mean"].iloc[0]) < 2.5  # … on their way to (0, 1)
