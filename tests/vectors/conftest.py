"""Tiny synthetic inputs for the vectors tests (nothing from ../shared)."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.vectors.cooccurrence import Cooccurrence


def count_cooccurrences(docs, vocab_size, window, harmonic=False):
    """Naive symmetric window counts (both (i, j) and (j, i)), as a dense matrix."""
    x = np.zeros((vocab_size, vocab_size))
    for doc in docs:
        for a, wa in enumerate(doc):
            for b in range(a + 1, min(a + window + 1, len(doc))):
                inc = 1.0 / (b - a) if harmonic else 1.0
                x[wa, doc[b]] += inc
                x[doc[b], wa] += inc
    return x


@pytest.fixture(scope="session")
def tiny_corpus():
    """Documents of ids drawn from a Zipf-like law over 40 words, plus vocabulary counts."""
    rng = np.random.default_rng(0)
    vocab_size = 40
    p = 1.0 / np.arange(1, vocab_size + 1)
    p /= p.sum()
    docs = [rng.choice(vocab_size, size=rng.integers(20, 60), p=p).tolist() for _ in range(200)]
    counts = np.bincount(np.concatenate(docs), minlength=vocab_size)
    # relabel so ids are in frequency order (count desc, then token asc), as vocab.parquet is
    tokens = [f"w{k:02d}" for k in range(vocab_size)]
    order = sorted(range(vocab_size), key=lambda k: (-counts[k], tokens[k]))
    new_id = {old: new for new, old in enumerate(order)}
    docs = [[new_id[t] for t in d] for d in docs]
    vocab = pd.DataFrame(
        {
            "id": np.arange(vocab_size, dtype=np.int32),
            "token": [tokens[k] for k in order],
            "count": counts[order].astype(np.int64),
        }
    )
    return docs, vocab


def dense_to_cooc(x, counts):
    i, j = np.nonzero(x)
    return Cooccurrence(i.astype(np.int64), j.astype(np.int64), x[i, j], np.asarray(counts))


@pytest.fixture(scope="session")
def tiny_cooc(tiny_corpus):
    docs, vocab = tiny_corpus
    x = count_cooccurrences(docs, len(vocab), window=5)
    return dense_to_cooc(x, vocab["count"].to_numpy())


def write_text_tables(tmp_path, docs, vocab, window=5):
    """vocab.parquet, cooccur/{unit,harmonic}.parquet, types.parquet and one shard, per the
    text domain's contract."""
    pq.write_table(pa.Table.from_pandas(vocab, preserve_index=False), tmp_path / "vocab.parquet")
    (tmp_path / "cooccur").mkdir(exist_ok=True)
    for name, harmonic in (("unit", False), ("harmonic", True)):
        x = count_cooccurrences(docs, len(vocab), window, harmonic)
        i, j = np.nonzero(x)
        table = pa.table(
            {"i": i.astype(np.int32), "j": j.astype(np.int32), "x": x[i, j], "diag": i == j}
        )
        pq.write_table(table, tmp_path / "cooccur" / f"{name}.parquet", row_group_size=100)
    pq.write_table(pa.Table.from_pandas(vocab, preserve_index=False), tmp_path / "types.parquet")
    (tmp_path / "shards").mkdir(exist_ok=True)
    shard = pa.table({"tokens": pa.array(docs, type=pa.list_(pa.int32()))})
    pq.write_table(shard, tmp_path / "shards" / "shard-0.parquet")
    return tmp_path


@pytest.fixture(scope="session")
def text_tables():
    """The writer of the text domain's tables, as a fixture (tests import no conftest)."""
    return write_text_tables
