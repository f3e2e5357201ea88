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


def test_function_words_by_stop_list_and_jieba_tags():
    assert analysis.is_function_word("the", "en") and analysis.is_function_word("1", "en")
    assert not analysis.is_function_word("king", "en")
    assert analysis.is_function_word("的", "zh") and analysis.is_function_word("。", "zh")
    assert not analysis.is_function_word("北京", "zh")


def _zh_vectors(words):
    rng = np.random.default_rng(0)
    return to_keyed_vectors(
        words, np.arange(len(words), 0, -1) * 10, rng.normal(size=(len(words), 4))
    )


def test_author_query_with_a_word_outside_the_vocabulary_is_reported_not_a_crash():
    kv = _zh_vectors(["机场", "火车", "飞机", "火车站", "北京", "英国"])
    rows = analysis.analogy_scores(
        kv, [["机场", "火车", "飞机"], ["北京", "英国", "中国"], ["a", "b", "c"]]
    )
    by = {(r.get("section"), r["metric"]): r["value"] for r in rows}
    assert by[("北京+英国-中国", "query_words_missing")] == 1  # 中国 is not in the vocabulary
    assert by[(None, "author_queries")] == 2  # the third query is not the author's
    assert by[(None, "author_queries_missing_words")] == 1
    assert (
        by[(None, "author_first_in_top6_count")] == by[("机场+火车-飞机", "author_first_in_top6")]
    )


def test_keyword_sentence_that_segments_to_nothing_is_counted():
    from pipeline.text.tokenize import segment_zh

    kv = _zh_vectors(["督察组", "限产", "浙江", "企业"])
    rows = analysis.keyword_scores(kv, ["   ", "督察组在浙江对企业限产"], segment_zh, topn=3)
    by = {(r.get("section"), r["metric"]): r["value"] for r in rows}
    assert by[(None, "keyword_sentences_empty")] == 1
    # the second sentence has the author's list (督察组 first): both words of his in the vocabulary
    # are in our top 3 of its 4 words or in the bottom 3
    assert by[("sentence2", "author_overlap_top")] + by[("sentence2", "author_overlap_bottom")] >= 2


def test_pmi_additivity_exact_under_the_naive_assumption_and_not_for_the_control():
    from pipeline.vectors.pmi import PmiAdditivityConfig, additivity_rows

    rows = additivity_rows(PmiAdditivityConfig(seeds=2, samples=20000))
    gaps = rows.groupby(["method", "metric"])["value"].max()
    assert gaps[("naive", "max_abs_gap")] < 1e-12
    assert gaps[("control", "max_abs_gap")] > 0.1
    assert gaps[("naive", "mean_abs_gap_sampled")] < 0.1
    with pytest.raises(ValueError, match="vectors.pmi_additivity.vocab_size"):
        PmiAdditivityConfig(vocab_size=1)
