"""Report figures of post 5, each a function of the combined results table returning a Figure.

Sample figures also take the arrays a WGAN run saved beside its table (``samples``: a dict of
run name -> array).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pipeline.transport import mixtures  # noqa: E402


def _select(frame: pd.DataFrame, experiment: str, **kw) -> pd.DataFrame:
    out = frame[frame["experiment"] == experiment]
    for key, value in kw.items():
        out = out[out[key] == value]
    return out


def lp_gaps(frame: pd.DataFrame):
    """E5.1: |primal - dual| / max C and |primal - POT| / max C per problem, against the 1e-7 bar."""
    df = _select(frame, "E5.1")
    fig, ax = plt.subplots(figsize=(7, 3.5))
    metrics = ["primal_dual_gap_rel", "primal_vs_pot_rel", "primal_vs_closed_form_rel"]
    labels = sorted(set(df["dataset"] + " " + df["method"]))
    for k, metric in enumerate(metrics):
        sub = df[df["metric"] == metric]
        xs = [
            labels.index(d + " " + m) + 0.25 * (k - 1)
            for d, m in zip(sub["dataset"], sub["method"], strict=True)
        ]
        ax.scatter(xs, np.maximum(sub["value"], 1e-18), s=14, label=metric)
    ax.axhline(1e-7, color="k", ls="--", lw=1, label="bar 1e-7")
    ax.set_yscale("log")
    ax.set_xticks(range(len(labels)), labels, rotation=60, fontsize=7)
    ax.set_ylabel("relative difference (zeros at 1e-18)")
    ax.set_title("E5.1 primal LP = dual LP (post's A, HiGHS)")
    ax.legend(fontsize=7)
    return fig


def weak_duality(frame: pd.DataFrame):
    """E5.2: histograms of primal* - b^T F over feasible F: random points, and points near the
    optimal dual (all must be >= 0)."""
    df = _select(frame, "E5.2", metric="gap_rel")
    near = df["method"].str.endswith("_near_optimum")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax, sub_df, title in (
        (axes[0], df[~near], "random F"),
        (axes[1], df[near], "near the optimum"),
    ):
        for method, sub in sub_df.groupby("method"):
            label = f"{method.split('_')[0]} (min {sub['value'].min():.3g})"
            ax.hist(sub["value"], bins=50, alpha=0.6, label=label)
        ax.axvline(0, color="k", lw=1)
        ax.set_xlabel("(primal optimum - b^T F) / max C")
        ax.set_title(f"E5.2 weak duality: {title}")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("feasible dual points")
    return fig


def restriction(frame: pd.DataFrame):
    """E5.3: restricted (g = -f) optimum against the full dual, metric and squared cost."""
    df = _select(frame, "E5.3", implementation="ours")
    wide = df.pivot_table(
        index=["dataset", "method", "seed"], columns="metric", values="value"
    ).reset_index()
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for method, sub in wide.groupby("method"):
        ax.scatter(sub["full_dual"], sub["restricted_dual"], s=16, label=f"c = |x-y|^{method[-1]}")
    hi = float(wide[["full_dual", "restricted_dual"]].to_numpy().max()) * 1.05
    ax.plot([0, hi], [0, hi], "k--", lw=1)
    ax.set_xlabel("full dual max b^T F")
    ax.set_ylabel("restricted dual (g = -f)")
    ax.set_title("E5.3 the g = -f restriction")
    ax.legend(fontsize=8)
    return fig


def critics(frame: pd.DataFrame):
    """E5.4: each critic's estimate on fresh samples beside |a|, POT's W1 and the floor."""
    df = _select(frame, "E5.4")
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 3.8))
    bars = [
        ("truth", "w1"),
        ("emd", "w1"),
        ("floor", "w1"),
        ("clip", "estimate_test"),
        ("gp", "estimate_test"),
        ("sn", "estimate_test"),
    ]
    for k, (method, metric) in enumerate(bars):
        v = _select(df, "E5.4", method=method, metric=metric)["value"]
        ax.bar(k, v.median(), color=f"C{k}")
        ax.errorbar(
            k,
            v.median(),
            yerr=[[v.median() - v.min()], [v.max() - v.median()]],
            color="k",
            capsize=3,
        )
    ax.set_xticks(range(len(bars)), ["|a|", "POT W1", "floor", "clip", "GP", "SN"])
    ax.set_ylabel("W1 / estimate (median, min-max over seeds)")
    ax.set_title("E5.4 critics vs exact W1")
    for method in ("clip", "gp", "sn"):
        sub = _select(
            df, "E5.4", method=method, metric="batch_estimate", seed=int(df["seed"].min())
        )
        bx.plot(sub["step"], sub["value"], label=method)
    truth = _select(df, "E5.4", method="truth", metric="w1")["value"].iloc[0]
    bx.axhline(truth, color="k", ls="--", lw=1, label="|a|")
    bx.set_xlabel("critic step")
    bx.set_ylabel("batch E_p f - E_q f")
    bx.legend(fontsize=8)
    return fig


def wgan_curves(frame: pd.DataFrame):
    """E5.5: the critic's estimate and sample quality (exact W1 or classifier FD) over training."""
    df = frame[(frame["experiment"] == "E5.5") & (frame["step"] >= 0)]
    runs = sorted(set(zip(df["dataset"], df["method"], strict=True)))
    ncol = min(4, max(len(runs), 1))
    nrow = -(-max(len(runs), 1) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 3.0 * nrow), squeeze=False)
    for ax in axes.flat[len(runs) :]:
        ax.axis("off")
    for ax, (dataset, method) in zip(axes.flat, runs, strict=False):
        sub = df[(df["dataset"] == dataset) & (df["method"] == method)]
        quality = "w1_exact" if "w1_exact" in set(sub["metric"]) else "frechet_distance"
        for metric, color in ((quality, "C0"), ("critic_estimate", "C1")):
            s = sub[sub["metric"] == metric].groupby("step")["value"].median()
            target = ax if metric == quality else ax.twinx()
            target.plot(s.index, s.values, color=color, label=metric)
            target.set_ylabel(metric, color=color, fontsize=8)
        rho = _select(
            frame, "E5.5", dataset=dataset, method=method, metric="spearman_estimate_vs_quality"
        )
        ax.set_title(f"{dataset} {method}: rho = {rho['value'].median():.2f}", fontsize=9)
        ax.set_xlabel("generator step")
    fig.tight_layout()
    return fig


