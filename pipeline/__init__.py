"""Reproductions of eight Scientific Spaces (kexue.fm) posts.

Domains (one sub-package each, each with a ``cli`` module):

- ``pipeline.text``: corpora, vocabulary, co-occurrence counts.
- ``pipeline.vectors``: word vectors (simpler GloVe, GloVe, gensim) and their evaluations.
- ``pipeline.em``: EM, K-means, pLSA, Newton against gradient descent.
- ``pipeline.images``: datasets, the shared training engine, image models.

Run ``python -m pipeline <domain> <verb> --help``.
"""

__version__ = "0.1.0"
