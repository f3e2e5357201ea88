"""A small CNN classifier trained in the pipeline: its penultimate features stand in for
Inception's in the Fréchet distance (no downloaded weights; anchors.md section 3.3)."""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn


@dataclasses.dataclass(frozen=True)
class ClassifierConfig:
    in_channels: int = 1
    n_classes: int = 10
    width: int = 32
    feature_dim: int = 64
    dropout: float = 0.2

    def __post_init__(self):
        for key in ("in_channels", "n_classes", "width", "feature_dim"):
            if getattr(self, key) < 1:
                raise ValueError(f"classifier.model.{key}: {getattr(self, key)} must be >= 1")


class Classifier(nn.Module):
    config_class = ClassifierConfig

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.config = c = config
        w = c.width
        self.body = nn.Sequential(
            nn.Conv2d(c.in_channels, w, 3, padding=1), nn.ReLU(),
            nn.Conv2d(w, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.features = nn.Sequential(nn.Linear(2 * w, c.feature_dim), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(c.feature_dim, c.n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(self.body(x)))

    @torch.no_grad()
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features (B, feature_dim), for the Fréchet distance."""
        return self.features(self.body(x))

    def train_step(self, batch, opt, forward=None) -> dict[str, torch.Tensor]:
        logits = (forward or self)(batch["x"])
        loss = F.cross_entropy(logits.float(), batch["y"])
        opt.step(loss)
        acc = (logits.argmax(1) == batch["y"]).float().mean()
        return {"loss": loss.detach(), "accuracy": acc.detach()}
