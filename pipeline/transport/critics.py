"""Neural critics for W1 = max_{|f|_L <= 1} E_p f - E_q f (post 5, Kantorovich-Rubinstein).

Three ways to keep a critic (approximately) 1-Lipschitz, as WGAN and its successors do:

- ``clip``: clip every weight to [-c, c] after each step (Arjovsky et al. 2017, c = 0.01);
  the critic is K-Lipschitz for some unknown K, so its estimate is K * W1 at best;
- ``gp``: add lambda * E (|grad f(x_hat)| - 1)^2 on random interpolates x_hat (Gulrajani et
  al. 2017, lambda = 10): a soft constraint;
- ``sn``: spectral normalisation of every linear layer (Miyato et al. 2018): with 1-Lipschitz
  activations the critic is 1-Lipschitz by construction.

:func:`gradient_penalty` and :func:`clip_weights` are shared with the WGAN of
:mod:`pipeline.images.wgan`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

LIPSCHITZ = ("clip", "gp", "sn")


def check_lipschitz(method: str, key: str) -> None:
    if method not in LIPSCHITZ:
        raise ValueError(f"{key}: {method!r} is not one of {LIPSCHITZ}")


def mlp(
    in_dim: int, width: int, depth: int, out_dim: int = 1, spectral: bool = False
) -> nn.Sequential:
    """``depth`` hidden ReLU layers of ``width`` units; spectral norm on every linear layer if asked."""
    wrap = nn.utils.parametrizations.spectral_norm if spectral else (lambda m: m)
    layers: list[nn.Module] = []
    dims = [in_dim] + [width] * depth
    for a, b in zip(dims[:-1], dims[1:], strict=True):
        layers += [wrap(nn.Linear(a, b)), nn.ReLU()]
    layers.append(wrap(nn.Linear(dims[-1], out_dim)))
    return nn.Sequential(*layers)


def gradient_penalty(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """E (|grad_x f(x_hat)|_2 - 1)^2 on x_hat = t real + (1 - t) fake, t ~ U(0, 1) per sample.

    The graph is kept (``create_graph``) so the penalty trains the critic.
    """
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    t = torch.rand(
        shape, generator=generator, device=generator.device if generator else real.device
    )
    t = t.to(real.device, real.dtype)
    x_hat = (t * real.detach() + (1 - t) * fake.detach()).requires_grad_(True)
    out = critic(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


@torch.no_grad()
def clip_weights(module: nn.Module, c: float) -> None:
    """Clip every parameter of ``module`` to [-c, c] in place (WGAN's weight clipping)."""
    for param in module.parameters():
        param.clamp_(-c, c)


def gradient_norms(critic: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """|grad_x f(x)| per sample: the critic's local Lipschitz constant on the data."""
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x)
    return grad.flatten(1).norm(dim=1).detach()


@dataclasses.dataclass(frozen=True)
class CriticConfig:
    """One critic and its training: architecture, Lipschitz method and optimiser."""

    lipschitz: str = "gp"
    width: int = 64
    depth: int = 2
    steps: int = 600
    batch_size: int = 256
    lr: float = 1e-3
    optimizer: str = "adam"  # adam (betas 0, 0.9 as WGAN-GP) | rmsprop (as WGAN)
    clip_value: float = 0.01
    gp_weight: float = 10.0

    def __post_init__(self):
        check_lipschitz(self.lipschitz, "lipschitz")
        for key in ("width", "depth", "steps", "batch_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key}: {getattr(self, key)} must be >= 1")
        if self.lr <= 0 or self.clip_value <= 0:
            raise ValueError(f"lr ({self.lr}) and clip_value ({self.clip_value}) must be > 0")
        if self.gp_weight < 0:
            raise ValueError(f"gp_weight (lambda): {self.gp_weight} must be >= 0")
        if self.optimizer not in ("adam", "rmsprop"):
            raise ValueError(f"optimizer: {self.optimizer!r} is not adam or rmsprop")


def make_optimizer(params, name: str, lr: float) -> torch.optim.Optimizer:
    """Adam with WGAN-GP's betas (0, 0.9), or RMSProp as in WGAN."""
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.Adam(params, lr=lr, betas=(0.0, 0.9))


def critic_loss(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    method: str,
    gp_weight: float,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss to minimise, the W1 estimate E_real f - E_fake f on this batch)."""
    estimate = critic(real).mean() - critic(fake).mean()
    loss = -estimate
    if method == "gp":
        loss = loss + gp_weight * gradient_penalty(critic, real, fake, generator)
    return loss, estimate.detach()


def train_critic(
    p: np.ndarray, q: np.ndarray, cfg: CriticConfig, seed: int
) -> tuple[nn.Module, list[float]]:
    """Train a critic to maximise E_p f - E_q f on the samples ``p`` (N, d) and ``q`` (M, d).

    Returns the critic and its minibatch estimate per step.
    """
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # layer initialisation
    critic = mlp(p.shape[1], cfg.width, cfg.depth, spectral=cfg.lipschitz == "sn")
    opt = make_optimizer(critic.parameters(), cfg.optimizer, cfg.lr)
    tp, tq = torch.as_tensor(p, dtype=torch.float32), torch.as_tensor(q, dtype=torch.float32)
    trace = []
    for step in range(cfg.steps):
        i = torch.randint(len(tp), (cfg.batch_size,), generator=gen)
        j = torch.randint(len(tq), (cfg.batch_size,), generator=gen)
        loss, est = critic_loss(critic, tp[i], tq[j], cfg.lipschitz, cfg.gp_weight, gen)
        if not torch.isfinite(loss):
            raise ValueError(f"critic ({cfg.lipschitz}) loss is {loss.item()} at step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if cfg.lipschitz == "clip":
            clip_weights(critic, cfg.clip_value)
        trace.append(float(est))
    critic.eval()
    return critic, trace


@torch.no_grad()
def estimate(critic: nn.Module, p: np.ndarray, q: np.ndarray) -> float:
    """E_p f - E_q f over whole sample sets."""
    tp, tq = torch.as_tensor(p, dtype=torch.float32), torch.as_tensor(q, dtype=torch.float32)
    return float(critic(tp).mean() - critic(tq).mean())
