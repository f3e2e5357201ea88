"""Compiled (numba) kernels of co-occurrence counting; ``cooccur.py`` drives them.

The counting layout follows GloVe's ``cooccur``: cells (i, j) with (i + 1)(j + 1) < P, where most
of the mass of a Zipfian corpus falls (the frequent words, whose ids are small), are summed in a
dense "hyperbolic" table; since counts are symmetric only one triangle is kept, the lower one row
by row (row i holds the columns j <= i with j < J_i = (P − 1) // (i + 1)), so that the cells of
two frequent words, the hottest, lie together at the start of the table instead of one stretch per
frequent row across all of it (measured: the dense pass takes 0.65–0.75 of the time it took on
the upper triangle). Every other pair is an *overflow* occurrence,
bucketed by row and summed per row with a dense scratch row (Gustavson's sparse accumulator),
which yields sorted columns. Because membership depends on (i, j) alone (and is symmetric), a
row's dense columns all come before its overflow columns, so the final CSR row is the dense
prefix followed by the overflow row: no merge.

Weights come as a table ``weights[d]`` for distance d: ones (``unit``), or for ``harmonic`` the
integer numerators L/d with L = lcm(1..window), so that every sum is exact in int64 and each
count is rounded once, when it is divided by L (float 1/d only where L is too large for int64).

All kernels are single-threaded: the workflow already counts one shard per core. The merge
kernel releases the GIL, so that the merge job can write one block while it sums the next.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def dense_row_limits(size: int, product: int) -> np.ndarray:
    """J_i = min(size, (P − 1) // (i + 1)): cell (i, j) is dense iff j < J_i (iff i < J_j)."""
    return np.minimum(size, (product - 1) // np.arange(1, size + 1, dtype=np.int64))


def triangle_offsets(limits: np.ndarray) -> np.ndarray:
    """Start of each row's lower-triangle segment (columns j <= i with j < J_i); the last entry is
    the size."""
    lengths = np.minimum(np.arange(1, len(limits) + 1), limits)
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def choose_product(size: int, max_bytes: int, bytes_per_cell: int = 8) -> int:
    """The largest P whose dense triangle fits in ``max_bytes`` (binary search; 1 = none)."""

    def fits(product):
        return triangle_offsets(dense_row_limits(size, product))[-1] * bytes_per_cell <= max_bytes

    lo, hi = 1, size * size + 1
    if fits(hi):
        return hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


@njit(cache=True)
def count_dense(
    ids, doc, start, stop, window, weights, limits, offsets, dense, tally, block, row_counts
):
    """Add the pairs whose left token lies in [start, stop) and whose cell is dense to ``dense``.

    The cell (max, min) of the lower triangle gets the weight, the diagonal twice (both directions
    land on it: a word repeated within the window adds twice to its diagonal cell, as GloVe
    does). The other (overflow) occurrences, both directions, are tallied per
    ``block`` tokens of the left position, so the overflow pass can be cut into bounded chunks,
    and per row into ``row_counts`` (the bucket sizes, when one chunk takes them all).
    """
    n = len(ids)
    for p in range(start, stop):
        a = ids[p]
        for d in range(1, window + 1):
            q = p + d
            if q >= n or doc[q] != doc[p]:
                break
            b = ids[q]
            if b < limits[a]:
                w = weights[d]
                if a < b:
                    dense[offsets[b] + a] += w
                elif b < a:
                    dense[offsets[a] + b] += w
                else:
                    dense[offsets[a] + a] += 2 * w
            else:
                tally[(p - start) // block] += 2
                row_counts[a] += 1
                row_counts[b] += 1


@njit(cache=True)
def overflow_pass(ids, doc, start, stop, window, limits, cursor, cols, dists, fill):
    """Walk the overflow occurrences of left tokens in [start, stop), both directions.

    ``fill=False`` only counts them per row into ``cursor`` (``cols`` and ``dists`` unused);
    ``fill=True`` buckets them by row: column and distance at ``cursor[row]``, each row's next
    free slot (start it at the row offsets of the counts).
    """
    n = len(ids)
    for p in range(start, stop):
        a = ids[p]
        for d in range(1, window + 1):
            q = p + d
            if q >= n or doc[q] != doc[p]:
                break
            b = ids[q]
            if b >= limits[a]:
                if fill:
                    cols[cursor[a]] = b
                    dists[cursor[a]] = d
                cursor[a] += 1
                if fill:  # after a's slot is taken: a == b fills two slots of one row
                    cols[cursor[b]] = a
                    dists[cursor[b]] = d
                cursor[b] += 1


@njit(cache=True)
def reduce_rows(indptr, cols, dists, weights, size):
    """Sum each row's bucket (unsorted, with repeats) into sorted unique columns: CSR arrays
    whose values have the weights' type."""
    scratch = np.zeros(size, dtype=weights.dtype)
    seen = np.zeros(size, dtype=np.bool_)
    out_ptr = np.zeros(len(indptr), dtype=np.int64)
    out_cols = np.empty(len(cols), dtype=np.int32)
    out_vals = np.empty(len(cols), dtype=weights.dtype)
    nnz = 0
    for r in range(len(indptr) - 1):
        lo, hi = indptr[r], indptr[r + 1]
        first = nnz
        for k in range(lo, hi):
            c = cols[k]
            scratch[c] += weights[dists[k]]
            if not seen[c]:
                seen[c] = True
                out_cols[nnz] = c
                nnz += 1
        out_cols[first:nnz].sort()
        for k in range(first, nnz):
            c = out_cols[k]
            out_vals[k] = scratch[c]
            scratch[c] = 0
            seen[c] = False
        out_ptr[r + 1] = nnz
    return out_ptr, out_cols[:nnz].copy(), out_vals[:nnz].copy()


@njit(cache=True)
def assemble(dense, offsets, ov_ptr, ov_cols, ov_vals, scale):
    """Full symmetric CSR of float64 counts (sums divided by ``scale``): per row, the row's own
    lower-triangle segment (columns up to the diagonal), then its dense non-zeros right of the
    diagonal (from the transposed triangle), then its overflow entries.

    Two sequential scans of the triangle: one counts, one writes (row r's own entries in place,
    their mirror images (c, r) to the next free slot of the rows c < r they name, which receive
    them in increasing r, i.e. in column order).
    """
    size = len(offsets) - 1
    above = np.zeros(size, dtype=np.int64)  # dense non-zeros right of the diagonal, per row
    own = np.zeros(size, dtype=np.int64)
    for r in range(size):
        base = offsets[r]
        for c in range(offsets[r + 1] - base):
            if dense[base + c] != 0:
                own[r] += 1
                if c < r:
                    above[c] += 1
    indptr = np.zeros(size + 1, dtype=np.int64)
    for r in range(size):
        indptr[r + 1] = indptr[r] + own[r] + above[r] + ov_ptr[r + 1] - ov_ptr[r]
    indices = np.empty(indptr[size], dtype=np.int32)
    data = np.empty(indptr[size], dtype=np.float64)
    cursor = indptr[:-1] + own  # next free slot of each row's right-of-diagonal segment
    for r in range(size):
        k = indptr[r]
        base = offsets[r]
        for c in range(offsets[r + 1] - base):
            if dense[base + c] != 0:
                v = dense[base + c] / scale
                indices[k] = c
                data[k] = v
                k += 1
                if c < r:
                    t = cursor[c]
                    indices[t] = r
                    data[t] = v
                    cursor[c] = t + 1
        k = indptr[r] + own[r] + above[r]
        for t in range(ov_ptr[r], ov_ptr[r + 1]):
            indices[k] = ov_cols[t]
            data[k] = ov_vals[t] / scale
            k += 1
    return indptr, indices, data


@njit(cache=True, nogil=True)
def merge_csr(ptr_a, cols_a, vals_a, ptr_b, cols_b, vals_b):
    """Sum two CSR blocks of the same rows, each with sorted unique columns per row: per row, a
    merge of the two sorted column lists (a value present in both is ``vals_a + vals_b``)."""
    rows = len(ptr_a) - 1
    out_ptr = np.zeros(rows + 1, dtype=np.int64)
    out_cols = np.empty(len(cols_a) + len(cols_b), dtype=np.int32)
    out_vals = np.empty(len(cols_a) + len(cols_b), dtype=np.float64)
    n = 0
    for r in range(rows):
        a, a_end = ptr_a[r], ptr_a[r + 1]
        b, b_end = ptr_b[r], ptr_b[r + 1]
        while a < a_end and b < b_end:
            ca, cb = cols_a[a], cols_b[b]
            if ca < cb:
                out_cols[n] = ca
                out_vals[n] = vals_a[a]
                a += 1
            elif cb < ca:
                out_cols[n] = cb
                out_vals[n] = vals_b[b]
                b += 1
            else:
                out_cols[n] = ca
                out_vals[n] = vals_a[a] + vals_b[b]
                a += 1
                b += 1
            n += 1
        while a < a_end:
            out_cols[n] = cols_a[a]
            out_vals[n] = vals_a[a]
            a += 1
            n += 1
        while b < b_end:
            out_cols[n] = cols_b[b]
            out_vals[n] = vals_b[b]
            b += 1
            n += 1
        out_ptr[r + 1] = n
    return out_ptr, out_cols[:n], out_vals[:n]
