import itertools

import numpy as np
import pytest

from pipeline.vectors.strata import shift_rounds, stratify, thread_plan, tournament_rounds


def touched_groups(stratum, groups, symmetric):
    a, b = divmod(stratum, groups)
    return {("W", a), ("W", b)} if symmetric else {("W", a), ("C", b)}


@pytest.mark.parametrize("groups", [1, 2, 3, 7, 8, 16])
def test_tournament_covers_every_unordered_pair_once_with_disjoint_rounds(groups):
    rounds = tournament_rounds(groups)
    seen = [s for s in rounds.ravel() if s >= 0]
    expect = [a * groups + b for a, b in itertools.combinations_with_replacement(range(groups), 2)]
    assert sorted(seen) == sorted(expect)
    for row in rounds:
        touched = [touched_groups(s, groups, True) for s in row if s >= 0]
        assert len(set().union(*touched)) == sum(len(t) for t in touched)  # pairwise disjoint


@pytest.mark.parametrize("groups", [1, 3, 8])
def test_shift_rounds_cover_every_ordered_pair_once_with_disjoint_rounds(groups):
    rounds = shift_rounds(groups)
    assert sorted(rounds.ravel()) == list(range(groups * groups))
    for row in rounds:
        touched = [touched_groups(s, groups, False) for s in row]
        assert len(set().union(*touched)) == 2 * groups


def test_stratify_sorts_cells_into_their_strata():
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, 50, 500), rng.integers(0, 50, 500)
    for symmetric in (True, False):
        strata = stratify(i, j, 4, symmetric)
        assert sorted(strata.perm) == list(range(500))
        for s in range(16):
            cells = strata.perm[strata.offsets[s] : strata.offsets[s + 1]]
            a, b = i[cells] % 4, j[cells] % 4
            if symmetric:
                a, b = np.minimum(a, b), np.maximum(a, b)
            assert np.all(a * 4 + b == s)
            assert np.all(np.diff(cells) > 0)  # stable: the table's order within a stratum
    with pytest.raises(ValueError, match="groups"):
        stratify(i, j, 0, True)


@pytest.mark.parametrize("groups, threads", [(4, 2), (32, 2), (7, 3), (2, 4)])
def test_thread_plan_spreads_each_round_over_the_threads(groups, threads):
    rng = np.random.default_rng(groups)
    i, j = rng.integers(0, 300, 20_000), rng.integers(0, 300, 20_000)
    strata = stratify(i, j, groups, symmetric=True)
    plan = thread_plan(strata.rounds, strata.offsets, threads)
    sizes = np.diff(strata.offsets)
    for row, by_thread in zip(strata.rounds, plan, strict=True):
        ids = by_thread[by_thread >= 0]
        assert sorted(ids) == sorted(row[row >= 0])  # each stratum once, in its own round
        busy = (by_thread >= 0).any(axis=1).sum()
        assert busy == min(threads, len(ids))  # no thread idle while another holds two strata
        loads = [sizes[t[t >= 0]].sum() for t in by_thread]
        assert max(loads) - min(loads) <= sizes[ids].max()  # LPT: within one stratum
    with pytest.raises(ValueError, match="threads"):
        thread_plan(strata.rounds, strata.offsets, 0)
