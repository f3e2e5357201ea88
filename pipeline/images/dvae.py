"""The author's discrete VAE (posts.md §2.2: ``bojone/vae/vae_keras_cnn_gs.py``) and its baselines.

Encoder: Conv 3x3 s2 (32, relu) -> Conv 3x3 s2 (64, relu) -> Flatten -> Dense(32, relu) ->
Dense(32 x 10) logits: **32 latents of 10 classes**. A Gumbel-softmax layer
``softmax((logits + g) / tau)`` with ``g = -log(-log(u + eps) + eps)``, eps = 1e-7 (Keras's
``K.epsilon()``). Decoder: Dense(32, relu) -> Dense(7 x 7 x 64, relu) -> ConvT 3x3 s2 (64, relu)
-> ConvT 3x3 s2 (32, relu) -> ConvT 3x3 (1, sigmoid). Loss per image: summed BCE on pixels in
[0, 1] plus ``sum p log p`` (the KL to the uniform prior without its constant ``32 log 10``; we
add the constant, which moves no gradient, so the logged loss is the -ELBO). RMSprop at Keras's
defaults (lr 1e-3, rho 0.9, eps 1e-7), batch 100, 30 epochs, and per batch
``tau_t = 0.01 + 0.99 * 0.999^t``.

The variants are configurations of the same module: ``estimator: straight_through`` (hard
one-hot forward, soft gradient), ``tau_decay: 1`` (fixed tau), ``latent: gaussian`` (a Gaussian
latent of ``latents`` dimensions through the same encoder and decoder), and ``architecture: mlp``
with the Adam / step-decay / ``max(0.5, exp(-r t))`` settings of ericjang/gumbel-softmax.
Keras details kept: 'same' padding of a stride-2 convolution pads one row and column at the
bottom/right (and its transpose crops them), Glorot-uniform weights and zero biases.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

LATENTS = ("categorical", "gaussian")
ESTIMATORS = ("gumbel_softmax", "straight_through")
ARCHITECTURES = ("cnn", "mlp")
OPTIMIZERS = ("rmsprop", "adam")
TAU_SCHEDULES = ("exponential", "jang")


@dataclasses.dataclass(frozen=True)
class DVAEConfig:
    """``estimators.dvae.datasets.<name>.variants.<variant>.model``; defaults are the author's."""

    latent: str = "categorical"
    estimator: str = "gumbel_softmax"
    architecture: str = "cnn"
    latents: int = 32
    classes: int = 10
    channels: tuple[int, int] = (32, 64)
    hidden: int = 32
    mlp_hidden: tuple[int, ...] = (512, 256)
    image_size: int | None = None  # null: taken from the data
    in_channels: int = 1
    optimizer: str = "rmsprop"
    lr_decay: float = 1.0  # multiply the learning rate by this every lr_decay_every steps
    lr_decay_every: int = 1000
    tau_schedule: str = "exponential"
    tau_start: float = 1.0
    tau_min: float = 0.01
    tau_decay: float = 0.999  # exponential: tau_min + (tau_start - tau_min) * tau_decay^t
    tau_rate: float = (
        3e-5  # jang: max(tau_min, tau_start * exp(-tau_rate * t)), t floored to tau_every
    )
    tau_every: int = 1000

    def __post_init__(self):
        for key in ("channels", "mlp_hidden"):
            object.__setattr__(self, key, tuple(getattr(self, key)))
        for key, allowed in (("latent", LATENTS), ("estimator", ESTIMATORS), ("architecture", ARCHITECTURES),
                             ("optimizer", OPTIMIZERS), ("tau_schedule", TAU_SCHEDULES)):  # fmt: skip
            if getattr(self, key) not in allowed:
                raise ValueError(f"model.{key}: {getattr(self, key)!r} is not one of {allowed}")
        for key in ("latents", "hidden", "in_channels", "lr_decay_every", "tau_every"):
            if getattr(self, key) < 1:
                raise ValueError(f"model.{key}: {getattr(self, key)} must be >= 1")
        if self.classes < 2:
            raise ValueError(f"model.classes: {self.classes} must be >= 2")
        if len(self.channels) != 2 or min(self.channels) < 1:
            raise ValueError(f"model.channels: {self.channels} must be two positive widths")
        if not self.mlp_hidden or min(self.mlp_hidden) < 1:
            raise ValueError(f"model.mlp_hidden: {self.mlp_hidden} must be positive widths")
        if self.image_size is not None and (self.image_size < 4 or self.image_size % 4):
            raise ValueError(
                f"model.image_size: {self.image_size} must be a multiple of 4 (two stride-2 convs)"
            )
        if self.tau_start <= 0 or self.tau_min <= 0:
            raise ValueError(
                f"model.tau_start / model.tau_min: {self.tau_start}, {self.tau_min} must be > 0"
            )
        if not 0.0 < self.tau_decay <= 1.0:
            raise ValueError(f"model.tau_decay: {self.tau_decay} must be in (0, 1]")
        if self.tau_rate < 0 or not 0.0 < self.lr_decay <= 1.0:
            raise ValueError(
                f"model.tau_rate >= 0 and model.lr_decay in (0, 1]: {self.tau_rate}, {self.lr_decay}"
            )

    @property
    def code_dim(self) -> int:
        """Width of the decoder's input: one-hot codes, or the Gaussian latent."""
        return self.latents * self.classes if self.latent == "categorical" else self.latents

    def tau(self, step: int) -> float:
        """Temperature at 0-based step ``step`` (per batch, as the author updates it)."""
        if self.tau_schedule == "exponential":
            return self.tau_min + (self.tau_start - self.tau_min) * self.tau_decay**step
        t = (step // self.tau_every) * self.tau_every
        return max(self.tau_min, self.tau_start * math.exp(-self.tau_rate * t))


class SameConv(nn.Module):
    """Keras ``Conv2D(padding='same', strides=2)``: pad bottom/right by one, then convolve."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=2)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class SameConvTranspose(nn.Module):
    """Keras ``Conv2DTranspose(padding='same', strides=2)``: the transpose of :class:`SameConv`."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.ConvTranspose2d(cin, cout, 3, stride=2)

    def forward(self, x):
        return self.conv(x)[..., :-1, :-1]


def mlp(sizes: list[int]) -> nn.Sequential:
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers)


