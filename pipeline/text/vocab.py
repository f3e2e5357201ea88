"""Vocabulary stage: the min_count / max_size cut, in frequency order.

Vocabulary ids run 0..V-1 by count descending, ties broken by the token string (as GloVe's
``vocab_count`` does), so every method downstream sees the same order and the same
"most frequent 30k" cut-off.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa

from pipeline.io import DataError


@dataclasses.dataclass(frozen=True)
class VocabConfig:
    """``text.corpora.<name>.vocab``."""

    min_count: int = 5
    max_size: int | None = None

    def __post_init__(self):
        if self.min_count < 1:
            raise ValueError(f"vocab.min_count: expected an integer >= 1, got {self.min_count}")
        if self.max_size is not None and self.max_size < 1:
            raise ValueError(
                f"vocab.max_size: expected an integer >= 1 or null, got {self.max_size}"
            )


def build_vocabulary(types: pa.Table, cfg: VocabConfig) -> pa.Table:
    """The vocabulary table ``id, token, count, type_id`` from the corpus type table.

    Raises :class:`DataError` when no type survives the cut.
    """
    counts = types.column("count").to_numpy()
    tokens = np.asarray(types.column("token").to_pylist(), dtype=object)
    keep = np.flatnonzero(counts >= cfg.min_count)
    if keep.size == 0:
        raise DataError(
            f"the vocabulary is empty: no word occurs at least vocab.min_count={cfg.min_count} times "
            f"(most frequent count is {int(counts.max()) if counts.size else 0})"
        )
    # Sort by count descending, then token ascending (lexsort's last key is the primary one).
    order = keep[np.lexsort((tokens[keep].astype(str), -counts[keep]))]
    if cfg.max_size is not None:
        order = order[: cfg.max_size]
    return pa.table(
        {
            "id": pa.array(np.arange(len(order), dtype=np.int32)),
            "token": pa.array(tokens[order].tolist(), type=pa.string()),
            "count": pa.array(counts[order].astype(np.int64)),
            "type_id": pa.array(types.column("id").to_numpy()[order].astype(np.int32)),
        }
    )


def type_to_vocab_map(vocab: pa.Table, n_types: int) -> np.ndarray:
    """An int32 array mapping every provisional type id to its vocabulary id, or -1 (OOV)."""
    mapping = np.full(n_types, -1, dtype=np.int32)
    mapping[vocab.column("type_id").to_numpy()] = vocab.column("id").to_numpy()
    return mapping
