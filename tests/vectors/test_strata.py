import itertools

import numpy as np
import pytest

from pipeline.vectors.strata import shift_rounds, stratify, tournament_rounds


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
