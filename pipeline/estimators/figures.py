"""Report figures of post 2; each function takes results rows (the one schema) and returns a Figure."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ESTIMATOR_ORDER = ["score_function", "score_function_baseline", "reparameterization"]


def _rows(frame: pd.DataFrame, experiment: str, metric: str) -> pd.DataFrame:
    return frame[(frame.experiment == experiment) & (frame.metric == metric)]


def _tau(method: str) -> float:
    return float(re.search(r"tau([0-9.e+-]+)$", method).group(1))


def _omega(dataset: str) -> float | None:
    match = re.fullmatch(r"sin\(([0-9.e+-]+)z\)", dataset)
    return float(match.group(1)) if match else None


def e2_1(frame: pd.DataFrame) -> plt.Figure:
    """Gumbel-max: the chi-square p-values' ECDF against U(0, 1), and |p^ - p| in standard errors."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    p = np.sort(_rows(frame, "E2.1", "chi2_pvalue").value.to_numpy())
    a.step(
        p, np.arange(1, len(p) + 1) / len(p), where="post", label=f"{len(p)} chi-square p-values"
    )
    a.plot([0, 1], [0, 1], "k:", label="U(0, 1)")
    ks = _rows(frame, "E2.1", "ks_pvalue_of_chi2_pvalues").value
    title = f"KS p-value {ks.iloc[0]:.3g}" if len(ks) else "p-values"
    a.set(xlabel="chi-square p-value", ylabel="ECDF", title=f"Gumbel-max against p: {title}")
    a.legend()
    z = _rows(frame, "E2.1", "max_abs_z")
    names = sorted(z.dataset.unique(), key=lambda s: (int(s.split("_k")[1]), s))
    b.boxplot([z[z.dataset == n].value for n in names], tick_labels=names)
    b.axhline(4.0, color="r", linestyle="--", label="bar: 4 standard errors")
    b.set(
        ylabel="max_i |p^_i - p_i| / sqrt(p_i (1 - p_i) / N)",
        title="largest deviation per vector (over seeds)",
    )
    b.tick_params(axis="x", rotation=30)
    b.legend()
    fig.tight_layout()
    return fig


def e2_2(frame: pd.DataFrame) -> plt.Figure:
    """Gumbel-softmax over tau: E[max y~] -> 1 and the bias ||E[y~] - p|| -> 0 as tau -> 0."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    mm = _rows(frame, "E2.2", "mean_max").assign(tau=lambda d: d.method.map(_tau))
    g = mm.groupby("tau").value
    a.plot(g.median().index, g.median().values, "o-")
    a.axhline(1.0, color="k", linestyle=":")
    a.set(
        xscale="log",
        xlabel="tau",
        ylabel="E[max_i y~_i]",
        title="relaxed samples approach one-hots",
    )
    bias = _rows(frame, "E2.2", "bias").assign(tau=lambda d: d.method.map(_tau))
    for (dataset, impl), part in bias.groupby(["dataset", "implementation"]):
        g = part.groupby("tau").value
        label = f"{dataset} ({'quadrature' if impl == 'exact' else 'Monte Carlo, median of seeds'})"
        b.plot(g.median().index, g.median().values, "o-", label=label)
    b.set(
        xscale="log",
        yscale="log",
        xlabel="tau",
        ylabel="||E[y~] - p||",
        title="bias of the relaxation",
    )
    b.legend(fontsize=8)
    fig.tight_layout()
    return fig


def e2_3(frame: pd.DataFrame) -> plt.Figure:
    """Single-sample gradient variance: quadratics (bars) and sin(omega z) over omega (log-log)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.2))
    var = _rows(frame, "E2.3", "variance")
    quad = var[var.dataset.map(_omega).isna()]
    datasets = sorted(quad.dataset.unique())
    width = 0.8 / len(ESTIMATOR_ORDER)
    for i, method in enumerate(ESTIMATOR_ORDER):
        med = [quad[(quad.dataset == d) & (quad.method == method)].value.median() for d in datasets]
        a.bar(np.arange(len(datasets)) + i * width, med, width, label=method)
    a.set_xticks(np.arange(len(datasets)) + width, datasets)
    a.set(
        yscale="log",
        ylabel="variance of d/d mu (one sample)",
        title="z ~ N(mu, sigma^2): variance by estimator",
    )
    a.legend(fontsize=8)
    sweep = var[var.dataset.map(_omega).notna()].assign(omega=lambda d: d.dataset.map(_omega))
    slopes = _rows(frame, "E2.3", "log_variance_slope_in_omega")
    for method in ESTIMATOR_ORDER:
        g = sweep[sweep.method == method].groupby("omega").value
        slope = slopes[slopes.method == method].value.median()
        b.plot(g.median().index, g.median().values, "o-", label=f"{method} (slope {slope:.2f})")
    b.set(xscale="log", yscale="log", xlabel="omega", ylabel="variance",
          title="f = sin(omega z): reparameterisation grows like omega^2")  # fmt: skip
    b.legend(fontsize=8)
    fig.tight_layout()
    return fig


def e2_4(frame: pd.DataFrame) -> plt.Figure:
    """Discrete estimators: relative bias against relative variance (medians over seeds)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), squeeze=False)
    rows = frame[frame.experiment == "E2.4"]
    for ax, (dataset, part) in zip(axes[0], rows.groupby("dataset"), strict=False):
        med = part.groupby(["method", "metric"]).value.median().unstack()
        med = med.dropna(subset=["relative_bias", "relative_variance"])
        for method, r in med.iterrows():
            ax.scatter(r.relative_variance, max(r.relative_bias, 1e-4), label=method)
        ax.set(xscale="log", yscale="log", xlabel="variance / ||exact gradient||^2",
               ylabel="||bias|| / ||exact gradient||", title=f"k = 10, f = {dataset}")  # fmt: skip
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def dvae_elbo(epochs: pd.DataFrame) -> plt.Figure:
    """Test -ELBO after every epoch, one line per variant (relaxed at the current tau, and hard)."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for (method, metric), part in epochs[epochs.metric.isin(["test_neg_elbo", "test_neg_elbo_hard"])].groupby(
            ["method", "metric"]):  # fmt: skip
        part = part.sort_values("step")
        style = "-" if metric == "test_neg_elbo" else "--"
        ax.plot(
            part.step,
            part.value,
            style,
            label=f"{method}{' (exact sample)' if style == '--' else ''}",
        )
    ax.set(xlabel="epoch", ylabel="test -ELBO (nats per image)", title="discrete VAE and baselines")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


FIGURES = {"e2_1": e2_1, "e2_2": e2_2, "e2_3": e2_3, "e2_4": e2_4}
