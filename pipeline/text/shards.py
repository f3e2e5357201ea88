"""Reading token-id shards back: flat id arrays for counting, token lists for gensim."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq


def read_shard(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """All ids of one shard as ``(ids, offsets)``: document d is ``ids[offsets[d]:offsets[d+1]]``."""
    column = pq.read_table(path, columns=["tokens"]).column("tokens").combine_chunks()
    offsets = column.offsets.to_numpy().astype(np.int64)
    ids = column.values.to_numpy()
    # A sliced ListArray may not start at 0.
    return ids[offsets[0] : offsets[-1]], offsets - offsets[0]


def read_types(path: str | Path) -> list[str]:
    """The token of every provisional type id."""
    return pq.read_table(path, columns=["token"]).column("token").to_pylist()


def iter_token_lists(
    shard_paths: Iterable[str | Path], types_path: str | Path
) -> Iterator[list[str]]:
    """Each document of the shards, in shard order, as a list of token strings (streaming)."""
    tokens = read_types(types_path)
    for path in shard_paths:
        for batch in pq.ParquetFile(path).iter_batches(columns=["tokens"]):
            for ids in batch.column(0).to_numpy(zero_copy_only=False):
                yield [tokens[i] for i in ids]


class ShardCorpus:
    """A restartable iterable over the documents of a corpus (what gensim's models expect)."""

    def __init__(self, shard_paths: Iterable[str | Path], types_path: str | Path):
        self.shard_paths = [Path(p) for p in shard_paths]
        self.types_path = Path(types_path)

    def __iter__(self) -> Iterator[list[str]]:
        return iter_token_lists(self.shard_paths, self.types_path)
