"""The identities of posts 6 and 8, computed: each function takes its config and a seed and
returns a results frame (pipeline.tables) whose ``experiment`` is the checklist id.

- E6.1 (:func:`gmm_half_steps`): GMM EM with the joint KL (17) and the marginal NLL logged after
  every half-step, from a random start on overlapping components, where EM needs many iterations.
- E6.3 (:func:`cross_entropy_identity`): Σ p̃(x, y) log p(y|x) from a frequency table equals the
  mean per-sample label log-probability (the usual cross-entropy).
- E8.5 (:func:`plsa_surrogate`): post 8's pLSA surrogate S′ and post 6's joint KL (17) differ by a
  term free of the parameters, so they share the M-step; (:func:`gmm_vs_soft_kmeans`) GMM EM set
  beside soft K-means on the same data: at M = 1/(2σ²) soft K-means' responsibilities are a GMM
  E-step with equal weights and covariance σ²I.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, log_loss
from sklearn.mixture import GaussianMixture as SkGMM

from pipeline.em import datasets
from pipeline.em.backend import get_ops
from pipeline.em.experiments import Recorder, ours
from pipeline.em.gmm import (
    GaussianMixture,
    e_step,
    estimate_parameters,
    joint_kl,
    precision_cholesky,
)
from pipeline.em.kmeans import SoftKMeans, kmeans_plusplus, soft_assign
from pipeline.em.plsa import em_step, objective, random_factors, to_coo


@dataclass(frozen=True)
class HalfStepConfig:
    n_samples: int = 1500
    n_components: int = 3
    separation: float = 2.0
    max_iter: int = 2000
    tol: float = 1e-8
    backend: str = "numpy"
    device: str = "auto"

    def __post_init__(self):
        if self.n_samples < self.n_components:
            raise ValueError(
                f"em.half_steps.n_samples={self.n_samples} must be >= n_components={self.n_components}"
            )


def em_half_steps(ops, X, resp, max_iter: int, tol: float):
    """GMM EM (full covariances, no ``reg_covar``) from responsibilities ``resp``, logging after
    every half-step: rows (joint KL (17), marginal NLL), M-step first. Stops when the NLL changes
    by less than ``tol``. Returns (log (2T, 2), (weights, means, covariances) of the last M-step)."""
    log, previous = [], np.inf
    for _ in range(max_iter):
        nk, means, cov = estimate_parameters(ops, X, resp, 0.0, "full")  # M-step (18)
        weights, pc = nk / nk.sum(), precision_cholesky(ops, cov, "full")
        mean_ll, log_resp = e_step(ops, X, weights, means, pc, "full")
        log.append((joint_kl(ops, X, resp, weights, means, pc, "full"), -mean_ll))
        resp = ops.exp(log_resp)  # E-step (20): the posterior zeroes the posterior KL
        log.append((joint_kl(ops, X, resp, weights, means, pc, "full"), -mean_ll))
        if abs(previous + mean_ll) < tol:
            break
        previous = -mean_ll
    return np.asarray(log), tuple(ops.to_numpy(p) for p in (weights, means, cov))


def gmm_half_steps(cfg: HalfStepConfig, seed: int) -> pd.DataFrame:
    """posts.md E6.1: (17) never increases, equals the NLL after each E-step; sklearn parity."""
    mix = datasets.overlapping_gmm(cfg.n_samples, cfg.n_components, cfg.separation, seed)
    rng = np.random.RandomState(seed)  # sklearn's init_params="random": uniform, rows normalised
    resp = rng.uniform(size=(cfg.n_samples, cfg.n_components))
    resp /= resp.sum(axis=1)[:, None]
    ops = get_ops(cfg.backend, cfg.device)
    log, (_, means, cov) = em_half_steps(
        ops, ops.asarray(mix.X), ops.asarray(resp), cfg.max_iter, cfg.tol
    )
    rec, impl = Recorder("E6.1", "overlapping_gmm", seed), ours(cfg.backend)
    n_iter = len(log) // 2
    rec.curve("em_half_steps", impl, "objective_17", log[:, 0])
    rec.curve("em_half_steps", impl, "marginal_nll", log[:, 1])
    rec.add("em_half_steps", impl, "n_iter", n_iter)
    rec.add("em_half_steps", impl, "max_objective_increase", np.diff(log[:, 0]).max())
    rec.add(
        "em_half_steps", impl, "max_gap_after_e_step", np.abs(log[1::2, 0] - log[1::2, 1]).max()
    )
    rec.add(
        "em_half_steps", impl, "min_posterior_kl_after_m_step", (log[0::2, 0] - log[0::2, 1]).min()
    )
    rec.add("em_half_steps", impl, "max_nll_increase", np.diff(log[1::2, 1]).max(initial=0.0))
    rec.add("em_half_steps", impl, "final_nll", log[-1, 1])
    # sklearn from the same random start: its initialisation is our first M-step.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = SkGMM(cfg.n_components, init_params="random", random_state=seed, reg_covar=0.0,
                    tol=0.0, max_iter=max(n_iter - 1, 1)).fit(mix.X)  # fmt: skip
    gap = max(np.abs(ref.means_ - means).max(), np.abs(ref.covariances_ - cov).max())
    rec.add("em_half_steps", impl, "parameter_gap_to_sklearn", gap)
    rec.add("em_half_steps", "sklearn", "final_nll", -ref.score(mix.X))
    return rec.frame()


@dataclass(frozen=True)
class CrossEntropyConfig:
    n_samples: int = 5000
    n_values: int = 20
    n_classes: int = 5


def cross_entropy_identity(cfg: CrossEntropyConfig, seed: int) -> pd.DataFrame:
    """posts.md E6.3 on a sample of discrete (x, y): the frequency-table form of the supervised
    objective, the per-sample mean, sklearn's log loss, and the free-form optimum p = p̃(y|x)."""
    rng = np.random.default_rng(seed)
    p_x = rng.dirichlet(np.full(cfg.n_values, 2.0))
    p_y_x = rng.dirichlet(np.full(cfg.n_classes, 0.5), cfg.n_values)
    x = rng.choice(cfg.n_values, size=cfg.n_samples, p=p_x)
    below = rng.random(cfg.n_samples)[:, None] > np.cumsum(p_y_x[x], axis=1)
    y = np.minimum(below.sum(axis=1), cfg.n_classes - 1)  # inverse-CDF draw of y given x
    onehot = np.eye(cfg.n_values)[x]
    model = LogisticRegression(C=1.0, max_iter=1000).fit(onehot, y)
    proba = np.zeros((cfg.n_values, cfg.n_classes))  # p_θ(y|x) for every value of x
    proba[:, model.classes_] = model.predict_proba(np.eye(cfg.n_values))
    table = np.zeros((cfg.n_values, cfg.n_classes))
    np.add.at(table, (x, y), 1.0)
    joint = table / cfg.n_samples  # p̃(x, y)
    seen = joint > 0
    from_table = float((joint[seen] * np.log(proba[seen])).sum())
    per_sample = float(np.log(proba[x, y]).mean())
    p_x_hat = joint.sum(axis=1)
    cond = np.divide(joint, p_x_hat[:, None], out=np.zeros_like(joint), where=p_x_hat[:, None] > 0)
    post_form = float(
        (p_x_hat[:, None] * cond * np.log(proba)).sum()
    )  # Σ_x p̃(x) Σ_y p̃(y|x) log p(y|x)
    free_form = float((joint[seen] * np.log(cond[seen])).sum())
    rec = Recorder("E6.3", "discrete_xy", seed)
    rec.add("logistic_regression", "ours", "log_likelihood_from_frequency_table", from_table)
    rec.add("logistic_regression", "ours", "log_likelihood_per_sample", per_sample)
    rec.add("logistic_regression", "ours", "log_likelihood_post_form", post_form)
    rec.add("logistic_regression", "sklearn", "log_likelihood_per_sample",
            -log_loss(y, proba[x], labels=np.arange(cfg.n_classes)))  # fmt: skip
    rec.add("logistic_regression", "ours", "identity_gap",
            max(abs(from_table - per_sample), abs(post_form - per_sample)))  # fmt: skip
    rec.add("empirical_conditional", "exact", "log_likelihood_from_frequency_table", free_form)
    rec.add("logistic_regression", "ours", "gap_to_free_form_optimum", free_form - from_table)
    return rec.frame()


