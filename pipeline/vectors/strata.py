"""A deterministic parallel schedule for per-cell updates: DSGD strata (Gemulla et al., KDD 2011).

The vocabulary is split into ``G`` groups by ``id % G`` and every co-occurrence cell (i, j) goes
to the stratum of its groups. A *round* is a set of strata that touch pairwise-disjoint rows, so
its strata can run on any threads at once, each one sequentially, with the same result as a
single thread: the numbers depend on the schedule, never on the thread count.

- One table (simpler GloVe): the cell (i, j) updates rows i and j of W, so the stratum is the
  unordered pair {g(i), g(j)}. The rounds are a round-robin tournament of the unordered pairs
  {a, b}, a ≠ b (the circle method: G − 1 rounds of G/2 strata), then one round of the G
  diagonal strata {a, a}.
- Two tables (GloVe): the cell updates row i of W and row j of W̃, so the stratum is the ordered
  pair (g(i), g(j)) and the rounds are the G shifts {(a, (a + s) mod G) : a < G}.

Stratum ids are ``a·G + b`` (with a ≤ b for one table); ``rounds`` holds them, −1 padding.
:func:`thread_plan` hands each round's strata to the threads, largest first to the least loaded
(LPT), so that every thread has work: numba's ``prange`` cuts its range into equal contiguous
chunks, which on the padded rounds gave all of a tournament round to the first thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Strata:
    """Cells sorted by stratum, and the rounds that run them.

    Attributes
    ----------
    perm : ndarray of int64, shape (nnz,)
        Stable sort of the cells by stratum: ``x[perm]`` lists stratum 0's cells first.
    offsets : ndarray of int64, shape (G·G + 1,)
        Stratum ``s`` holds the sorted cells ``offsets[s]:offsets[s + 1]``.
    rounds : ndarray of int64, shape (n_rounds, strata per round)
        Stratum ids per round; −1 marks an empty slot.
    """

    perm: np.ndarray
    offsets: np.ndarray
    rounds: np.ndarray


def tournament_rounds(groups: int) -> np.ndarray:
    """Rounds over unordered group pairs: every {a, b} exactly once, disjoint within a round."""
    teams = groups + groups % 2  # an odd G plays against a dummy team, whose games are dropped
    rounds = []
    for r in range(teams - 1):
        games = [(r, teams - 1)] + [
            ((r + k) % (teams - 1), (r - k) % (teams - 1)) for k in range(1, teams // 2)
        ]
        rounds.append([min(a, b) * groups + max(a, b) for a, b in games if max(a, b) < groups])
    rounds.append([a * groups + a for a in range(groups)])
    return _pad(rounds)


def shift_rounds(groups: int) -> np.ndarray:
    """Rounds over ordered group pairs (a, b): round s holds (a, (a + s) mod G) for every a."""
    return _pad([[a * groups + (a + s) % groups for a in range(groups)] for s in range(groups)])


def _pad(rounds: list[list[int]]) -> np.ndarray:
    width = max(len(r) for r in rounds)
    return np.array([r + [-1] * (width - len(r)) for r in rounds], dtype=np.int64)


def stratify(i: np.ndarray, j: np.ndarray, groups: int, symmetric: bool) -> Strata:
    """Sort the cells (i, j) into strata; ``symmetric`` for one shared table (simpler GloVe).

    Parameters
    ----------
    i, j : ndarray of int, shape (nnz,)
        Row and column ids of the cells.
    groups : int
        G, the number of vocabulary groups (at most 255, so a stratum id fits 16 bits).
    symmetric : bool
        True: strata are unordered pairs and rounds a tournament; False: ordered pairs, shifts.
    """
    if not 1 <= groups <= 255:
        raise ValueError(f"groups: expected 1 to 255, got {groups}")
    gi = (i % groups).astype(np.uint16)
    gj = (j % groups).astype(np.uint16)
    if symmetric:
        gi, gj = np.minimum(gi, gj), np.maximum(gi, gj)
    key = gi * np.uint16(groups) + gj
    perm = np.argsort(key, kind="stable")  # radix sort for 16-bit keys: O(nnz)
    counts = np.bincount(key, minlength=groups * groups)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    rounds = tournament_rounds(groups) if symmetric else shift_rounds(groups)
    return Strata(perm.astype(np.int64), offsets, rounds)


def thread_plan(rounds: np.ndarray, offsets: np.ndarray, threads: int) -> np.ndarray:
    """Stratum ids per (round, thread), −1 padding: shape (n_rounds, threads, width).

    Each round's strata go largest first to the thread with the fewest cells so far (ties: the
    lower thread), so the threads of a round finish close together. Which thread runs a stratum
    never changes the result: a round's strata touch disjoint rows.
    """
    if threads < 1:
        raise ValueError(f"threads: expected at least 1, got {threads}")
    sizes = np.diff(offsets)
    plan = [[[] for _ in range(threads)] for _ in rounds]
    for r, row in enumerate(rounds):
        load = [0] * threads
        for s in sorted((s for s in row if s >= 0), key=lambda s: (-sizes[s], s)):
            t = min(range(threads), key=lambda t: (load[t], t))
            plan[r][t].append(int(s))
            load[t] += int(sizes[s])
    width = max(1, max(len(ids) for by_thread in plan for ids in by_thread))
    out = np.full((len(rounds), threads, width), -1, dtype=np.int64)
    for r, by_thread in enumerate(plan):
        for t, ids in enumerate(by_thread):
            out[r, t, : len(ids)] = ids
    return out
