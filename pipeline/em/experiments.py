"""Runs with known truth and comparisons with scikit-learn, each returning a tidy table.

Every function takes its frozen config and a seed and returns a results frame in the one schema
of :mod:`pipeline.tables` (``experiment, dataset, method, implementation, seed, step, metric,
value``; ``step`` is −1 for end-of-run figures and the iteration for curves). ``experiment`` is
the checklist id of posts.md the rows decide (``E6.1`` GMM EM, ``E8.1`` Newton, ``E8.3`` pLSA,
``E8.4`` K-means), ``real_data`` for the go-beyond ARI table. Timings are wall-clock seconds of
the fit alone, measured in the same process for ours and scikit-learn's.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import make_blobs
from sklearn.decomposition import NMF, LatentDirichletAllocation
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture as SkGMM

from pipeline import tables
from pipeline.em import datasets, newton
from pipeline.em.backend import NumpyOps
from pipeline.em.gmm import (
    GaussianMixture,
    estimate_parameters,
    log_gaussian_prob,
    mean_log_likelihood,
)
from pipeline.em.kmeans import KMeans, SoftKMeans, inertia, kmeans_plusplus
from pipeline.em.plsa import PLSA, random_factors


def ours(backend: str) -> str:
    """The ``implementation`` word of our estimators on ``backend`` (``ours-numpy``, ``ours-torch``)."""
    return f"ours-{backend}"


class Recorder:
    """Collects rows of one experiment and returns them as a results frame (pipeline.tables)."""

    def __init__(self, experiment: str, dataset: str, seed: int):
        self.experiment, self.dataset, self.seed, self.rows = experiment, dataset, seed, []

    def add(self, method, implementation, metric, value, step=-1, dataset=None, experiment=None):
        self.rows.append(
            (experiment or self.experiment, dataset or self.dataset, method, implementation,
             self.seed, int(step), metric, float(value))
        )  # fmt: skip

    def curve(self, method, implementation, metric, values, dataset=None, experiment=None):
        for i, v in enumerate(values):
            self.add(method, implementation, metric, v, i, dataset, experiment)

    def frame(self) -> pd.DataFrame:
        return tables.results_frame(pd.DataFrame(self.rows, columns=tables.COLUMNS))


def timed(fn, *args, **kwargs):
    """(fn(*args, **kwargs), wall seconds); non-convergence is expected in fixed-budget runs."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


@dataclass(frozen=True)
class GmmConfig:
    n_samples: int = 4000
    n_features: int = 4
    n_components: int = 4
    covariance_type: str = "full"
    n_init: int = 5
    tol: float = 1e-3
    max_iter: int = 100
    backend: str = "numpy"
    device: str = "auto"

    def __post_init__(self):
        if self.n_samples < self.n_components:
            raise ValueError(
                f"n_samples={self.n_samples} must be >= n_components={self.n_components}"
            )


