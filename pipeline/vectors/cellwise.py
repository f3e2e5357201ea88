"""The compiled CPU engine: one Adagrad update per co-occurrence cell, as both C programs do.

simpler_glove's and GloVe's C codes visit the shuffled cells one at a time and update the two
rows a cell touches at once (Hogwild threads). Here the same per-cell updates run in numba
kernels, in parallel but deterministically: the cells are split into DSGD strata
(:mod:`pipeline.vectors.strata`), every round's strata touch disjoint rows and are spread over
the ``numba.prange`` threads by cell count, each stratum run sequentially. Every pass shuffles
each stratum and runs ``interleave`` sweeps of the rounds, sweep k over the k-th slice of every
stratum, each sweep in a fresh random round order (a fixed order cost accuracy). The same seed
gives the same bits for any thread count.

Per cell (i, j) with target t and weight f, both gradients are taken at the old values:

- simpler GloVe: r = ⟨w_i, w_j⟩ − t; g_i = f·r·w_j, g_j = f·r·w_i (one table W);
- GloVe: r = ⟨w_i, w̃_j⟩ + b_i + b̃_j − t; g_w = clip(f·r·w̃_j), g_w̃ = clip(f·r·w_i), g_b = f·r;

then Adagrad (:mod:`pipeline.vectors.adagrad`) on each touched entry: ``standard``
(G += g², w −= η g/√(G + eps)) or ``lagged`` (w −= η g/√G, G += (η g)²), accumulators at 1.

Numerics: float32 tables by default (float64, as the C codes' ``real``, on request: the same
kernels compile for either), float64 loss sums. ``fastmath`` is limited to ``reassoc`` and
``contract`` (vectorised dot products, fused multiply-adds): the result is still a fixed
function of the schedule, and ``nnan``/``ninf`` stay off so the NaN/Inf guard is not optimised
away; ``error_model="numpy"`` drops the division-by-zero checks that stop vectorisation. A cell
whose loss or new values are not finite is never written: ``nan_policy="raise"`` stops with
:class:`~pipeline.vectors.training.DivergenceError`, ``"skip"`` counts it and goes on (as the C
codes do).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from pipeline.vectors.adagrad import VARIANTS
from pipeline.vectors.strata import stratify, thread_plan
from pipeline.vectors.training import NAN_POLICIES, DivergenceError

log = logging.getLogger(__name__)

FASTMATH = {"reassoc", "contract"}


@dataclass(frozen=True)
class CellwiseConfig:
    """What the per-cell engine needs; ``groups`` is G of the strata (fixed: it sets the order)."""

    epochs: int
    eta: float
    adagrad: str = "standard"
    eps: float = 1e-8
    nan_policy: str = "raise"
    groups: int = 32
    grad_clip: float | None = None
    interleave: int = 1

    def __post_init__(self):
        if self.epochs < 1:
            raise ValueError(f"epochs: must be at least 1, got {self.epochs}")
        if self.eta <= 0:
            raise ValueError(f"eta: must be positive, got {self.eta}")
        if self.adagrad not in VARIANTS:
            raise ValueError(f"adagrad: expected one of {VARIANTS}, got {self.adagrad!r}")
        if self.nan_policy not in NAN_POLICIES:
            raise ValueError(f"nan_policy: expected one of {NAN_POLICIES}, got {self.nan_policy!r}")
        if not 1 <= self.groups <= 255:
            raise ValueError(f"groups: expected 1 to 255, got {self.groups}")
        if self.interleave < 1:
            raise ValueError(f"interleave: must be at least 1, got {self.interleave}")


def set_threads(threads: int) -> int:
    """Use ``threads`` numba threads (capped at the pool size); return the number in use."""
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    return numba.get_num_threads()


# --- kernels --------------------------------------------------------------------------------


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _adagrad(value, acc, grad, eta, eps, lagged):
    """One entry's (new value, new accumulator)."""
    if lagged:
        step = eta * grad
        return value - step / np.sqrt(acc), acc + step * step
    acc = acc + grad * grad
    return value - eta * grad / np.sqrt(acc + eps), acc


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def run_cells(tables, cells, order, lo, hi, hyper, glove, stop_on_bad, old):
    """Update the tables for the cells ``order[lo:hi]``, one at a time, in that order.

    ``tables`` = (W, G_W, W̃, G_W̃, b, G_b, b̃, G_b̃): simpler GloVe passes W and G_W again as
    W̃ and G_W̃ (the cell (i, j) then updates rows i and j of the one table) and ignores the
    biases. ``cells`` = (i, j, target, weight); ``hyper`` = (η, eps, lagged as 0/1, clip) as
    the tables' dtype; ``old`` is (4, d) scratch of that dtype. A cell whose loss or new values are NaN/Inf
    leaves the tables as they were. Returns (loss sum of the written cells, cells skipped,
    position of the first bad cell after ``lo`` or −1, its loss); with ``stop_on_bad`` the
    first bad cell ends the range.

    The whole cell is written out in this one function: numba does not inline across functions,
    and row views would cost an atomic reference count each; one loop per Adagrad variant, so
    that each vectorises.
    """
    x, gx, y, gy, b, gb, bc, gbc = tables
    ci, cj, ct, cf = cells
    eta, eps, lagged, clip = hyper[0], hyper[1], hyper[2] > 0, hyper[3]
    zero = hyper[0] - hyper[0]  # 0 in the tables' dtype (η is finite)
    total, skipped = 0.0, 0
    for pos in range(lo, hi):
        n = order[pos]
        i, j = ci[n], cj[n]
        dot = zero
        for k in range(x.shape[1]):
            dot += x[i, k] * y[j, k]
            old[0, k], old[1, k], old[2, k], old[3, k] = x[i, k], y[j, k], gx[i, k], gy[j, k]
        r = dot + b[i] + bc[j] - ct[n] if glove else dot - ct[n]
        loss = 0.5 * np.float64(cf[n]) * np.float64(r) * np.float64(r)
        fr = cf[n] * r
        new = zero
        if np.isfinite(loss) and lagged:
            for k in range(x.shape[1]):
                sa = eta * min(max(fr * old[1, k], -clip), clip)
                sb = eta * min(max(fr * old[0, k], -clip), clip)
                x[i, k] = old[0, k] - sa / np.sqrt(old[2, k])
                y[j, k] = old[1, k] - sb / np.sqrt(old[3, k])
                gx[i, k] = old[2, k] + sa * sa
                gy[j, k] = old[3, k] + sb * sb
                new += x[i, k] + y[j, k]
        elif np.isfinite(loss):
            for k in range(x.shape[1]):
                ga = min(max(fr * old[1, k], -clip), clip)
                gb_ = min(max(fr * old[0, k], -clip), clip)
                acc_a, acc_b = old[2, k] + ga * ga, old[3, k] + gb_ * gb_
                x[i, k] = old[0, k] - eta * ga / np.sqrt(acc_a + eps)
                y[j, k] = old[1, k] - eta * gb_ / np.sqrt(acc_b + eps)
                gx[i, k], gy[j, k] = acc_a, acc_b
                new += x[i, k] + y[j, k]
        new_b = new_gb = new_bc = new_gbc = zero
        if glove:
            new_b, new_gb = _adagrad(b[i], gb[i], fr, eta, eps, lagged)
            new_bc, new_gbc = _adagrad(bc[j], gbc[j], fr, eta, eps, lagged)
            new += new_b + new_bc
        if np.isfinite(loss) and np.isfinite(new):
            total += loss
            if glove:
                b[i], gb[i], bc[j], gbc[j] = new_b, new_gb, new_bc, new_gbc
            continue
        for k in range(x.shape[1]):  # undo: the cell is skipped or ends the range
            x[i, k], y[j, k], gx[i, k], gy[j, k] = old[0, k], old[1, k], old[2, k], old[3, k]
        if stop_on_bad:
            return total, skipped, pos - lo, loss
        skipped += 1
    return total, skipped, -1, 0.0


