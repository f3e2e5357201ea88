"""WGAN (post 5): min_G max_{|f|_L <= 1} E_p f - E_z f(G(z)), with clipping or a gradient penalty.

One model, two architectures: MLPs for 2-D toy data (the WGAN-GP toys) and a DCGAN-style
convolutional pair for images (the author's ``bojone/gan/keras/wgan_gp_celeba.py``: 5x5 stride-2
critic convolutions doubling the channels, LeakyReLU, BN, a linear output; a mirrored generator
of transposed convolutions with BN and tanh), scaled to the image size by its number of layers.

The critic's ``n_critic`` steps live in :meth:`WGAN.train_step` (the shared engine's protocol):
the first on the step's batch, the rest on fresh batches from ``ctx.next_batch()``, each through
``ctx.optimize(loss, "critic")``; then one generator step. The Lipschitz tools are those of the
critic study (:mod:`pipeline.transport.critics`).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from pipeline.engine import StepContext, TrainConfig
from pipeline.transport.critics import clip_weights, gradient_penalty, make_optimizer, mlp

ARCHITECTURES = ("mlp", "dcgan")
LIPSCHITZ = ("clip", "gp")
NORMS = ("batch", "layer", "none")


@dataclasses.dataclass(frozen=True)
class WGANConfig:
    """The model: architecture, sizes and the critic's Lipschitz method."""

    architecture: str = "mlp"
    lipschitz: str = "gp"
    data_dim: int = 2  # mlp: the data's dimension
    channels: int = 1  # dcgan: image channels
    image_size: int = 8  # dcgan: square image side
    z_dim: int = 2
    width: int = 128  # mlp hidden units; dcgan: the critic's first channel count
    depth: int = 3  # mlp hidden layers; dcgan: stride-2 layers
    critic_norm: str = "none"  # dcgan critic normalisation (the author used batch)
    n_critic: int = 5
    clip_value: float = 0.01
    gp_weight: float = 10.0
    optimizer: str = "adam"  # adam | rmsprop (WGAN)

    def __post_init__(self):
        for key, options in (
            ("architecture", ARCHITECTURES),
            ("lipschitz", LIPSCHITZ),
            ("critic_norm", NORMS),
            ("optimizer", ("adam", "rmsprop")),
        ):
            if getattr(self, key) not in options:
                raise ValueError(f"wgan.{key}: {getattr(self, key)!r} is not one of {options}")
        for key in ("data_dim", "channels", "image_size", "z_dim", "width", "depth"):
            if getattr(self, key) < 1:
                raise ValueError(f"wgan.{key}: {getattr(self, key)} must be >= 1")
        if self.n_critic < 1:
            raise ValueError(f"wgan.n_critic: {self.n_critic} must be >= 1")
        if self.gp_weight < 0:
            raise ValueError(f"wgan.gp_weight (lambda): {self.gp_weight} must be >= 0")
        if self.clip_value <= 0:
            raise ValueError(f"wgan.clip_value: {self.clip_value} must be > 0")


def conv_sizes(size: int, layers: int) -> list[int]:
    """Spatial sides after each 5x5 stride-2 convolution with padding 2: s -> ceil(s / 2)."""
    sizes = [size]
    for _ in range(layers):
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)  # layer norm over (C, H, W): valid with a gradient penalty
    return nn.Identity()


def dcgan_critic(c: WGANConfig) -> nn.Sequential:
    """5x5 stride-2 convolutions width, 2 width, 4 width, ...; LeakyReLU(0.2); linear output."""
    sizes, layers, in_ch = conv_sizes(c.image_size, c.depth), [], c.channels
    for k in range(c.depth):
        out = c.width * 2**k
        layers += [nn.Conv2d(in_ch, out, 5, stride=2, padding=2)]
        layers += [_norm(c.critic_norm if k > 0 else "none", out), nn.LeakyReLU(0.2)]
        in_ch = out
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(in_ch * sizes[-1] ** 2, 1))