@dataclass(frozen=True)
class SurrogateConfig:
    n_docs: int = 100
    n_words: int = 200
    n_topics: int = 4
    doc_length: int = 100
    alpha: float = 0.2
    beta: float = 0.05
    em_steps: int = 20
    random_points: int = 50


def _surrogate_terms(counts, rows, cols, theta_n, phi_n):
    """Post 8's C weights at the iterate (nnz, K) and, for any (Θ, Φ), S′ and the joint KL (17)."""
    joint = theta_n[rows] * phi_n.T[cols]
    weights = joint / joint.sum(axis=1, keepdims=True)
    p = counts / counts.sum()

    def log_model(theta, phi):
        return np.log(theta[rows] * phi.T[cols])

    def s_prime(theta, phi):
        return float(-(p[:, None] * weights * log_model(theta, phi)).sum())

    def joint_kl(theta, phi):  # (17) without its constant: Σ p̃ Σ_z q log(q / p(w|z)p(z|d))
        return float((p[:, None] * weights * (np.log(weights) - log_model(theta, phi))).sum())

    return weights, p, s_prime, joint_kl


def plsa_surrogate(cfg: SurrogateConfig, seed: int) -> pd.DataFrame:
    """posts.md E8.5: S′ and (17) differ by Σ p̃ Σ C log C at every (Θ, Φ), so the closed-form
    M-step minimises both; at the iterate S′ touches S + H(C), and (17) equals S."""
    corpus = datasets.lda_corpus(
        cfg.n_docs, cfg.n_words, cfg.n_topics, cfg.doc_length, cfg.alpha, cfg.beta, seed
    )
    rows, cols, counts = to_coo(corpus.counts)
    ops, rng = get_ops("numpy"), np.random.default_rng(seed)
    theta, phi = random_factors(cfg.n_docs, cfg.n_words, cfg.n_topics, seed)
    spread, margin, tangency, jkl_gap = 0.0, np.inf, 0.0, 0.0
    for _ in range(cfg.em_steps):
        weights, p, s_prime, jkl = _surrogate_terms(counts, rows, cols, theta, phi)
        neg_entropy = float((p[:, None] * weights * np.log(weights)).sum())
        new_theta, new_phi = em_step(ops, theta, phi, rows, cols, counts)
        points = [(new_theta, new_phi), (theta, phi)] + [
            (
                rng.dirichlet(np.ones(cfg.n_topics), cfg.n_docs),
                rng.dirichlet(np.ones(cfg.n_words), cfg.n_topics),
            )
            for _ in range(cfg.random_points)
        ]
        offsets = np.array([jkl(*pt) - s_prime(*pt) for pt in points])
        spread = max(spread, float(np.abs(offsets - neg_entropy).max()))
        margin = min(margin, min(s_prime(*pt) for pt in points[1:]) - s_prime(new_theta, new_phi))
        s_now = objective(ops, theta, phi, rows, cols, counts)
        tangency = max(tangency, abs(s_prime(theta, phi) - s_now + neg_entropy))
        jkl_gap = max(jkl_gap, abs(jkl(theta, phi) - s_now))
        theta, phi = new_theta, new_phi
    rec = Recorder("E8.5", "synthetic_lda", seed)
    rec.add(
        "plsa_em",
        "ours",
        "max_fd_gradient_gap",
        _plsa_tangency(cfg, corpus, seed),
        experiment="E8.2",
    )
    rec.add("plsa_em", "ours", "max_offset_minus_neg_entropy", spread)
    rec.add("plsa_em", "ours", "min_surrogate_margin_of_m_step", margin)
    rec.add("plsa_em", "ours", "max_tangency_gap", tangency)
    rec.add("plsa_em", "ours", "max_joint_kl_minus_s_at_iterate", jkl_gap)
    return rec.frame()