@njit(cache=True)
def _shuffle(order, lo, hi, seed):
    """Fisher–Yates over ``order[lo:hi]`` driven by splitmix64 from ``seed`` (uint64)."""
    state = seed
    for k in range(hi - 1, lo, -1):
        state += np.uint64(0x9E3779B97F4A7C15)
        z = state
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
        m = lo + np.int64(z % np.uint64(k - lo + 1))
        order[k], order[m] = order[m], order[k]


@njit(cache=True, parallel=True)
def shuffle_strata(order, offsets, seed):
    """Shuffle every stratum's slice of ``order`` in place, each from its own seed."""
    for s in prange(len(offsets) - 1):
        _shuffle(
            order, offsets[s], offsets[s + 1], seed + np.uint64(s) * np.uint64(0xD1B54A32D192ED03)
        )


@njit(cache=True, parallel=True, fastmath=FASTMATH, error_model="numpy")
def run_epoch(tables, cells, order, offsets, plan, round_order, hyper, glove, stop_on_bad, out):
    """One pass over the shuffled strata: ``round_order.shape[0]`` sweeps of the rounds.

    Sweep k runs the rounds in the order ``round_order[k]``, and in each round every stratum's
    k-th of K slices of ``order``, the round's strata spread over the threads by ``plan``
    (n_rounds, threads, width; −1 padding; :func:`~pipeline.vectors.strata.thread_plan`).
    ``tables`` = (W, G_W, W̃, G_W̃, b, G_b, b̃, G_b̃) (simpler GloVe passes W and G_W and leaves
    the rest unused); ``cells`` = (i, j, target, weight) sorted by stratum; ``hyper`` = (η, eps,
    lagged as 0/1, clip) in the tables' dtype. ``out`` (n_strata, 4) float64 accumulates per
    stratum: loss sum of the written cells, skipped cells, position of the first bad cell in
    its slice (−1: none), its loss. Returns (sweep, round) of the first bad cell, or (−1, −1).
    """
    dim = tables[0].shape[1]
    sweeps = round_order.shape[0]
    for k in range(sweeps):
        for r in round_order[k]:
            for t in prange(plan.shape[1]):
                old = np.empty((4, dim), hyper.dtype)
                for m in range(plan.shape[2]):
                    s = plan[r, t, m]
                    if s < 0:
                        break
                    n = offsets[s + 1] - offsets[s]
                    lo, hi = offsets[s] + n * k // sweeps, offsets[s] + n * (k + 1) // sweeps
                    loss, skipped, bad, bad_loss = run_cells(
                        tables, cells, order, lo, hi, hyper, glove, stop_on_bad, old
                    )
                    out[s, 0] += loss
                    out[s, 1] += skipped
                    if bad >= 0:
                        out[s, 2], out[s, 3] = bad, bad_loss
            if stop_on_bad and (out[:, 2] >= 0).any():
                return k, r
    return -1, -1


