import numpy as np
import pandas as pd
import pytest

from pipeline.io import DataError
from pipeline.vectors import sentiment
from pipeline.vectors.keyed import to_keyed_vectors


def test_missing_and_non_text_cells_are_counted_and_dropped():
    cells = pd.Series(
        ["好评", None, float("nan"), "  ", 12345, pd.Timestamp("2020-01-01"), " 差评 "] + ["x"] * 93
    )
    texts, counts = sentiment.clean_texts(cells, "pos.xls", max_bad_fraction=0.05)
    assert texts[:2] == ["好评", "差评"] and len(texts) == 95
    assert counts == {"rows": 100, "missing_cells": 3, "non_text_cells": 2}


def test_too_many_bad_cells_is_an_error():
    cells = pd.Series(["ok", None, 3.0, "fine"])
    with pytest.raises(DataError, match="neg.xls: 1 missing and 1 non-text cells of 4"):
        sentiment.clean_texts(cells, "neg.xls", max_bad_fraction=0.01)
    with pytest.raises(DataError):
        sentiment.clean_texts(pd.Series([None, None]), "empty.xls", max_bad_fraction=1.0)


def test_author_split_and_deduplicated_split():
    texts = ["a", "a", "b", "c", "c", "d", "e", "f", "x", "x"]
    labels = np.array([1, 1, 0, 1, 1, 0, 0, 1, 1, 0])  # "x" carries both labels
    out = sentiment.splits(texts, labels, train_size=6, random_state=0)
    tr, va = out["author"]
    assert len(tr) == 6 and sorted(np.r_[tr, va].tolist()) == list(range(10))
    tr, va = out["dedup"]
    kept = [texts[k] for k in np.r_[tr, va]]
    assert sorted(kept) == ["a", "b", "c", "d", "e", "f"]  # distinct, "x" dropped
    assert not set(texts[k] for k in tr) & set(texts[k] for k in va)
    with pytest.raises(ValueError, match="train_size"):
        sentiment.splits(texts, labels, train_size=10, random_state=0)


def test_sentence_vectors_sum_in_vocabulary_words():
    kv = to_keyed_vectors(["好", "差"], [2, 1], [[1.0, 0.0], [0.0, 1.0]])
    x, coverage = sentiment.sentence_vectors([["好", "好", "未知"], ["差"], []], kv)
    np.testing.assert_array_equal(x, [[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    assert coverage == pytest.approx(3 / 4)


def test_classifiers_learn_a_separable_problem():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    x = rng.normal(size=(400, 8)) + 2.0 * y[:, None]
    assert sentiment.fit_logistic(x[:300], y[:300], x[300:], y[300:]) > 0.9
    cfg = sentiment.ClassifierConfig(epochs=5, batch_size=32, hidden=8)
    out = sentiment.fit_mlp(x[:300], y[:300], x[300:], y[300:], cfg)
    assert (
        out["mlp_best_val_accuracy"] > 0.9
        and out["mlp_best_val_accuracy"] >= out["mlp_final_val_accuracy"]
    )


def test_bilstm_over_frozen_vectors_learns_a_separable_task():
    rng = np.random.default_rng(0)
    words = [f"w{k}" for k in range(20)]
    vecs = rng.normal(size=(20, 8))
    kv = to_keyed_vectors(words, np.arange(20, 0, -1), vecs)
    # label 1 iff the sentence holds one of the words w0..w4
    sents = [list(rng.choice(words[5:], size=6)) for _ in range(400)]
    labels = np.array([k % 2 for k in range(400)])
    for s, y in zip(sents, labels, strict=True):
        if y:
            s[rng.integers(6)] = words[rng.integers(5)]
    ids, lengths = sentiment.token_ids(sents + [[], ["oov"]], kv, max_length=6)
    assert lengths[-2:].tolist() == [1, 1] and (ids[-1] == len(kv)).all()  # padding only
    cfg = sentiment.ClassifierConfig(lstm_epochs=30, batch_size=32, lr=1e-2, lstm_hidden=16)
    tr, va = slice(0, 300), slice(300, 400)
    out = sentiment.fit_bilstm(
        ((ids[tr], lengths[tr]), (ids[va], lengths[va])),
        labels[tr],
        labels[va],
        vecs,
        cfg,
        random_state=0,
    )
    assert out["bilstm_best_val_accuracy"] > 0.8
