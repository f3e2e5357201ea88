"""Langevin sampling from q(x) ∝ exp(-U(x)): the post's coupled update and the official code's
decoupled one, in one implementation that serves the known-density checks, the toy EBMs and the
image EBM.

- ``rule="post"`` (posts.md §3.1): x ← x − ½ε ∇U(x) + √ε α, α ~ N(0, 1); ``step_size`` is ε.
  Its continuous limit dX = −½∇U dt + dW has exp(−U) as stationary density; the discrete chain's
  stationary law is off by O(ε) (E3.1 measures this).
- ``rule="official"`` (openai/ebm_code_release ``train.py``; posts.md §3.2 (b)): x ← x + σ α,
  then x ← x − step · clip(∇U(x), ±grad_clip), then x ← clamp(x, low, high). Step size and noise
  are decoupled (step 10 with σ = 0.005 for CIFAR-10), so this is not Langevin at temperature 1.

``grad_clip`` and ``clamp`` apply to either rule when set. The energy is any callable mapping a
batch (B, ...) to one energy per sample (B,) (or (B, 1)); the input gradient comes from autograd.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import ClassVar

import torch

RULES = ("post", "official")


class NonFiniteEnergyError(ValueError):
    """An energy or its input gradient became NaN or Inf: the run stops, naming the step."""


@dataclasses.dataclass(frozen=True)
class LangevinConfig:
    """One sampler; ``KEY`` (a subclass per config section) prefixes the keys in error messages."""

    KEY: ClassVar[str] = "langevin"

    rule: str = "official"  # post | official
    step_size: float = 10.0  # post: ε; official: step_lr
    noise: float = 0.005  # official: σ of the noise added each step (post: √ε, this is unused)
    grad_clip: float | None = 0.01  # element-wise clip of ∇U (official proj_norm); None: off
    clamp: tuple[float, float] | None = (0.0, 1.0)  # data range the chain is kept in; None: off
    steps: int = 60  # K

    def __post_init__(self):
        if self.clamp is not None:
            object.__setattr__(self, "clamp", tuple(float(v) for v in self.clamp))
        k = self.KEY
        if self.rule not in RULES:
            raise ValueError(f"{k}.rule: {self.rule!r} is not one of {list(RULES)}")
        if not self.step_size > 0 or not math.isfinite(self.step_size):
            raise ValueError(f"{k}.step_size: {self.step_size} must be a finite number > 0")
        if not self.noise >= 0 or not math.isfinite(self.noise):
            raise ValueError(f"{k}.noise: {self.noise} must be a finite number >= 0")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"{k}.grad_clip: {self.grad_clip} must be > 0 (or null for no clip)")
        if int(self.steps) != self.steps or self.steps < 1:
            raise ValueError(f"{k}.steps: {self.steps} must be an integer >= 1")
        if self.clamp is not None and (len(self.clamp) != 2 or not self.clamp[0] < self.clamp[1]):
            raise ValueError(
                f"{k}.clamp: {self.clamp} must be [low, high] with low < high (or null)"
            )


def per_sample(energy: torch.Tensor, batch: int, where: str = "") -> torch.Tensor:
    """Check that an energy network returned one finite scalar per sample; return it as (B,)."""
    if energy.ndim == 2 and energy.shape[1] == 1:
        energy = energy[:, 0]
    if energy.shape != (batch,):
        raise ValueError(
            f"the energy network returned shape {tuple(energy.shape)} for a batch of "
            f"{batch}: expected one scalar per sample, shape ({batch},) or ({batch}, 1)"
        )
    if not torch.isfinite(energy.detach()).all():
        bad = (~torch.isfinite(energy.detach())).sum().item()
        raise NonFiniteEnergyError(f"{bad} of {batch} energies are NaN or Inf{where}")
    return energy


def energy_grad(
    energy_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, where: str = ""
) -> tuple[torch.Tensor, torch.Tensor]:
    """Energies (B,) and their input gradient ∇_x U (same shape as x) at a batch ``x``."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        e = per_sample(energy_fn(x), len(x), where)
        (g,) = torch.autograd.grad(e.sum(), x)
    return e.detach(), g


def langevin_step(
    energy_fn,
    x: torch.Tensor,
    cfg: LangevinConfig,
    generator: torch.Generator | None = None,
    where: str = "",
    grad_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """One update of ``cfg.rule`` (see the module docstring); returns the new, detached batch.
    ``grad_fn`` (a closed-form ∇U for the known densities) replaces autograd."""
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    if cfg.rule == "official":
        x = x + cfg.noise * noise
    if grad_fn is None:
        _, g = energy_grad(energy_fn, x, where)
    else:
        g = grad_fn(x)
    if cfg.grad_clip is not None:
        g = g.clamp(-cfg.grad_clip, cfg.grad_clip)
    if cfg.rule == "official":
        x = x - cfg.step_size * g
    else:
        x = x - 0.5 * cfg.step_size * g + math.sqrt(cfg.step_size) * noise
    if cfg.clamp is not None:
        x = x.clamp(*cfg.clamp)
    return x.detach()


def langevin(
    energy_fn,
    x0: torch.Tensor,
    cfg: LangevinConfig,
    generator: torch.Generator | None = None,
    steps: int | None = None,
    where: str = "",
    trace: Callable[[int, torch.Tensor], None] | None = None,
    grad_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Run ``steps`` (default ``cfg.steps``) updates from ``x0``; ``trace(k, x)`` sees each state;
    ``grad_fn`` (closed-form ∇U) replaces autograd, with the finiteness check on the chain.

    Raises
    ------
    NonFiniteEnergyError
        naming the Langevin step (and ``where``, e.g. the training step) at the first NaN/Inf.
    """
    n = cfg.steps if steps is None else steps
    if int(n) != n or n < 1:
        raise ValueError(f"{cfg.KEY}.steps: {n} must be an integer >= 1")
    x = x0.detach()
    for k in range(int(n)):
        x = langevin_step(energy_fn, x, cfg, generator, f" at Langevin step {k}{where}", grad_fn)
        if grad_fn is not None and not torch.isfinite(x).all():
            raise NonFiniteEnergyError(f"the chain is NaN or Inf at Langevin step {k}{where}")
        if trace is not None:
            trace(k, x)
    if not torch.isfinite(x).all():
        raise NonFiniteEnergyError(
            f"the chain left the finite numbers after {n} Langevin steps{where}"
        )
    return x
