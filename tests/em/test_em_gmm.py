import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGMM

from pipeline.em.backend import NumpyOps, check_backend_params
from pipeline.em.gmm import (
    GaussianMixture,
    e_step,
    estimate_parameters,
    joint_kl,
    mean_log_likelihood,
    precision_cholesky,
)

BACKENDS = ["numpy", "torch"]
PRECISION_ONES = {
    "full": lambda k, d: np.stack([np.eye(d)] * k),
    "diag": lambda k, d: np.ones((k, d)),
    "spherical": lambda k, d: np.ones(k),
}


@pytest.fixture(scope="module")
def mixture():
    X, _ = make_blobs(1500, n_features=3, centers=3, cluster_std=[1.0, 2.0, 0.5], random_state=0)
    return X


def shared_init(X, k, covariance_type):
    idx = np.random.RandomState(3).choice(len(X), k, replace=False)
    return dict(
        weights_init=np.full(k, 1 / k),
        means_init=X[idx],
        precisions_init=PRECISION_ONES[covariance_type](k, X.shape[1]),
    )


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_matches_sklearn_from_same_init(mixture, covariance_type, backend):
    init = shared_init(mixture, 3, covariance_type)
    kw = dict(covariance_type=covariance_type, tol=1e-6, max_iter=500, **init)
    ref = SkGMM(3, **kw).fit(mixture)
    ours = GaussianMixture(3, backend=backend, **kw).fit(mixture)
    assert ours.n_iter_ == ref.n_iter_ > 3
    assert abs(ours.lower_bound_ - ref.lower_bound_) < 1e-9
    np.testing.assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.means_, ref.means_, atol=1e-7)
    np.testing.assert_allclose(ours.covariances_, ref.covariances_, atol=1e-7)
    np.testing.assert_array_equal(ours.predict(mixture), ref.predict(mixture))
    assert ours.score(mixture) == pytest.approx(ref.score(mixture), abs=1e-9)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_log_likelihood_never_decreases(mixture, covariance_type):
    gm = GaussianMixture(
        4, covariance_type=covariance_type, tol=0, max_iter=60, init_params="random", random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(mixture)
    bounds = np.asarray(gm.lower_bounds_)
    assert len(bounds) == 60
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[:-1]))


def test_one_component_by_hand():
    # One Gaussian: the M-step is the sample mean and the biased sample variance (+ reg_covar).
    x = np.array([[1.0], [2.0], [4.0], [7.0]])
    gm = GaussianMixture(1, reg_covar=0.0).fit(x)
    assert gm.means_[0, 0] == pytest.approx(3.5)
    assert gm.covariances_[0, 0, 0] == pytest.approx(((x - 3.5) ** 2).mean())
    var = 5.25
    assert gm.score(x) == pytest.approx(-0.5 * np.log(2 * np.pi * var) - 0.5, abs=1e-12)