def gmm_synthetic(cfg: GmmConfig, seed: int) -> pd.DataFrame:
    """posts.md §6 on a known mixture: same-init parity with sklearn, best of n_init vs truth."""
    mix = datasets.sample_gmm(cfg.n_samples, cfg.n_features, cfg.n_components, seed)
    X, k, rec = mix.X, cfg.n_components, Recorder("E6.1", "synthetic_gmm", seed)
    rec.add("truth", "exact", "mean_log_likelihood",
            mean_log_likelihood(X, mix.weights, mix.means, mix.covariances))  # fmt: skip
    bayes = log_gaussian_prob(
        NumpyOps(), X, mix.means, np.linalg.cholesky(np.linalg.inv(mix.covariances)), "full"
    )
    bayes_labels = (bayes + np.log(mix.weights)).argmax(1)  # the Bayes classifier of the truth
    rec.add("truth", "exact", "ari", adjusted_rand_score(mix.labels, bayes_labels))
    rng, best = np.random.RandomState(seed), {}
    for init in range(cfg.n_init):
        hard = np.eye(k)[KMeans(k, n_init=1, random_state=rng).fit(X).labels_]
        nk, means, cov = estimate_parameters(NumpyOps(), X, hard, 1e-6, "full")
        start = dict(weights_init=nk / len(X), means_init=means, precisions_init=np.linalg.inv(cov))
        kw = dict(tol=cfg.tol, max_iter=cfg.max_iter, covariance_type="full", **start)
        for impl, estimator in (
            (ours(cfg.backend), GaussianMixture(k, backend=cfg.backend, device=cfg.device, **kw)),
            ("sklearn", SkGMM(k, **kw)),
        ):
            model, seconds = timed(estimator.fit, X)
            method = f"em_init{init}"
            rec.add(method, impl, "fit_seconds", seconds)
            rec.add(method, impl, "n_iter", model.n_iter_)
            rec.add(method, impl, "mean_log_likelihood", model.lower_bound_)
            rec.curve(method, impl, "lower_bound", model.lower_bounds_)
            steps = np.diff(model.lower_bounds_)
            rec.add(method, impl, "min_lower_bound_step", steps.min() if len(steps) else 0.0)
            if impl not in best or model.lower_bound_ > best[impl].lower_bound_:
                best[impl] = model
    for impl, model in best.items():
        rec.add("em_best_of_inits", impl, "mean_log_likelihood", model.lower_bound_)
        rec.add("em_best_of_inits", impl, "ari", adjusted_rand_score(mix.labels, model.predict(X)))
    return rec.frame()


@dataclass(frozen=True)
class KMeansConfig:
    n_samples: int = 20000
    n_features: int = 16
    n_clusters: int = 16
    cluster_std: float = 1.0
    max_iter: int = 300
    tol: float = 1e-4
    backend: str = "numpy"
    device: str = "auto"

    def __post_init__(self):
        if self.n_samples < self.n_clusters:
            raise ValueError(f"n_samples={self.n_samples} must be >= n_clusters={self.n_clusters}")


def kmeans_blobs(cfg: KMeansConfig, seed: int) -> pd.DataFrame:
    """Lloyd against sklearn from the same k-means++ centres on make_blobs with known labels."""
    X, y = make_blobs(cfg.n_samples, n_features=cfg.n_features, centers=cfg.n_clusters,
                      cluster_std=cfg.cluster_std, random_state=seed)  # fmt: skip
    rec = Recorder("E8.4", f"blobs_std{cfg.cluster_std:g}", seed)
    init = kmeans_plusplus(X, cfg.n_clusters, seed)[0]
    kw = dict(init=init, max_iter=cfg.max_iter, tol=cfg.tol)
    mine, t_mine = timed(
        KMeans(cfg.n_clusters, backend=cfg.backend, device=cfg.device, **kw).fit, X
    )
    ref, t_ref = timed(SkKMeans(cfg.n_clusters, n_init=1, algorithm="lloyd", **kw).fit, X)

    for impl, model, seconds in ((ours(cfg.backend), mine, t_mine), ("sklearn", ref, t_ref)):
        rec.add("lloyd", impl, "fit_seconds", seconds)
        rec.add("lloyd", impl, "n_iter", model.n_iter_)
        rec.add("lloyd", impl, "inertia", inertia(X, model.cluster_centers_, model.labels_))
        rec.add("lloyd", impl, "ari", adjusted_rand_score(y, model.labels_))
    rec.add(
        "lloyd_vs_sklearn",
        ours(cfg.backend),
        "labels_equal",
        float(np.array_equal(mine.labels_, ref.labels_)),
    )
    rel = abs(mine.inertia_ - inertia(X, ref.cluster_centers_, ref.labels_)) / mine.inertia_
    rec.add("lloyd_vs_sklearn", ours(cfg.backend), "inertia_rel_diff", rel)
    return rec.frame()


@dataclass(frozen=True)
class SoftKMeansConfig:
    n_samples: int = 2000
    n_clusters: int = 4
    cluster_std: float = 1.0
    stiffnesses: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1000.0)
    max_iter: int = 500
    backend: str = "numpy"
    device: str = "auto"


