"""Co-occurrence counts against hand-computed tables and a naive pure-Python count."""

from collections import defaultdict
from fractions import Fraction

import numpy as np
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from pipeline.io import DataError
from pipeline.text.cooccur import (
    CooccurConfig,
    count_shard,
    in_vocabulary_stream,
    merge_shards,
    read_part,
    write_run,
)

PROV = {"git_commit": "test"}
VOCAB = {"a": 0, "b": 1, "c": 2}


def _stream(docs, vocab=VOCAB):
    """(ids, doc) of documents given as lists of tokens; tokens outside ``vocab`` are OOV."""
    types = sorted({t for d in docs for t in d})
    tid = {t: k for k, t in enumerate(types)}
    flat = np.array([tid[t] for d in docs for t in d], dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum([len(d) for d in docs])])
    mapping = np.array([vocab.get(t, -1) for t in types], dtype=np.int32)
    return in_vocabulary_stream(flat, offsets, mapping)


def _count(tmp_path, docs, window, weighting, vocab=VOCAB, budget_mb=64, shards=1):
    """Count ``docs`` split round-robin into shards, merge, and return {(i, j): x}."""
    cfg = CooccurConfig(window=window, max_memory_mb=budget_mb)
    parts = []
    for k in range(shards):
        ids, doc = _stream(docs[k::shards], vocab)
        part = tmp_path / f"part-{k}.csr"
        count_shard(ids, doc, len(vocab), cfg, weighting, part, PROV)
        parts.append(part)
    out = tmp_path / "cooc.parquet"
    stats = merge_shards(parts, len(vocab), out, PROV, cfg.budget_bytes)
    t = pq.read_table(out).to_pydict()
    assert t["diag"] == [i == j for i, j in zip(t["i"], t["j"], strict=True)]
    assert list(zip(t["i"], t["j"], strict=True)) == sorted(zip(t["i"], t["j"], strict=True))
    return {(i, j): x for i, j, x in zip(t["i"], t["j"], t["x"], strict=True)}, stats


def naive_count(docs, vocab, window, weighting):
    """GloVe's cooccur, literally: drop OOV, then for each token look back `window` tokens."""
    X = defaultdict(float)
    for d in docs:
        ids = [vocab[t] for t in d if t in vocab]
        for k, right in enumerate(ids):
            for dist in range(1, window + 1):
                if k - dist < 0:
                    break
                left = ids[k - dist]
                w = 1.0 if weighting == "unit" else 1.0 / dist
                X[(left, right)] += w
                X[(right, left)] += w
    return dict(X)


def test_unit_counts_by_hand(tmp_path):
    X, stats = _count(tmp_path, [["a", "b", "a", "c"]], window=2, weighting="unit")
    a, b, c = 0, 1, 2
    assert X == {(a, a): 2, (a, b): 2, (a, c): 1, (b, a): 2, (b, c): 1, (c, a): 1, (c, b): 1}
    assert stats["nnz"] == 7 and stats["total"] == 10 and stats["diagonal_total"] == 2
    assert stats["density"] == 7 / 9


def test_harmonic_counts_by_hand(tmp_path):
    X, _ = _count(tmp_path, [["a", "b", "a", "c"]], window=2, weighting="harmonic")
    a, b, c = 0, 1, 2
    assert X == {
        (a, a): 1.0,
        (a, b): 2.0,
        (a, c): 1.0,
        (b, a): 2.0,
        (b, c): 0.5,
        (c, a): 1.0,
        (c, b): 0.5,
    }


def test_window_never_crosses_documents(tmp_path):
    X, _ = _count(tmp_path, [["a", "b"], ["c", "a"]], window=5, weighting="unit")
    assert X == {(0, 1): 1, (1, 0): 1, (2, 0): 1, (0, 2): 1}


def test_oov_dropped_before_windowing(tmp_path):
    X, _ = _count(tmp_path, [["a", "x", "y", "b"]], window=1, weighting="unit")
    assert X == {(0, 1): 1, (1, 0): 1}


