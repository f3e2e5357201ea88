import math

import numpy as np
import ot
import pytest
import torch

from pipeline.images import metrics


def test_psnr_and_mse_by_hand():
    assert metrics.psnr(0.01) == pytest.approx(20.0)
    assert metrics.psnr(0.00158) == pytest.approx(28.013, abs=1e-3)
    x = torch.tensor([-1.0, 1.0])
    x_hat = torch.tensor([0.0, 3.0])  # clamped to 1: errors 0.5 and 0 in [0, 1] units
    assert metrics.mse01(x, x_hat) == pytest.approx(0.125)


def test_code_usage_by_hand():
    u = metrics.code_usage(np.array([0, 1, 2, 3]), 8)
    assert u["perplexity"] == pytest.approx(4.0) and u["codes_used"] == 0.5
    u = metrics.code_usage(np.array([5, 5, 5]), 8)
    assert u["perplexity"] == pytest.approx(1.0) and u["codes_used"] == 1 / 8


def test_frechet_distance_against_an_eigenvalue_formula(rng):
    a = rng.normal(size=(400, 3)) @ np.diag([1.0, 2.0, 0.5])
    b = rng.normal(size=(300, 3)) + [1.0, 0.0, -1.0]
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr sqrt(Sa Sb) = sum sqrt(eigenvalues of Sa Sb) (real, non-negative for SPD Sa, Sb)
    tr_sqrt = np.sqrt(np.linalg.eigvals(sa @ sb).real).sum()
    d = a.mean(0) - b.mean(0)
    expected = d @ d + np.trace(sa) + np.trace(sb) - 2 * tr_sqrt
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    dead = np.c_[a, np.zeros(len(a))]  # a dead ReLU feature: singular covariance, still finite
    assert np.isfinite(metrics.frechet_distance(dead, np.c_[b, np.zeros(len(b))]))


def test_sliced_wasserstein_is_pots(rng):
    a, b = rng.random((50, 2, 2)), rng.random((60, 2, 2)) + 0.3
    expected = ot.sliced_wasserstein_distance(
        a.reshape(50, -1), b.reshape(60, -1), n_projections=50, seed=4
    )
    assert metrics.sliced_wasserstein(a, b, 50, 4) == pytest.approx(expected)
    assert metrics.sliced_wasserstein(a, a, 50, 4) == pytest.approx(0.0, abs=1e-12)


def test_discretized_gaussian_bits_by_hand():
    sigma, half = 0.05, 1 / 255
    x = torch.tensor([0.2, 1.0])  # an interior bin and the top edge bin
    mean = torch.tensor([0.21, 0.98])

    def cdf(v):
        return 0.5 * (1 + math.erf(v / math.sqrt(2)))

    p_mid = cdf((0.2 + half - 0.21) / sigma) - cdf((0.2 - half - 0.21) / sigma)
    p_top = 1 - cdf((1.0 - half - 0.98) / sigma)
    expected = -(math.log2(p_mid) + math.log2(p_top)) / 2
    assert metrics.discretized_gaussian_bits(x, mean, sigma) == pytest.approx(expected, rel=1e-4)
