import numpy as np
import pytest
from gensim.test.utils import datapath

from pipeline.io import DataError
from pipeline.vectors.evaluation import (
    evaluate_analogies,
    evaluate_pairs,
    parse_analogies,
    parse_pairs,
)
from pipeline.vectors.keyed import to_keyed_vectors


@pytest.fixture(scope="module")
def question_lines():
    with open(datapath("questions-words.txt"), encoding="utf-8") as f:
        return f.read().splitlines()


@pytest.fixture(scope="module")
def random_kv(question_lines):
    """Random vectors over the first words of the analogy set plus WS353, with some planted
    analogy structure so that some answers are right."""
    words = []
    for line in question_lines:
        if not line.startswith(":"):
            words += [w.lower() for w in line.split()]
    with open(datapath("wordsim353.tsv"), encoding="utf-8") as f:
        words += [w.lower() for line in f if not line.startswith("#") for w in line.split("\t")[:2]]
    words = list(dict.fromkeys(words))[:900]
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(len(words), 12))
    return to_keyed_vectors(words, rng.integers(1, 10_000, len(words)), vecs)


def test_analogies_agree_with_gensim(random_kv, question_lines):
    parsed = parse_analogies(question_lines, "google")
    assert parsed.malformed == [] and len(parsed.questions) == 19544
    ours = {r["section"]: r for r in evaluate_analogies(random_kv, parsed, restrict_vocab=600)}
    _, sections = random_kv.evaluate_word_analogies(
        datapath("questions-words.txt"), restrict_vocab=600
    )
    for s in sections:
        name = "total" if s["section"] == "Total accuracy" else s["section"]
        assert ours[name]["correct"] == len(s["correct"]), name
        assert ours[name]["seen"] == len(s["correct"]) + len(s["incorrect"]), name
    assert ours["semantic"]["seen"] + ours["syntactic"]["seen"] == ours["total"]["seen"] > 0


def test_planted_analogy_is_found():
    # d = b + c − a exactly; three distractors
    rng = np.random.default_rng(1)
    a, b, c = rng.normal(size=(3, 5))
    vecs = np.stack([a, b, c, b + c - a, *rng.normal(size=(3, 5))])
    kv = to_keyed_vectors(["a", "b", "c", "d", "x", "y", "z"], [7, 6, 5, 4, 3, 2, 1], vecs)
    parsed = parse_analogies([": test", "a b c d", "a b c x"], "t")
    total = [r for r in evaluate_analogies(kv, parsed) if r["section"] == "total"][0]
    assert (total["correct"], total["seen"], total["accuracy"]) == (1, 2, 0.5)


def test_crlf_bom_and_malformed_lines_are_counted():
    lines = (
        "\ufeff: 首都\r\n北京 中国 东京 日本\r\nonly three words\r\n\r\na b c d e\r\n".splitlines()
    )
    parsed = parse_analogies(lines, "ca8")
    assert parsed.questions == [("首都", "北京", "中国", "东京", "日本")]
    assert [n for n, _ in parsed.malformed] == [3, 5]
    orphan = parse_analogies(["a b c d"], "x")  # a question before any section header
    assert len(orphan.malformed) == 1


def test_no_overlap_is_a_clear_error():
    kv = to_keyed_vectors(["a", "b"], [2, 1], np.eye(2))
    parsed = parse_analogies([": s", "p q r s"], "unrelated")
    with pytest.raises(DataError, match="unrelated: none of 1 questions"):
        evaluate_analogies(kv, parsed)
    with pytest.raises(DataError, match="unrelated: 0 of 1 pairs"):
        evaluate_pairs(kv, parse_pairs(["p\tq\t1.0"], "unrelated"))


def test_pairs_agree_with_gensim(random_kv):
    with open(datapath("wordsim353.tsv"), encoding="utf-8") as f:
        parsed = parse_pairs(f.read().splitlines(), "ws353")
    assert len(parsed.pairs) == 353 and parsed.malformed == []
    ours = evaluate_pairs(random_kv, parsed)
    pearson, spearman, oov_ratio = random_kv.evaluate_word_pairs(datapath("wordsim353.tsv"))
    assert ours["spearman"] == pytest.approx(spearman.statistic, abs=1e-9)
    assert ours["pearson"] == pytest.approx(pearson.statistic, abs=1e-6)
    assert 100 * ours["oov"] / ours["pairs"] == pytest.approx(oov_ratio)


def test_simlex_parses_and_malformed_pairs_counted():
    with open(datapath("simlex999.txt"), encoding="utf-8") as f:
        parsed = parse_pairs(f.read().splitlines(), "simlex")
    assert len(parsed.pairs) == 999 and parsed.malformed == []
    bad = parse_pairs(["# header", "a\tb\t3.5", "a\tb\tnot-a-number", "a\tb", "c d 1.0\r"], "x")
    assert bad.pairs == [("a", "b", 3.5), ("c", "d", 1.0)]
    assert [n for n, _ in bad.malformed] == [3, 4]
