"""The sampler: both update rules by hand, and the bad inputs of issue 13."""

import math

import pytest
import torch

from pipeline.energy.langevin import (
    LangevinConfig,
    NonFiniteEnergyError,
    energy_grad,
    langevin,
    langevin_step,
)


def quadratic(x):
    return 0.5 * (x**2).sum(1)


def test_post_rule_by_hand():
    eps = 0.04
    cfg = LangevinConfig(rule="post", step_size=eps, grad_clip=None, clamp=None, steps=1)
    x = torch.tensor([[1.0, -2.0], [0.5, 0.0]], dtype=torch.float64)
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    got = langevin_step(quadratic, x, cfg, torch.Generator().manual_seed(3))
    # grad of x^2/2 is x: x - eps/2 x + sqrt(eps) noise
    torch.testing.assert_close(got, x - 0.5 * eps * x + math.sqrt(eps) * noise)


def test_official_rule_by_hand():
    cfg = LangevinConfig(
        rule="official", step_size=10.0, noise=0.005, grad_clip=0.01, clamp=(0.0, 1.0), steps=1
    )
    x = torch.tensor([[0.2, 0.9, 0.001]], dtype=torch.float64)
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    got = langevin_step(lambda z: (3.0 * z).sum(1), x, cfg, torch.Generator().manual_seed(5))
    # noise first, gradient 3 clipped to 0.01, step 10 -> -0.1, then clamp to [0, 1]
    torch.testing.assert_close(got, (x + 0.005 * noise - 0.1).clamp(0, 1))
    assert got[0, 2] == 0.0


def test_closed_form_gradient_equals_autograd():
    cfg = LangevinConfig(rule="post", step_size=0.01, grad_clip=None, clamp=None, steps=5)
    x0 = torch.randn(64, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    a = langevin(quadratic, x0, cfg, torch.Generator().manual_seed(1))
    b = langevin(quadratic, x0, cfg, torch.Generator().manual_seed(1), grad_fn=lambda x: x)
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("eps", [0.0, -0.1, float("nan")])
def test_step_size_must_be_positive(eps):
    with pytest.raises(ValueError, match=r"langevin\.step_size"):
        LangevinConfig(step_size=eps)


@pytest.mark.parametrize("steps", [0, -3])
def test_steps_at_least_one(steps):
    with pytest.raises(ValueError, match=r"langevin\.steps: .* >= 1"):
        LangevinConfig(steps=steps)
    with pytest.raises(ValueError, match=r"steps: .* >= 1"):
        langevin(quadratic, torch.zeros(2, 2), LangevinConfig(), steps=steps)


def test_energy_must_be_one_scalar_per_sample():
    with pytest.raises(
        ValueError, match=r"returned shape \(4, 2\) for a batch of 4: expected one scalar"
    ):
        energy_grad(lambda x: x, torch.zeros(4, 2))


def test_nan_energy_names_the_step():
    calls = {"n": 0}

    def energy(x):
        calls["n"] += 1
        e = quadratic(x)
        return e * float("nan") if calls["n"] == 3 else e

    with pytest.raises(
        NonFiniteEnergyError, match=r"NaN or Inf at Langevin step 2 \(training step 7\)"
    ):
        langevin(energy, torch.zeros(4, 2), LangevinConfig(steps=5), where=" (training step 7)")
