"""Every file the vectors domain reads or writes (the rest of the package is pure).

Inputs follow the text domain's contract: ``vocab.parquet`` (id, token, count; frequency
order) and ``cooccur/{weighting}.parquet`` (i, j, x, diag; symmetric, sorted by (i, j)). The
token shards are streamed by the text domain's ``pipeline.text.shards.ShardCorpus``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from gensim.models import KeyedVectors

from pipeline.io import (
    DataError,
    atomic_path,
    read_utf8_text,
    require_file,
    write_html_table,
    write_table,
)
from pipeline.vectors.cooccurrence import Cooccurrence
from pipeline.vectors.keyed import to_keyed_vectors

log = logging.getLogger(__name__)

#: Methods this package trains (the rest are gensim's).
OWN_METHODS = ("simpler_glove_trunc", "simpler_glove_notrunc", "glove")
#: Columns of the domain's run tables (``section`` qualifies a metric: an epoch, an analogy
#: section, a shift norm); :mod:`pipeline.vectors.results` maps them to the one results schema.
COLUMNS = [
    "experiment",
    "dataset",
    "method",
    "implementation",
    "seed",
    "section",
    "metric",
    "value",
]


def implementation_of(method: str) -> str:
    return "pipeline" if method in OWN_METHODS else "gensim"


def tidy(rows: list[dict], **fixed) -> pa.Table:
    """Long-format run table: one row per (…, metric); ``fixed`` fills the shared columns."""
    frame = pd.DataFrame([{**fixed, **r} for r in rows])
    for col in COLUMNS:
        if col not in frame:
            frame[col] = None
    frame["section"] = frame["section"].fillna("all")
    frame["value"] = frame["value"].astype("float64")
    frame["seed"] = frame["seed"].astype("int64")
    extra = [c for c in frame.columns if c not in COLUMNS]
    return pa.Table.from_pandas(frame[COLUMNS + extra], preserve_index=False)


def read_table(path: str | os.PathLike, what: str = "table") -> pd.DataFrame:
    return pd.read_parquet(require_file(path, what))


def write_frame(frame: pd.DataFrame, path: str | os.PathLike, provenance) -> Path:
    """Any frame as Parquet with provenance (tables that are not run tables)."""
    write_table(pa.Table.from_pandas(frame, preserve_index=False), path, provenance)
    return Path(path)


def write_text(text: str, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return Path(path)


def write_report_table(frame: pd.DataFrame, tsv: str | os.PathLike, index: bool = False) -> Path:
    """A table for people: a TSV to download, and its HTML rendering beside it (same name,
    ``.html``) that the report shows inline."""
    write_text(frame.to_csv(sep="\t", index=index), tsv)
    shown = frame.reset_index() if index else frame
    return write_html_table(shown, Path(tsv).with_suffix(".html"))


def write_training(
    vocab: pd.DataFrame,
    vectors: np.ndarray,
    history: list[dict],
    *,
    output,
    history_path,
    corpus: str,
    method: str,
    seed: int,
    provenance,
) -> None:
    """The trained vectors in the exchange format and the loss per epoch (a run table)."""
    save_keyed(
        to_keyed_vectors(vocab["token"].tolist(), vocab["count"].to_numpy(), vectors), output
    )
    rows = [
        {"section": f"epoch{h['epoch']}", "metric": m, "value": h[m]}
        for h in history
        for m in ("loss", "skipped", "seconds")
    ]
    fixed = dict(
        experiment="training",
        dataset=corpus,
        method=method,
        implementation=implementation_of(method),
        seed=seed,
    )
    write_table(tidy(rows, **fixed), history_path, provenance)


def read_vocab(path: str | os.PathLike) -> pd.DataFrame:
    """The vocabulary (id, token, count), checked to be ids 0..V−1 in frequency order."""
    table = pq.read_table(require_file(path, "vocabulary"), columns=["id", "token", "count"])
    vocab = table.to_pandas()
    if len(vocab) == 0:
        raise DataError(f"vocabulary {str(path)!r} has no rows")
    if not np.array_equal(vocab["id"].to_numpy(), np.arange(len(vocab))):
        raise DataError(f"vocabulary {str(path)!r}: ids are not 0..V-1 in row order")
    if np.any(np.diff(vocab["count"].to_numpy()) > 0):
        raise DataError(f"vocabulary {str(path)!r}: rows are not sorted by count descending")
    return vocab


def read_cooccurrence(path: str | os.PathLike, counts: np.ndarray) -> Cooccurrence:
    """Read (i, j, x) batch by batch into int32/float64 arrays; ``counts`` are the N_i."""
    pf = pq.ParquetFile(require_file(path, "co-occurrence table"))
    n = pf.metadata.num_rows
    i, j = np.empty(n, np.int32), np.empty(n, np.int32)
    x = np.empty(n, np.float64)
    at = 0
    for batch in pf.iter_batches(columns=["i", "j", "x"], batch_size=1 << 20):
        k = batch.num_rows
        i[at : at + k] = batch.column("i").to_numpy()
        j[at : at + k] = batch.column("j").to_numpy()
        x[at : at + k] = batch.column("x").to_numpy()
        at += k
    try:
        return Cooccurrence(i, j, x, np.asarray(counts, dtype=np.int64))
    except ValueError as exc:
        raise DataError(f"co-occurrence table {str(path)!r}: {exc}") from exc


def save_keyed(kv: KeyedVectors, path: str | os.PathLike) -> Path:
    """One self-contained pickle file (no side-car .npy), written atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        kv.save(f)
    return Path(path)


def load_keyed(path: str | os.PathLike) -> KeyedVectors:
    kv = KeyedVectors.load(str(require_file(path, "vectors")))
    if "count" not in kv.expandos:
        raise DataError(
            f"vectors {str(path)!r} carry no word counts; not this pipeline's exchange format"
        )
    return kv


def save_word2vec_text(kv: KeyedVectors, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        kv.save_word2vec_format(str(tmp), binary=False)
    return Path(path)


def export_word2vec(vectors: str | os.PathLike, output: str | os.PathLike) -> Path:
    """``vectors_export_word2vec``: the exchange format as word2vec text."""
    return save_word2vec_text(load_keyed(vectors), output)


def read_lines(path: str | os.PathLike) -> list[str]:
    """Lines of a UTF-8 text file (BOM stripped, any line ending); another encoding is a
    :class:`DataError` naming the file (pipeline.io.read_utf8_text)."""
    return read_utf8_text(path, "evaluation file").splitlines()


def read_sentiment_sheet(path: str | os.PathLike) -> pd.Series:
    """The first column of a one-column spreadsheet without header (the author's pos/neg.xls)."""
    path = require_file(path, "sentiment file")
    try:
        frame = pd.read_excel(path, header=None, engine="xlrd" if path.suffix == ".xls" else None)
    except Exception as exc:  # xlrd raises its own XLRDError for a corrupt workbook
        raise DataError(f"sentiment file {str(path)!r} could not be read: {exc}") from exc
    if frame.shape[1] == 0:
        raise DataError(f"sentiment file {str(path)!r} has no columns")
    return frame.iloc[:, 0]
