"""Report figures of post 3; each function returns a matplotlib ``Figure``."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _eps(method: pd.Series) -> pd.Series:
    return method.str.removeprefix("eps=").astype(float)


def langevin_bias(results: pd.DataFrame):
    """E3.1: |bias of E[x²]| against ε per density (median over seeds, bars: ±2 median SE),
    the discrete chain's exact stationary bias, and the KS p-value at the smallest ε."""
    r = results[(results.experiment == "E3.1") & results.method.str.startswith("eps=")]
    names = list(dict.fromkeys(r.dataset))
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        d = r[r.dataset == name].assign(eps=lambda f: _eps(f.method))
        med = (
            d.groupby(["eps", "implementation", "metric"])
            .value.median()
            .unstack(["implementation", "metric"])
        )
        eps = med.index.values
        ax.errorbar(
            eps,
            med[("ours", "bias")].abs(),
            yerr=2 * med[("ours", "bias_se")],
            fmt="o",
            label="|bias| measured (median, ±2 SE)",
        )
        if ("exact", "chain_bias") in med:
            ax.plot(
                eps, med[("exact", "chain_bias")].abs(), "k-", label="exact discrete-chain bias"
            )
        ax.plot(eps, eps / 4, ":", color="gray", label="ε/4 (the Gaussian's, O(ε))")
        p = d[(d.metric == "ks_pvalue") & (d.eps == eps.min())].value.min()
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="ε",
            title=f"{name}: min KS p at ε={eps.min():g}: {p:.3f}",
        )
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("|E[x²] − exact|")
    fig.tight_layout()
    return fig


def likelihood_training(results: pd.DataFrame):
    """E3.2: θ over the ML iterations for every seed, with θ* dashed."""
    r = results[(results.experiment == "E3.2") & (results.step >= 0)]
    star = results[(results.experiment == "E3.2") & results.metric.str.endswith("_star")]
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    for ax, t in zip(axes, ("theta1", "theta2"), strict=True):
        for seed, d in r[r.metric == t].groupby("seed"):
            ax.plot(d.step, d.value, lw=1, label=f"seed {seed}")
        ax.axhline(star[star.metric == f"{t}_star"].value.iloc[0], ls="--", color="k", label="θ*")
        ax.set(xlabel="ML iteration", title=t)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def toy_energies(results: pd.DataFrame):
    """E3.3: mean |U| over training per setting and dataset (log scale); a cross marks divergence."""
    r = results[(results.experiment == "E3.3") & (results.metric == "abs_energy")]
    div = results[
        (results.experiment == "E3.3")
        & (results.metric == "diverged_at_step")
        & (results.value >= 0)
    ]
    names = list(dict.fromkeys(r.dataset))
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        for (method, seed), d in r[r.dataset == name].groupby(["method", "seed"]):
            line = ax.plot(d.step, d.value, label=method if seed == d.seed.min() else None)[0]
            for step in div[
                (div.dataset == name) & (div.method == method) & (div.seed == seed)
            ].value:
                ax.plot([step], [d.value.iloc[-1]], "x", color=line.get_color(), ms=9)
        ax.set(yscale="log", xlabel="training step", ylabel="mean |U|", title=name)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def toy_samples(arrays: dict[str, np.ndarray]):
    """E3.3: held-out data and each setting's samples (first seed), one row per dataset."""
    keys = sorted(k for k in arrays if "/seed" in k)
    names = list(dict.fromkeys(k.split("/")[0] for k in keys))
    seed = sorted({k.split("/")[1] for k in keys})[0]
    cols = ["data"] + sorted({"/".join(k.split("/")[2:]) for k in keys if not k.endswith("/data")})
    fig, axes = plt.subplots(
        len(names), len(cols), figsize=(2.2 * len(cols), 2.3 * len(names)), squeeze=False
    )
    for row, name in zip(axes, names, strict=True):
        for ax, col in zip(row, cols, strict=True):
            x = arrays.get(f"{name}/{seed}/{col}")
            if x is not None:
                ax.scatter(x[:, 0], x[:, 1], s=1)
            ax.set(xlim=(0, 1), ylim=(0, 1), xticks=[], yticks=[])
            ax.set_title(f"{name}\n{col}" if col == "data" else col, fontsize=7)
    fig.tight_layout()
    return fig


FIGURES = {
    "e3_1_bias": langevin_bias,
    "e3_2_training": likelihood_training,
    "e3_3_energies": toy_energies,
}