def soft_kmeans(cfg: SoftKMeansConfig, seed: int) -> pd.DataFrame:
    """posts.md E8.4: soft K-means for growing M against Lloyd from the same centres."""
    X, _ = make_blobs(cfg.n_samples, n_features=2, centers=cfg.n_clusters,
                      cluster_std=cfg.cluster_std, random_state=seed)  # fmt: skip
    rec = Recorder("E8.4", "blobs_2d", seed)
    init = kmeans_plusplus(X, cfg.n_clusters, seed)[0]
    # tol=0: Lloyd runs to its fixed point (labels unchanged), the M → ∞ limit being compared.
    lloyd = KMeans(cfg.n_clusters, init=init, tol=0, backend=cfg.backend, device=cfg.device).fit(X)
    for M in cfg.stiffnesses:
        model, seconds = timed(SoftKMeans(
            cfg.n_clusters, stiffness=M, init=init, max_iter=cfg.max_iter, backend=cfg.backend,
            device=cfg.device).fit, X)  # fmt: skip
        method = f"soft_M{M:g}"
        rec.add(
            method,
            ours(cfg.backend),
            "centre_gap_to_lloyd",
            np.abs(model.cluster_centers_ - lloyd.cluster_centers_).max(),
        )
        rec.add(
            method,
            ours(cfg.backend),
            "max_objective_increase",
            np.diff(model.objective_history_).max(initial=0.0),
        )
        rec.add(method, ours(cfg.backend), "n_iter", model.n_iter_)
        rec.curve(
            method, ours(cfg.backend), "smoothed_objective", model.objective_history_ / len(X)
        )
    return rec.frame()


@dataclass(frozen=True)
class PlsaConfig:
    n_docs: int = 300
    n_words: int = 500
    n_topics: int = 5
    doc_length: int = 200
    alpha: float = 0.2
    beta: float = 0.05
    max_iter: int = 100
    projected_gradient_rates: tuple[float, ...] = (1e-5, 1e-4, 1e-3)
    softmax_gradient_rates: tuple[float, ...] = (1.0, 10.0, 100.0)
    backend: str = "numpy"
    device: str = "auto"


def topic_error(phi_hat: np.ndarray, phi: np.ndarray) -> float:
    """Mean total-variation distance between matched topics (Hungarian matching)."""
    tv = 0.5 * np.abs(phi_hat[:, None, :] - phi[None]).sum(-1)
    rows, cols = linear_sum_assignment(tv)
    return float(tv[rows, cols].mean())


def nmf_kl(counts, theta0, phi0, max_iter: int):
    """sklearn's NMF-KL (mu, tol=0) from the pLSA start W0 = n_d·Θ0, H0 = Φ0; returns (Θ, Φ)."""
    lengths = np.asarray(counts.sum(axis=1))
    nmf = NMF(theta0.shape[1], init="custom", beta_loss="kullback-leibler", solver="mu",
              tol=0, max_iter=max_iter)  # fmt: skip
    W = nmf.fit_transform(counts, W=lengths * theta0, H=phi0.copy())
    H = nmf.components_
    scale = H.sum(axis=1)
    theta = W * scale
    return theta / theta.sum(axis=1, keepdims=True), H / scale[:, None]


def log_likelihood_per_token(counts, theta, phi) -> float:
    coo = counts.tocoo()
    p = (theta[coo.row] * phi[:, coo.col].T).sum(1)
    return float((coo.data * np.log(np.maximum(p, 1e-300))).sum() / coo.data.sum())


def best_of_grid(solver: str, rates, counts, theta0, phi0, cfg):
    """The fit of ``solver`` (tol = 0, ``cfg.max_iter`` steps from Θ0, Φ0) with the lowest final S
    over the step grid ``rates`` (``[None]`` for EM): (final S, rate, model, seconds)."""
    fits = []
    for lr in rates:
        estimator = PLSA(theta0.shape[1], solver=solver, learning_rate=lr or 1.0, max_iter=cfg.max_iter,
                         tol=0, backend=cfg.backend, device=cfg.device)  # fmt: skip
        model, seconds = timed(estimator.fit, counts, theta_init=theta0, phi_init=phi0)
        final = model.objective_history_[-1]
        fits.append((final if np.isfinite(final) else np.inf, lr or 0.0, model, seconds))
    return min(fits, key=lambda f: f[0])


