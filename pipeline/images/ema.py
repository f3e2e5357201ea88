"""Weight EMA (post 6575, "weight moving average"), bias-corrected as the post's Keras helper.

Keras 2.2's ``K.moving_average_update`` is zero-debiased: a zero-initialised accumulator
``b_t = a b_{t-1} + (1 - a) w_t`` read as ``b_t / (1 - a^t)``. Written on the debiased value
directly that is a lerp towards the current weights with weight ``(1 - a) / (1 - a^t)``: 1 at the
first step (a plain copy, which is what ``AveragedModel`` does first), tending to ``1 - a``.
The EMA averages buffers too (BatchNorm statistics, EMA codebooks), as Keras averaged all
``model.weights``; integer buffers are copied. It never feeds back into the optimizer.
"""

from __future__ import annotations

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
    """An ``AveragedModel`` holding the bias-corrected EMA of ``model``'s weights and buffers."""
    return AveragedModel(model, multi_avg_fn=debiased_ema_fn(decay), use_buffers=True)