# --- the loop -------------------------------------------------------------------------------


def fit(tables: dict, i, j, target, weight, cfg: CellwiseConfig, random_state: int) -> list[dict]:
    """Train ``tables`` in place on the cells; return one dict per epoch (as ``training.fit``).

    Parameters
    ----------
    tables : dict of str to ndarray (C-contiguous, all float32 or all float64)
        ``{"W": (V, d)}`` for simpler GloVe (symmetric strata), or ``{"W", "C": (V, d),
        "b", "c": (V,)}`` for GloVe (ordered strata).
    i, j, target, weight : ndarray, shape (nnz,)
        The cells.

    Raises
    ------
    DivergenceError
        With ``nan_policy="raise"``, naming the epoch, the cell's position in the pass and its loss.
    """
    glove = "C" in tables
    dtype = tables["W"].dtype
    if dtype not in (np.float32, np.float64) or any(
        t.dtype != dtype or not t.flags.c_contiguous for t in tables.values()
    ):
        raise ValueError("the tables must be C-contiguous, all float32 or all float64")
    strata = stratify(i, j, cfg.groups, symmetric=not glove)
    plan = thread_plan(strata.rounds, strata.offsets, numba.get_num_threads())
    n_rounds = len(strata.rounds)
    cells = sorted_cells(strata.perm, i, j, target, weight, dtype)
    packed = pack_tables(tables)
    clip = np.inf if cfg.grad_clip is None else cfg.grad_clip
    hyper = np.array([cfg.eta, cfg.eps, cfg.adagrad == "lagged", clip], dtype=dtype)
    order = np.arange(len(target), dtype=np.int64)
    out = np.zeros((len(strata.offsets) - 1, 4))
    seeds = epoch_seeds(random_state, cfg.epochs)
    history, n = [], len(target)
    for epoch in range(1, cfg.epochs + 1):
        start = time.perf_counter()
        out[:] = 0.0
        out[:, 2] = -1.0
        stop = cfg.nan_policy == "raise"
        shuffle_strata(order, strata.offsets, seeds[epoch - 1])
        round_order = round_orders(seeds[epoch - 1], n_rounds, cfg.interleave)
        bad = run_epoch(
            packed, cells, order, strata.offsets, plan, round_order, hyper, glove, stop, out
        )
        if bad[0] >= 0:
            raise DivergenceError(_divergence_message(epoch, strata, round_order, bad, out))
        loss, skipped = float(out[:, 0].sum()), int(out[:, 1].sum())
        history.append(
            {
                "epoch": epoch,
                "loss": loss / n,
                "skipped": skipped,
                "seconds": time.perf_counter() - start,
            }
        )
        log.info("epoch %d: loss %.6g, %d cells skipped, %.1f s", *history[-1].values())
    return history


