"""gensim baselines on the same token shards: Word2Vec skip-gram and CBOW, and FastText.

The vocabulary is the corpus vocabulary (``build_vocab_from_freq`` with its counts), so every
method sees the same words; the shards stream through a restartable iterable, and words outside
the vocabulary are dropped by gensim as they are by the co-occurrence counter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gensim.models import FastText, Word2Vec

from pipeline.text.shards import ShardCorpus
from pipeline.vectors import io as vio
from pipeline.vectors.keyed import keyed_from_vocab, subword_keyed_from_vocab

log = logging.getLogger(__name__)

METHODS = ("sg", "cbow", "fasttext")


@dataclass(frozen=True)
class GensimConfig:
    """Hyper-parameters shared by the three methods (anchors.md §1.3 settings by default)."""

    dim: int = 100
    window: int = 5
    negative: int = 5
    sample: float = 1e-3
    alpha: float = 0.025
    epochs: int = 5
    min_n: int = 3
    max_n: int = 6
    bucket: int = 2000000

    def __post_init__(self):
        for key in ("dim", "window", "epochs"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key}: must be at least 1, got {getattr(self, key)}")


def fit_gensim(
    method: str, corpus, vocab, cfg: GensimConfig, workers: int = 1, random_state: int = 0
):
    """Train ``method`` ("sg", "cbow" or "fasttext") on ``corpus`` (an iterable of token lists,
    iterable several times) with the vocabulary ``vocab`` (DataFrame token, count); return the
    frequency-sorted ``KeyedVectors`` with counts."""
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    common = dict(
        vector_size=cfg.dim,
        window=cfg.window,
        negative=cfg.negative,
        sample=cfg.sample,
        alpha=cfg.alpha,
        min_count=1,
        workers=max(1, workers),
        seed=random_state,
        sg=int(method != "cbow"),
    )
    if method == "fasttext":
        model = FastText(min_n=cfg.min_n, max_n=cfg.max_n, bucket=cfg.bucket, **common)
    else:
        model = Word2Vec(**common)
    model.build_vocab_from_freq(dict(zip(vocab["token"], vocab["count"].astype(int), strict=True)))
    words = sum(int(c) for c in vocab["count"])
    model.train(corpus, total_words=words, epochs=cfg.epochs)
    if method == "fasttext":  # keep the subword model: out-of-vocabulary words get vectors
        return subword_keyed_from_vocab(vocab, model.wv)
    return keyed_from_vocab(vocab, model.wv)


def train_gensim(
    cfg: GensimConfig, *, vocab, types, shards, output, method: str, seed: int, threads: int
) -> None:
    """``vectors_train_gensim``: ``method`` on the token shards, ``threads`` workers."""
    words = vio.read_vocab(vocab)
    kv = fit_gensim(
        method, ShardCorpus(shards, types), words, cfg, workers=threads, random_state=seed
    )
    vio.save_keyed(kv, output)
