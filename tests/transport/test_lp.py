"""The post's LP and its dual against hand-computed values, POT and scipy; bad input."""

import numpy as np
import ot
import pytest
import scipy.stats

from pipeline.transport import lp


def test_marginal_matrix_is_the_posts_A():
    a = lp.marginal_matrix(2, 3, dense=True)
    # Gamma row-major: [g00 g01 g02 g10 g11 g12]; rows 0-1 sum over y, rows 2-4 sum over x
    expected = np.array(
        [
            [1, 1, 1, 0, 0, 0],
            [0, 0, 0, 1, 1, 1],
            [1, 0, 0, 1, 0, 0],
            [0, 1, 0, 0, 1, 0],
            [0, 0, 1, 0, 0, 1],
        ]
    )
    np.testing.assert_array_equal(a, expected)
    np.testing.assert_array_equal(lp.marginal_matrix(2, 3).toarray(), expected)


def test_two_point_problem_by_hand():
    # p = (1/2, 1/2) at 0, 1; q = all mass at 1: half the mass moves distance 1
    x, y = np.array([0.0, 1.0]), np.array([1.0])
    cost = np.abs(x[:, None] - y[None])
    primal, dual = lp.primal([0.5, 0.5], [1.0], cost), lp.dual([0.5, 0.5], [1.0], cost)
    assert primal.value == pytest.approx(0.5, abs=1e-12)
    assert dual.value == pytest.approx(0.5, abs=1e-12)
    np.testing.assert_allclose(primal.x, [[0.5], [0.5]], atol=1e-12)
    f, g = dual.x[:2], dual.x[2:]
    assert (f[:, None] + g[None] <= cost + 1e-12).all()


@pytest.mark.parametrize("dim,rho", [(1, 1), (1, 2), (2, 1), (2, 2)])
def test_primal_equals_dual_and_pot(dim, rho):
    rng = np.random.default_rng(dim * 10 + rho)
    n = 30
    x, y = rng.normal(size=(n, dim)), rng.normal(size=(n, dim)) + 0.3
    p, q = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
    cost = np.linalg.norm(x[:, None] - y[None], axis=-1) ** rho
    scale = cost.max()
    primal, dual = lp.primal(p, q, cost), lp.dual(p, q, cost)
    assert abs(primal.value - dual.value) < 1e-7 * scale
    assert abs(primal.value - ot.emd2(p, q, cost)) < 1e-7 * scale
    np.testing.assert_allclose(primal.x.sum(1), p, atol=1e-9)
    np.testing.assert_allclose(primal.x.sum(0), q, atol=1e-9)
    if dim == 1 and rho == 1:
        closed = scipy.stats.wasserstein_distance(x[:, 0], y[:, 0], p, q)
        assert abs(primal.value - closed) < 1e-7 * scale
    # the dense A gives the same optimum
    assert lp.primal(p, q, cost, dense=True).value == pytest.approx(primal.value, abs=1e-9 * scale)


def test_projection_makes_any_point_feasible_and_weakly_dual():
    rng = np.random.default_rng(0)
    n = 8
    cost = rng.random((n, n))
    p, q = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
    best = lp.primal(p, q, cost).value
    for _ in range(50):
        f_g = lp.project_feasible(rng.normal(size=n), rng.normal(size=n), cost)
        f, g = f_g[:n], f_g[n:]
        assert (f[:, None] + g[None] <= cost + 1e-12).all()
        assert p @ f + q @ g <= best + 1e-12


def test_restriction_equal_for_metric_and_strictly_smaller_for_squared_cost():
    pts = np.array([[0.0], [1.0], [2.0]])
    p, q = np.array([1.0, 0, 0]), np.array([0, 0, 1.0])
    metric = np.abs(pts - pts.T)
    assert lp.restricted_dual(p, q, metric).value == pytest.approx(2.0, abs=1e-9)
    assert lp.dual(p, q, metric).value == pytest.approx(2.0, abs=1e-9)
    squared = metric**2
    assert lp.dual(p, q, squared).value == pytest.approx(4.0, abs=1e-9)
    assert lp.restricted_dual(p, q, squared).value == pytest.approx(2.0, abs=1e-9)


def test_restricted_potential_is_one_lipschitz():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(20, 2))
    cost = np.linalg.norm(z[:, None] - z[None], axis=-1)
    p, q = rng.dirichlet(np.ones(20)), rng.dirichlet(np.ones(20))
    res = lp.restricted_dual(p, q, cost)
    assert res.value == pytest.approx(lp.dual(p, q, cost).value, abs=1e-8 * cost.max())
    assert lp.lipschitz_constant(res.x, z) <= 1 + 1e-7


GOOD = dict(p=[0.5, 0.5], q=[0.25, 0.75], cost=[[0.0, 1.0], [1.0, 0.0]])


@pytest.mark.parametrize(
    "change,match",
    [
        (dict(p=[1.5, -0.5]), "must be >= 0"),
        (dict(p=[0.5, 0.6]), "sum to"),
        (dict(cost=[[0.0, 1.0, 2.0], [1.0, 0.0, 2.0]]), "shape"),
        (dict(p=[], cost=np.zeros((0, 2))), "empty support"),
        (dict(cost=[[0.0, np.nan], [1.0, 0.0]]), "NaN"),
        (dict(q=[[0.25, 0.75]]), "1-D"),
    ],
)
@pytest.mark.parametrize("solver", [lp.primal, lp.dual, lp.restricted_dual])
def test_bad_input_is_a_clear_error(change, match, solver):
    args = {**GOOD, **change}
    with pytest.raises(ValueError, match=match):
        solver(args["p"], args["q"], args["cost"])


def test_restriction_needs_a_common_support():
    with pytest.raises(ValueError, match="common support"):
        lp.restricted_dual([0.5, 0.5], [1.0], [[0.0], [1.0]])
