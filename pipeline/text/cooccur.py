"""Co-occurrence counting over a symmetric window, streamed in memory-bounded chunks.

Follows GloVe's ``cooccur``: out-of-vocabulary tokens are dropped *before* windowing, the window
never crosses a document boundary, and each pair (w_k, w_{k+d}) with 1 <= d <= window adds its
weight to both X[w_k, w_{k+d}] and X[w_{k+d}, w_k] (so a word repeated within the window adds
twice to its diagonal cell). Weights: ``unit`` adds 1 (simpler GloVe, posts.md §7.2), ``harmonic``
adds 1/d (GloVe); on the CPU a shard's harmonic sums are exact (integer numerators over
lcm(1..window)) and rounded once, so they do not depend on the order of the stream.

On the CPU, compiled kernels (``kernels.py``) count as GloVe's ``cooccur`` does: frequent pairs in
a dense table sized from the memory budget, the rest bucketed by row and summed per row. On CUDA
(``device: cuda|auto``), chunks of pairs are summed with ``torch.unique`` on int64 pair keys.
When the running sum would exceed the memory budget it is handed over as a run of its own; the
merge sums the runs of every shard by blocks of rows, so memory stays bounded however large the
corpus.

A shard's *part* (intermediate, read once by the merge) is a plain binary file of ``.npy``
records back to back (``numpy.lib.format``): the provenance record (one JSON string), then one or
more runs, each three records: ``indptr`` (int64, vocabulary size + 1), ``indices`` (int32) and
``data`` (float64), a canonical symmetric CSR matrix (sorted unique columns per row). Its runs sum
to the shard's counts. ``read_part`` reads one back.

The final table: ``i`` (int32), ``j`` (int32), ``x`` (float64) and ``diag`` (bool, i == j, so a
fit can drop it), sorted by (i, j), symmetric.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from pipeline.devices import DEVICES
from pipeline.io import DataError, atomic_path, parquet_writer
from pipeline.text import kernels

log = logging.getLogger(__name__)

WEIGHTINGS = ("unit", "harmonic")
#: The overflow buckets keep each pair's distance as uint16.
MAX_WINDOW = 65535
COOC_SCHEMA = pa.schema(
    [("i", pa.int32()), ("j", pa.int32()), ("x", pa.float64()), ("diag", pa.bool_())]
)
ROW_GROUP = 1 << 20
#: The final table's encodings: the sorted ``i`` and ``diag`` dictionary (run-length) encoded, the
#: columns ``j`` (ascending within a row) as deltas, the values plain. Measured on the reference
#: corpus's 47M rows (harmonic) against the defaults (dictionaries and snappy everywhere): the
#: writer's CPU time 1.8 s instead of 3.3 s, read back in 1.6 s instead of 2.2 s.
TABLE_OPTIONS = {
    "use_dictionary": ["i", "diag"],
    "column_encoding": {"j": "DELTA_BINARY_PACKED", "x": "PLAIN"},
    "compression": "none",
}
#: Bytes per entry while a merge block is summed and written: the blocks read, the sums of each
#: round, the row column, the Parquet writer's buffers, and the previous block still being written.
MERGE_BYTES_PER_ENTRY = 128
MIN_BLOCK_ENTRIES = 1 << 16
#: Share of the memory budget taken by the dense table of frequent pairs (CPU kernels).
DENSE_SHARE = 0.25
#: Share of the budget for one chunk's overflow buckets; bytes per bucketed occurrence (column,
#: distance, and the per-row sums' column and value).
OVERFLOW_SHARE = 0.25
BYTES_PER_OVERFLOW = 17
#: Tokens per block of the dense pass's overflow tally (chunks of the overflow pass are whole blocks).
TALLY_BLOCK = 4096
#: Bytes per raw pair while a torch chunk is counted (rows, cols, weights, keys and copies).
BYTES_PER_PAIR = 40
#: Bytes per non-zero of a symmetric running sum at its peak (the sum, the sum it is added to,
#: the written copy); the sum is spilled before it exceeds half the budget.
BYTES_PER_NNZ = 30


@dataclasses.dataclass(frozen=True)
class CooccurConfig:
    """``text.corpora.<name>.cooccur`` (its ``weightings`` list only selects the workflow's targets;
    each table is counted with one weighting, a wildcard of the rule)."""

    window: int = 10
    max_memory_mb: int = 1024
    device: str = "cpu"

    def __post_init__(self):
        if not isinstance(self.window, int) or not 1 <= self.window <= MAX_WINDOW:
            raise ValueError(
                f"cooccur.window: expected an integer in [1, {MAX_WINDOW}], got {self.window!r}"
            )
        if self.max_memory_mb < 64:
            raise ValueError(f"cooccur.max_memory_mb: expected >= 64, got {self.max_memory_mb}")
        if self.device not in DEVICES:
            raise ValueError(
                f"cooccur.device: expected one of {', '.join(DEVICES)}, got {self.device!r}"
            )

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


def padded_stream(ids: np.ndarray, doc: np.ndarray, window: int, size: int) -> np.ndarray:
    """The stream with ``window`` sentinel ids (= ``size``) between documents.

    Any pair at distance <= window that straddles a boundary then involves a sentinel, so the
    counting kernels need no per-offset document mask: sentinel pairs land in row/column
    ``size`` of an oversized matrix, which is cut off at the end.
    """
    boundaries = np.flatnonzero(doc[1:] != doc[:-1]) + 1
    if len(boundaries) == 0:
        return ids.astype(np.int32, copy=False)
    shift = window * np.searchsorted(boundaries, np.arange(len(ids)), side="right")
    pad = np.full(len(ids) + window * len(boundaries), size, dtype=np.int32)
    pad[np.arange(len(ids)) + shift] = ids
    return pad


def _chunk_pairs(pad, start, stop, window, weighting):
    """Pairs (left, right, weight) with left position in [start, stop) and distance 1..window."""
    n = len(pad)
    rows, cols, lengths = [], [], []
    for d in range(1, window + 1):
        hi = min(stop, n - d)
        if hi <= start:
            break
        rows.append(pad[start:hi])
        cols.append(pad[start + d : hi + d])
        lengths.append(hi - start)
    if not rows:
        return None
    if weighting == "unit":
        weights = np.ones(sum(lengths))
    else:
        weights = np.repeat(1.0 / np.arange(1, len(lengths) + 1), lengths)
    return np.concatenate(rows), np.concatenate(cols), weights


def _count_chunk_torch(a, b, w, size, device):
    import torch

    keys = torch.from_numpy(a).to(device, torch.int64) * size + torch.from_numpy(b).to(
        device, torch.int64
    )
    uniq, inverse = torch.unique(keys, return_inverse=True)
    vals = torch.zeros(len(uniq), dtype=torch.float64, device=device)
    vals.index_add_(0, inverse, torch.from_numpy(w).to(device))
    uniq, vals = uniq.cpu().numpy(), vals.cpu().numpy()
    return sp.csr_matrix(
        (vals, ((uniq // size).astype(np.int32), (uniq % size).astype(np.int32))),
        shape=(size, size),
    )


def symmetrize(m: sp.csr_matrix) -> sp.csr_matrix:
    """M + Mᵀ: each left→right count also counts right→left (the diagonal doubles, as in GloVe)."""
    return (m + m.T.tocsr()).tocsr()


def count_matrices(
    ids: np.ndarray,
    doc: np.ndarray,
    size: int,
    cfg: CooccurConfig,
    weighting: str,
    device: str = "cpu",
) -> Iterator[sp.csr_matrix]:
    """Count the stream; yield symmetric CSR matrices (size × size) that sum to the counts.

    Usually one matrix; more when the running sum outgrows its share of the memory budget (the
    caller spills each to disk and merges).
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting: expected one of {WEIGHTINGS}, got {weighting!r}")
    started = time.monotonic()
    if device == "cpu":
        yield from _count_compiled(ids, doc, size, cfg, weighting == "harmonic")
    else:
        yield from (symmetrize(m) for m in _count_torch(ids, doc, size, cfg, weighting, device))
    log.info(
        "counted %d tokens in %.1f s (%s, %s)",
        len(ids),
        time.monotonic() - started,
        weighting,
        device,
    )


