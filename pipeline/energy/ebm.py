"""The IGEBM training recipe (Du & Mordatch 2019; posts.md §3.1–3.2) as a base ``nn.Module`` for
the shared engine: a subclass supplies the energy network (``energy(x) -> (B,)``) and the data
range; this class owns the replay buffer, the Langevin negative phase, the loss and the guard.

Per training step: data x⁺ (mapped into the sampler's range by :meth:`prepare`), chain starts
from the buffer (``replay_share``) or uniform noise, K Langevin steps to x⁻ (pushed to the
buffer), then one optimizer step on ``mean U(x⁺) − mean U(x⁻) + α·L2`` (:mod:`.objective`).
Official defaults (openai/ebm_code_release ``train.py``): Adam 3e-4 with β₁ = 0 (the engine's
``train.lr`` / ``train.beta1``), α = 1 with the L2 *sum*, σ = 0.005, step 10, clip 0.01, K = 60,
buffer 10 000 with 95 % reuse. The buffer is torch "extra state": saved in checkpoints, never
averaged by the weight EMA. Sampling runs the network in eval mode (spectral norm's power
iteration frozen) so that the chain sees one fixed energy function.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import ClassVar

import torch
from torch import nn
from torch.nn.utils import parametrize

from pipeline.energy.buffer import ReplayBuffer, check_share, uniform
from pipeline.energy.langevin import LangevinConfig, langevin, per_sample
from pipeline.energy.objective import check_l2, contrastive_loss, guard


@dataclasses.dataclass(frozen=True)
class EBMConfig:
    """The training recipe shared by the toy and image EBMs (``<section>.ebm``); a subclass per
    config section sets ``KEY`` and its sampler's class (defaults)."""

    KEY: ClassVar[str] = "ebm"
    langevin: LangevinConfig = dataclasses.field(default_factory=LangevinConfig)
    alpha: float = 1.0  # weight of the L2 energy term
    l2: str = "sum"  # sum (paper, official code) | post (the post's sign)
    replay: bool = True  # chains start from the replay buffer (else always from noise)
    replay_share: float = 0.95
    buffer_capacity: int = 10_000
    max_gap: float | None = 100.0  # divergence guard on |mean U(x+) - mean U(x-)|; null: off

    def __post_init__(self):
        k = self.KEY
        if isinstance(self.langevin, dict):  # a config rebuilt from a checkpoint
            sampler = typing.get_type_hints(type(self))["langevin"]
            object.__setattr__(self, "langevin", sampler(**self.langevin))
        if not math.isfinite(self.alpha) or self.alpha < 0:
            raise ValueError(f"{k}.alpha: {self.alpha} must be a finite number >= 0")
        check_l2(self.l2, f"{k}.l2")
        check_share(self.replay_share, f"{k}.replay_share")
        if int(self.buffer_capacity) != self.buffer_capacity or self.buffer_capacity < 1:
            raise ValueError(f"{k}.buffer_capacity: {self.buffer_capacity} must be an integer >= 1")
        if self.max_gap is not None and not self.max_gap > 0:
            raise ValueError(f"{k}.max_gap: {self.max_gap} must be > 0 (or null for no gap guard)")

    @property
    def low(self) -> float:
        return self.langevin.clamp[0] if self.langevin.clamp else 0.0

    @property
    def high(self) -> float:
        return self.langevin.clamp[1] if self.langevin.clamp else 1.0


