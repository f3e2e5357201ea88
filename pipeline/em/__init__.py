"""EM, K-means, pLSA, and Newton against gradient descent (posts.md §6 and §8).

scikit-learn compatible estimators with a numpy or torch backend:
:class:`~pipeline.em.gmm.GaussianMixture`, :class:`~pipeline.em.kmeans.KMeans`,
:class:`~pipeline.em.kmeans.SoftKMeans`, :class:`~pipeline.em.plsa.PLSA`; the second post's
Newton/gradient-descent comparison lives in :mod:`pipeline.em.newton`.
"""

from pipeline.em.gmm import GaussianMixture
from pipeline.em.kmeans import KMeans, SoftKMeans
from pipeline.em.plsa import PLSA

__all__ = ["GaussianMixture", "KMeans", "PLSA", "SoftKMeans"]