def pair_weights(window: int, harmonic: bool, n_tokens: int) -> tuple[np.ndarray, float]:
    """``(weights, scale)``: the weight of a pair at distance d is weights[d] / scale.

    Unit: ones. Harmonic: the integer numerators L/d over L = lcm(1..window), so sums are exact
    in int64 and each count is rounded once; float 1/d only if a cell could overflow int64.
    """
    if not harmonic:
        return np.ones(window + 1, dtype=np.int64), 1.0
    lcm = math.lcm(*range(1, window + 1))
    if lcm * 2 * window * max(1, n_tokens) < 2**62:
        return np.array([0] + [lcm // d for d in range(1, window + 1)], dtype=np.int64), float(lcm)
    return np.array([0.0] + [1.0 / d for d in range(1, window + 1)]), 1.0


def _count_compiled(ids, doc, size, cfg: CooccurConfig, harmonic: bool) -> Iterator[sp.csr_matrix]:
    """The CPU kernels: one dense pass over the stream, then the overflow pass chunk by chunk."""
    ids = np.ascontiguousarray(ids, dtype=np.int32)
    doc = np.ascontiguousarray(doc, dtype=np.int32)
    weights, scale = pair_weights(cfg.window, harmonic, len(ids))
    product = kernels.choose_product(size, int(cfg.budget_bytes * DENSE_SHARE))
    limits = kernels.dense_row_limits(size, product)
    offsets = kernels.triangle_offsets(limits)
    dense = np.zeros(int(offsets[-1]), dtype=weights.dtype)
    tally = np.zeros(len(ids) // TALLY_BLOCK + 1, dtype=np.int64)
    row_counts = np.zeros(size, dtype=np.int64)
    kernels.count_dense(
        ids, doc, 0, len(ids), cfg.window, weights, limits, offsets, dense, tally, TALLY_BLOCK,
        row_counts,
    )  # fmt: skip
    log.info(
        "dense pass: cells with (i+1)(j+1) < %d in %d MB; %d overflow occurrences",
        product,
        dense.nbytes >> 20,
        int(tally.sum()),
    )
    cap = max(1, int(cfg.budget_bytes * OVERFLOW_SHARE) // BYTES_PER_OVERFLOW)
    chunks = list(_chunks(tally, cap, len(ids)))
    if len(chunks) != 1:  # the dense pass's row counts are those of a single chunk only
        row_counts = None
    acc = None
    for start, stop in chunks:
        m = _overflow_matrix(ids, doc, start, stop, cfg.window, weights, limits, size, row_counts)
        acc = m if acc is None else acc + m  # exact while the weights are integers
        if acc.nnz * BYTES_PER_NNZ > cfg.budget_bytes // 2:
            log.info("overflow sum at %d non-zeros after token %d: handing it over", acc.nnz, stop)
            yield (acc / scale).tocsr()
            acc = None
    if acc is None:
        acc = sp.csr_matrix((size, size), dtype=weights.dtype)
    acc.sort_indices()
    indptr, indices, data = kernels.assemble(
        dense, offsets, acc.indptr.astype(np.int64), acc.indices, acc.data, scale
    )
    del dense, acc  # freed before the caller writes the result
    full = sp.csr_matrix((data, indices, indptr), shape=(size, size))
    full.has_sorted_indices = True  # assemble writes each row in column order
    yield full


def _chunks(tally: np.ndarray, cap: int, n: int) -> Iterator[tuple[int, int]]:
    """Token ranges of whole tally blocks, each holding at most ``cap`` overflow occurrences
    (a single block may hold more)."""
    ends = np.cumsum(tally)
    block = 0
    while block < len(tally):
        base = ends[block - 1] if block else 0
        last = max(block, int(np.searchsorted(ends, base + cap, side="right")) - 1)
        if ends[last] == base:  # nothing to bucket in these blocks
            block = last + 1
            continue
        yield block * TALLY_BLOCK, min(n, (last + 1) * TALLY_BLOCK)
        block = last + 1


def _overflow_matrix(
    ids, doc, start, stop, window, weights, limits, size, row_counts=None
) -> sp.csr_matrix:
    """The overflow occurrences of left tokens in [start, stop), summed per row (symmetric CSR).
    ``row_counts``: their number per row if known (else a first walk counts them)."""
    if row_counts is None:
        row_counts = np.zeros(size, dtype=np.int64)
        no_cols, no_dists = np.empty(0, dtype=np.int32), np.empty(0, dtype=np.uint16)
        kernels.overflow_pass(
            ids, doc, start, stop, window, limits, row_counts, no_cols, no_dists, False
        )
    indptr = np.concatenate([[0], np.cumsum(row_counts)])
    cols = np.empty(indptr[-1], dtype=np.int32)
    dists = np.empty(indptr[-1], dtype=np.uint16)
    kernels.overflow_pass(
        ids, doc, start, stop, window, limits, indptr[:-1].copy(), cols, dists, True
    )
    ptr, cols, vals = kernels.reduce_rows(indptr, cols, dists, weights, size)
    return sp.csr_matrix((vals, cols, ptr), shape=(size, size))


def _count_torch(
    ids, doc, size, cfg: CooccurConfig, weighting: str, device: str
) -> Iterator[sp.csr_matrix]:
    """Chunks of pairs summed with ``torch.unique``; yields one-direction (left → right) sums."""
    pad = padded_stream(ids, doc, cfg.window, size)
    chunk = max(1 << 14, cfg.budget_bytes // (2 * cfg.window * BYTES_PER_PAIR))
    acc = None
    for start in range(0, len(pad), chunk):
        pairs = _chunk_pairs(pad, start, min(start + chunk, len(pad)), cfg.window, weighting)
        if pairs is None:
            continue
        m = _count_chunk_torch(*pairs, size + 1, device)
        acc = m if acc is None else acc + m
        if 2 * acc.nnz * BYTES_PER_NNZ > cfg.budget_bytes // 2:
            log.info(
                "running sum at %d non-zeros after token %d: handing it over",
                acc.nnz,
                start + chunk,
            )
            yield acc[:size, :size]
            acc = None
    if acc is not None:
        yield acc[:size, :size]


def _write_record(f, array: np.ndarray) -> None:
    np.lib.format.write_array(f, np.ascontiguousarray(array), allow_pickle=False)


def write_run(f, m: sp.csr_matrix) -> None:
    """Append ``m`` to an open part file as one run (canonical CSR: sorted unique columns)."""
    m.sum_duplicates()  # sorts; a check only for canonical matrices
    _write_record(f, m.indptr.astype(np.int64, copy=False))
    _write_record(f, m.indices.astype(np.int32, copy=False))
    _write_record(f, m.data.astype(np.float64, copy=False))


@dataclasses.dataclass
class _Run:
    """One CSR run of a part file: its row pointers in memory, its columns and values on disk."""

    path: Path
    indptr: np.ndarray
    indices_at: int  # byte offset of the int32 columns
    data_at: int  # byte offset of the float64 values

    def block(self, r0: int, r1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows [r0, r1): row pointers from 0, columns and values read from the file."""
        lo, hi = int(self.indptr[r0]), int(self.indptr[r1])
        cols = np.fromfile(self.path, np.int32, hi - lo, offset=self.indices_at + 4 * lo)
        vals = np.fromfile(self.path, np.float64, hi - lo, offset=self.data_at + 8 * lo)
        return self.indptr[r0 : r1 + 1] - lo, cols, vals


def _record_header(f, path: Path, what: str) -> tuple[tuple[int, ...], np.dtype]:
    try:
        version = np.lib.format.read_magic(f)
        read = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }[version]
        shape, fortran, dtype = read(f)
    except (ValueError, KeyError) as e:
        raise DataError(
            f"co-occurrence part {str(path)!r}: {what} is not a .npy record ({e})"
        ) from None
    if fortran or len(shape) != 1:
        raise DataError(f"co-occurrence part {str(path)!r}: {what} is not a 1-d array")
    return shape, dtype


def read_part(path: str | Path, size: int) -> tuple[dict[str, str], list[_Run]]:
    """The provenance and the runs of a part file (see the module docstring), checked against
    the vocabulary size; columns and values stay on disk until a block of rows is read."""
    path = Path(path)
    runs = []
    end = path.stat().st_size
    with open(path, "rb") as f:
        shape, dtype = _record_header(f, path, "the provenance record")
        if dtype.kind != "U" or shape != (1,):
            raise DataError(f"co-occurrence part {str(path)!r}: no provenance record first")
        f.seek(0)
        provenance = json.loads(np.lib.format.read_array(f, allow_pickle=False)[0])
        while f.tell() < end:
            shape, dtype = _record_header(f, path, f"run {len(runs)}'s row pointers")
            if dtype != np.int64 or shape != (size + 1,):
                raise DataError(
                    f"co-occurrence part {str(path)!r}: run {len(runs)} has row pointers "
                    f"{dtype}{list(shape)}, expected int64[{size + 1}] (vocabulary of {size})"
                )
            indptr = np.fromfile(f, np.int64, size + 1)
            at = []
            for what, expected in (("columns", np.int32), ("values", np.float64)):
                shape, dtype = _record_header(f, path, f"run {len(runs)}'s {what}")
                if dtype != expected or shape != (indptr[-1],):
                    raise DataError(
                        f"co-occurrence part {str(path)!r}: run {len(runs)} has {what} "
                        f"{dtype}{list(shape)}, expected {np.dtype(expected)}[{indptr[-1]}]"
                    )
                at.append(f.tell())
                f.seek(int(indptr[-1]) * dtype.itemsize, 1)
            if f.tell() > end:
                raise DataError(f"co-occurrence part {str(path)!r} is truncated")
            runs.append(_Run(path, indptr, at[0], at[1]))
    return provenance, runs


def sum_runs(
    blocks: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum CSR blocks of the same rows (canonical: sorted unique columns per row): compiled
    merges of pairs of blocks, round after round (O(n log k) for k blocks)."""
    blocks = list(blocks)
    while len(blocks) > 1:
        merged = [
            kernels.merge_csr(*a, *b) for a, b in zip(blocks[::2], blocks[1::2], strict=False)
        ]
        blocks = merged + ([blocks[-1]] if len(blocks) % 2 else [])
    return blocks[0]


def _write_entries(writer: pq.ParquetWriter, i, j, x) -> None:
    for lo in range(0, len(i), ROW_GROUP):
        hi = lo + ROW_GROUP
        columns = [pa.array(i[lo:hi]), pa.array(j[lo:hi]), pa.array(x[lo:hi])]
        columns.append(pa.array(i[lo:hi] == j[lo:hi]))
        writer.write_table(pa.Table.from_arrays(columns, schema=writer.schema))


def _row_blocks(runs: Sequence[_Run], size: int, per_block: int) -> Iterator[tuple[int, int]]:
    """Ranges of rows holding at most ``per_block`` entries over all runs (a single row may hold
    more)."""
    ends = np.sum([run.indptr for run in runs], axis=0)
    r0 = 0
    while r0 < size:
        r1 = int(np.searchsorted(ends, ends[r0] + per_block, side="right")) - 1
        r1 = min(size, max(r0 + 1, r1))
        yield r0, r1
        r0 = r1


def merge_shards(
    part_paths: Sequence[Path],
    size: int,
    out_path: Path,
    provenance: dict[str, str],
    budget_bytes: int,
) -> dict:
    """Sum the shards' parts into the final table (with the ``diag`` column), by blocks of rows
    in bounded memory; a second thread writes block k while block k + 1 is read and summed (the
    merge and the Parquet writer release the GIL)."""
    runs = [run for p in part_paths for run in read_part(p, size)[1]]
    per_block = max(MIN_BLOCK_ENTRIES, budget_bytes // MERGE_BYTES_PER_ENTRY)
    stats = {"nnz": 0, "total": 0.0, "diagonal_total": 0.0}
    with (
        parquet_writer(out_path, COOC_SCHEMA, provenance, **TABLE_OPTIONS) as writer,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-writer") as pool,
    ):
        pending = None
        for r0, r1 in _row_blocks(runs, size, per_block):
            ptr, j, x = sum_runs([run.block(r0, r1) for run in runs])
            if len(j) == 0:
                continue
            i = np.repeat(np.arange(r0, r1, dtype=np.int32), np.diff(ptr))
            if pending is not None:
                pending.result()  # one block in flight at most: memory stays bounded
            pending = pool.submit(_write_entries, writer, i, j, x)
            stats["nnz"] += len(i)
            stats["total"] += float(x.sum())
            stats["diagonal_total"] += float(x[i == j].sum())
        if pending is not None:
            pending.result()
        if stats["nnz"] == 0:  # raised inside the writer, so no empty table is left behind
            raise DataError(
                "no co-occurrences: every document has fewer than two in-vocabulary tokens"
            )
    stats["vocab_size"] = size
    stats["density"] = stats["nnz"] / float(size) ** 2
    stats["offdiagonal_total"] = stats["total"] - stats["diagonal_total"]
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
    """Count one shard's stream into one part file: a run per matrix ``count_matrices`` yields
    (one, unless the running sum outgrew its share of the memory budget and was handed over)."""
    entries = runs = 0
    with atomic_path(out_path) as tmp, open(tmp, "wb") as f:
        _write_record(f, np.array([json.dumps(provenance, sort_keys=True)]))
        for m in count_matrices(ids, doc, size, cfg, weighting, device):
            write_run(f, m)
            entries += m.nnz
            runs += 1
    return {"entries": entries, "runs": runs}
