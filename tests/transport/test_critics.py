"""Lipschitz tools, critics and the WGAN model: known values, shapes, bad input."""

import numpy as np
import pytest
import torch
from torch import nn

from pipeline.images.wgan import WGAN, WGANConfig, conv_sizes
from pipeline.transport import critics


def test_gradient_penalty_is_zero_for_a_unit_gradient_linear_critic():
    lin = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.6, 0.8]]))  # |grad| = 1 everywhere
    real, fake = torch.randn(64, 2), torch.randn(64, 2)
    assert float(critics.gradient_penalty(lin, real, fake).detach()) == pytest.approx(
        0.0, abs=1e-10
    )
    with torch.no_grad():
        lin.weight.mul_(3.0)  # |grad| = 3: penalty (3 - 1)^2 = 4
    assert float(critics.gradient_penalty(lin, real, fake).detach()) == pytest.approx(4.0, rel=1e-6)


def test_clip_weights_bounds_every_parameter():
    net = critics.mlp(2, 16, 2)
    critics.clip_weights(net, 0.01)
    assert all(p.abs().max() <= 0.01 for p in net.parameters())


def test_spectral_norm_critic_is_one_lipschitz():
    torch.manual_seed(0)
    net = critics.mlp(2, 32, 2, spectral=True)
    for _ in range(20):  # power iterations converge in training mode
        net(torch.randn(8, 2))
    net.eval()
    x = torch.randn(500, 2) * 3
    assert float(critics.gradient_norms(net, x).max()) <= 1.0 + 1e-3


def test_gp_critic_estimates_a_shift():
    rng = np.random.default_rng(0)
    p = rng.normal(size=(1000, 2))
    q = rng.normal(size=(1000, 2)) + np.array([1.0, 0.0])
    cfg = critics.CriticConfig(lipschitz="gp", width=32, steps=200, lr=1e-3)
    critic, trace = critics.train_critic(p, q, cfg, seed=0)
    assert len(trace) == 200
    assert critics.estimate(critic, p, q) == pytest.approx(1.0, abs=0.2)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(gp_weight=-1.0), "gp_weight"),
        (dict(lipschitz="nope"), "lipschitz"),
        (dict(steps=0), "steps"),
        (dict(optimizer="sgd"), "optimizer"),
    ],
)
def test_critic_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        critics.CriticConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(n_critic=0), "n_critic"),
        (dict(gp_weight=-0.5), "gp_weight"),
        (dict(architecture="resnet"), "architecture"),
        (dict(clip_value=0.0), "clip_value"),
    ],
)
def test_wgan_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        WGANConfig(**kwargs)


@pytest.mark.parametrize("size,depth", [(8, 2), (28, 3), (32, 3), (64, 4)])
def test_dcgan_pair_shapes(size, depth):
    cfg = WGANConfig(
        architecture="dcgan", image_size=size, depth=depth, width=4, z_dim=8, channels=3
    )
    model = WGAN(cfg)
    x = model.generator(torch.randn(5, 8))
    assert x.shape == (5, 3, size, size)
    assert model.critic(x).shape == (5, 1)
    assert conv_sizes(size, depth)[0] == size


def test_wgan_train_step_uses_n_critic_batches_and_clips():
    from pipeline.engine import ArrayDataset, TrainConfig, Trainer

    data = ArrayDataset(np.random.default_rng(0).normal(size=(512, 2)).astype(np.float32))
    model = WGAN(WGANConfig(lipschitz="clip", optimizer="rmsprop", width=16, depth=2, n_critic=3))
    seen = []

    def on_step(step):
        seen.append(step)

    cfg = TrainConfig(
        steps=4, batch_size=32, lr=5e-5, device="cpu", log_every=2, checkpoint_every=10**9
    )
    result = Trainer(cfg).fit(model, data, on_step=on_step)
    assert seen == [1, 2, 3, 4]
    assert all(p.abs().max() <= 0.01 + 1e-12 for p in model.critic.parameters())
    metrics = {r["metric"] for r in result.log}
    assert {"critic_estimate", "generator_loss"} <= metrics
    # 3 critic batches per step, 4 steps: 12 batches of 32 drawn from the stream
    assert [r["value"] for r in result.log if r["metric"] == "images_per_s"]
