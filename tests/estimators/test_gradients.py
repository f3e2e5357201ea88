"""Gradient estimators against exact gradients, finite differences and torch autograd."""

import numpy as np
import pytest
import torch

from pipeline.estimators import gradients, gumbel


def test_gaussian_estimators_are_unbiased_and_reparameterisation_is_tighter():
    fn = gradients.square(3.0)
    g = gradients.gaussian_gradients(fn, 1.0, 1.0, 40_000, np.random.default_rng(0))
    exact = fn.exact_grad_mu(1.0, 1.0)  # 2 (mu - 3) = -4
    assert exact == -4.0
    for samples in g.values():
        assert gradients.bias_variance(samples, exact)["bias_z"] < 4.5
    # Var of the reparameterised estimate 2 (z - 3) is 4 sigma^2 exactly
    assert np.var(g["reparameterization"]) == pytest.approx(4.0, rel=0.05)
    assert np.var(g["score_function"]) > 10 * np.var(g["reparameterization"])


def test_sine_exact_gradient_matches_finite_difference_of_the_expectation():
    fn, mu, sigma, h = gradients.sine(3.0), 0.4, 0.7, 1e-5
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)

    def expectation(m):
        return (weights * fn.f(m + sigma * nodes)).sum() / weights.sum()

    fd = (expectation(mu + h) - expectation(mu - h)) / (2 * h)
    assert fn.exact_grad_mu(mu, sigma) == pytest.approx(fd, rel=1e-6)


def test_exact_categorical_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(6)
    fn = gradients.linear_quadratic(rng.standard_normal(6), rng.standard_normal((6, 6)))
    values = fn.f(np.eye(6))

    def expectation(t):
        return gradients.softmax(t) @ values

    fd = np.array(
        [(expectation(theta + h) - expectation(theta - h)) / 2e-6 for h in 1e-6 * np.eye(6)]
    )
    assert np.allclose(gradients.exact_categorical_gradient(fn, theta), fd, atol=1e-7)


def test_relaxed_and_straight_through_gradients_match_autograd():
    rng = np.random.default_rng(1)
    theta, target = rng.standard_normal(5), rng.random(5)
    noise = gumbel.gumbel_noise(rng, (4, 5))
    fn, tau = gradients.squared_distance(target), 0.5
    t = torch.tensor(np.tile(theta, (4, 1)), requires_grad=True)
    soft = torch.softmax((t + torch.tensor(noise)) / tau, -1)
    ((soft - torch.tensor(target)) ** 2).sum().backward()
    ours_soft = gradients.relaxed_jacobian_product(
        gumbel.gumbel_softmax(theta, tau, noise),
        fn.grad(gumbel.gumbel_softmax(theta, tau, noise)),
        tau,
    )
    assert np.allclose(ours_soft, t.grad.numpy())
    t.grad = None
    soft = torch.softmax((t + torch.tensor(noise)) / tau, -1)
    hard = torch.nn.functional.one_hot(soft.argmax(-1), 5).double()
    ((hard - soft.detach() + soft - torch.tensor(target)) ** 2).sum().backward()
    y = gumbel.gumbel_softmax(theta, tau, noise)
    ours_st = gradients.relaxed_jacobian_product(y, fn.grad(gumbel.one_hot(y.argmax(1), 5)), tau)
    assert np.allclose(ours_st, t.grad.numpy())


def test_score_function_is_unbiased_and_gumbel_softmax_biased_at_high_tau():
    rng = np.random.default_rng(2)
    theta = rng.standard_normal(10)
    fn = gradients.squared_distance(rng.random(10))
    exact = gradients.exact_categorical_gradient(fn, theta)
    g = gradients.categorical_gradients(fn, theta, 30_000, (1.0,), 1.0, rng)
    assert gradients.bias_variance(g["score_function"], exact)["bias_z"] < 4.5
    assert gradients.bias_variance(g["score_function_baseline"], exact)["bias_z"] < 4.5
    assert gradients.bias_variance(g["gumbel_softmax_tau1"], exact)["bias_z"] > 10


def test_optimal_baseline_lowers_the_score_function_variance():
    rng = np.random.default_rng(3)
    theta = rng.standard_normal(10)
    fn = gradients.squared_distance(rng.random(10) + 2.0)  # large mean f: a baseline helps most
    g = gradients.categorical_gradients(fn, theta, 20_000, (), 1.0, rng)
    assert (
        np.var(g["score_function_baseline"], 0).sum() < 0.2 * np.var(g["score_function"], 0).sum()
    )


def test_bias_variance_by_hand():
    samples = np.array([[1.0, 0.0], [3.0, 0.0]])
    out = gradients.bias_variance(samples, np.array([2.0, 0.0]))
    assert out["bias"] == 0.0 and out["bias_z"] == 0.0
    assert out["variance"] == pytest.approx(2.0)  # ddof=1 variance of (1, 3)
    assert out["relative_variance"] == pytest.approx(0.5)
