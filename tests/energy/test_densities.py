"""Exact references of E3.1 / E3.2 against values computed by hand."""

import math

import numpy as np
import pytest
import scipy.stats

from pipeline.energy.densities import Mixture2D, Quartic, chain_stationary_statistic, known_density


@pytest.mark.parametrize("eps", [0.1, 0.01])
def test_discrete_chain_bias_of_the_gaussian_is_closed_form(eps):
    # x' = (1 - eps/2) x + sqrt(eps) a  has stationary variance eps / (1 - (1 - eps/2)^2) = 1 / (1 - eps/4)
    got = chain_stationary_statistic(known_density("gaussian"), eps)
    assert got == pytest.approx(1 / (1 - eps / 4), rel=1e-8)


def test_quartic_moments_and_sampler():
    assert known_density("gaussian").moment(2) == pytest.approx(1.0, rel=1e-9)
    assert known_density("gaussian").moment(4) == pytest.approx(3.0, rel=1e-9)
    q = Quartic(-1.0, 0.5)
    x = q.sample(20_000, np.random.default_rng(0))
    assert scipy.stats.kstest(x[:, 0], q.cdf).pvalue > 1e-3
    assert (x[:, 0] ** 2).mean() == pytest.approx(q.moment(2), rel=0.03)


def test_quartic_refuses_an_unnormalisable_energy():
    with pytest.raises(ValueError, match="not normalisable"):
        Quartic(1.0, -0.1)


def test_mixture_reference():
    m = Mixture2D()
    w = np.array(m.weights) / sum(m.weights)
    assert m.exact_statistic() == pytest.approx(
        float(w @ (np.array(m.means) ** 2).sum(1)) + 2 * 0.25
    )
    x = m.sample(20_000, np.random.default_rng(1))
    assert scipy.stats.kstest(m.projection(x), m.cdf).pvalue > 1e-3
    assert m.cdf(np.array([-math.inf, math.inf])) == pytest.approx([0.0, 1.0], abs=1e-12)


def test_unknown_density_names_the_key():
    with pytest.raises(ValueError, match=r"energy\.langevin_densities\.densities: 'banana'"):
        known_density("banana")