def _central_difference(fun, x: np.ndarray, index, h: float = 1e-6) -> float:
    up, down = x.copy(), x.copy()
    up[index] += h
    down[index] -= h
    return (fun(up) - fun(down)) / (2 * h)


def _plsa_tangency(cfg: SurrogateConfig, corpus, seed: int) -> float:
    """posts.md E8.2 for pLSA: ∇S′ (C weights frozen at the iterate, in closed form) against
    central differences of S at a random iterate, on 20 random entries of Θ and of Φ; the largest
    gap relative to the largest gradient entry."""
    rows, cols, counts = to_coo(corpus.counts)
    theta, phi = random_factors(cfg.n_docs, cfg.n_words, cfg.n_topics, seed + 1)
    weights, p, _, _ = _surrogate_terms(counts, rows, cols, theta, phi)
    ops, rng = get_ops("numpy"), np.random.default_rng(seed)
    # ∂S′/∂θ_dz = −Σ_w p̃(d,w) C_dwz / θ_dz, ∂S′/∂φ_zw = −Σ_d p̃(d,w) C_dwz / φ_zw
    g_theta = -ops.group_sum(rows, p[:, None] * weights, cfg.n_docs) / theta
    g_phi = -ops.group_sum(cols, p[:, None] * weights, cfg.n_words).T / phi
    gaps, scale = [], max(np.abs(g_theta).max(), np.abs(g_phi).max())
    for _ in range(20):
        d, z, w = rng.integers(cfg.n_docs), rng.integers(cfg.n_topics), rng.integers(cfg.n_words)
        fd_t = _central_difference(
            lambda t: objective(ops, t, phi, rows, cols, counts), theta, (d, z)
        )
        fd_p = _central_difference(
            lambda f: objective(ops, theta, f, rows, cols, counts), phi, (z, w)
        )
        gaps += [abs(fd_t - g_theta[d, z]), abs(fd_p - g_phi[z, w])]
    return float(max(gaps) / scale)


