import numpy as np
import pytest

from pipeline.em.newton import (
    FUNCTIONS,
    QUARTIC_CRITICAL,
    derivatives,
    gradient_descent,
    newton,
    tangent_parabolas,
)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_autograd_derivatives_equal_hand_derivatives(name):
    x = np.array([0.7, -0.4])[: 1 if name in ("quartic", "log_cosh") else 2]
    f_np, g_np, h_np = derivatives(FUNCTIONS[name], x, "numpy")
    f_t, g_t, h_t = derivatives(FUNCTIONS[name], x, "torch")
    assert f_np == pytest.approx(f_t, abs=1e-14)
    np.testing.assert_allclose(g_np, g_t, atol=1e-12)
    np.testing.assert_allclose(h_np, h_t, atol=1e-12)


def test_quartic_critical_points_by_hand():
    # f'(x) = 4x³ − 6x + 1 = 0; f'' = 12x² − 6 is positive at both ends and negative in the middle.
    crit = np.array(QUARTIC_CRITICAL)
    np.testing.assert_allclose(4 * crit**3 - 6 * crit + 1, 0, atol=1e-12)
    assert list(np.sign(12 * crit**2 - 6)) == [1, -1, 1]


def test_newton_converges_quadratically_near_a_minimum():
    path = newton(FUNCTIONS["quartic"], [-2.0])
    err = np.abs(path[:, 0] - QUARTIC_CRITICAL[0])
    assert path[-1, -1] < 1e-10 and len(path) <= 8
    tail = err[(err > 1e-13) & (err < 0.1)]
    ratios = tail[1:] / tail[:-1] ** 2  # e_{n+1} / e_n² stays bounded (≈ f'''/(2f''))
    assert len(ratios) >= 2 and np.all(ratios < 5)
    assert np.all(tail[1:] < tail[:-1] ** 1.8)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_newton_goes_to_the_local_maximum_when_f2_negative(backend):
    x0 = 0.3  # f''(0.3) = 12·0.09 − 6 < 0
    path = newton(FUNCTIONS["quartic"], [x0], backend=backend)
    assert path[-1, 0] == pytest.approx(QUARTIC_CRITICAL[1], abs=1e-12)
    assert path[-1, 1] > path[0, 1]  # it climbed


def test_gradient_descent_always_descends():
    for x0 in (-2.0, 0.3, 0.17, 1.8):
        path = gradient_descent(FUNCTIONS["quartic"], [x0], step=0.01, max_iter=5000)
        # f never rises, up to the rounding of f's terms (x⁴ and 3x² are ≈ 4: ulp ≈ 9e-16).
        assert np.all(np.diff(path[:, 1]) <= 4e-15)
        assert path[-1, 0] == pytest.approx(
            min(QUARTIC_CRITICAL[::2], key=lambda c: abs(c - path[-1, 0])), abs=1e-9
        )


@pytest.mark.parametrize(
    "name,x0,step", [("rosenbrock", [-1.2, 1.0], 1e-3), ("ill_quadratic", [1.0, 1.0], 0.009)]
)
def test_newton_needs_far_fewer_iterations_than_gradient_descent(name, x0, step):
    fn = FUNCTIONS[name]
    nt = newton(fn, x0)
    gd = gradient_descent(fn, x0, step=step, max_iter=20000)
    np.testing.assert_allclose(nt[-1, : len(x0)], fn.minimum, atol=1e-8)
    assert np.all(np.diff(gd[:, -2]) <= 0)
    assert len(nt) < 10 < len(gd)


def test_gradient_descent_surrogate_is_convex_newton_may_not_be():
    grid = np.linspace(-1, 1, 5)
    newton_g, gd_g = tangent_parabolas(FUNCTIONS["quartic"], 0.0, 0.1, grid)
    assert np.all(np.diff(gd_g, 2) > 0) and np.all(np.diff(newton_g, 2) < 0)
    assert newton_g[2] == gd_g[2] == 0.0  # both touch f at x_n = 0


def test_bad_step():
    with pytest.raises(ValueError, match="step=0"):
        gradient_descent(FUNCTIONS["quartic"], [0.0], step=0)