def plsa_synthetic(cfg: PlsaConfig, seed: int) -> pd.DataFrame:
    """posts.md E8.3: EM against the two gradient variants and NMF-KL on a corpus of known topics."""
    corpus = datasets.lda_corpus(
        cfg.n_docs, cfg.n_words, cfg.n_topics, cfg.doc_length, cfg.alpha, cfg.beta, seed
    )
    rec = Recorder("E8.3", "synthetic_lda", seed)
    theta0, phi0 = random_factors(cfg.n_docs, cfg.n_words, cfg.n_topics, seed)
    true_arg = corpus.theta.argmax(1)
    runs = [("em", [None])]
    runs += [
        ("projected_gradient", cfg.projected_gradient_rates),
        ("softmax_gradient", cfg.softmax_gradient_rates),
    ]
    impl = ours(cfg.backend)
    for solver, rates in runs:
        final, lr, model, seconds = best_of_grid(solver, rates, corpus.counts, theta0, phi0, cfg)
        rec.add(solver, impl, "learning_rate", lr)
        rec.add(solver, impl, "fit_seconds", seconds)
        rec.add(solver, impl, "neg_log_likelihood_per_token", final)
        rec.add(solver, impl, "max_objective_increase", np.diff(model.objective_history_).max())
        rec.add(solver, impl, "topic_tv_error", topic_error(model.components_, corpus.phi))
        rec.add(
            solver, impl, "ari_doc_topic", adjusted_rand_score(true_arg, model.doc_topic_.argmax(1))
        )
        rec.curve(solver, impl, "neg_log_likelihood_per_token", model.objective_history_)
    (theta, phi), seconds = timed(nmf_kl, corpus.counts, theta0, phi0, cfg.max_iter)
    rec.add("nmf_kl_mu", "sklearn", "fit_seconds", seconds)
    rec.add(
        "nmf_kl_mu",
        "sklearn",
        "neg_log_likelihood_per_token",
        -log_likelihood_per_token(corpus.counts, theta, phi),
    )
    rec.add("nmf_kl_mu", "sklearn", "topic_tv_error", topic_error(phi, corpus.phi))
    rec.add("nmf_kl_mu", "sklearn", "ari_doc_topic", adjusted_rand_score(true_arg, theta.argmax(1)))
    return rec.frame()


@dataclass(frozen=True)
class RealDataConfig:
    gmm_datasets: tuple[str, ...] = ("iris", "wine")
    kmeans_datasets: tuple[str, ...] = datasets.REAL_DATASETS
    covariance_types: tuple[str, ...] = ("full", "diag", "spherical")
    backend: str = "numpy"
    device: str = "auto"


def real_data(cfg: RealDataConfig, seed: int) -> pd.DataFrame:
    """ARI of GMM and K-means (n_init=1, one seed) on datasets bundled with scikit-learn."""
    rec = Recorder("real_data", "", seed)
    impl = ours(cfg.backend)
    mine = dict(random_state=seed, backend=cfg.backend, device=cfg.device)
    for name in dict.fromkeys(cfg.gmm_datasets + cfg.kmeans_datasets):
        X, y = datasets.load_real(name)
        k = len(np.unique(y))
        for ct in cfg.covariance_types if name in cfg.gmm_datasets else ():
            for im, est in ((impl, GaussianMixture(k, covariance_type=ct, **mine)),
                            ("sklearn", SkGMM(k, covariance_type=ct, random_state=seed))):  # fmt: skip
                model, _ = timed(est.fit, X)
                rec.add(
                    f"gmm_{ct}", im, "ari", adjusted_rand_score(y, model.predict(X)), dataset=name
                )
        for im, est in ((impl, KMeans(k, **mine)), ("sklearn", SkKMeans(k, n_init=1, random_state=seed))) \
                if name in cfg.kmeans_datasets else ():  # fmt: skip
            model, _ = timed(est.fit, X)
            rec.add("kmeans", im, "ari", adjusted_rand_score(y, model.labels_), dataset=name)
    return rec.frame()


