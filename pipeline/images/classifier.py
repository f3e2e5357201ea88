"""A small CNN classifier trained in the pipeline: its penultimate features stand in for
Inception's in the Fréchet distance (no downloaded weights; anchors.md section 3.3)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pipeline.engine import TrainConfig, load_model
from pipeline.engine.checkpoints import load_checkpoint
from pipeline.images.datasets import ImageSet
from pipeline.images.loader import ImageDataset, to_tensor
from pipeline.io import atomic_path

#: The key of what ``classifier/model.pt`` holds for a dataset without labels: no network, only
#: the reason; the evaluation then skips the classifier-based metrics (Fréchet distances).
NO_CLASSIFIER = "no_classifier"


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
            nn.Conv2d(c.in_channels, w, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(w, w, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(w, 2 * w, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.features = nn.Sequential(nn.Linear(2 * w, c.feature_dim), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(c.feature_dim, c.n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(self.body(x)))

    @torch.no_grad()
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features (B, feature_dim), for the Fréchet distance."""
        return self.features(self.body(x))

    def train_step(self, ctx) -> dict[str, torch.Tensor]:
        batch = ctx.batch
        logits = ctx.forward(batch["x"])
        loss = F.cross_entropy(logits.float(), batch["y"])
        ctx.optimize(loss)
        acc = (logits.argmax(1) == batch["y"]).float().mean()
        return {"loss": loss.detach(), "accuracy": acc.detach()}


@dataclasses.dataclass(frozen=True)
class ClassifierSection:
    """``images.datasets.<name>.classifier``: architecture and training settings."""

    model: ClassifierConfig = dataclasses.field(default_factory=ClassifierConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)


def labelled(data: ImageSet) -> np.ndarray:
    """Mask of the training images with a label (-1 marks an unknown one)."""
    return np.asarray(data.y_train) >= 0


def build_classifier(section: ClassifierSection, data: ImageSet) -> tuple[Classifier, ImageDataset]:
    """The classifier sized to the dataset's channels and classes, and its training set (the
    labelled images; see :func:`labelled`)."""
    keep = labelled(data)
    n_classes = max(len(data.classes), int(data.y_train[keep].max()) + 1)
    model = Classifier(
        dataclasses.replace(section.model, in_channels=data.x_train.shape[-1], n_classes=n_classes)
    )
    return model, ImageDataset(data.x_train[keep], data.y_train[keep], section.train.hflip)


def save_no_classifier(path, reason: str) -> None:
    """Record, at the classifier's checkpoint path, that no classifier was trained and why."""
    with atomic_path(path) as tmp:
        torch.save({NO_CLASSIFIER: reason}, tmp)


def load_classifier(path) -> Classifier | None:
    """The EMA classifier of a checkpoint, or None where :func:`save_no_classifier` wrote it."""
    if NO_CLASSIFIER in load_checkpoint(path):
        return None
    return load_model(path, Classifier, ema=True)[0]


@torch.no_grad()
def test_accuracy(model: Classifier, data: ImageSet, batch: int = 512) -> float:
    """Share of the test images whose argmax class is the label (eval mode)."""
    model = model.eval()
    keep = np.asarray(data.y_test) >= 0  # the labelled test images
    x = to_tensor(data.x_test[keep]).to(next(model.parameters()).device)
    pred = torch.cat([model(b).argmax(1).cpu() for b in x.split(batch)])
    return float((pred.numpy() == np.asarray(data.y_test)[keep]).mean())
