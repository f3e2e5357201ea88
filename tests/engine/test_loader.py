import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from pipeline.engine.data import EpochSampler, batch_stream, seed_worker
from pipeline.images.loader import ImageDataset
from pipeline.io import DataError


class ParentRng(Dataset):
    """Post 6575's hazard: a np.random.Generator created in the parent process."""

    def __init__(self, n=8):
        self.n, self.rng = n, np.random.default_rng(123)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return torch.tensor([i, self.rng.integers(1 << 30)])


def draws(worker_init_fn, seed=7):
    loader = DataLoader(
        ParentRng(),
        batch_size=2,
        num_workers=2,
        worker_init_fn=worker_init_fn,
        generator=torch.Generator().manual_seed(seed),
    )
    batches = list(loader)  # batches alternate between the two workers
    return [b[:, 1].tolist() for b in batches]


def test_workers_share_a_parent_rng_unless_reseeded():
    naive = draws(None)
    assert naive[0] == naive[1]  # both forked workers replay the same stream: the bug
    seeded = draws(seed_worker)
    assert seeded[0] != seeded[1]  # each worker has its own stream
    assert seeded == draws(seed_worker)  # and runs repeat
    assert seeded != draws(seed_worker, seed=8)


def test_each_index_once_per_epoch_and_disjoint_ranks():
    order = list(EpochSampler(10, seed=1, epoch=0))
    assert sorted(order) == list(range(10))
    assert order != list(EpochSampler(10, seed=1, epoch=1))
    r0, r1 = (
        list(EpochSampler(11, 1, 0, rank=0, world_size=2)),
        list(EpochSampler(11, 1, 0, rank=1, world_size=2)),
    )
    assert len(r0) == len(r1) == 5 and not set(r0) & set(r1)


def test_stream_resumed_mid_epoch_matches_uninterrupted(digits):
    ds = ImageDataset(digits.x_train[:40], digits.y_train[:40], hflip=True)
    full = batch_stream(ds, batch_size=8, seed=3)
    expected = [next(full)["x"] for _ in range(12)]  # 5 batches per epoch: crosses two epochs
    resumed = batch_stream(
        ImageDataset(digits.x_train[:40], digits.y_train[:40], hflip=True), 8, 3, start=7
    )
    for step in range(7, 12):
        assert torch.equal(next(resumed)["x"], expected[step])


def test_dataset_scaling_and_flip(digits):
    ds = ImageDataset(digits.x_train[:2])
    x = ds[0]["x"]
    assert x.shape == (1, 8, 8) and x.min() >= -1 and x.max() <= 1
    np.testing.assert_allclose(x[0].numpy(), digits.x_train[0, :, :, 0] / 127.5 - 1, atol=1e-6)


def test_dataset_smaller_than_batch_size(digits):
    with pytest.raises(DataError, match="has 5 items .* fewer than train.batch_size 8"):
        next(batch_stream(ImageDataset(digits.x_train[:5]), 8, 0))
