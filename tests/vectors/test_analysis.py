import numpy as np
import pytest

from pipeline.vectors import analysis
from pipeline.vectors.keyed import to_keyed_vectors


def test_norm_importance_and_smallest_norms():
    counts = np.array([1000, 500, 100, 10, 5])
    p = counts / counts.sum()
    vecs = np.zeros((5, 2))
    vecs[:, 0] = np.sqrt(-np.log(p))  # ‖v‖² = −log P exactly
    kv = to_keyed_vectors(list("abcde"), counts, vecs)
    assert analysis.norm_importance(kv) == pytest.approx(1.0)
    smallest = analysis.smallest_norms(kv, 2)
    assert [w for _, w, _ in smallest] == ["a", "b"]
    assert smallest[0][2] == pytest.approx(np.sqrt(-np.log(p[0])))


def test_stopword_norm_ratio_by_hand():
    norms = np.array([4.0, 2.0, 1.0, 3.0, 5.0, 1.0])
    kv = to_keyed_vectors(list("abcdef"), [60, 50, 40, 30, 20, 10], np.c_[norms, np.zeros(6)])
    # mean of top 2 = 3; median of ranks 3..6 = median(1, 3, 5, 1) = 2
    assert analysis.stopword_norm_ratio(kv, top=2, ranks=(3, 6)) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="rank_range"):
        analysis.stopword_norm_ratio(kv, top=2, ranks=(7, 9))


def test_keywords_rank_by_inner_product_with_sum():
    kv = to_keyed_vectors(["the", "storm", "rain"], [3, 2, 1], [[0.1, 0.0], [0.0, 2.0], [0.0, 1.5]])
    out = analysis.keywords(kv, ["the", "storm", "rain", "oov", "the"])
    # sum = (0.2, 3.5): storm 7.0, rain 5.25, the 0.02
    assert [w for w, _ in out] == ["storm", "rain", "the"]
    assert out[0][1] == pytest.approx(7.0)


def test_pearson_transform_equals_profile_correlation():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(50, 6))
    n = 30
    t = analysis.pearson_transform(v, n)
    profiles = v @ v[:n].T  # PMI profiles over the first n words
    for x, y in ((0, 1), (5, 40), (45, 49)):
        cos = t[x] @ t[y] / (np.linalg.norm(t[x]) * np.linalg.norm(t[y]))
        assert cos == pytest.approx(np.corrcoef(profiles[x], profiles[y])[0, 1], abs=1e-6)


def test_similar_words_excludes_the_query():
    rng = np.random.default_rng(1)
    words = [f"w{k}" for k in range(20)]
    kv = to_keyed_vectors(words, np.arange(20, 0, -1), rng.normal(size=(20, 4)))
    out = analysis.similar_words(kv, "w3", n_context=10, topn=5)
    assert len(out) == 5 and "w3" not in [w for w, _ in out]
    assert [s for _, s in out] == sorted((s for _, s in out), reverse=True)
    assert analysis.similar_words(kv, "missing", 10) == []
