"""Batches for training: map-style datasets and a seeded, resumable batch stream.

Post 6575 ("process-safe generator"): a Keras ``Sequence`` hands out whole batches by index so
that several worker processes never replay or duplicate data. The PyTorch equivalent is a
map-style ``Dataset`` behind a ``DataLoader``; what PyTorch does not do for us is reseed RNGs a
dataset created in the parent process (a ``np.random.Generator``) -- forked workers would share
that state and draw identical "random" augmentations. :func:`seed_worker` reseeds them.

Runs repeat because each epoch's order and worker seeds come from ``(seed, epoch)``, and a run
resumed mid-epoch replays the epoch's stream up to the number of batches consumed, so workers
reach the same RNG state.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, get_worker_info

from pipeline.io import DataError


class ArrayDataset(Dataset):
    """Rows of an array (points, vectors, codes) as ``{"x": row, "y": label}`` items."""

    def __init__(self, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor | None = None):
        self.x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x)
        if self.x.is_floating_point():
            self.x = self.x.float()
        if y is None:
            self.y = torch.full((len(self.x),), -1, dtype=torch.long)
        else:
            self.y = torch.as_tensor(np.asarray(y) if not torch.is_tensor(y) else y).long()
        if len(self.y) != len(self.x):
            raise DataError(f"ArrayDataset: {len(self.x)} rows of x but {len(self.y)} labels")

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[index], "y": self.y[index]}


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn``: give each worker its own stream for every RNG it may use.

    ``torch.initial_seed()`` inside a worker is ``base_seed + worker_id``, where the base seed
    comes from the loader's generator: distinct per worker, identical between runs.
    """
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)
    info = get_worker_info()
    if info is not None and hasattr(info.dataset, "rng"):
        info.dataset.rng = np.random.default_rng(seed)


class EpochSampler(Sampler[int]):
    """A permutation of one epoch's indices from ``(seed, epoch)``; under DDP, this rank's share."""

    def __init__(self, n: int, seed: int, epoch: int, rank: int = 0, world_size: int = 1):
        self.n, self.seed, self.epoch, self.rank, self.world_size = n, seed, epoch, rank, world_size

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.n, generator=g)
        usable = self.n - self.n % self.world_size
        return iter(order[self.rank : usable : self.world_size].tolist())

    def __len__(self) -> int:
        return self.n // self.world_size


def batch_stream(
    dataset: Dataset,
    batch_size: int,
    seed: int,
    start: int = 0,
    num_workers: int = 0,
    rank: int = 0,
    world_size: int = 1,
    pin_memory: bool = False,
) -> Iterator[dict[str, torch.Tensor]]:
    """Endless batches (``drop_last``), the ``k``-th batch depending only on ``seed`` and ``k``.

    Starting at batch ``start`` replays that epoch from its beginning and skips what was consumed,
    so augmentations drawn in workers match an uninterrupted run exactly.
    """
    per_rank = len(dataset) // world_size
    per_epoch = per_rank // batch_size
    if per_epoch == 0:
        raise DataError(
            f"the dataset has {len(dataset)} items ({per_rank} per process), fewer than "
            f"train.batch_size {batch_size}; lower train.batch_size"
        )
    epoch, skip = divmod(start, per_epoch)
    while True:
        if num_workers == 0 and hasattr(dataset, "rng"):  # in-process: one stream per epoch
            dataset.rng = np.random.default_rng([seed, epoch])
        loader = DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=EpochSampler(len(dataset), seed, epoch, rank, world_size),
            drop_last=True,
            num_workers=num_workers,
            worker_init_fn=seed_worker,
            generator=torch.Generator().manual_seed(seed * 7919 + epoch),
            pin_memory=pin_memory,
            persistent_workers=False,
        )
        for i, batch in enumerate(loader):
            if i >= skip:
                yield batch
        epoch, skip = epoch + 1, 0
