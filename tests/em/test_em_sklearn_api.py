"""The rest of scikit-learn's estimator API: KMeans.transform, SoftKMeans.score,
GaussianMixture.sample, bic and aic, each against scikit-learn on the same fit."""

import numpy as np
import pytest
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import make_blobs
from sklearn.mixture import GaussianMixture as SkGMM

from pipeline.em.gmm import GaussianMixture
from pipeline.em.kmeans import KMeans, SoftKMeans


@pytest.fixture(scope="module")
def blobs():
    x, _ = make_blobs(600, n_features=3, centers=4, random_state=0)
    return x


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_kmeans_transform_matches_sklearn(blobs, backend):
    init = blobs[:4]
    ours = KMeans(4, init=init, n_init=1, backend=backend, device="cpu").fit(blobs)
    ref = SkKMeans(4, init=init, n_init=1, algorithm="lloyd").fit(blobs)
    np.testing.assert_allclose(
        ours.transform(blobs[:50]), ref.transform(blobs[:50]), rtol=1e-9, atol=1e-9
    )
    np.testing.assert_allclose(
        ours.fit_transform(blobs), ref.fit_transform(blobs), rtol=1e-9, atol=1e-9
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_soft_kmeans_score_is_minus_the_smoothed_objective(blobs):
    soft = SoftKMeans(4, stiffness=2.0, init=blobs[:4], random_state=0).fit(blobs)
    assert soft.score(blobs) == pytest.approx(-soft.objective_, rel=1e-12)
    c = soft.cluster_centers_
    d2 = ((blobs[:, None, :] - c[None]) ** 2).sum(-1)  # by hand: -(1/M) log sum exp(-M d2)
    by_hand = -np.log(np.exp(-2.0 * d2).sum(1)) / 2.0
    assert soft.score(blobs) == pytest.approx(-by_hand.sum(), rel=1e-10)
    hard = KMeans(4, init=c, n_init=1, max_iter=1).fit(blobs)
    stiff = SoftKMeans(4, stiffness=1e4, init=c, max_iter=1).fit(blobs)  # M -> inf: KMeans.score
    assert stiff.score(blobs) == pytest.approx(hard.score(blobs), rel=1e-3)


@pytest.mark.parametrize("cov", ["full", "diag", "spherical"])
def test_gmm_sample_bic_aic_match_sklearn(blobs, cov):
    kw = {"covariance_type": cov, "random_state": 3, "means_init": blobs[:4], "max_iter": 50}
    ours = GaussianMixture(4, **kw).fit(blobs)
    ref = SkGMM(4, **kw).fit(blobs)
    np.testing.assert_allclose(ours.means_, ref.means_, rtol=1e-6, atol=1e-8)
    xs, ys = ours.sample(200)
    xr, yr = ref.sample(200)
    np.testing.assert_array_equal(ys, yr)
    np.testing.assert_allclose(xs, xr, rtol=1e-6, atol=1e-6)
    assert ours.bic(blobs) == pytest.approx(ref.bic(blobs), rel=1e-9)
    assert ours.aic(blobs) == pytest.approx(ref.aic(blobs), rel=1e-9)
    with pytest.raises(ValueError, match="n_samples"):
        ours.sample(0)
