"""Gumbel-max, Gumbel-softmax and the post's integral, against values computed by hand."""

import numpy as np
import pytest
from scipy import stats

from pipeline.estimators import gumbel


def test_gumbel_max_frequencies_match_p():
    p = np.array([0.6, 0.3, 0.07, 0.03])
    n = 40_000
    counts = np.bincount(
        gumbel.gumbel_max(p, n, np.random.default_rng(0), chunk=7_000), minlength=4
    )
    z = np.abs(counts / n - p) / np.sqrt(p * (1 - p) / n)
    assert z.max() < 4.5
    assert stats.chisquare(counts, p * n).pvalue > 1e-3


def test_gumbel_max_never_picks_a_zero_probability():
    draws = gumbel.gumbel_max([0.5, 0.0, 0.5], 5_000, np.random.default_rng(1))
    assert set(np.unique(draws)) == {0, 2}


def test_same_seed_same_draws():
    a = gumbel.gumbel_max([0.2, 0.8], 100, np.random.default_rng(3))
    b = gumbel.gumbel_max([0.2, 0.8], 100, np.random.default_rng(3))
    assert np.array_equal(a, b)


@pytest.mark.parametrize("p_i", [0.5, 0.1, 1e-3, 4e-7])
def test_integral_of_eps_power_equals_p(p_i):
    value, _ = gumbel.max_probability_integral(p_i)
    assert value == pytest.approx(p_i, rel=1e-8)


def test_gumbel_softmax_is_a_distribution_with_the_gumbel_max_argmax():
    rng = np.random.default_rng(0)
    logits, noise = np.log([0.5, 0.3, 0.2]), gumbel.gumbel_noise(rng, (1000, 3))
    for tau in (5.0, 1.0, 0.01):
        y = gumbel.gumbel_softmax(logits, tau, noise)
        assert np.allclose(y.sum(1), 1.0)
        assert np.array_equal(y.argmax(1), (logits + noise).argmax(1))
    assert gumbel.gumbel_softmax(logits, 0.01, noise).max(1).mean() > 0.97


def test_two_class_relaxed_mean_by_quadrature_matches_monte_carlo():
    rng = np.random.default_rng(2)
    noise = gumbel.gumbel_noise(rng, (50_000, 2))
    mc = gumbel.gumbel_softmax(np.log([0.7, 0.3]), 1.0, noise)[:, 0]
    exact = gumbel.relaxed_mean_two_classes(0.7, 1.0)
    assert abs(mc.mean() - exact) < 4 * mc.std() / np.sqrt(len(mc))
    assert exact < 0.7  # the relaxation is pulled towards uniform: a bias, not an exact sample
    assert abs(gumbel.relaxed_mean_two_classes(0.7, 0.01) - 0.7) < 1e-4


@pytest.mark.parametrize("p, match", [([0.5, 0.6], "sum to 1"), ([1.2, -0.2], ">= 0"), ([1.0], "at least 2"),
                                      ([0.5, np.nan], ">= 0")])  # fmt: skip
def test_bad_probability_vectors(p, match):
    with pytest.raises(ValueError, match=match):
        gumbel.check_probabilities(p, "estimators.gumbel_softmax.probabilities")


@pytest.mark.parametrize("tau", [0.0, -1.0, float("nan")])
def test_bad_temperature(tau):
    with pytest.raises(ValueError, match=r"estimators.discrete.taus.*> 0"):
        gumbel.check_tau(tau, "estimators.discrete.taus")


@pytest.mark.parametrize("n", [0, -5, 2.5])
def test_bad_sample_count(n):
    with pytest.raises(ValueError, match="n_samples.*>= 1"):
        gumbel.gumbel_max([0.5, 0.5], n, np.random.default_rng(0))
