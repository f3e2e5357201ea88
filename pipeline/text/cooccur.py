"""Co-occurrence counting over a symmetric window, streamed in memory-bounded chunks.

Follows GloVe's ``cooccur``: out-of-vocabulary tokens are dropped *before* windowing, the window
never crosses a document boundary, and each pair (w_k, w_{k+d}) with 1 <= d <= window adds its
weight to both X[w_k, w_{k+d}] and X[w_{k+d}, w_k] (so a word repeated within the window adds
twice to its diagonal cell). Weights: ``unit`` adds 1 (simpler GloVe, posts.md §7.2), ``harmonic``
adds 1/d (GloVe).

Counting per chunk builds sparse matrices with SciPy (one ``coo -> csr`` per chunk, which sums
duplicates in C) or, on the ``torch`` backend (CUDA), with ``torch.unique`` on int64 pair keys.
When the running sum would exceed the memory budget it is spilled to a sorted Parquet part; parts
are summed by a streaming merge over row blocks, so memory stays bounded however large the corpus.

Table layout (every part and the final table): ``i`` (int32), ``j`` (int32), ``x`` (float64),
sorted by (i, j), symmetric; the final table adds ``diag`` (bool, i == j) so a fit can drop it.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from pipeline.io import DataError, parquet_writer

log = logging.getLogger(__name__)

WEIGHTINGS = ("unit", "harmonic")
PART_SCHEMA = pa.schema([("i", pa.int32()), ("j", pa.int32()), ("x", pa.float64())])
COOC_SCHEMA = PART_SCHEMA.append(pa.field("diag", pa.bool_()))
ROW_GROUP = 1 << 20
#: Bytes per raw pair while a chunk is counted (rows, cols, weights, both directions, and the
#: COO -> CSR conversion's copies), used to size chunks from the memory budget.
BYTES_PER_PAIR = 64
#: Bytes per stored non-zero of an accumulated CSR matrix, with the temporary of a sum.
BYTES_PER_NNZ = 40


@dataclasses.dataclass(frozen=True)
class CooccurConfig:
    """``text.corpora.<name>.cooccur``."""

    window: int = 10
    weightings: tuple[str, ...] = WEIGHTINGS
    max_memory_mb: int = 1024
    device: str = "cpu"

    def __post_init__(self):
        if not isinstance(self.window, int) or self.window < 1:
            raise ValueError(f"cooccur.window: expected an integer >= 1, got {self.window!r}")
        bad = [w for w in self.weightings if w not in WEIGHTINGS]
        if bad or not self.weightings:
            raise ValueError(f"cooccur.weightings: expected a non-empty subset of {WEIGHTINGS}, got {self.weightings}")
        if self.max_memory_mb < 64:
            raise ValueError(f"cooccur.max_memory_mb: expected >= 64, got {self.max_memory_mb}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"cooccur.device: expected auto, cpu or cuda, got {self.device!r}")

    @property
    def budget_bytes(self) -> int:
        return self.max_memory_mb << 20


def in_vocabulary_stream(
    ids: np.ndarray, offsets: np.ndarray, type_to_vocab: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Map type ids to vocabulary ids and drop OOV tokens; returns ``(ids, doc)`` where
    ``doc[k]`` is the document of token k (windows must not cross documents)."""
    doc = np.repeat(np.arange(len(offsets) - 1, dtype=np.int32), np.diff(offsets))
    vocab_ids = type_to_vocab[ids]
    keep = vocab_ids >= 0
    return vocab_ids[keep], doc[keep]


def _chunk_pairs(ids, doc, start, stop, window, weighting):
    """Left ends in [start, stop): arrays (a, b, w) of every in-document pair at distance 1..window."""
    n = len(ids)
    rows, cols, vals = [], [], []
    for d in range(1, window + 1):
        hi = min(stop, n - d)
        if hi <= start:
            break
        same = doc[start:hi] == doc[start + d : hi + d]
        a = ids[start:hi][same]
        b = ids[start + d : hi + d][same]
        rows.append(a)
        cols.append(b)
        vals.append(np.full(len(a), 1.0 if weighting == "unit" else 1.0 / d))
    if not rows:
        return None
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def _count_chunk_scipy(a, b, w, size):
    rows = np.concatenate([a, b])
    cols = np.concatenate([b, a])
    m = sp.coo_matrix((np.concatenate([w, w]), (rows, cols)), shape=(size, size)).tocsr()
    m.sum_duplicates()
    return m


