"""E4.5: worker duplicates, parent-made NumPy generators, seeded batches, too many workers."""

import logging
import os

import pytest

from pipeline.dynamics import experiments, loading


def test_loader_safety_rows():
    cfg = experiments.LoaderSafetyConfig(n_items=16, num_workers=4, batch_size=2, timeout_s=60)
    v = experiments.loader_safety(cfg).set_index(["method", "metric"])["value"]
    assert v[("map_style", "copies_per_item_min")] == v[("map_style", "copies_per_item_max")] == 1
    assert (
        v[("iterable_naive", "copies_per_item_min")]
        == v[("iterable_naive", "copies_per_item_max")]
        == 4
    )
    assert v[("iterable_sharded", "copies_per_item_max")] == 1
    assert v[("parent_generator", "distinct_worker_streams")] == 1
    assert v[("parent_generator_seed_worker", "distinct_worker_streams")] == 4
    assert v[("same_generator_seed", "identical_batches")] == 1
    assert v[("other_generator_seed", "identical_batches")] == 0


def test_more_workers_than_cpus_warns_and_finishes(caplog):
    cpus = len(os.sched_getaffinity(0))
    with caplog.at_level(logging.WARNING):
        n = loading.check_workers(cpus + 1, "dynamics.loader_safety.num_workers")
    assert "exceeds the" in caplog.text and "dynamics.loader_safety.num_workers" in caplog.text
    counts = loading.copies_per_item(loading.ShardedStream(2 * n), 2 * n, n, 1, timeout_s=60)
    assert counts.tolist() == [1] * (2 * n)


@pytest.mark.parametrize(
    "change, key",
    [
        ({"num_workers": 1}, "num_workers"),
        ({"n_items": 3}, "n_items"),
        ({"timeout_s": 0}, "timeout_s"),
    ],
)
def test_bad_loader_config_names_the_key(change, key):
    with pytest.raises(ValueError, match=f"dynamics.loader_safety.{key}"):
        experiments.LoaderSafetyConfig(**change)
