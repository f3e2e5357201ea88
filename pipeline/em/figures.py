"""Report figures for the em track; each function takes the combined runs table and returns a Figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pipeline.em import newton  # noqa: E402


def _band(ax, curves: pd.DataFrame, label: str, **kw):
    """Median over seeds with a min–max band, against the iteration."""
    g = curves.groupby("step")["value"]
    med = g.median()
    line = ax.plot(med.index, med.values, label=label, **kw)[0]
    ax.fill_between(med.index, g.min().values, g.max().values, color=line.get_color(), alpha=0.2)


def convergence_figure(runs: pd.DataFrame) -> plt.Figure:
    """EM objective against iteration: GMM log-likelihood (ours and sklearn), pLSA EM vs gradients."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    gmm = runs[
        (runs.experiment == "E6.1") & (runs.metric == "lower_bound") & (runs.method == "em_init0")
    ]
    for (impl, seed), part in gmm.groupby(["implementation", "seed"]):
        ours = impl.startswith("ours")
        a.plot(part.step + 1, part.value, "-o" if ours else "x", color=f"C{seed % 10}",
               markersize=4 if ours else 9, label=f"seed {seed}" if ours else None)  # fmt: skip
    a.set(xlabel="EM iteration", ylabel="mean log-likelihood (before the M-step)",
          title="GMM: ours (lines) and sklearn (×), same init")  # fmt: skip
    a.legend(fontsize=7)
    synthetic = (runs.experiment == "E8.3") & (runs.dataset == "synthetic_lda")
    plsa = runs[synthetic & (runs.metric == "neg_log_likelihood_per_token") & (runs.step >= 0)]
    for method in sorted(plsa.method.unique()):
        _band(b, plsa[plsa.method == method], method)
    nmf = runs[
        synthetic & (runs.method == "nmf_kl_mu") & (runs.metric == "neg_log_likelihood_per_token")
    ]
    if len(nmf):
        b.axhline(nmf.value.median(), color="k", linestyle=":", label="sklearn NMF-KL (final)")
    b.set(
        xlabel="iteration",
        ylabel="S = −log-likelihood per token",
        title="pLSA: EM vs gradient (best step)",
    )
    b.set_yscale("log")
    if len(plsa):
        b.legend()
    fig.tight_layout()
    return fig


def soft_kmeans_figure(runs: pd.DataFrame) -> plt.Figure:
    """Soft K-means: distance of the centres to Lloyd's as M grows, and the smoothed objective."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    soft = runs[(runs.experiment == "E8.4") & (runs.dataset == "blobs_2d")]
    gap = soft[soft.metric == "centre_gap_to_lloyd"].copy()
    gap["M"] = gap.method.str.removeprefix("soft_M").astype(float)
    g = gap.groupby("M")["value"]
    a.errorbar(
        g.median().index,
        g.median().values,
        yerr=[g.median() - g.min(), g.max() - g.median()],
        marker="o",
    )
    a.set(
        xscale="log",
        yscale="log",
        xlabel="stiffness M",
        ylabel="max |c_soft − c_Lloyd|",
        title="M → ∞ gives Lloyd",
    )
    curves = soft[soft.metric == "smoothed_objective"].copy()
    final = curves.groupby(["method", "seed"])["value"].transform("last")
    curves["value"] = curves.value - final + 1e-16  # distance to the last value, for a log axis
    for method in sorted(curves.method.unique(), key=lambda m: float(m.removeprefix("soft_M"))):
        _band(b, curves[curves.method == method], method)
    b.set(xscale="symlog", yscale="log", xlabel="iteration", ylabel="L_M/N − final value",
          title="smoothed objective decreases monotonically")  # fmt: skip
    b.legend(fontsize=7)
    fig.tight_layout()
    return fig


def newton_figure(runs: pd.DataFrame) -> plt.Figure:
    """Newton against gradient descent: ‖∇f‖ per iteration, and the two surrogates of the quartic."""
    nt = runs[(runs.experiment == "E8.1") & (runs.metric == "grad_norm")]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    colours = {d: plt.cm.tab20(i % 20) for i, d in enumerate(sorted(nt.dataset.unique()))}
    for (dataset, method), part in nt.groupby(["dataset", "method"]):
        # one colour per function and start; a diverged path (‖∇f‖ = inf) ends where it blows up
        a.semilogy(part.step, np.clip(part.value, 1e-17, 1e13), label=f"{method}: {dataset}", color=colours[dataset],
                   linestyle="-" if method == "newton" else "--")  # fmt: skip
    a.set(
        xscale="symlog",
        ylim=(1e-18, 1e14),
        xlabel="iteration",
        ylabel="‖∇f‖",
        title="Newton (solid) vs GD, best fixed step (dashed)",
    )
    a.legend(fontsize=5, loc="upper right", ncol=2)
    fn = newton.FUNCTIONS["quartic"]
    grid = np.linspace(-2.2, 2.0, 400)
    b.plot(grid, [fn.fun(np.array([x])) for x in grid], "k", label="f(x) = x⁴ − 3x² + x")
    for x_n in (-1.8, 0.3):
        nwt, gd = newton.tangent_parabolas(fn, x_n, 0.05, grid)
        b.plot(grid, nwt, label=f"Newton parabola at {x_n}")
        b.plot(grid, gd, linestyle="--", label=f"GD parabola (h=0.05) at {x_n}")
    b.set(ylim=(-6, 8), xlabel="x", title="surrogates: f'' < 0 makes Newton's open downward")
    b.legend(fontsize=6)
    fig.tight_layout()
    return fig


def timing_figure(runs: pd.DataFrame) -> plt.Figure:
    """Fit time of ours over scikit-learn's, per experiment and seed (same init, same stopping rule)."""
    t = runs[
        (runs.metric == "fit_seconds")
        & (
            ((runs.experiment == "E6.1") & (runs.dataset == "synthetic_gmm"))
            | ((runs.experiment == "E8.4") & runs.dataset.str.startswith("blobs_std"))
        )
    ].copy()
    t["experiment"] = np.where(t.experiment == "E6.1", "GMM (E6.1)", "K-means (E8.4)")
    keys = ["experiment", "dataset", "method", "seed"]
    ours = t[t.implementation.str.startswith("ours")].set_index(keys).value
    ref = t[t.implementation == "sklearn"].set_index(keys).value
    ratio = (ours / ref).dropna().reset_index()
    fig, ax = plt.subplots(figsize=(6, 4))
    names = sorted(ratio.experiment.unique())
    ax.boxplot([ratio[ratio.experiment == n].value for n in names], tick_labels=names)
    ax.axhline(1.0, color="k", linestyle=":")
    ax.set(
        ylabel="time ours / time scikit-learn", title="CPU fit time ratio (below 1: ours faster)"
    )
    fig.tight_layout()
    return fig


