"""Images as training items: uint8 NHWC arrays <-> float NCHW tensors in [-1, 1].

The batch stream, samplers and worker seeding every model shares are in
:mod:`pipeline.engine.data`; :class:`ImageDataset` carries a parent-made ``np.random.Generator``
(its flips), which :func:`pipeline.engine.data.seed_worker` reseeds in each worker.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset


def to_tensor(x: np.ndarray) -> torch.Tensor:
    """uint8 NHWC -> float NCHW in [-1, 1] (the scaling every image model sees)."""
    return torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float NCHW in [-1, 1] -> uint8 NHWC (clamped)."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


class ImageDataset(Dataset):
    """uint8 NHWC images -> float CHW in [-1, 1], with an optional random horizontal flip.

    ``rng`` is a ``np.random.Generator`` made in the parent: the case post 6575 warns about.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray | None = None, hflip: bool = False):
        self.images = images
        self.labels = np.full(len(images), -1) if labels is None else np.asarray(labels)
        self.hflip = hflip
        self.rng = np.random.default_rng(0)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        x = torch.from_numpy(np.ascontiguousarray(self.images[index])).permute(2, 0, 1)
        x = x.float().div(127.5).sub(1.0)
        if self.hflip and self.rng.random() < 0.5:
            x = x.flip(-1)
        return {"x": x, "y": torch.as_tensor(int(self.labels[index]))}
