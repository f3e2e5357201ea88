"""The exchange format: every method ends as a frequency-sorted gensim ``KeyedVectors``.

Keys follow the corpus vocabulary order (count descending, then token ascending, as
``results/text/{corpus}/vocab.parquet`` lists them), and each key carries its corpus count as
the ``count`` attribute, so that ``restrict_vocab`` cuts every method's vectors at the same words.
"""

from __future__ import annotations

import numpy as np
from gensim.models import KeyedVectors

from pipeline.io import DataError


def to_keyed_vectors(tokens, counts, vectors) -> KeyedVectors:
    """Build a ``KeyedVectors`` from parallel ``tokens`` (V,), ``counts`` (V,), ``vectors`` (V, d).

    Rows are re-sorted by count descending, then token ascending, whatever order they came in.
    """
    tokens = [str(t) for t in tokens]
    counts = np.asarray(counts, dtype=np.int64)
    vectors = np.asarray(vectors, dtype=np.float32)
    if not (len(tokens) == len(counts) == vectors.shape[0]):
        raise DataError(
            f"tokens ({len(tokens)}), counts ({len(counts)}) and vectors ({vectors.shape[0]}) differ in length"
        )
    if len(set(tokens)) != len(tokens):
        raise DataError("duplicate tokens in the vocabulary")
    order = sorted(range(len(tokens)), key=lambda k: (-counts[k], tokens[k]))
    kv = KeyedVectors(vector_size=vectors.shape[1], count=0, dtype=np.float32)
    kv.add_vectors([tokens[k] for k in order], vectors[order])
    kv.allocate_vecattrs(["count"], [np.int64])
    kv.expandos["count"][:] = counts[order]
    return kv


def keyed_from_vocab(vocab, lookup) -> KeyedVectors:
    """Re-key vectors from ``lookup`` (token → vector, e.g. a trained gensim model's ``wv``)
    in the order and with the counts of ``vocab`` (a DataFrame with token and count).

    Words of the vocabulary that ``lookup`` lacks are an error: a method that silently dropped
    words would shift the ``restrict_vocab`` cut-off against the other methods.
    """
    missing = [t for t in vocab["token"] if t not in lookup]
    if missing:
        raise DataError(f"{len(missing)} vocabulary words have no vector, e.g. {missing[:5]}")
    vectors = np.stack([lookup[t] for t in vocab["token"]])
    return to_keyed_vectors(vocab["token"].tolist(), vocab["count"].to_numpy(), vectors)


def counts_of(kv: KeyedVectors) -> np.ndarray:
    """The corpus counts attached to ``kv`` (V,), in key order."""
    return np.asarray(kv.expandos["count"], dtype=np.int64)


def subword_keyed_from_vocab(vocab, ft):
    """A trained ``FastTextKeyedVectors`` re-keyed like :func:`keyed_from_vocab` (same order,
    counts and word vectors) but keeping its subword n-grams, so that out-of-vocabulary words
    get vectors as gensim users expect (``kv["unseen"]``)."""
    plain = keyed_from_vocab(vocab, ft)
    perm = np.array([ft.key_to_index[k] for k in plain.index_to_key])
    ft.index_to_key = list(plain.index_to_key)
    ft.key_to_index = {k: i for i, k in enumerate(ft.index_to_key)}
    ft.vectors = ft.vectors[perm]
    ft.vectors_vocab = ft.vectors_vocab[perm]
    ft.buckets_word = [ft.buckets_word[i] for i in perm]
    ft.expandos = {k: np.asarray(v)[perm] for k, v in ft.expandos.items()}
    ft.expandos["count"] = counts_of(plain)
    if not np.array_equal(ft.vectors, plain.vectors):
        raise DataError("FastText vectors changed while re-keying them")
    return ft
