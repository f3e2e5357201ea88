import numpy as np
import pandas as pd
import pytest

from pipeline.io import DataError
from pipeline.vectors import io as vio
from pipeline.vectors.keyed import counts_of, keyed_from_vocab, to_keyed_vectors


def test_sorted_by_count_then_token_with_counts(tmp_path):
    kv = to_keyed_vectors(["b", "a", "c", "d"], [3, 3, 9, 1], np.arange(8).reshape(4, 2))
    assert kv.index_to_key == ["c", "a", "b", "d"]
    assert counts_of(kv).tolist() == [9, 3, 3, 1]
    assert kv["a"].tolist() == [2.0, 3.0]
    vio.save_keyed(kv, tmp_path / "v.kv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.kv"]  # one self-contained file
    back = vio.load_keyed(tmp_path / "v.kv")
    assert back.index_to_key == kv.index_to_key and back.get_vecattr("b", "count") == 3
    vio.save_word2vec_text(back, tmp_path / "v.txt")
    assert (tmp_path / "v.txt").read_text().splitlines()[:2] == ["4 2", "c 4.0 5.0"]


def test_rejects_duplicates_and_missing_words():
    with pytest.raises(DataError, match="duplicate"):
        to_keyed_vectors(["a", "a"], [1, 1], np.zeros((2, 2)))
    vocab = pd.DataFrame({"token": ["a", "b"], "count": [2, 1]})
    with pytest.raises(DataError, match="1 vocabulary words have no vector"):
        keyed_from_vocab(vocab, {"a": np.zeros(2)})
