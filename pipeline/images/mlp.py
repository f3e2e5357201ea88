"""Post 6575's running example: the MNIST MLP 784-512-256-10 with dropout, plus the post's toy
``Normal`` layer (``l2_normalize(x) * kernel``) whose inner tensor ``x_normalized`` the post reads
out with ``K.function``.

In PyTorch the inner tensor is reachable two ways: the layer keeps it as an attribute
(``normal.x_normalized``, the direct analogue of the post's ``self.x_normalized``), and it is the
output of the sub-module ``normal.normalize``, so a forward hook on that name records it too.
The ``kernel`` is one learnable scale (the post's shape ``(1,)``), initialised to 1 here.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn


@dataclasses.dataclass(frozen=True)
class MLPConfig:
    in_features: int = 784
    hidden: tuple[int, ...] = (512, 256)
    n_classes: int = 10
    dropout: float = 0.2
    normal: bool = True  # the post's Normal layer before the classifier head

    def __post_init__(self):
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        for key in ("in_features", "n_classes"):
            if getattr(self, key) < 1:
                raise ValueError(f"mlp.{key}: {getattr(self, key)} must be >= 1")
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"mlp.hidden: {self.hidden} must be non-empty widths >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"mlp.dropout: {self.dropout} not in [0, 1)")


class L2Normalize(nn.Module):
    """``F.normalize(x, dim=-1)`` as a module, so that a hook can name its output."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=-1)


class Normal(nn.Module):
    """The post's toy layer: ``x_normalized = l2_normalize(x)``; returns ``x_normalized * kernel``."""

    def __init__(self):
        super().__init__()
        self.kernel = nn.Parameter(torch.ones(1))
        self.normalize = L2Normalize()
        self.x_normalized: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_normalized = self.normalize(x)
        self.x_normalized = x_normalized.detach()  # a copy for reading out, outside the graph
        return x_normalized * self.kernel


class MLP(nn.Module):
    """Flatten -> [Linear -> ReLU -> Dropout] per hidden width -> (Normal) -> Linear (logits)."""

    config_class = MLPConfig

    def __init__(self, config: MLPConfig):
        super().__init__()
        self.config = c = config
        layers: list[nn.Module] = [nn.Flatten()]
        width = c.in_features
        for h in c.hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(c.dropout)]
            width = h
        self.body = nn.Sequential(*layers)
        self.normal = Normal() if c.normal else nn.Identity()
        self.head = nn.Linear(width, c.n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.normal(self.body(x)))

    def train_step(self, ctx) -> dict[str, torch.Tensor]:
        logits = ctx.forward(ctx.batch["x"])
        loss = F.cross_entropy(logits.float(), ctx.batch["y"])
        ctx.optimize(loss)
        acc = (logits.argmax(1) == ctx.batch["y"]).float().mean()
        return {"loss": loss.detach(), "accuracy": acc.detach()}
