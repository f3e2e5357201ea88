"""The co-occurrence table as tensors: PMI targets, GloVe weights, shuffled mini-batches.

Posts 4675 (part 4) and anchors.md §1.5: simpler GloVe regresses
``PMI_ij = log X_ij − log Z − log N_i − log N_j + 2 log N`` with P(i, j) = X_ij / Z over the
off-diagonal cells and P(i) = N_i / N from the unigram counts after the min-count cut.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Cooccurrence:
    """Non-zero cells of a symmetric co-occurrence matrix and the unigram counts.

    Attributes
    ----------
    i, j : ndarray of int64, shape (nnz,)
        Row and column vocabulary ids.
    x : ndarray of float64, shape (nnz,)
        Co-occurrence counts X_ij (unit or 1/d weighted).
    counts : ndarray of int64, shape (V,)
        Unigram counts N_i of the vocabulary.
    """

    i: np.ndarray
    j: np.ndarray
    x: np.ndarray
    counts: np.ndarray

    def __post_init__(self):
        n = len(self.x)
        if not (len(self.i) == len(self.j) == n):
            raise ValueError("co-occurrence columns i, j and x differ in length")
        if n == 0:
            raise ValueError("the co-occurrence table is empty")
        vocab_size = len(self.counts)
        if self.i.min() < 0 or self.j.min() < 0 or max(self.i.max(), self.j.max()) >= vocab_size:
            raise ValueError(f"co-occurrence ids fall outside the vocabulary of {vocab_size} words")
        if not np.all(self.x > 0) or not np.all(np.isfinite(self.x)):
            raise ValueError("co-occurrence values must be finite and positive")
        if np.any(self.counts <= 0):
            raise ValueError("unigram counts must be positive")

    @property
    def vocab_size(self) -> int:
        return len(self.counts)

    def off_diagonal(self) -> Cooccurrence:
        """The cells with i ≠ j (simpler GloVe learns self-PMI from the others)."""
        keep = self.i != self.j
        return Cooccurrence(self.i[keep], self.j[keep], self.x[keep], self.counts)


def pmi_targets(cooc: Cooccurrence, smoothing: float = 1.0) -> np.ndarray:
    """PMI of every cell, float64 (nnz,), with Z summed over the off-diagonal cells only.

    ``smoothing`` c is context-distribution smoothing (Levy, Goldberg & Dagan, TACL 2015):
    P(w) = N_w^c / Σ_v N_v^c in the normaliser. One table fits both sides of a cell, so both
    sides are smoothed and the target stays symmetric. c = 1 is the post's target.
    """
    off = cooc.i != cooc.j
    log_z = np.log(cooc.x[off].sum())
    counts = cooc.counts.astype(np.float64)
    log_n = np.log((counts**smoothing).sum())
    log_counts = smoothing * np.log(counts)
    return np.log(cooc.x) - log_z - log_counts[cooc.i] - log_counts[cooc.j] + 2.0 * log_n


def glove_weights(x: np.ndarray, x_max: float, alpha: float, truncate: bool) -> np.ndarray:
    """GloVe's weight (x / x_max)^alpha, capped at 1 only when ``truncate`` (post 4675, eq. 20)."""
    w = (np.asarray(x, dtype=np.float64) / x_max) ** alpha
    return np.minimum(w, 1.0) if truncate else w


def keep_probabilities(counts: np.ndarray, threshold: float) -> np.ndarray:
    """word2vec's subsampling keep probability min(1, √(t/p) + t/p) of every word (V,);
    all ones when ``threshold`` t is 0."""
    if threshold <= 0:
        return np.ones(len(counts))
    ratio = threshold / (counts / counts.sum(dtype=np.float64))
    return np.minimum(1.0, np.sqrt(ratio) + ratio)


def shuffled_batches(
    n: int, batch_size: int, generator: torch.Generator, device: torch.device
) -> Iterator[torch.Tensor]:
    """Index tensors covering ``range(n)`` once in a random order, ``batch_size`` at a time."""
    order = torch.randperm(n, generator=generator).to(device)
    yield from order.split(batch_size)