def _count_chunk_torch(a, b, w, size, device):
    import torch

    a_t = torch.from_numpy(a).to(device, torch.int64)
    b_t = torch.from_numpy(b).to(device, torch.int64)
    w_t = torch.from_numpy(w).to(device)
    keys = torch.cat([a_t * size + b_t, b_t * size + a_t])
    uniq, inverse = torch.unique(keys, return_inverse=True)
    vals = torch.zeros(len(uniq), dtype=torch.float64, device=device).index_add_(0, inverse, torch.cat([w_t, w_t]))
    uniq, vals = uniq.cpu().numpy(), vals.cpu().numpy()
    return sp.csr_matrix((vals, ((uniq // size).astype(np.int32), (uniq % size).astype(np.int32))), shape=(size, size))


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when a CUDA device is present, else ``cpu``; ``cuda`` without one is an error."""
    if device == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise ValueError("cooccur.device: cuda requested but torch finds no CUDA device")
    return "cpu"


def count_matrices(
    ids: np.ndarray, doc: np.ndarray, size: int, cfg: CooccurConfig, weighting: str, device: str = "cpu"
) -> Iterator[sp.csr_matrix]:
    """Count the stream and yield symmetric CSR matrices whose sum is the co-occurrence matrix.

    Usually one matrix; more when the running sum outgrows half the memory budget (the caller
    spills each to disk and merges).
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting: expected one of {WEIGHTINGS}, got {weighting!r}")
    chunk = max(1 << 14, cfg.budget_bytes // (2 * cfg.window * BYTES_PER_PAIR))
    acc = None
    started = time.monotonic()
    for start in range(0, len(ids), chunk):
        pairs = _chunk_pairs(ids, doc, start, min(start + chunk, len(ids)), cfg.window, weighting)
        if pairs is None:
            continue
        if device == "cpu":
            m = _count_chunk_scipy(*pairs, size)
        else:
            m = _count_chunk_torch(*pairs, size, device)
        acc = m if acc is None else acc + m
        if acc.nnz * BYTES_PER_NNZ > cfg.budget_bytes // 2:
            log.info("spilling %d non-zeros at token %d", acc.nnz, start + chunk)
            yield acc
            acc = None
        log.debug("counted %d/%d tokens", min(start + chunk, len(ids)), len(ids))
    if acc is not None:
        yield acc
    log.info("counted %d tokens in %.1f s (%s, %s)", len(ids), time.monotonic() - started, weighting, device)


def write_csr(m: sp.csr_matrix, writer: pq.ParquetWriter, with_diag: bool = False, row_offset: int = 0) -> None:
    """Append the non-zeros of ``m`` (rows shifted by ``row_offset``) in (i, j) order."""
    m.sort_indices()
    coo = m.tocoo()
    i = (coo.row + row_offset).astype(np.int32)
    j = coo.col.astype(np.int32)
    for lo in range(0, len(i), ROW_GROUP):
        hi = lo + ROW_GROUP
        columns = [pa.array(i[lo:hi]), pa.array(j[lo:hi]), pa.array(coo.data[lo:hi].astype(np.float64))]
        if with_diag:
            columns.append(pa.array(i[lo:hi] == j[lo:hi]))
        writer.write_table(pa.Table.from_arrays(columns, schema=writer.schema))


class _RowReader:
    """Streams a sorted (i, j, x) Parquet file and hands out the entries of rows below a bound."""

    def __init__(self, path: Path):
        self.batches = pq.ParquetFile(path).iter_batches(batch_size=ROW_GROUP, columns=["i", "j", "x"])
        self.buf = [np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.float64)]
        self.done = False

    def take_below(self, bound: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        while not self.done and (len(self.buf[0]) == 0 or self.buf[0][-1] < bound):
            batch = next(self.batches, None)
            if batch is None:
                self.done = True
                break
            self.buf = [np.concatenate([old, batch.column(k).to_numpy()]) for k, old in enumerate(self.buf)]
        cut = int(np.searchsorted(self.buf[0], bound, side="left"))
        out = [col[:cut] for col in self.buf]
        self.buf = [col[cut:] for col in self.buf]
        return out[0], out[1], out[2]


def merge_parts(
    part_paths: Sequence[Path], size: int, writer: pq.ParquetWriter, budget_bytes: int, with_diag: bool
) -> dict:
    """Sum sorted symmetric parts into ``writer`` by blocks of rows, in bounded memory."""
    readers = [_RowReader(Path(p)) for p in part_paths]
    # A block of R rows holds at most R * size entries per part.
    block = max(1, budget_bytes // (BYTES_PER_NNZ * size * max(1, len(readers))))
    stats = {"nnz": 0, "total": 0.0, "diagonal_total": 0.0}
    for r0 in range(0, size, block):
        r1 = min(size, r0 + block)
        pieces = [reader.take_below(r1) for reader in readers]
        i = np.concatenate([p[0] for p in pieces]) - r0
        if len(i) == 0:
            continue
        j = np.concatenate([p[1] for p in pieces])
        x = np.concatenate([p[2] for p in pieces])
        m = sp.coo_matrix((x, (i, j)), shape=(r1 - r0, size)).tocsr()
        m.sum_duplicates()
        write_csr(m, writer, with_diag=with_diag, row_offset=r0)
        stats["nnz"] += m.nnz
        stats["total"] += float(m.data.sum())
        stats["diagonal_total"] += float(m.diagonal(k=r0).sum())
    return stats


def count_shard(
    ids: np.ndarray,
    doc: np.ndarray,
    size: int,
    cfg: CooccurConfig,
    weighting: str,
    out_path: Path,
    provenance: dict[str, str],
    device: str = "cpu",
) -> dict:
    """Count one shard's stream into one sorted symmetric part file (spilling if needed)."""
    spills: list[Path] = []
    try:
        with parquet_writer(out_path, PART_SCHEMA, provenance) as writer:
            pending = None
            for n, m in enumerate(count_matrices(ids, doc, size, cfg, weighting, device)):
                if n == 0:
                    pending = m
                    continue
                if pending is not None:
                    spills.append(_spill(pending, out_path, len(spills)))
                    pending = None
                spills.append(_spill(m, out_path, len(spills)))
            if pending is not None:
                write_csr(pending, writer)
                return {"nnz": int(pending.nnz), "spills": 0}
            if spills:
                stats = merge_parts(spills, size, writer, cfg.budget_bytes, with_diag=False)
                return {"nnz": stats["nnz"], "spills": len(spills)}
            return {"nnz": 0, "spills": 0}
    finally:
        for path in spills:
            path.unlink(missing_ok=True)


def _spill(m: sp.csr_matrix, out_path: Path, n: int) -> Path:
    path = out_path.with_name(f".{out_path.name}.spill{n}")
    with pq.ParquetWriter(path, PART_SCHEMA) as writer:
        write_csr(m, writer)
    return path


def merge_shards(
    part_paths: Sequence[Path], size: int, out_path: Path, provenance: dict[str, str], budget_bytes: int
) -> dict:
    """Sum the shards' parts into the final table (with the ``diag`` column)."""
    with parquet_writer(out_path, COOC_SCHEMA, provenance) as writer:
        stats = merge_parts(part_paths, size, writer, budget_bytes, with_diag=True)
        if stats["nnz"] == 0:  # raised inside the writer, so no empty table is left behind
            raise DataError("no co-occurrences: every document has fewer than two in-vocabulary tokens")
    stats["vocab_size"] = size
    stats["density"] = stats["nnz"] / float(size) ** 2
    stats["offdiagonal_total"] = stats["total"] - stats["diagonal_total"]
    return stats