class EnergyModel(nn.Module):
    """Base of the EBMs: subclasses set ``self.ebm`` (an :class:`EBMConfig`) and define
    :meth:`energy`; ``sample_shape`` is the shape of one sample."""

    autocast = False  # Langevin needs exact input gradients: no bf16 autocast

    def __init__(self, ebm: EBMConfig, sample_shape: tuple[int, ...]):
        super().__init__()
        self.ebm, self.sample_shape = ebm, tuple(sample_shape)
        self.buffer = ReplayBuffer(
            self.sample_shape, ebm.buffer_capacity, ebm.replay_share, ebm.low, ebm.high, key=ebm.KEY
        )
        self.history: list[dict] = []  # per-step energies, kept even when a run diverges

    def energy(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.energy(x)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Data batch -> the sampler's space (identity; images map [-1, 1] to [0, 1])."""
        return x

    def get_extra_state(self) -> dict:
        return {"buffer": self.buffer.state_dict()}

    def set_extra_state(self, state: dict) -> None:
        self.buffer.load_state_dict(state["buffer"])

    def chains(
        self,
        x0: torch.Tensor,
        steps: int | None = None,
        where: str = "",
        generator: torch.Generator | None = None,
        energy_fn=None,
    ) -> torch.Tensor:
        """Langevin from ``x0`` with the network frozen in eval mode (restored afterwards)."""
        was_training = self.training
        self.eval()
        try:
            with parametrize.cached():  # spectral-normalised weights computed once per chain
                return langevin(energy_fn or self, x0, self.ebm.langevin, generator, steps, where)
        finally:
            self.train(was_training)

    def negatives(self, n: int, device, where: str = "", generator=None) -> torch.Tensor:
        """The negative phase: n chain ends from the buffer / noise starts (pushed back)."""
        if self.ebm.replay:
            x0 = self.buffer.init(n, generator, device)
        else:
            x0 = uniform(n, self.sample_shape, self.ebm.low, self.ebm.high, generator, device)
        x = self.chains(x0, where=where, generator=generator)
        if self.ebm.replay:
            self.buffer.push(x)
        return x

    def train_step(self, ctx) -> dict[str, torch.Tensor]:
        x_pos = self.prepare(ctx.batch["x"])
        where = f" (training step {ctx.step})"
        x_neg = self.negatives(len(x_pos), x_pos.device, where)
        e = per_sample(ctx.forward(torch.cat([x_pos, x_neg])), 2 * len(x_pos), where)
        e_pos, e_neg = e[: len(x_pos)], e[len(x_pos) :]
        guard(e_pos, e_neg, ctx.step, self.ebm.max_gap)
        loss, parts = contrastive_loss(e_pos, e_neg, self.ebm.alpha, self.ebm.l2)
        ctx.optimize(loss)
        self.history.append({"step": ctx.step, **{k: float(v) for k, v in parts.items()}})
        return {"loss": loss.detach(), **parts}

    def sample(
        self,
        n: int,
        steps: int | None = None,
        from_buffer: bool = False,
        generator: torch.Generator | None = None,
        energy_fn=None,
    ) -> torch.Tensor:
        """n samples: fresh chains from uniform noise, or (``from_buffer``) chains continued
        from the replay buffer; ``energy_fn`` replaces the model's energy (joint sampling)."""
        device = next(self.parameters()).device
        if from_buffer:
            x0 = self.buffer.init(n, generator, device)
        else:
            x0 = uniform(n, self.sample_shape, self.ebm.low, self.ebm.high, generator, device)
        return self.chains(x0, steps, generator=generator, energy_fn=energy_fn)


def joint_samples(
    models: list[EnergyModel], n: int, rounds: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """The post's remark (posts.md §3.1): several independently trained models sample jointly
    through ONE shared buffer. The shared buffer starts as the union of the models' buffers;
    each round, every model in turn runs its K Langevin steps from starts drawn from the shared
    buffer and pushes the ends back. Returns ``n`` of the last round's chain ends, drawn evenly
    from every model's (n, *shape)."""
    if not models:
        raise ValueError("joint sampling needs at least one model")
    first = models[0]
    shared = ReplayBuffer(
        first.sample_shape,
        sum(m.ebm.buffer_capacity for m in models),
        first.ebm.replay_share,
        first.ebm.low,
        first.ebm.high,
        key=first.ebm.KEY,
    )
    for m in models:
        shared.push(m.buffer.data)
    device = next(first.parameters()).device
    out = []
    for _ in range(rounds):
        out = []
        for m in models:
            x = m.chains(shared.init(n, generator, device), generator=generator)
            shared.push(x)
            out.append(x)
    pool = torch.cat(out)
    return pool[torch.randperm(len(pool), generator=generator)[:n].to(pool.device)]
