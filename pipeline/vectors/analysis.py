"""What the vectors mean (post 4677, part 5): norms, keywords, similar words, analogy examples.

All functions take a frequency-sorted ``KeyedVectors`` with counts (:mod:`pipeline.vectors.keyed`).
"""

from __future__ import annotations

import numpy as np
from gensim.models import KeyedVectors
from scipy import stats

from pipeline.vectors.keyed import counts_of


def norm_importance(kv: KeyedVectors) -> float:
    """Spearman of ‖v_w‖² against −log P(w) (eq. 26: ‖v_w‖² ~ −log P(w), "norm ≈ importance")."""
    counts = counts_of(kv).astype(np.float64)
    sq_norms = (kv.vectors.astype(np.float64) ** 2).sum(axis=1)
    return float(stats.spearmanr(sq_norms, -np.log(counts / counts.sum())).statistic)


def smallest_norms(kv: KeyedVectors, n: int = 50) -> list[tuple[int, str, float]]:
    """The ``n`` words of smallest norm, ascending: (rank by norm, word, norm)."""
    norms = np.linalg.norm(kv.vectors.astype(np.float64), axis=1)
    order = np.argsort(norms, kind="stable")[:n]
    return [(k + 1, kv.index_to_key[i], float(norms[i])) for k, i in enumerate(order)]


def stopword_norm_ratio(
    kv: KeyedVectors, top: int = 100, ranks: tuple[int, int] = (1000, 10000)
) -> float:
    """Mean norm of the ``top`` most frequent words over the median norm of frequency ranks
    ``ranks[0]``..``ranks[1]`` (1-based, inclusive, cut at the vocabulary size).

    Post 4675 claims GloVe gives stop words large norms (ratio > 1) and simpler GloVe small ones.
    """
    norms = np.linalg.norm(kv.vectors.astype(np.float64), axis=1)
    lo, hi = ranks[0] - 1, min(ranks[1], len(norms))
    if top > len(norms) or lo >= hi:
        raise ValueError(
            f"norms.rank_range: ranks {ranks[0]}-{ranks[1]} and top {top} do not fit a vocabulary of {len(norms)} words"
        )
    return float(norms[:top].mean() / np.median(norms[lo:hi]))


def keywords(kv: KeyedVectors, tokens: list[str], topn: int = 10, normalize: bool = False):
    """Rank the sentence's distinct in-vocabulary words by ⟨Σ_sentence v, v_w⟩ (or its cosine).

    Post 4677 §5: under the naive assumption the keyword w maximises PMI(w, sentence).
    """
    words = list(dict.fromkeys(t for t in tokens if t in kv.key_to_index))
    if not words:
        return []
    vecs = np.stack([kv[w] for w in words]).astype(np.float64)
    total = np.stack([kv[t] for t in tokens if t in kv.key_to_index]).astype(np.float64).sum(axis=0)
    scores = vecs @ total
    if normalize:
        scores = scores / (np.linalg.norm(vecs, axis=1) * np.linalg.norm(total) + 1e-12)
    order = np.argsort(-scores, kind="stable")[:topn]
    return [(words[i], float(scores[i])) for i in order]


def pearson_transform(vectors: np.ndarray, n_context: int) -> np.ndarray:
    """Post 4677 eqs. 33–39: with the first ``n_context`` rows centred as Ṽ and ṼᵀṼ = U Uᵀ
    (Cholesky), the cosine of x U and y U is the Pearson correlation of the PMI profiles
    (⟨x, v_k⟩)_k and (⟨y, v_k⟩)_k over those rows. Returns ``vectors @ U``."""
    v = vectors.astype(np.float64)
    context = v[:n_context] - v[:n_context].mean(axis=0)
    gram = context.T @ context
    u = np.linalg.cholesky(gram + 1e-10 * np.trace(gram) / len(gram) * np.eye(len(gram)))
    return v @ u


def similar_words(kv: KeyedVectors, word: str, n_context: int, topn: int = 10):
    """Neighbours of ``word`` by the Pearson correlation of PMI profiles over the ``n_context``
    most frequent words (N = 10000 semantic, N = 500 syntactic neighbours in the post)."""
    if word not in kv.key_to_index:
        return []
    t = pearson_transform(kv.vectors, min(n_context, len(kv)))
    t /= np.linalg.norm(t, axis=1, keepdims=True) + 1e-12
    scores = t @ t[kv.key_to_index[word]]
    scores[kv.key_to_index[word]] = -np.inf
    order = np.argsort(-scores, kind="stable")[:topn]
    return [(kv.index_to_key[i], float(scores[i])) for i in order]


def analogy_top(kv: KeyedVectors, a: str, b: str, c: str, topn: int = 6):
    """``a + b − c`` by cosine against the unit vectors, the query words left out (post 4677 §2)."""
    if not all(w in kv.key_to_index for w in (a, b, c)):
        return []
    return kv.most_similar(positive=[a, b], negative=[c], topn=topn)
