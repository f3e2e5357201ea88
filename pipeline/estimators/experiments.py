"""The estimator study of post 2 (posts.md §2.4, E2.1–E2.4): one run function per checklist item.

Each function takes its frozen config and a seed and returns rows of the one results schema
(:mod:`pipeline.tables`): ``experiment`` is the checklist id, ``dataset`` names the test problem
(a probability vector, a function), ``method`` the estimator or temperature. The seed only drives
the Monte Carlo draws; the test problems are fixed by the config, so seeds are replicates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from pipeline import tables
from pipeline.estimators import gradients, gumbel

log = logging.getLogger(__name__)


class Recorder:
    """Rows of one experiment and seed, as a validated results frame."""

    def __init__(self, experiment: str, seed: int):
        self.experiment, self.seed, self.rows = experiment, seed, []

    def add(
        self, dataset: str, method: str, metric: str, value: float, implementation: str = "ours"
    ):
        self.rows.append({"experiment": self.experiment, "dataset": dataset, "method": method,
                          "implementation": implementation, "seed": self.seed, "step": -1,
                          "metric": metric, "value": float(value)})  # fmt: skip

    def frame(self) -> pd.DataFrame:
        return tables.results_frame(self.rows)


def _positive(cfg, key: str, section: str, strict: bool = True) -> None:
    value = getattr(cfg, key)
    if (value <= 0) if strict else (value < 0):
        raise ValueError(f"estimators.{section}.{key}: {value} must be {'>' if strict else '>='} 0")


def chi_square_pvalue(counts: np.ndarray, p: np.ndarray, min_expected: float = 5.0) -> float:
    """Pearson's goodness-of-fit p-value; categories expected fewer than ``min_expected`` times
    are pooled into one (the test's usual validity rule)."""
    expected = p * counts.sum()
    small = expected < min_expected
    obs, exp = counts[~small], expected[~small]
    if small.any():
        obs, exp = np.append(obs, counts[small].sum()), np.append(exp, expected[small].sum())
    if len(obs) < 2:
        return 1.0
    return float(stats.chisquare(obs, exp).pvalue)


# ---------------------------------------------------------------------------------- E2.1
@dataclass(frozen=True)
class GumbelMaxConfig:
    """E2.1: Gumbel-max is an exact categorical sampler."""

    sizes: tuple[int, ...] = (2, 5, 50)
    peak: float = 0.9
    n_samples: int = 1_000_000

    def __post_init__(self):
        object.__setattr__(self, "sizes", tuple(self.sizes))
        gumbel.check_count(self.n_samples, "estimators.gumbel_max.n_samples")
        if not 0.0 < self.peak < 1.0:
            raise ValueError(f"estimators.gumbel_max.peak: {self.peak} must be in (0, 1)")


def gumbel_max(cfg: GumbelMaxConfig, seed: int) -> pd.DataFrame:
    """Chi-square p-value and the largest |p^_i - p_i| in binomial standard errors per vector;
    the post's integral int_0^1 eps^{1/p - 1} d eps = p by quadrature for every entry."""
    rng, rec = np.random.default_rng(seed), Recorder("E2.1", seed)
    for name, p in gumbel.reference_distributions(cfg.sizes, cfg.peak).items():
        draws = gumbel.gumbel_max(p, cfg.n_samples, rng)
        counts = np.bincount(draws, minlength=len(p)).astype(np.float64)
        p_hat = counts / cfg.n_samples
        z = np.abs(p_hat - p) / np.sqrt(p * (1.0 - p) / cfg.n_samples)
        rec.add(name, "gumbel_max", "chi2_pvalue", chi_square_pvalue(counts, p))
        rec.add(name, "gumbel_max", "max_abs_z", z.max())
        rec.add(name, "gumbel_max", "max_abs_error", np.abs(p_hat - p).max())
        errors = [abs(gumbel.max_probability_integral(p_i)[0] - p_i) / p_i for p_i in np.unique(p)]
        rec.add(name, "quadrature", "integral_max_rel_error", max(errors), implementation="exact")
    return rec.frame()


def ks_of_pvalues(frame: pd.DataFrame) -> pd.DataFrame:
    """KS test of all E2.1 chi-square p-values against U(0, 1): exact sampling makes them uniform,
    so both a biased sampler (p-values near 0) and a too-regular one (near 1) fail it."""
    pvalues = frame.query("experiment == 'E2.1' and metric == 'chi2_pvalue'")["value"].to_numpy()
    if len(pvalues) == 0:
        raise ValueError("no E2.1 chi-square p-values to test (is the gumbel-max run missing?)")
    ks = stats.kstest(pvalues, "uniform")
    rows = [
        ("ks_pvalue_of_chi2_pvalues", ks.pvalue),
        ("ks_statistic_of_chi2_pvalues", ks.statistic),
        ("n_chi2_pvalues", len(pvalues)),
    ]
    return tables.results_frame([{"experiment": "E2.1", "dataset": "all", "method": "gumbel_max",
                                  "implementation": "scipy", "metric": m, "value": v}
                                 for m, v in rows])  # fmt: skip


# ---------------------------------------------------------------------------------- E2.2
@dataclass(frozen=True)
class GumbelSoftmaxConfig:
    """E2.2: Gumbel-softmax as a relaxation of Gumbel-max, over temperatures."""

    probabilities: tuple[float, ...] = (0.5, 0.25, 0.15, 0.07, 0.03)
    taus: tuple[float, ...] = (5.0, 1.0, 0.5, 0.1, 0.01)
    n_samples: int = 1_000_000
    chunk: int = 200_000
    two_class_p: float = 0.7

    def __post_init__(self):
        object.__setattr__(self, "probabilities", tuple(self.probabilities))
        object.__setattr__(self, "taus", tuple(sorted(self.taus, reverse=True)))
        gumbel.check_probabilities(self.probabilities, "estimators.gumbel_softmax.probabilities")
        for tau in self.taus:
            gumbel.check_tau(tau, "estimators.gumbel_softmax.taus")
        gumbel.check_count(self.n_samples, "estimators.gumbel_softmax.n_samples")
        gumbel.check_count(self.chunk, "estimators.gumbel_softmax.chunk")
        if not 0.0 < self.two_class_p < 1.0:
            raise ValueError(
                f"estimators.gumbel_softmax.two_class_p: {self.two_class_p} must be in (0, 1)"
            )


def gumbel_softmax(cfg: GumbelSoftmaxConfig, seed: int) -> pd.DataFrame:
    """For each tau: E[max y~], the chi-square p-value of argmax y~ against p, and the bias
    ||E[y~] - p|| (with its largest component in standard errors). Same draws for every tau."""
    p = np.asarray(cfg.probabilities)
    k, n, rng, rec = len(p), cfg.n_samples, np.random.default_rng(seed), Recorder("E2.2", seed)
    sums = {tau: np.zeros(k) for tau in cfg.taus}
    squares = {tau: np.zeros(k) for tau in cfg.taus}
    max_sum = dict.fromkeys(cfg.taus, 0.0)
    counts = {tau: np.zeros(k) for tau in cfg.taus}
    for start in range(0, n, cfg.chunk):
        noise = gumbel.gumbel_noise(rng, (min(cfg.chunk, n - start), k))
        for tau in cfg.taus:
            y = gumbel.gumbel_softmax(np.log(p), tau, noise)
            sums[tau] += y.sum(0)
            squares[tau] += (y**2).sum(0)
            max_sum[tau] += y.max(1).sum()
            counts[tau] += np.bincount(y.argmax(1), minlength=k)
    dataset = f"k{k}"
    for tau in cfg.taus:
        mean = sums[tau] / n
        se = np.sqrt(np.maximum(squares[tau] / n - mean**2, 0.0) / (n - 1))
        method = f"tau{tau:g}"
        rec.add(dataset, method, "tau", tau)
        rec.add(dataset, method, "mean_max", max_sum[tau] / n)
        rec.add(dataset, method, "argmax_chi2_pvalue", chi_square_pvalue(counts[tau], p))
        rec.add(dataset, method, "bias", np.linalg.norm(mean - p))
        rec.add(dataset, method, "bias_z", (np.abs(mean - p) / np.maximum(se, 1e-300)).max())
    means = [max_sum[tau] / n for tau in cfg.taus]  # taus in decreasing order
    biases = [np.linalg.norm(sums[tau] / n - p) for tau in cfg.taus]
    rec.add(
        dataset, "all_taus", "mean_max_increases_as_tau_falls", float(np.all(np.diff(means) > 0))
    )
    rec.add(dataset, "all_taus", "bias_decreases_as_tau_falls", float(np.all(np.diff(biases) < 0)))
    # k = 2 by quadrature: the bias without Monte Carlo noise, so small tau is resolved too
    p_1, exact = cfg.two_class_p, []
    for tau in cfg.taus:
        exact.append(np.sqrt(2.0) * abs(gumbel.relaxed_mean_two_classes(p_1, tau) - p_1))
        rec.add(f"k2_p{p_1:g}", f"tau{tau:g}", "bias", exact[-1], implementation="exact")
    falls = float(np.all(np.diff(exact) < 0))
    rec.add(
        f"k2_p{p_1:g}", "all_taus", "bias_decreases_as_tau_falls", falls, implementation="exact"
    )
    return rec.frame()


# ---------------------------------------------------------------------------------- E2.3
@dataclass(frozen=True)
class ContinuousConfig:
    """E2.3: score function against reparameterisation for z ~ N(mu, sigma^2), gradient in mu."""

    mu: float = 1.0
    sigma: float = 1.0
    shifts: tuple[float, ...] = (0.0, 3.0)
    omegas: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
    slope_min_omega: float = 2.0
    n_samples: int = 100_000

    def __post_init__(self):
        for key in ("shifts", "omegas"):
            object.__setattr__(self, key, tuple(getattr(self, key)))
        _positive(self, "sigma", "continuous")
        gumbel.check_count(self.n_samples, "estimators.continuous.n_samples")
        if any(w <= 0 for w in self.omegas):
            raise ValueError(f"estimators.continuous.omegas: {self.omegas} must all be > 0")
        if sum(w >= self.slope_min_omega for w in self.omegas) < 2:
            raise ValueError(
                "estimators.continuous.slope_min_omega: fewer than 2 omegas at or above it"
            )


def continuous_gradients(cfg: ContinuousConfig, seed: int) -> pd.DataFrame:
    """Single-sample variance (and bias in standard errors) of SF, SF + optimal baseline and
    reparameterisation for (z - shift)^2, and for sin(omega z) over omega with the fitted slope of
    log variance against log omega (reparameterisation ~ 2, score function ~ 0)."""
    rng, rec = np.random.default_rng(seed), Recorder("E2.3", seed)

    def run(fn):
        grads = gradients.gaussian_gradients(fn, cfg.mu, cfg.sigma, cfg.n_samples, rng)
        exact = fn.exact_grad_mu(cfg.mu, cfg.sigma)
        out = {m: gradients.bias_variance(g, exact) for m, g in grads.items()}
        for method, bv in out.items():
            rec.add(fn.name, method, "variance", bv["variance"])
            rec.add(fn.name, method, "bias_z", bv["bias_z"])
        reparam = out["reparameterization"]["variance"]
        rec.add(
            fn.name,
            "reparameterization",
            "sf_over_reparam_variance",
            out["score_function"]["variance"] / reparam,
        )
        rec.add(
            fn.name,
            "reparameterization",
            "sf_baseline_over_reparam_variance",
            out["score_function_baseline"]["variance"] / reparam,
        )
        return out

    for shift in cfg.shifts:
        run(gradients.square(shift))
    sweep = {w: run(gradients.sine(w)) for w in cfg.omegas}
    fit = [w for w in cfg.omegas if w >= cfg.slope_min_omega]
    for method in ("score_function", "score_function_baseline", "reparameterization"):
        slope = np.polyfit(np.log(fit), np.log([sweep[w][method]["variance"] for w in fit]), 1)[0]
        rec.add("sin(omega z)", method, "log_variance_slope_in_omega", slope)
    return rec.frame()


# ---------------------------------------------------------------------------------- E2.4
@dataclass(frozen=True)
class DiscreteConfig:
    """E2.4: discrete gradient estimators on a k-way categorical, gradient in its logits."""

    k: int = 10
    taus: tuple[float, ...] = (1.0, 0.5, 0.1)
    st_tau: float = 1.0
    n_samples: int = 100_000
    problem_seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "taus", tuple(self.taus))
        if self.k < 2:
            raise ValueError(f"estimators.discrete.k: {self.k} must be >= 2")
        for tau in self.taus:
            gumbel.check_tau(tau, "estimators.discrete.taus")
        gumbel.check_tau(self.st_tau, "estimators.discrete.st_tau")
        gumbel.check_count(self.n_samples, "estimators.discrete.n_samples")