def test_post6_kl_identity(mixture):
    # posts.md §6 (17)-(20): right after the E-step the posterior KL is zero, so the joint KL
    # equals the negative mean log-likelihood; every half-step lowers the joint KL.
    ops, ct = NumpyOps(), "full"
    gm = GaussianMixture(3, max_iter=1, init_params="random", random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(mixture)
    w, mu, pc = gm.weights_, gm.means_, gm.precisions_cholesky_
    resp = np.full((len(mixture), 3), 1 / 3)  # any distribution: not yet the posterior
    trace = [joint_kl(ops, mixture, resp, w, mu, pc, ct)]
    for _ in range(20):
        ll, log_resp = e_step(ops, mixture, w, mu, pc, ct)
        resp = np.exp(log_resp)
        trace.append(joint_kl(ops, mixture, resp, w, mu, pc, ct))
        assert trace[-1] == pytest.approx(-ll, abs=1e-10)
        nk, mu, cov = estimate_parameters(ops, mixture, resp, 1e-6, ct)
        w, pc = nk / nk.sum(), precision_cholesky(ops, cov, ct)
        trace.append(joint_kl(ops, mixture, resp, w, mu, pc, ct))
    assert np.all(np.diff(trace) <= 1e-12)


def test_em_means_are_a_gradient_step(mixture):
    # anchors §2.3d: μ_EM = μ + (Σ_k / N_k) ∇_μ Σ_i log p(x_i), by autograd.
    gm = GaussianMixture(3, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(mixture)
    X = torch.tensor(mixture)
    mu = torch.tensor(gm.means_, requires_grad=True)
    cov = torch.tensor(gm.covariances_)
    dist = torch.distributions.MultivariateNormal(mu, covariance_matrix=cov)
    ll = torch.logsumexp(
        dist.log_prob(X[:, None, :]) + torch.log(torch.tensor(gm.weights_)), 1
    ).sum()
    (grad,) = torch.autograd.grad(ll, mu)
    resp = gm.predict_proba(mixture)
    # The M-step surrogate Q(μ) = Σ_i Σ_k r_ik log N(x_i | μ_k, Σ_k), r frozen at the iterate,
    # has the true gradient there (posts.md §8's first-order matching).
    mu_q = torch.tensor(gm.means_, requires_grad=True)
    log_n = torch.distributions.MultivariateNormal(mu_q, covariance_matrix=cov).log_prob(
        X[:, None, :]
    )
    (grad_q,) = torch.autograd.grad((torch.tensor(resp) * log_n).sum(), mu_q)
    np.testing.assert_allclose(grad_q.numpy(), grad.numpy(), atol=1e-9)
    nk = resp.sum(0)
    mu_em = resp.T @ mixture / nk[:, None]
    step = gm.means_ + np.einsum("kij,kj->ki", gm.covariances_, grad.numpy()) / nk[:, None]
    np.testing.assert_allclose(step, mu_em, atol=1e-10)


def test_true_parameters_log_likelihood_is_reached_by_best_of_inits():
    rng = np.random.default_rng(0)
    means = rng.uniform(-6, 6, (4, 2))
    labels = rng.integers(0, 4, 4000)
    X = means[labels] + rng.normal(size=(4000, 2))
    truth = mean_log_likelihood(X, np.bincount(labels) / 4000, means, np.stack([np.eye(2)] * 4))
    gm = GaussianMixture(4, n_init=5, tol=1e-8, max_iter=500, random_state=0).fit(X)
    assert gm.lower_bound_ >= truth - 1e-3  # the MLE is at least as likely as the truth


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_rejects_nan_and_inf(mixture, bad):
    X = mixture.copy()
    X[5, 0] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        GaussianMixture(2).fit(X)


def test_more_components_than_samples():
    with pytest.raises(ValueError, match="n_components = 5, n_samples = 3"):
        GaussianMixture(5).fit(np.eye(3))


@pytest.mark.parametrize("backend", BACKENDS)
def test_singular_covariance_is_a_clear_error(backend):
    # Points on a line: the full covariance is singular without reg_covar.
    X = np.c_[np.arange(20.0), 2 * np.arange(20.0)]
    with pytest.raises(ValueError, match="increase reg_covar"):
        GaussianMixture(1, reg_covar=0.0, backend=backend).fit(X)
    assert GaussianMixture(1, reg_covar=1e-6, backend=backend).fit(X).converged_


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_singularity_is_decided_relative_to_scale(backend, dtype):
    # Exactly rank-deficient covariances at scales 1e-8..1e8 are singular on every backend and
    # CPU, whether or not LAPACK's Cholesky happens to fail; a well-conditioned one of the same
    # scale (condition number 1e4) is not.
    ops = check_backend_params(GaussianMixture(backend=backend, device="cpu", dtype=dtype))
    rng = np.random.default_rng(0)
    for scale in 10.0 ** np.arange(-8, 9, 4):
        v = rng.normal(size=(3, 2))
        rank2 = scale * v @ v.T  # 3x3 of rank 2
        with pytest.raises(ValueError, match="increase reg_covar"):
            precision_cholesky(ops, ops.asarray(rank2[None]), "full")
        good = scale * np.diag([1.0, 1e-2, 1e-4])
        precision_cholesky(ops, ops.asarray(good[None]), "full")


@pytest.mark.parametrize("n", [200, 20000])
@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_constant_feature_is_singular_without_reg_covar(backend, covariance_type, n):
    # A constant feature (0.1 is not exact in binary, so the M-step's variance is rounding noise
    # of either sign): singular for every covariance type and backend, fine with reg_covar. A
    # spherical variance averages the features, so there every feature is constant.
    X = np.c_[np.full(n, 0.1), np.random.default_rng(0).normal(size=n)]
    if covariance_type == "spherical":
        X[:, 1] = -3.7
    kw = dict(covariance_type=covariance_type, backend=backend, random_state=0)
    with pytest.raises(ValueError, match="increase reg_covar"):
        GaussianMixture(1, reg_covar=0.0, **kw).fit(X)
    assert GaussianMixture(1, reg_covar=1e-6, **kw).fit(X).converged_


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_constant_feature_in_an_em_step_is_singular(backend, covariance_type):
    # Given initial parameters skip the initial M-step, so the EM loop's own check must catch the
    # constant feature's variance (rounding noise) in the first M-step.
    X = np.c_[np.full(2000, 0.1), np.random.default_rng(0).normal(size=2000)]
    if covariance_type == "spherical":
        X[:, 1] = -3.7
    init = dict(weights_init=[1.0], means_init=[[0.0, 0.0]])
    init["precisions_init"] = PRECISION_ONES[covariance_type](1, 2)
    kw = dict(covariance_type=covariance_type, backend=backend, **init)
    with pytest.raises(ValueError, match="increase reg_covar"):
        GaussianMixture(1, reg_covar=0.0, **kw).fit(X)
    assert GaussianMixture(1, reg_covar=1e-6, **kw).fit(X).converged_


def test_non_convergence_warns_and_sets_attributes(mixture):
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        gm = GaussianMixture(3, max_iter=2, tol=0, random_state=0).fit(mixture)
    assert gm.n_iter_ == 2 and gm.converged_ is False


def test_invalid_parameters_name_the_key(mixture):
    with pytest.raises(ValueError, match="covariance_type='tied'"):
        GaussianMixture(2, covariance_type="tied").fit(mixture)
    with pytest.raises(ValueError, match="backend='jax'"):
        GaussianMixture(2, backend="jax").fit(mixture)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_same_random_state_same_fit_as_sklearn(mixture, init_params):
    # Our initialisations draw the same random numbers as sklearn's, so a seed gives the same start.
    kw = dict(init_params=init_params, random_state=7, n_init=2, tol=1e-6, max_iter=300)
    ours = GaussianMixture(3, **kw).fit(mixture)
    ref = SkGMM(3, **kw).fit(mixture)
    assert ours.n_iter_ == ref.n_iter_
    assert abs(ours.lower_bound_ - ref.lower_bound_) < 1e-9


@pytest.mark.parametrize("tile", [None, 1, 100])  # the default chunks; one row; a partial chunk
def test_compiled_full_step_matches_sklearn(monkeypatch, tile):
    # The compiled full-covariance E- and M-step (numpy, float64) against sklearn's own functions,
    # over several blocks and a partial last chunk; the same bits on 1 and 2 numba threads.
    from sklearn.mixture import _gaussian_mixture as skm

    from pipeline.em import gmm
    from pipeline.em.backend import compiled_threads

    if tile is not None:
        monkeypatch.setattr(gmm, "TILE_ELEMENTS", tile)
    rng = np.random.default_rng(0)
    X, _ = make_blobs(5003, n_features=5, centers=7, random_state=1)
    w, mu = rng.dirichlet(np.ones(7)), X[rng.choice(len(X), 7, replace=False)]
    cov = np.stack([np.cov(X[rng.choice(len(X), 50)].T) for _ in range(7)])
    pc = skm._compute_precision_cholesky(cov, "full")
    ref = skm._estimate_log_gaussian_prob(X, mu, pc, "full")
    np.testing.assert_allclose(
        gmm.log_gaussian_prob(NumpyOps(), X, mu, pc, "full"), ref, rtol=1e-13
    )
    sk = SkGMM(7, reg_covar=1e-6)
    sk.weights_, sk.means_, sk.precisions_cholesky_ = w, mu, pc
    lower_ref, log_resp = sk._estimate_log_prob_resp(X)
    nk_ref, mu_ref, cov_ref = skm._estimate_gaussian_parameters(X, np.exp(log_resp), 1e-6, "full")
    steps = []
    for threads in (1, 2):
        with compiled_threads(threads):
            steps.append(gmm._em_step_compiled(X, w, mu, pc, 1e-6))
    lower, nk, means, covariances = steps[0]
    assert lower == pytest.approx(lower_ref.mean(), rel=1e-14)
    np.testing.assert_allclose(nk, nk_ref, rtol=1e-12)
    np.testing.assert_allclose(means, mu_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(covariances, cov_ref, rtol=1e-11, atol=1e-12)
    for a, b in zip(steps[0], steps[1], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(
        estimate_parameters(NumpyOps(), X, np.exp(log_resp), 1e-6, "full")[2], cov_ref, rtol=1e-11
    )