class DCGANGenerator(nn.Module):
    """z -> linear -> (C_max, s, s) -> transposed 5x5 stride-2 convolutions with BN -> tanh."""

    def __init__(self, c: WGANConfig):
        super().__init__()
        sizes = conv_sizes(c.image_size, c.depth)[::-1]
        chans = [c.width * 2**k for k in range(c.depth)][::-1] + [c.channels]
        self.shape = (chans[0], sizes[0], sizes[0])
        self.project = nn.Sequential(
            nn.Linear(c.z_dim, chans[0] * sizes[0] ** 2),
            nn.Unflatten(1, self.shape),
            nn.BatchNorm2d(chans[0]),
            nn.ReLU(),
        )
        layers: list[nn.Module] = []
        for k in range(c.depth):
            pad = sizes[k + 1] - (2 * sizes[k] - 1)  # output side 2 s - 1 + output_padding
            layers.append(
                nn.ConvTranspose2d(
                    chans[k], chans[k + 1], 5, stride=2, padding=2, output_padding=pad
                )
            )
            layers += [nn.BatchNorm2d(chans[k + 1]), nn.ReLU()] if k < c.depth - 1 else [nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(self.project(z))


class WGAN(nn.Module):
    """Generator and critic with their two optimizers (``generator``, ``critic``)."""

    config_class = WGANConfig

    def __init__(self, config: WGANConfig):
        super().__init__()
        self.config = c = config
        if c.architecture == "mlp":
            self.generator = mlp(c.z_dim, c.width, c.depth, out_dim=c.data_dim)
            self.critic = mlp(c.data_dim, c.width, c.depth)
        else:
            self.generator = DCGANGenerator(c)
            self.critic = dcgan_critic(c)

    def configure_optimizers(self, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        if self.config.optimizer == "rmsprop":
            return {
                k: make_optimizer(getattr(self, k).parameters(), "rmsprop", cfg.lr)
                for k in ("generator", "critic")
            }
        return {
            k: torch.optim.Adam(
                getattr(self, k).parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2)
            )
            for k in ("generator", "critic")
        }

    def noise(self, n: int, device) -> torch.Tensor:
        return torch.randn(n, self.config.z_dim, device=device)

    def critic_step(self, ctx: StepContext, real: torch.Tensor) -> torch.Tensor:
        """One critic update on ``real``; returns the batch estimate E_real f - E_fake f."""
        c = self.config
        with torch.no_grad():
            fake = self.generator(self.noise(len(real), real.device))
        estimate = self.critic(real).mean() - self.critic(fake).mean()
        loss = -estimate
        if c.lipschitz == "gp":
            loss = loss + c.gp_weight * gradient_penalty(self.critic, real, fake)
        ctx.optimize(loss, "critic")
        if c.lipschitz == "clip":
            clip_weights(self.critic, c.clip_value)
        return estimate.detach()

    def train_step(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        real = ctx.batch["x"]
        estimates = [self.critic_step(ctx, real)]
        for _ in range(self.config.n_critic - 1):
            estimates.append(self.critic_step(ctx, ctx.next_batch()["x"]))
        self.critic.requires_grad_(False)  # the generator's loss needs no critic gradients
        fake = self.generator(self.noise(len(real), real.device))
        g_loss = -self.critic(fake).mean()
        ctx.optimize(g_loss, "generator")
        self.critic.requires_grad_(True)
        return {"critic_estimate": torch.stack(estimates).mean(), "generator_loss": g_loss.detach()}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` samples from the generator (eval mode; BN uses its running statistics)."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.config.z_dim, generator=generator, device="cpu").to(device)
        was = self.generator.training
        self.generator.eval()
        out = self.generator(z)
        self.generator.train(was)
        return out

    @torch.no_grad()
    def critic_estimate(self, real: torch.Tensor, fake: torch.Tensor) -> float:
        """E_real f - E_fake f over whole sets: the critic's W1 estimate (up to its Lipschitz constant)."""
        was = self.critic.training
        self.critic.eval()
        out = float(self.critic(real).mean() - self.critic(fake).mean())
        self.critic.train(was)
        return out
