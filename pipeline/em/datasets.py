"""Data with known truth for the EM runs: generated, or shipped inside scikit-learn and gensim.

Nothing here downloads: the synthetic generators take a seed, the real datasets are the ones
bundled with scikit-learn (iris, wine, digits) and gensim's test data (lee_background,
mini_newsgroup; see reference anchors §2.2).
"""

from __future__ import annotations

import io
import pickle
import zlib
from dataclasses import dataclass

import numpy as np
import scipy.sparse
from sklearn.datasets import load_digits, load_iris, load_wine, make_spd_matrix
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import StandardScaler

from pipeline.io import DataError

REAL_DATASETS = ("iris", "wine", "digits")
GENSIM_CORPORA = ("lee_background", "mini_newsgroup")


@dataclass(frozen=True)
class Mixture:
    """A sample from a known Gaussian mixture: X (N, D), labels (N,), and the true parameters."""

    X: np.ndarray
    labels: np.ndarray
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray


def sample_gmm(n_samples: int, n_features: int, n_components: int, seed: int) -> Mixture:
    """w ~ Dir(5), μ ~ U[−6, 6]^D, Σ = 0.5·SPD + 0.2·I (the anchors §2.3b recipe)."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(n_components, 5.0))
    means = rng.uniform(-6, 6, (n_components, n_features))
    cov = np.stack(
        [
            0.5 * make_spd_matrix(n_features, random_state=seed * 1000 + k)
            + 0.2 * np.eye(n_features)
            for k in range(n_components)
        ]
    )
    labels = rng.choice(n_components, size=n_samples, p=weights)
    chol = np.linalg.cholesky(cov)
    noise = rng.standard_normal((n_samples, n_features))
    X = means[labels] + np.einsum("nij,nj->ni", chol[labels], noise)
    return Mixture(X, labels, weights, means, cov)


def overlapping_gmm(n_samples: int, n_components: int, separation: float, seed: int) -> Mixture:
    """2-D components whose means sit ``separation`` apart on a circle, each elongated (variances
    1 and 0.3 along a random direction): overlapping, so EM from a random start needs many steps."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(n_components, 10.0))
    angle = 2 * np.pi * np.arange(n_components) / n_components
    radius = separation / (2 * np.sin(np.pi / n_components)) if n_components > 1 else 0.0
    means = radius * np.c_[np.cos(angle), np.sin(angle)]
    turn = rng.uniform(0, np.pi, n_components)
    rot = np.stack([[[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]] for t in turn])
    cov = rot @ np.diag([1.0, 0.3]) @ rot.transpose(0, 2, 1)
    labels = rng.choice(n_components, size=n_samples, p=weights)
    noise = rng.standard_normal((n_samples, 2))
    X = means[labels] + np.einsum("nij,nj->ni", np.linalg.cholesky(cov)[labels], noise)
    return Mixture(X, labels, weights, means, cov)


@dataclass(frozen=True)
class Corpus:
    """A document-term count matrix (D, V) CSR, with the true Θ (D, K) and Φ (K, V) if known."""

    counts: scipy.sparse.csr_matrix
    theta: np.ndarray | None = None
    phi: np.ndarray | None = None
    labels: np.ndarray | None = None


def lda_corpus(n_docs, n_words, n_topics, doc_length, alpha, beta, seed) -> Corpus:
    """θ_d ~ Dir(α), φ_k ~ Dir(β), n_d ~ Mult(L, θ_d Φ): a corpus whose topics are known."""
    rng = np.random.default_rng(seed)
    theta = rng.dirichlet(np.full(n_topics, alpha), n_docs)
    phi = rng.dirichlet(np.full(n_words, beta), n_topics)
    probs = theta @ phi
    counts = np.stack([rng.multinomial(doc_length, p / p.sum()) for p in probs])
    return Corpus(scipy.sparse.csr_matrix(counts.astype(np.float64)), theta, phi)


def load_real(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) of a dataset bundled with scikit-learn; wine is standardised (its scales differ)."""
    if name == "iris":
        data = load_iris()
    elif name == "wine":
        data = load_wine()
        return StandardScaler().fit_transform(data.data), data.target
    elif name == "digits":
        data = load_digits()
    else:
        raise ValueError(f"dataset {name!r}: expected one of {REAL_DATASETS}")
    return data.data.astype(np.float64), data.target


class _BunchUnpickler(pickle.Unpickler):
    """Reads gensim's ``mini_newsgroup`` (a pickled old sklearn Bunch) allowing only plain types."""

    ALLOWED = {
        ("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"), ("__builtin__", "dict"),
        ("builtins", "dict"), ("__builtin__", "object"), ("builtins", "object"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy", "ndarray"), ("numpy", "dtype"),
    }  # fmt: skip

    def find_class(self, module, name):
        if name == "Bunch":
            return dict
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module == "numpy.core.multiarray":
            module = "numpy._core.multiarray" if hasattr(np, "_core") else module
        return super().find_class(module, name)


def gensim_texts(name: str) -> tuple[list[str], np.ndarray | None]:
    """Documents (and labels, if any) of a corpus in gensim's bundled test data."""
    from gensim.test.utils import datapath

    if name == "lee_background":
        with open(datapath("lee_background.cor"), encoding="utf-8", errors="replace") as f:
            return [line for line in f if line.strip()], None
    if name == "mini_newsgroup":
        try:
            with open(datapath("mini_newsgroup"), "rb") as f:
                bunch = _BunchUnpickler(io.BytesIO(zlib.decompress(f.read()))).load()
        except (OSError, zlib.error, pickle.UnpicklingError) as exc:
            raise DataError(f"gensim test file mini_newsgroup is unreadable: {exc}") from exc
        return [str(t) for t in bunch["data"]], np.asarray(bunch["target"])
    raise ValueError(f"corpus {name!r}: expected one of {GENSIM_CORPORA}")


def gensim_corpus(name: str) -> Corpus:
    """Counts with English stop words removed, min_df=2, max_df=0.5 (anchors §2.2)."""
    texts, labels = gensim_texts(name)
    counts = CountVectorizer(stop_words="english", min_df=2, max_df=0.5).fit_transform(texts)
    keep = np.asarray(counts.sum(axis=1)).ravel() > 0
    if not keep.any():
        raise DataError(f"corpus {name!r} has no words after filtering")
    labels = None if labels is None else labels[keep]
    return Corpus(counts[keep].astype(np.float64).tocsr(), labels=labels)