def discrete_problems(cfg: DiscreteConfig) -> tuple[np.ndarray, list[gradients.VectorFunction]]:
    """The fixed test problem: logits and the two functions, from ``problem_seed``."""
    rng = np.random.default_rng(cfg.problem_seed)
    theta = rng.standard_normal(cfg.k)
    target = rng.random(cfg.k)
    a, b = rng.standard_normal(cfg.k), rng.standard_normal((cfg.k, cfg.k)) / np.sqrt(cfg.k)
    return theta, [gradients.squared_distance(target), gradients.linear_quadratic(a, b)]


def discrete_gradients(cfg: DiscreteConfig, seed: int) -> pd.DataFrame:
    """Bias and single-sample variance of SF (with and without the optimal baseline),
    Gumbel-softmax at each tau and straight-through Gumbel, against the exact gradient."""
    theta, functions = discrete_problems(cfg)
    rng, rec = np.random.default_rng(seed), Recorder("E2.4", seed)
    for fn in functions:
        exact = gradients.exact_categorical_gradient(fn, theta)
        rec.add(fn.name, "exact", "gradient_norm", np.linalg.norm(exact), implementation="exact")
        grads = gradients.categorical_gradients(fn, theta, cfg.n_samples, cfg.taus, cfg.st_tau, rng)
        for method, g in grads.items():
            for metric, value in gradients.bias_variance(g, exact).items():
                rec.add(fn.name, method, metric, value)
    return rec.frame()


#: Schema sub-section (relative to ``estimators``) -> its config dataclass (one source of defaults).
CONFIG_SECTIONS: dict[str, type] = {
    "gumbel_max": GumbelMaxConfig,
    "gumbel_softmax": GumbelSoftmaxConfig,
    "continuous": ContinuousConfig,
    "discrete": DiscreteConfig,
}