class DiscreteVAE(nn.Module):
    config_class = DVAEConfig

    def __init__(self, config: DVAEConfig):
        super().__init__()
        if config.image_size is None:
            raise ValueError("model.image_size: set it (the run functions take it from the data)")
        self.config = c = config
        s, pixels = c.image_size, c.in_channels * c.image_size**2
        head = c.latents * c.classes if c.latent == "categorical" else 2 * c.latents
        if c.architecture == "cnn":
            c1, c2 = c.channels
            self.encoder = nn.Sequential(
                SameConv(c.in_channels, c1),
                nn.ReLU(),
                SameConv(c1, c2),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(c2 * (s // 4) ** 2, c.hidden),
                nn.ReLU(),
                nn.Linear(c.hidden, head),
            )
            self.decoder = nn.Sequential(
                nn.Linear(c.code_dim, c.hidden),
                nn.ReLU(),
                nn.Linear(c.hidden, c2 * (s // 4) ** 2),
                nn.ReLU(),
                nn.Unflatten(1, (c2, s // 4, s // 4)),
                SameConvTranspose(c2, c2),
                nn.ReLU(),
                SameConvTranspose(c2, c1),
                nn.ReLU(),
                nn.ConvTranspose2d(c1, c.in_channels, 3, padding=1),
            )
        else:  # ericjang/gumbel-softmax: 784-512-256-(N K) and back
            h = list(c.mlp_hidden)
            self.encoder = nn.Sequential(nn.Flatten(), mlp([pixels, *h]), nn.Linear(h[-1], head))
            self.decoder = nn.Sequential(
                mlp([c.code_dim, *h[::-1]]),
                nn.Linear(h[0], pixels),
                nn.Unflatten(1, (c.in_channels, s, s)),
            )
        for m in self.modules():  # Keras's initialisers
            if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        self.history: list[dict] = []  # per-epoch evaluation rows, checkpointed (never averaged)

    # ---------------------------------------------------------------- the model
    def posterior(self, x01: torch.Tensor) -> torch.Tensor:
        """Encoder output: logits (B, latents, classes), or (B, 2, latents) mean and log-variance."""
        out = self.encoder(x01)
        c = self.config
        return (
            out.view(len(x01), c.latents, c.classes)
            if c.latent == "categorical"
            else out.view(len(x01), 2, c.latents)
        )

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """Pixel logits (B, C, H, W) of a code (B, latents, classes) or (B, latents)."""
        return self.decoder(code.flatten(1))

    def relaxed_code(self, logits: torch.Tensor, tau: float) -> torch.Tensor:
        """Gumbel-softmax (or straight-through) code, Gumbel noise as the author's Keras layer."""
        u = torch.rand_like(logits)
        g = -torch.log(-torch.log(u + 1e-7) + 1e-7)
        soft = torch.softmax((logits + g) / tau, dim=-1)
        if self.config.estimator == "gumbel_softmax":
            return soft
        hard = F.one_hot(soft.argmax(-1), self.config.classes).to(soft.dtype)
        return hard - soft.detach() + soft

    def kl(self, post: torch.Tensor) -> torch.Tensor:
        """KL(q(z|x) || prior) per image: uniform categorical prior, or N(0, I)."""
        if self.config.latent == "categorical":
            logq = torch.log_softmax(post, -1)
            return (logq.exp() * logq).sum((1, 2)) + self.config.latents * math.log(
                self.config.classes
            )
        mean, logvar = post[:, 0], post[:, 1]
        return 0.5 * (mean**2 + logvar.exp() - 1.0 - logvar).sum(1)

    @staticmethod
    def bce(pixel_logits: torch.Tensor, x01: torch.Tensor) -> torch.Tensor:
        """Summed binary cross-entropy per image (pixels in [0, 1], as the author's loss)."""
        return (
            F.binary_cross_entropy_with_logits(pixel_logits, x01, reduction="none")
            .flatten(1)
            .sum(1)
        )

    def neg_elbo(self, x01: torch.Tensor, tau: float | None) -> dict[str, torch.Tensor]:
        """-ELBO per image = BCE + KL with one latent sample: relaxed at ``tau`` (what the author's
        Keras model reports as its loss), or an exact categorical sample when ``tau`` is None."""
        post = self.posterior(x01)
        if self.config.latent == "gaussian":
            mean, logvar = post[:, 0], post[:, 1]
            code = mean + (0.5 * logvar).exp() * torch.randn_like(mean)
        elif tau is None:
            code = F.one_hot(
                torch.distributions.Categorical(logits=post).sample(), self.config.classes
            ).float()
        else:
            code = self.relaxed_code(post, tau)
        bce, kl = self.bce(self.decode(code), x01), self.kl(post)
        return {"neg_elbo": bce + kl, "bce": bce, "kl": kl}

    def train_step(self, ctx) -> dict[str, torch.Tensor]:
        x01 = (ctx.batch["x"] + 1.0) / 2.0  # the engine's images are in [-1, 1]
        tau = self.config.tau(ctx.step)
        parts = (
            ctx.forward.neg_elbo(x01, tau)
            if hasattr(ctx.forward, "neg_elbo")
            else self.neg_elbo(x01, tau)
        )
        loss = parts["neg_elbo"].mean()
        ctx.optimize(loss)
        return {
            "loss": loss.detach(),
            "bce": parts["bce"].mean().detach(),
            "kl": parts["kl"].mean().detach(),
            "tau": tau,
        }

    # ---------------------------------------------------------------- evaluation
    @torch.no_grad()
    def log_weights(self, x01: torch.Tensor, k: int) -> torch.Tensor:
        """``log p(x, z_j) - log q(z_j | x)`` for k exact posterior samples per image: (B, k)."""
        post = self.posterior(x01)
        rep = x01.repeat_interleave(k, 0)
        if self.config.latent == "categorical":
            q = torch.distributions.Categorical(logits=post.repeat_interleave(k, 0))
            z = q.sample()
            log_ratio = -self.config.latents * math.log(self.config.classes) - q.log_prob(z).sum(1)
            code = F.one_hot(z, self.config.classes).float()
        else:
            mean, std = (
                post[:, 0].repeat_interleave(k, 0),
                (0.5 * post[:, 1]).exp().repeat_interleave(k, 0),
            )
            code = mean + std * torch.randn_like(mean)
            normal = torch.distributions.Normal
            log_ratio = (normal(0.0, 1.0).log_prob(code) - normal(mean, std).log_prob(code)).sum(1)
        return (log_ratio - self.bce(self.decode(code), rep)).view(len(x01), k)

    @torch.no_grad()
    def sample_codes(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Prior samples: a uniformly random one-hot for each latent (the author's grid), or N(0, I)."""
        c = self.config
        if c.latent == "gaussian":
            return torch.randn(n, c.latents, generator=generator)
        index = torch.randint(c.classes, (n, c.latents), generator=generator)
        return F.one_hot(index, c.classes).float()

    # ---------------------------------------------------------------- engine hooks
    def configure_optimizers(self, cfg) -> dict[str, torch.optim.Optimizer]:
        if self.config.optimizer == "rmsprop":  # Keras's RMSprop defaults
            return {"main": torch.optim.RMSprop(self.parameters(), lr=cfg.lr, alpha=0.9, eps=1e-7)}
        return {"main": torch.optim.Adam(self.parameters(), lr=cfg.lr)}

    def configure_schedulers(self, optimizers, cfg) -> dict:
        if self.config.lr_decay == 1.0:
            return {}
        return {
            "main": torch.optim.lr_scheduler.StepLR(
                optimizers["main"], self.config.lr_decay_every, self.config.lr_decay
            )
        }

    def get_extra_state(self) -> dict:
        return {"history": list(self.history)}

    def set_extra_state(self, state: dict) -> None:
        self.history = list(state.get("history", []))
