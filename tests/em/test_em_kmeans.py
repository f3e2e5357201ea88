import warnings

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning

from pipeline.em.backend import NumpyOps
from pipeline.em.kmeans import KMeans, SoftKMeans, kmeans_plusplus, soft_assign, update_centers

BACKENDS = ["numpy", "torch"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_lloyd_matches_sklearn_from_same_init(backend):
    X, _ = make_blobs(3000, n_features=8, centers=10, cluster_std=3.0, random_state=1)
    init = kmeans_plusplus(X, 10, 0)[0]
    ours = KMeans(10, init=init, backend=backend).fit(X)
    ref = SkKMeans(10, init=init, n_init=1, algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.n_iter_ == ref.n_iter_ > 2
    assert abs(ours.inertia_ - ref.inertia_) <= 1e-8 * ref.inertia_
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=0, atol=1e-10)


def test_lloyd_by_hand():
    # 1-D points {0, 1, 10, 11}, start at 0 and 1: step 1 assigns {0}, {1, 10, 11} -> centres
    # 0 and 22/3; step 2 assigns {0, 1}, {10, 11} -> 0.5 and 10.5; step 3 changes nothing.
    X = np.array([[0.0], [1.0], [10.0], [11.0]])
    km = KMeans(2, init=np.array([[0.0], [1.0]])).fit(X)
    np.testing.assert_allclose(km.cluster_centers_.ravel(), [0.5, 10.5])
    assert km.inertia_ == pytest.approx(4 * 0.25)
    assert km.n_iter_ == 3  # strict convergence: labels unchanged at the third step
    np.testing.assert_array_equal(km.predict([[2.0], [9.0]]), [0, 1])


def test_empty_cluster_takes_the_farthest_point():
    # Centre 1 at 100 attracts nothing; the point farthest from its centre (x = 4) moves there.
    X = np.array([[0.0], [1.0], [4.0]])
    ops = NumpyOps()
    centers = np.array([[1.0], [100.0]])
    new = update_centers(ops, X, centers, np.array([0, 0, 0]), 2)
    np.testing.assert_allclose(new.ravel(), [0.5, 4.0])


def test_lloyd_step_is_a_gradient_step():
    # posts.md §8 / anchors §2.3d: c_Lloyd = c − ∇_c inertia / (2 N_k) for the current labels.
    X, _ = make_blobs(300, n_features=3, centers=3, random_state=2)
    c = torch.tensor(X[:3] + 0.5, requires_grad=True)
    xt = torch.tensor(X)
    labels = torch.cdist(xt, c.detach()).argmin(1)
    inertia = ((xt - c[labels]) ** 2).sum()
    (grad,) = torch.autograd.grad(inertia, c)
    counts = torch.bincount(labels, minlength=3).double()[:, None]
    lloyd = update_centers(NumpyOps(), X, X[:3] + 0.5, labels.numpy(), 3)
    np.testing.assert_allclose((c - grad / (2 * counts)).detach().numpy(), lloyd, atol=1e-12)


def test_soft_kmeans_surrogate_gradient_equals_true_gradient():
    # posts.md §8: the surrogate Σ C_ij ‖x_i − c_j‖² (C frozen at the iterate) has the gradient of
    # the smoothed objective L_M = Σ_i −(1/M) log Σ_j exp(−M d²_ij) at the iterate.
    X, _ = make_blobs(200, n_features=2, centers=3, random_state=3)
    M = 0.7
    c = torch.tensor(X[:3] + 0.3, requires_grad=True)
    xt = torch.tensor(X)
    d2 = ((xt[:, None, :] - c[None]) ** 2).sum(-1)
    smooth = (-torch.logsumexp(-M * d2, 1) / M).sum()
    (g_true,) = torch.autograd.grad(smooth, c)
    resp, _ = soft_assign(NumpyOps(), X, X[:3] + 0.3, M)
    c2 = c.detach().clone().requires_grad_(True)
    surrogate = (torch.tensor(resp) * ((xt[:, None, :] - c2[None]) ** 2).sum(-1)).sum()
    (g_sur,) = torch.autograd.grad(surrogate, c2)
    np.testing.assert_allclose(g_sur.numpy(), g_true.numpy(), atol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_soft_kmeans_monotone_and_tends_to_lloyd(blobs, backend):
    X, _ = blobs
    init = kmeans_plusplus(X, 4, 0)[0]
    lloyd = KMeans(4, init=init).fit(X).cluster_centers_
    gaps = []
    for M in (0.01, 0.1, 1.0, 10.0, 100.0):
        soft = SoftKMeans(4, stiffness=M, init=init, max_iter=1000, backend=backend).fit(X)
        assert np.all(np.diff(soft.objective_history_) <= 1e-12 * abs(soft.objective_history_[0]))
        gaps.append(np.abs(soft.cluster_centers_ - lloyd).max())
    assert gaps[-1] < 1e-6 < gaps[0]
    assert all(a >= b for a, b in zip(gaps, gaps[1:], strict=False))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_kmeans_rejects_nan_and_inf(bad):
    X = np.ones((10, 2))
    X[3, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        KMeans(2).fit(X)


def test_kmeans_more_clusters_than_samples():
    with pytest.raises(ValueError, match="n_samples=3 should be >= n_clusters=5"):
        KMeans(5).fit(np.eye(3))


def test_kmeans_non_convergence_warns_and_sets_attributes():
    X, _ = make_blobs(500, centers=5, cluster_std=5.0, random_state=0)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        km = KMeans(5, max_iter=1, tol=0, random_state=0).fit(X)
    assert km.n_iter_ == 1 and km.converged_ is False
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert KMeans(5, random_state=0).fit(X).converged_ is True


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_same_random_state_same_fit_as_sklearn(init):
    X, _ = make_blobs(2000, n_features=5, centers=6, cluster_std=2.5, random_state=4)
    ours = KMeans(6, init=init, random_state=3).fit(X)
    ref = SkKMeans(6, init=init, random_state=3, algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert abs(ours.inertia_ - ref.inertia_) <= 1e-8 * ref.inertia_


def test_numpy_lloyd_same_result_for_any_thread_count():
    # The compiled Lloyd reduces fixed row blocks in order: 1 or 2 threads give the same bits.
    # F-ordered input is copied to C rows (its column means round differently, as in sklearn).
    from threadpoolctl import threadpool_limits

    X, _ = make_blobs(20000, n_features=6, centers=7, cluster_std=4.0, random_state=5)
    init = kmeans_plusplus(X, 7, 0)[0]
    fits = []
    for threads, data in ((1, X), (2, X), (2, np.asfortranarray(X))):
        with threadpool_limits(threads):
            fits.append(KMeans(7, init=init).fit(data))
    np.testing.assert_array_equal(fits[1].cluster_centers_, fits[0].cluster_centers_)
    np.testing.assert_allclose(fits[2].cluster_centers_, fits[0].cluster_centers_, atol=1e-12)
    ref = SkKMeans(7, init=init, n_init=1, algorithm="lloyd").fit(X)
    for fit in fits:
        np.testing.assert_array_equal(fit.labels_, ref.labels_)
        assert fit.n_iter_ == ref.n_iter_ > 5