def ari_figure(runs: pd.DataFrame) -> plt.Figure:
    """Adjusted Rand index bands over seeds on real data (ours vs scikit-learn) and on corpora."""
    ari = runs[(runs.metric == "ari") & (runs.experiment.isin(["real_data", "E8.3"]))]
    groups = ari.groupby(["dataset", "method", "implementation"])["value"]
    labels = [" / ".join(k) for k in groups.groups]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(labels) + 1.5))
    ax.boxplot([g.values for _, g in groups], vert=False, tick_labels=labels)
    ax.set(xlabel="adjusted Rand index (seeds)", title="Real data with labels")
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    return fig


def half_steps_figure(runs: pd.DataFrame) -> plt.Figure:
    """E6.1: the joint KL (17) and the marginal NLL after every half-step of GMM EM, per seed."""
    rows = runs[(runs.experiment == "E6.1") & (runs.method == "em_half_steps") & (runs.step >= 0)]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for seed, part in rows.groupby("seed"):
        obj = part[part.metric == "objective_17"].sort_values("step")
        nll = part[part.metric == "marginal_nll"].sort_values("step")
        final = nll.value.iloc[-1]
        colour = f"C{seed % 10}"
        a.semilogy(
            obj.step / 2,
            np.maximum(obj.value - final, 1e-16),
            color=colour,
            label=f"(17), seed {seed}",
        )
        a.semilogy(nll.step / 2, np.maximum(nll.value - final, 1e-16), color=colour, linestyle=":")
        gap = obj.value.to_numpy() - nll.value.to_numpy()
        after_m, after_e = obj.step.to_numpy() % 2 == 0, obj.step.to_numpy() % 2 == 1
        b.semilogy(
            obj.step[after_m] / 2,
            np.maximum(gap[after_m], 1e-17),
            color=colour,
            label=f"after M, seed {seed}",
        )
        b.semilogy(
            obj.step[after_e] / 2,
            np.maximum(np.abs(gap[after_e]), 1e-17),
            ".",
            color=colour,
            markersize=2,
        )
    a.set(xlabel="EM iteration (half-steps at .5)", ylabel="value − final NLL",
          title="(17) (solid) never increases; NLL (dotted)")  # fmt: skip
    b.axhline(1e-10, color="k", linestyle=":", label="1e-10")
    b.set(xlabel="EM iteration", ylabel="(17) − NLL = posterior KL",
          title="zero after each E-step (dots), positive after M")  # fmt: skip
    a.legend(fontsize=6)
    b.legend(fontsize=6)
    fig.tight_layout()
    return fig


