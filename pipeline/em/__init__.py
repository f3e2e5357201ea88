"""EM, K-means, pLSA, and Newton against gradient descent (posts.md §6 and §8).

scikit-learn compatible estimators with a numpy or torch backend:
:class:`~pipeline.em.gmm.GaussianMixture`, :class:`~pipeline.em.kmeans.KMeans`,
:class:`~pipeline.em.kmeans.SoftKMeans`, :class:`~pipeline.em.plsa.PLSA`; the second post's
Newton/gradient-descent comparison lives in :mod:`pipeline.em.newton`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.em.gmm import GaussianMixture
    from pipeline.em.kmeans import KMeans, SoftKMeans
    from pipeline.em.plsa import PLSA

__all__ = ["GaussianMixture", "KMeans", "PLSA", "SoftKMeans"]

# Imported on first use (PEP 562): the estimators pull in scikit-learn and numba, which a
# figure or summary job of this package never needs.
_HOMES = {
    "GaussianMixture": "pipeline.em.gmm",
    "KMeans": "pipeline.em.kmeans",
    "SoftKMeans": "pipeline.em.kmeans",
    "PLSA": "pipeline.em.plsa",
}


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