#: DENSE_SHARE settings under a 64 MB budget: everything in the dense table (the default for a
#: small vocabulary), about half the cells dense, and none (every pair is an overflow).
LAYOUTS = {"dense": 0.25, "mixed": 2000 / (64 << 20), "overflow": 0.0}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("weighting", ["unit", "harmonic"])
@pytest.mark.parametrize("shards", [1, 3])
def test_equals_naive_count_on_random_corpus(tmp_path, monkeypatch, weighting, shards, layout):
    monkeypatch.setattr("pipeline.text.cooccur.DENSE_SHARE", LAYOUTS[layout])
    rng = np.random.default_rng(0)
    words = [f"w{k}" for k in range(40)]
    vocab = {w: k for k, w in enumerate(words[:30])}  # w30..w39 are OOV
    p = 1.0 / np.arange(1, 41)
    docs = [list(rng.choice(words, size=rng.integers(0, 60), p=p / p.sum())) for _ in range(50)]
    X, _ = _count(tmp_path, docs, window=4, weighting=weighting, vocab=vocab, shards=shards)
    expected = naive_count(docs, vocab, 4, weighting)
    assert X.keys() == expected.keys()
    if weighting == "unit":
        assert X == expected  # integers in float64: exact
    else:
        np.testing.assert_allclose(
            [X[k] for k in expected], list(expected.values()), rtol=1e-13, atol=0
        )


@pytest.mark.parametrize("layout", LAYOUTS)
def test_harmonic_counts_of_one_shard_are_correctly_rounded(tmp_path, monkeypatch, layout):
    """Sums of 1/d are kept exact (integer numerators over lcm(1..w)) and rounded once."""
    monkeypatch.setattr("pipeline.text.cooccur.DENSE_SHARE", LAYOUTS[layout])
    rng = np.random.default_rng(3)
    vocab = {f"w{k}": k for k in range(30)}
    p = 1.0 / np.arange(1, 31)
    docs = [list(rng.choice(list(vocab), size=300, p=p / p.sum())) for _ in range(20)]
    X, _ = _count(tmp_path, docs, window=7, weighting="harmonic", vocab=vocab)
    exact = defaultdict(Fraction)
    for d in docs:
        for k in range(len(d)):
            for dist in range(1, 8):
                if k + dist < len(d):
                    exact[(vocab[d[k]], vocab[d[k + dist]])] += Fraction(1, dist)
                    exact[(vocab[d[k + dist]], vocab[d[k]])] += Fraction(1, dist)
    assert X == {key: float(v) for key, v in exact.items()}


@pytest.mark.parametrize("weighting", ["unit", "harmonic"])
def test_spilling_under_a_tiny_budget_gives_the_same_counts(tmp_path, monkeypatch, weighting):
    rng = np.random.default_rng(1)
    vocab = {f"w{k}": k for k in range(200)}
    docs = [[f"w{k}" for k in rng.integers(0, 200, size=500)] for _ in range(40)]
    expected = naive_count(docs, vocab, 3, weighting)
    # A quarter of the cells dense; overflow chunks of one tally block of 64 tokens, spilled after each.
    monkeypatch.setattr("pipeline.text.cooccur.DENSE_SHARE", 40_000 / (64 << 20))
    monkeypatch.setattr("pipeline.text.cooccur.TALLY_BLOCK", 64)
    monkeypatch.setattr("pipeline.text.cooccur.BYTES_PER_OVERFLOW", 10**6)
    monkeypatch.setattr("pipeline.text.cooccur.BYTES_PER_NNZ", 10**4)
    # ... and merge blocks of a few entries, so the streaming merge crosses many row blocks.
    monkeypatch.setattr("pipeline.text.cooccur.MIN_BLOCK_ENTRIES", 50)
    monkeypatch.setattr("pipeline.text.cooccur.MERGE_BYTES_PER_ENTRY", 10**6)
    X, _ = _count(tmp_path, docs, window=3, weighting=weighting, vocab=vocab)
    if weighting == "unit":
        assert X == expected  # integers: exact
    else:  # spilled parts are rounded once each, then summed
        assert X.keys() == expected.keys()
        np.testing.assert_allclose(
            [X[k] for k in expected], list(expected.values()), rtol=1e-15, atol=0
        )
    ids, doc = _stream(docs, vocab)
    cfg = CooccurConfig(window=3, max_memory_mb=64)
    result = count_shard(ids, doc, 200, cfg, weighting, tmp_path / "p.csr", PROV)
    provenance, runs = read_part(tmp_path / "p.csr", 200)
    assert result["runs"] == len(runs) >= 2 and provenance == PROV
    assert result["entries"] == sum(int(run.indptr[-1]) for run in runs)
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_torch_backend_equals_compiled_kernels():
    torch = pytest.importorskip("torch")
    from pipeline.text.cooccur import _count_torch, count_matrices, symmetrize

    rng = np.random.default_rng(2)
    ids = rng.integers(0, 50, size=3000).astype(np.int32)
    doc = np.repeat(np.arange(30, dtype=np.int32), 100)
    cfg = CooccurConfig(window=5)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for weighting in ("unit", "harmonic"):
        (a,) = count_matrices(ids, doc, 50, cfg, weighting, "cpu")
        for device in devices:
            (b,) = _count_torch(ids, doc, 50, cfg, weighting, device)
            np.testing.assert_allclose(a.toarray(), symmetrize(b).toarray(), rtol=1e-13)