def gmm_soft_kmeans_figure(runs: pd.DataFrame) -> plt.Figure:
    """E8.5: ARI of soft K-means at M = 1/(2σ²), GMM EM (spherical, full) and Lloyd on one data set."""
    ari = runs[(runs.experiment == "E8.5") & (runs.dataset == "blobs_2d") & (runs.metric == "ari")]
    groups = ari.groupby("method")["value"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    names = list(groups.groups)
    ax.boxplot([groups.get_group(n).values for n in names], tick_labels=names)
    ax.set(
        ylabel="adjusted Rand index (seeds)",
        title="same blobs, same start: soft K-means beside GMM EM",
    )
    ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    return fig


FIGURES = {
    "convergence": convergence_figure,
    "soft_kmeans": soft_kmeans_figure,
    "newton_gd": newton_figure,
    "timings": timing_figure,
    "ari": ari_figure,
    "half_steps": half_steps_figure,
    "gmm_soft_kmeans": gmm_soft_kmeans_figure,
}


#: figure -> (label, experiment, methods (None: all), metric, reduce over the selected end-of-run
#: rows) of the one headline number its log line gives.
HEADLINES = {
    "convergence": ("EM max objective increase", "E8.3", ("em", "plsa_em"), "max_objective_increase", "max"),
    "soft_kmeans": ("smallest soft-centre gap to Lloyd", "E8.4", None, "centre_gap_to_lloyd", "min"),
    "newton_gd": ("median Newton convergence order", "E8.1", ("newton",), "convergence_order", "median"),
    "timings": ("median fit seconds ours / sklearn", "E6.1", None, "fit_seconds", "ratio"),
    "ari": ("median real-data ARI", "real_data", None, "ari", "median"),
    "half_steps": ("(17) max increase", "E6.1", ("em_half_steps",), "max_objective_increase", "max"),
    "gmm_soft_kmeans": ("max responsibility gap", "E8.5", None, "responsibility_gap", "max"),
}  # fmt: skip


def headline(figure: str, runs: pd.DataFrame) -> str:
    """What a figure shows in one line, for the log: its seeds and one headline number computed
    from the end-of-run rows (:data:`HEADLINES`), e.g. ``5 seeds; (17) max increase -4.7e-09``.
    ``ratio``: the median of ours over sklearn, row by row, as :func:`timing_figure` plots it."""
    label, experiment, methods, metric, reduce = HEADLINES[figure]
    rows = runs[(runs.experiment == experiment) & (runs.metric == metric) & (runs.step < 0)]
    if methods is not None:
        rows = rows[rows.method.isin(methods)]
    if reduce == "ratio":
        keys = ["dataset", "method", "seed"]
        ours = rows[rows.implementation.str.startswith("ours")].set_index(keys).value
        rows = (
            (ours / rows[rows.implementation == "sklearn"].set_index(keys).value)
            .dropna()
            .to_frame()
        )
        reduce = "median"
    seeds = runs.loc[(runs.experiment == experiment) & (runs.seed >= 0), "seed"].nunique()
    value = f"{rows.value.agg(reduce):.3g}" if len(rows) else "no rows"
    return f"{f'{seeds} seeds' if seeds else 'deterministic'}; {label} {value}"


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Bands over seeds of every end-of-run figure: n, min, median, max (long format, ``stat``)."""
    final = runs[runs.step < 0]
    keys = ["experiment", "dataset", "method", "implementation", "metric"]
    stats = final.groupby(keys)["value"].agg(n="count", min="min", median="median", max="max")
    return stats.reset_index().melt(id_vars=keys, var_name="stat", value_name="value")


def band_cell(n: float, lo: float, median: float, hi: float) -> str:
    """One seed band as text: ``median [min, max]``, or the one value where the band is a point."""
    if n == 0:
        return "no finite value"
    if n == 1 or lo == hi:
        return f"{median:.4g}"
    return f"{median:.4g} [{lo:.4g}, {hi:.4g}]"


def band_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The seed bands of :func:`summarize` pivoted for reading: one row per (experiment, dataset,
    method, metric), a ``seeds`` column (the largest n over the row's implementations) and one
    column per implementation holding ``median [min, max]`` over seeds (empty where that
    implementation has no value). ``summary`` stays the data of record; this is its view."""
    keys = ["experiment", "dataset", "method", "metric"]
    wide = summary.set_index([*keys, "implementation", "stat"])["value"].unstack("stat")
    cells = pd.Series([band_cell(r.n, r["min"], r["median"], r["max"]) for _, r in wide.iterrows()],
                      index=wide.index, name="band")  # fmt: skip
    table = cells.unstack("implementation", fill_value="")
    seeds = wide["n"].groupby(level=keys).max().astype(int).rename("seeds")
    table = pd.concat([seeds, table], axis=1).reset_index()
    table.columns.name = None
    return table.sort_values(keys, kind="stable").reset_index(drop=True)


def band_html(table: pd.DataFrame) -> str:
    """:func:`band_table` as HTML: a line of links, then one section per experiment whose table
    groups its rows under their dataset and method."""
    keys = ["dataset", "method", "metric"]
    names = list(pd.unique(table["experiment"]))
    links = " · ".join(
        f'<a href="#{n}">{n}</a> ({(table.experiment == n).sum()} rows)' for n in names
    )
    style = "<style>td, th {white-space: nowrap; padding: 1px 6px; font-size: 90%}</style>"
    parts = [style, f"<p>{links}</p>"]
    for name in names:
        part = table[table.experiment == name].drop(columns="experiment")
        part = part.loc[:, (part != "").any()]  # implementations with no figure here
        parts.append(f'<h3 id="{name}">{name}</h3>')
        parts.append(part.set_index(keys).to_html(sparsify=True, na_rep="", border=1))
    return "\n".join(parts)