@dataclass(frozen=True)
class CorpusConfig:
    corpora: dict[str, int] = field(
        default_factory=lambda: {"lee_background": 10, "mini_newsgroup": 2}
    )
    max_iter: int = 100
    lda_max_iter: int = 10
    projected_gradient_rates: tuple[float, ...] = (1e-4, 1e-3)
    softmax_gradient_rates: tuple[float, ...] = (10.0, 100.0)
    backend: str = "numpy"
    device: str = "auto"


def plsa_corpus(cfg: CorpusConfig, seed: int) -> pd.DataFrame:
    """posts.md E8.3 on real corpora (gensim's bundled ones): pLSA by EM against the two gradient
    variants (best step of a grid) and NMF-KL from the same start, and sklearn's LDA."""
    rec = Recorder("E8.3", "", seed)
    for name, k in cfg.corpora.items():
        corpus = datasets.gensim_corpus(name)
        counts = corpus.counts
        theta0, phi0 = random_factors(*counts.shape, k, seed)
        plsa = PLSA(k, max_iter=cfg.max_iter, tol=0, backend=cfg.backend, device=cfg.device)
        model, t_plsa = timed(plsa.fit, counts, theta_init=theta0, phi_init=phi0)
        (nmf_theta, nmf_phi), t_nmf = timed(nmf_kl, counts, theta0, phi0, cfg.max_iter)
        lda = LatentDirichletAllocation(
            k, max_iter=cfg.lda_max_iter, learning_method="batch", random_state=seed
        )
        lda, t_lda = timed(lda.fit, counts)
        lda_theta = lda.transform(counts)
        lda_phi = lda.components_ / lda.components_.sum(1, keepdims=True)
        for method, impl, (theta, phi), seconds in (
            ("plsa_em", ours(cfg.backend), (model.doc_topic_, model.components_), t_plsa),
            ("nmf_kl_mu", "sklearn", (nmf_theta, nmf_phi), t_nmf),
            ("lda_batch_vb", "sklearn", (lda_theta, lda_phi), t_lda),
        ):
            rec.add(
                method,
                impl,
                "log_likelihood_per_token",
                log_likelihood_per_token(counts, theta, phi),
                dataset=name,
            )
            rec.add(method, impl, "fit_seconds", seconds, dataset=name)
            if corpus.labels is not None:
                rec.add(
                    method,
                    impl,
                    "ari",
                    adjusted_rand_score(corpus.labels, theta.argmax(1)),
                    dataset=name,
                )
        rec.add("plsa_em", ours(cfg.backend), "max_objective_increase", np.diff(model.objective_history_).max(),
                dataset=name)  # fmt: skip
        for solver, rates in (("projected_gradient", cfg.projected_gradient_rates),
                              ("softmax_gradient", cfg.softmax_gradient_rates)):  # fmt: skip
            final, lr, fit, seconds = best_of_grid(solver, rates, counts, theta0, phi0, cfg)
            rec.add(solver, ours(cfg.backend), "log_likelihood_per_token", -final, dataset=name)
            rec.add(solver, ours(cfg.backend), "learning_rate", lr, dataset=name)
            rec.add(solver, ours(cfg.backend), "fit_seconds", seconds, dataset=name)
    return rec.frame()


@dataclass(frozen=True)
class NewtonConfig:
    starts: dict[str, list[list[float]]] = field(default_factory=lambda: {
        "quartic": [[-2.0], [0.3], [1.8]], "rosenbrock": [[-1.2, 1.0]], "ill_quadratic": [[1.0, 1.0]],
        "log_cosh": [[0.5], [1.5]]})  # fmt: skip
    gd_steps: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
    max_iter: int = 20000
    backend: str = "numpy"