def test_merge_csr_by_hand():
    from pipeline.text.kernels import merge_csr

    # Rows 0..2. a: row 0 {0: 1, 2: 2}, row 1 {}, row 2 {1: 4}; b: row 0 {1: 8, 2: 16}, row 1 {0: 32}.
    a = (np.array([0, 2, 2, 3]), np.array([0, 2, 1], np.int32), np.array([1.0, 2.0, 4.0]))
    b = (np.array([0, 2, 3, 3]), np.array([1, 2, 0], np.int32), np.array([8.0, 16.0, 32.0]))
    ptr, cols, vals = merge_csr(*a, *b)
    assert ptr.tolist() == [0, 3, 4, 5]
    assert cols.tolist() == [0, 1, 2, 0, 1]
    assert vals.tolist() == [1.0, 8.0, 18.0, 32.0, 4.0]


@pytest.mark.parametrize("n_runs", [1, 2, 3, 5])
def test_sum_runs_equals_a_dictionary_sum(n_runs):
    from pipeline.text.cooccur import sum_runs

    rng = np.random.default_rng(n_runs)
    runs, expected = [], defaultdict(float)
    for r in range(n_runs):
        keys = np.unique(rng.integers(0, 7 * 7, size=20 if r != 1 else 0))  # run 1 is empty
        x = rng.random(len(keys))
        m = sp.csr_matrix((x, (keys // 7, keys % 7)), shape=(7, 7))
        runs.append((m.indptr.astype(np.int64), m.indices.astype(np.int32), m.data))
        for k, v in zip(keys.tolist(), x.tolist(), strict=True):
            expected[divmod(k, 7)] += v
    ptr, j, x = sum_runs(runs)
    i = np.repeat(np.arange(7), np.diff(ptr))
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == sorted(expected)
    np.testing.assert_allclose(x, [expected[k] for k in sorted(expected)], rtol=1e-15)


def test_part_file_round_trip_and_bad_parts(tmp_path):
    m = sp.csr_matrix(np.array([[0, 2.5, 0], [2.5, 0, 1], [0, 1, 4]]))
    path = tmp_path / "p.csr"
    with open(path, "wb") as f:
        np.lib.format.write_array(f, np.array(['{"git_commit": "x"}']))
        write_run(f, m)
        write_run(f, 2 * m)
    provenance, runs = read_part(path, 3)
    assert provenance == {"git_commit": "x"} and len(runs) == 2
    ptr, cols, vals = runs[1].block(1, 3)
    assert ptr.tolist() == [0, 2, 4] and cols.tolist() == [0, 2, 1, 2]
    assert vals.tolist() == [5.0, 2.0, 2.0, 8.0]
    with pytest.raises(DataError, match="expected int64\\[5\\] \\(vocabulary of 4\\)"):
        read_part(path, 4)
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(DataError, match="is truncated"):
        read_part(path, 3)
    path.write_bytes(b"PAR1 not a part")
    with pytest.raises(DataError, match="p.csr.*not a .npy record"):
        read_part(path, 3)


@pytest.mark.parametrize("window", [0, -3, 65536])
def test_window_below_one_is_rejected(window):
    with pytest.raises(ValueError, match="cooccur.window"):
        CooccurConfig(window=window)


def test_unknown_weighting_is_rejected(tmp_path):
    ids, doc = _stream([["a", "b"]], VOCAB)
    with pytest.raises(ValueError, match="weighting: expected one of"):
        count_shard(
            ids, doc, len(VOCAB), CooccurConfig(window=2), "cubic", tmp_path / "p.csr", PROV
        )


def test_no_cooccurrences_is_an_error_and_leaves_no_table(tmp_path):
    with pytest.raises(DataError, match="no co-occurrences"):
        _count(tmp_path, [["a"], ["b"]], window=2, weighting="unit")
    assert not (tmp_path / "cooc.parquet").exists()