def toy_samples(frame: pd.DataFrame, samples: dict[str, np.ndarray]):
    """E5.5: final generator samples on the 2-D mixtures, mode centres marked."""
    names = sorted(k for k in samples if not k.endswith("/data"))
    fig, axes = plt.subplots(
        1, max(len(names), 1), figsize=(3 * max(len(names), 1), 3), squeeze=False
    )
    for ax, name in zip(axes[0], names, strict=False):
        dataset = name.split("/")[0]
        data = samples.get(f"{dataset}/data")
        if data is not None:
            ax.scatter(data[:, 0], data[:, 1], s=2, c="0.7")
        ax.scatter(samples[name][:, 0], samples[name][:, 1], s=2, c="C3", alpha=0.5)
        mu = mixtures.centres(dataset)
        ax.scatter(mu[:, 0], mu[:, 1], marker="x", c="k", s=20)
        cov = _select(
            frame, "E5.5", dataset=dataset, method=name.split("/")[1], metric="modes_covered_final"
        )
        ax.set_title(f"{name}: {cov['value'].median():.0f}/{len(mu)} modes", fontsize=9)
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
    return fig


def image_samples(frame: pd.DataFrame, samples: dict[str, np.ndarray]):
    """E5.5: final sample grids (uint8 NHWC) per image run, titled with the final FD."""
    from pipeline.images.figures import image_grids

    panels = {}
    for name, images in sorted(samples.items()):
        dataset, method = name.split("/")[:2]
        fd = _select(
            frame, "E5.5", dataset=dataset, method=method, metric="frechet_distance_final"
        )["value"]
        panels[f"{name}: FD {fd.median():.1f}" if len(fd) else name] = images
    return image_grids(panels)


FIGURES = {
    "lp_gaps": lp_gaps,
    "weak_duality": weak_duality,
    "restriction": restriction,
    "critics": critics,
    "wgan_curves": wgan_curves,
}
SAMPLE_FIGURES = {"toy_samples": toy_samples, "image_samples": image_samples}