@dataclass(frozen=True)
class GmmSoftConfig:
    n_samples: int = 2000
    n_clusters: int = 4
    cluster_std: float = 1.0
    max_iter: int = 500
    backend: str = "numpy"
    device: str = "auto"


def gmm_vs_soft_kmeans(cfg: GmmSoftConfig, seed: int) -> pd.DataFrame:
    """posts.md E8.5: on E8.4's blobs and start, soft K-means at M = 1/(2σ²) beside GMM EM."""
    X, y = make_blobs(cfg.n_samples, n_features=2, centers=cfg.n_clusters,
                      cluster_std=cfg.cluster_std, random_state=seed)  # fmt: skip
    k, var = cfg.n_clusters, cfg.cluster_std**2
    init = kmeans_plusplus(X, k, seed)[0]
    ops, stiffness = get_ops(cfg.backend, cfg.device), 1.0 / (2 * var)
    soft_resp, _ = soft_assign(ops, ops.asarray(X), ops.asarray(init), stiffness)
    pc = ops.asarray(np.full(k, 1.0 / np.sqrt(var)))
    _, log_resp = e_step(
        ops, ops.asarray(X), ops.asarray(np.full(k, 1.0 / k)), ops.asarray(init), pc, "spherical"
    )
    rec, impl = Recorder("E8.5", "blobs_2d", seed), ours(cfg.backend)
    gap = np.abs(ops.to_numpy(soft_resp) - np.exp(ops.to_numpy(log_resp))).max()
    rec.add("soft_kmeans_vs_gmm_e_step", impl, "responsibility_gap", gap)
    # E8.2 for soft K-means: the surrogate's gradient 2 Σ_i C_ij (c_j − x_i), C frozen at the start,
    # against central differences of the smoothed objective L_M.
    resp = ops.to_numpy(soft_resp)
    surrogate = 2 * (resp.sum(axis=0)[:, None] * init - resp.T @ X)
    fd = np.array([[_central_difference(lambda c: soft_assign(ops, ops.asarray(X), ops.asarray(c), stiffness)[1],
                                        init, (j, d)) for d in range(2)] for j in range(k)])  # fmt: skip
    rec.add("soft_kmeans", impl, "max_fd_gradient_gap", np.abs(fd - surrogate).max() / np.abs(surrogate).max(),
            experiment="E8.2")  # fmt: skip
    kw = dict(backend=cfg.backend, device=cfg.device, max_iter=cfg.max_iter)
    start = dict(weights_init=np.full(k, 1.0 / k), means_init=init)
    fits = {
        f"soft_M{stiffness:g}": SoftKMeans(k, stiffness=stiffness, init=init, **kw),
        "gmm_spherical": GaussianMixture(k, covariance_type="spherical", precisions_init=np.full(k, 1 / var), **start, **kw),
        "gmm_full": GaussianMixture(k, covariance_type="full", precisions_init=np.stack([np.eye(2) / var] * k), **start, **kw),
        "lloyd": SkKMeans(k, init=init, n_init=1, algorithm="lloyd"),
    }  # fmt: skip
    centres = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for method, model in fits.items():
            labels = model.fit_predict(X)
            centres[method] = getattr(model, "cluster_centers_", getattr(model, "means_", None))
            impl_m = "sklearn" if method == "lloyd" else impl
            rec.add(method, impl_m, "ari", adjusted_rand_score(y, labels))
    for method in fits:
        rec.add(method, "sklearn" if method == "lloyd" else impl, "centre_gap_to_gmm_full",
                np.abs(centres[method] - centres["gmm_full"]).max())  # fmt: skip
    return rec.frame()


CONFIG_SECTIONS: dict[str, type] = {
    "half_steps": HalfStepConfig,
    "cross_entropy": CrossEntropyConfig,
    "plsa_surrogate": SurrogateConfig,
    "gmm_soft_kmeans": GmmSoftConfig,
}