def sorted_cells(perm, i, j, target, weight, dtype=np.float32) -> tuple:
    """(i, j, target, weight) in stratum order, as int32 and ``dtype`` for the kernels."""
    with np.errstate(over="ignore"):  # weights beyond float32 become inf: the guard reports them
        return (
            np.ascontiguousarray(i[perm], dtype=np.int32),
            np.ascontiguousarray(j[perm], dtype=np.int32),
            np.ascontiguousarray(target[perm], dtype=dtype),
            np.ascontiguousarray(weight[perm], dtype=dtype),
        )


def pack_tables(tables: dict) -> tuple:
    """(W, G_W, W̃, G_W̃, b, G_b, b̃, G_b̃) for :func:`run_cells`, accumulators at 1.0.

    Simpler GloVe (``{"W"}``) passes W and G_W twice and a placeholder for the biases.
    """
    acc = {name: np.ones_like(t) for name, t in tables.items()}
    if "C" not in tables:
        unused = np.zeros(1, tables["W"].dtype)
        w, gw = tables["W"], acc["W"]
        return (w, gw, w, gw, unused, unused, unused, unused)
    return tuple(a for name in ("W", "C", "b", "c") for a in (tables[name], acc[name]))


def epoch_seeds(random_state: int, epochs: int) -> np.ndarray:
    """One uint64 seed per pass: it drives the strata shuffles and the round orders."""
    return np.random.SeedSequence(random_state).generate_state(epochs, np.uint64)


def round_orders(seed, n_rounds: int, sweeps: int) -> np.ndarray:
    """(sweeps, n_rounds): a fresh random order of the rounds for every sweep of a pass.

    A fixed order (the same round last in every pass) cost 2.3 analogy points on the English
    reference corpus with 32 groups (docs/BENCHMARKS.md).
    """
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(n_rounds) for _ in range(sweeps)])


def schedule(strata, round_order: np.ndarray):
    """Yield (sweep, round, stratum, lo, hi) for every slice of ``order`` in the order
    :func:`run_epoch` runs them (sweeps, rounds, then a round's strata; the strata of a round
    are independent, so this sequential order gives the parallel result)."""
    sweeps = len(round_order)
    for k, rounds in enumerate(round_order):
        for r in rounds:
            for s in strata.rounds[r][strata.rounds[r] >= 0]:
                lo, n = strata.offsets[s], strata.offsets[s + 1] - strata.offsets[s]
                yield k, r, s, lo + n * k // sweeps, lo + n * (k + 1) // sweeps


def _divergence_message(epoch: int, strata, round_order, bad, out: np.ndarray) -> str:
    """The first bad cell in schedule order: its 1-based position in the pass and its loss."""
    done = 0
    for k, r, s, lo, hi in schedule(strata, round_order):
        if (k, r) == tuple(bad) and out[s, 2] >= 0:
            return (
                f"training diverged at step {done + int(out[s, 2]) + 1} (epoch {epoch}): cell "
                f"loss {out[s, 3]}; lower eta or x_max, or check the co-occurrence table"
            )
        done += hi - lo
    raise AssertionError("no bad cell recorded")