def min_curvature(fn, x) -> float:
    """Smallest Hessian eigenvalue at ``x`` (< 0 at a maximum or saddle); NaN if x diverged."""
    if not np.isfinite(x).all():
        return float("nan")
    return float(np.linalg.eigvalsh(newton.derivatives(fn, np.asarray(x))[2]).min())


def convergence_order(grad_norms: np.ndarray) -> float:
    """Median of log(g_{n+1}/g_n) / log(g_n/g_{n−1}) over the steps with 1e-12 < g < 1e-1 on
    the way in: ≈ 1 for linear convergence, ≈ 2 for quadratic; NaN with fewer than 3 such."""
    g = np.asarray(grad_norms, dtype=np.float64)
    ok = (g > 1e-12) & (g < 1e-1) & np.isfinite(g)
    idx = np.flatnonzero(ok[:-2] & ok[1:-1] & ok[2:])
    if len(idx) == 0:
        return float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.log(g[idx + 2] / g[idx + 1]) / np.log(g[idx + 1] / g[idx])
    ratios = ratios[np.isfinite(ratios)]
    return float(np.median(ratios)) if len(ratios) else float("nan")


def newton_gd(cfg: NewtonConfig) -> pd.DataFrame:
    """posts.md E8.1: Newton against gradient descent with the best fixed step from a grid."""
    rec = Recorder("E8.1", "", -1)
    for name, starts in cfg.starts.items():
        fn = newton.FUNCTIONS[name]
        for x0 in starts:
            label = f"{name}@{','.join(f'{v:g}' for v in x0)}"
            paths = {"newton": newton.newton(fn, x0, backend=cfg.backend)}
            trials = [
                (newton.gradient_descent(fn, x0, h, cfg.max_iter, cfg.backend), h)
                for h in cfg.gd_steps
            ]
            # Best step: the fastest to converge; if none converges, the lowest final ‖∇f‖.
            path, step = min(trials, key=lambda t: (
                not t[0][-1, -1] < newton.TOL_GRAD, len(t[0]) if t[0][-1, -1] < newton.TOL_GRAD
                else np.nan_to_num(t[0][-1, -1], nan=np.inf)))  # fmt: skip
            paths["gradient_descent"] = path
            rec.add("gradient_descent", ours(cfg.backend), "best_step", step, dataset=label)
            for method, p in paths.items():
                rec.add(method, ours(cfg.backend), "iterations", len(p) - 1, dataset=label)
                rec.add(
                    method,
                    ours(cfg.backend),
                    "converged",
                    float(p[-1, -1] < newton.TOL_GRAD),
                    dataset=label,
                )
                rec.add(method, ours(cfg.backend), "final_f", p[-1, -2], dataset=label)
                rec.add(method, ours(cfg.backend), "final_x0", p[-1, 0], dataset=label)
                rec.add(
                    method,
                    ours(cfg.backend),
                    "max_f_increase",
                    np.diff(p[:, -2]).max(initial=-np.inf),
                    dataset=label,
                )
                rec.add(
                    method,
                    ours(cfg.backend),
                    "final_min_curvature",
                    min_curvature(fn, p[-1, :-2]),
                    dataset=label,
                )
                rec.add(
                    method,
                    ours(cfg.backend),
                    "convergence_order",
                    convergence_order(p[:, -1]),
                    dataset=label,
                )
                rec.curve(method, ours(cfg.backend), "grad_norm", p[:, -1], dataset=label)
                rec.curve(method, ours(cfg.backend), "f", p[:, -2], dataset=label)
    return rec.frame()


#: Schema sub-section of ``em`` -> its dataclass (the identity checks' ones: identities.py).
CONFIG_SECTIONS: dict[str, type] = {
    "gmm": GmmConfig,
    "kmeans": KMeansConfig,
    "soft_kmeans": SoftKMeansConfig,
    "plsa": PlsaConfig,
    "real_data": RealDataConfig,
    "corpora": CorpusConfig,
    "newton": NewtonConfig,
}
