"""Weight EMA (post 6575, "weight moving average"), bias-corrected as the post's Keras helper.

Keras 2.2's ``K.moving_average_update`` is zero-debiased: a zero-initialised accumulator
``b_t = a b_{t-1} + (1 - a) w_t`` read as ``b_t / (1 - a^t)``. Written on the debiased value
directly that is a lerp towards the current weights with weight ``(1 - a) / (1 - a^t)``: 1 at the
first step (a plain copy, which is what ``AveragedModel`` does first), tending to ``1 - a``.
The EMA averages buffers too (BatchNorm statistics, EMA codebooks), as Keras averaged all
``model.weights``; integer buffers are copied. It never feeds back into the optimizer.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel


def debiased_ema_fn(decay: float):
    """A ``multi_avg_fn`` for ``AveragedModel``: the bias-corrected EMA step."""
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"ema_decay: {decay} not in [0, 1)")

    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], num_averaged) -> None:
        t = int(num_averaged) + 1  # this update is the t-th
        weight = (1.0 - decay) / (1.0 - decay**t)
        floats = [(a, c) for a, c in zip(averaged, current, strict=True) if a.is_floating_point()]
        for a, c in zip(averaged, current, strict=True):
            if not a.is_floating_point():
                a.copy_(c)
        if floats:
            torch._foreach_lerp_([a for a, _ in floats], [c for _, c in floats], weight)

    return update


def make_ema(model: nn.Module, decay: float) -> AveragedModel:
    """An ``AveragedModel`` holding the bias-corrected EMA of ``model``'s weights and buffers.

    State a module keeps through ``get_extra_state`` (an EBM's replay buffer) is not a weight:
    ``update_parameters`` never touches it, so it is never averaged.
    """
    return AveragedModel(model, multi_avg_fn=debiased_ema_fn(decay), use_buffers=True)


def ema_decays(decay: float | Sequence[float]) -> tuple[float, ...]:
    """One decay or several (post 6583 compares 0.999 and 0.9999 from one run) as a tuple."""
    decays = (decay,) if isinstance(decay, (int, float)) else tuple(decay)
    if not decays:
        raise ValueError("train.ema_decay: give at least one decay")
    if len(set(decays)) != len(decays):
        raise ValueError(f"train.ema_decay: {list(decays)} repeats a decay")
    for d in decays:
        if not 0.0 <= float(d) < 1.0:
            raise ValueError(f"train.ema_decay: {d} not in [0, 1)")
    return tuple(float(d) for d in decays)


def make_emas(model: nn.Module, decays: Sequence[float]) -> dict[float, AveragedModel]:
    """One bias-corrected EMA per decay, all fed from the same raw trajectory."""
    return {d: make_ema(model, d) for d in decays}


class EMASet:
    """Several decays fed from one raw trajectory, updated together.

    The same arithmetic as ``AveragedModel.update_parameters`` with :func:`debiased_ema_fn` (a
    copy at the first update, then one foreach lerp per dtype), but the model's tensors are
    gathered once per step for all decays and the update count is kept on the host, so a second
    and third decay cost only their lerps (no list rebuilding, no device sync per decay).
    ``averaged`` holds the ``AveragedModel`` of each decay (checkpointed as before).
    """

    def __init__(self, model: nn.Module, decays: Sequence[float]):
        self.averaged = make_emas(model, decays)
        self._count: int | None = None  # updates so far; read from n_averaged after a resume
        self._groups: dict[float, list] = {}

    @staticmethod
    def _tensors(module: nn.Module) -> list[torch.Tensor]:
        return [t.detach() for t in itertools.chain(module.parameters(), module.buffers())]

    def _plan(self, current: list[torch.Tensor]) -> None:
        by_dtype = defaultdict(list)
        for i, t in enumerate(current):
            by_dtype[(t.device, t.dtype) if t.is_floating_point() else None].append(i)
        for decay, ema in self.averaged.items():
            mine = self._tensors(ema.module)
            self._groups[decay] = [
                (key, [mine[i] for i in idx], idx) for key, idx in by_dtype.items()
            ]

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        current = self._tensors(model)
        if not self._groups:
            self._plan(current)
        if self._count is None:
            self._count = int(next(iter(self.averaged.values())).n_averaged)
        t = self._count + 1  # this update is the t-th
        for decay, ema in self.averaged.items():
            weight = (1.0 - decay) / (1.0 - decay**t)
            for key, averaged, idx in self._groups[decay]:
                source = [current[i] for i in idx]
                if key is None or t == 1:  # integer buffers, and the first update: a copy
                    torch._foreach_copy_(averaged, source)
                else:
                    torch._foreach_lerp_(averaged, source, weight)
            ema.n_averaged += 1
        self._count = t
