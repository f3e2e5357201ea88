import numpy as np
import pytest


@pytest.fixture(scope="session")
def blobs():
    """Four separated 2-D blobs (posts.md E8.4 shape, smaller)."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(600, n_features=2, centers=4, cluster_std=0.8, random_state=0)
    return X, y


@pytest.fixture(scope="session")
def lda_corpus():
    """A small synthetic LDA corpus with known topics: (counts (D, V), Θ (D, K), Φ (K, V))."""
    rng = np.random.default_rng(0)
    n_docs, n_words, n_topics = 200, 300, 4
    theta = rng.dirichlet(np.full(n_topics, 0.2), n_docs)
    phi = rng.dirichlet(np.full(n_words, 0.05), n_topics)
    counts = np.stack([rng.multinomial(300, t @ phi) for t in theta]).astype(float)
    return counts, theta, phi
