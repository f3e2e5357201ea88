"""E4.5: data-loader safety shown (post 6575's "process-safe generator", in PyTorch terms).

A Keras ``Sequence`` hands out batches by index, so several workers never duplicate data; a plain
generator does not. In PyTorch (posts.md 4.3): a map-style ``Dataset`` behind a ``DataLoader``
sees every index once per epoch; an ``IterableDataset`` is replayed in full by every worker
unless it shards itself with ``get_worker_info()``; a ``np.random.Generator`` made in the parent
is copied into every forked worker (identical "random" streams) until ``worker_init_fn`` reseeds
it (the engine's :func:`pipeline.engine.data.seed_worker`); the loader's ``generator`` fixes the
order and the worker seeds, so two runs with one seed give the same batches.
"""

from __future__ import annotations

import logging
import os
from collections import Counter, defaultdict

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info

from pipeline.engine.data import seed_worker

log = logging.getLogger(__name__)


def _worker_id() -> int:
    info = get_worker_info()
    return -1 if info is None else info.id


class IndexDataset(Dataset):
    """Map-style: item ``i`` is ``(i, worker id, a draw from the dataset's own NumPy generator)``.

    ``rng`` is created here, in the parent process: the case post 6575 warns about.
    """

    def __init__(self, n: int, seed: int = 0):
        self.n = n
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.tensor(
            [float(index), float(_worker_id()), self.rng.random()], dtype=torch.float64
        )


class NaiveStream(IterableDataset):
    """A plain generator as an ``IterableDataset``: every worker yields the whole stream."""

    def __init__(self, n: int):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))


class ShardedStream(NaiveStream):
    """The same stream, each worker taking every ``num_workers``-th item from its own offset."""

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


def check_workers(num_workers: int, key: str) -> int:
    """Warn (not hang, not fail) when ``num_workers`` exceeds the CPUs this process may use."""
    if num_workers < 0:
        raise ValueError(f"{key}: {num_workers} must be >= 0")
    cpus = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )
    if num_workers > cpus:
        log.warning(
            "%s = %d exceeds the %d CPU(s) this machine allows: the workers time-share "
            "(slower, same results); every loader here has a timeout, so nothing hangs",
            key,
            num_workers,
            cpus,
        )
    return num_workers


def loader(dataset, num_workers: int, timeout_s: float, **kwargs) -> DataLoader:
    """A ``DataLoader`` that raises after ``timeout_s`` waiting for a worker instead of hanging."""
    return DataLoader(
        dataset, num_workers=num_workers, timeout=timeout_s if num_workers else 0, **kwargs
    )


def copies_per_item(
    dataset,
    n: int,
    num_workers: int,
    batch_size: int,
    timeout_s: float,
    generator: torch.Generator | None = None,
) -> np.ndarray:
    """How often each of the ``n`` items came out of one pass (one epoch) of the loader: (n,)."""
    counts: Counter = Counter()
    shuffle = generator is not None and not isinstance(dataset, IterableDataset)
    for batch in loader(
        dataset, num_workers, timeout_s, batch_size=batch_size, shuffle=shuffle, generator=generator
    ):
        ids = batch[:, 0] if batch.ndim == 2 else batch
        counts.update(int(i) for i in ids.tolist())
    return np.array([counts.get(i, 0) for i in range(n)])


def worker_streams(
    n: int, num_workers: int, batch_size: int, seed: int, timeout_s: float, reseed: bool
) -> dict[int, tuple[float, ...]]:
    """Each worker's sequence of draws from the parent-made generator, ``seed_worker`` or not."""
    draws: dict[int, list[float]] = defaultdict(list)
    data = loader(
        IndexDataset(n, seed),
        num_workers,
        timeout_s,
        batch_size=batch_size,
        worker_init_fn=seed_worker if reseed else None,
        generator=torch.Generator().manual_seed(seed),
    )
    for batch in data:
        for _, worker, draw in batch.tolist():
            draws[int(worker)].append(draw)
    shortest = min(len(v) for v in draws.values())
    return {w: tuple(v[:shortest]) for w, v in draws.items()}


def epoch_batches(
    n: int,
    num_workers: int,
    batch_size: int,
    loader_seed: int,
    timeout_s: float,
    data_seed: int = 0,
) -> list[torch.Tensor]:
    """One shuffled epoch as the engine loads it (seeded generator, ``seed_worker``)."""
    return list(
        loader(
            IndexDataset(n, data_seed),
            num_workers,
            timeout_s,
            batch_size=batch_size,
            shuffle=True,
            worker_init_fn=seed_worker,
            generator=torch.Generator().manual_seed(loader_seed),
        )
    )


def same_batches(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
