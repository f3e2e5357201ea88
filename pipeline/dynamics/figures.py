"""Report figures of post 4; each function returns a matplotlib ``Figure`` (the CLI saves it)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pipeline.dynamics.dirac_gan import Trajectory  # noqa: E402


def dirac_gan_norms(paths: list[Trajectory]) -> plt.Figure:
    """|theta(t)| and |EMA(theta)(t)| over time, one panel per variant (ODE and discrete)."""
    variants = list(dict.fromkeys(p.variant for p in paths))
    fig, axes = plt.subplots(
        1, len(variants), figsize=(3.2 * len(variants), 3.0), squeeze=False, sharex=True
    )
    for ax, variant in zip(axes[0], variants, strict=True):
        for p in (p for p in paths if p.variant == variant):
            style = "-" if p.method == "ode" else ":"
            ax.plot(
                p.t,
                np.linalg.norm(p.theta, axis=1),
                style,
                color="C0",
                lw=1,
                label=f"|θ| {p.method}",
            )
            ax.plot(
                p.t,
                np.linalg.norm(p.theta_ema, axis=1),
                style,
                color="C1",
                lw=1.5,
                label=f"|EMA θ| {p.method}",
            )
        ax.set_title(variant)
        ax.set_xlabel("t")
        ax.set_yscale("symlog", linthresh=1e-4)
    axes[0][0].set_ylabel("distance to the equilibrium")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def dirac_gan_phase(paths: list[Trajectory]) -> plt.Figure:
    """Phase portraits: theta's path in the plane (ODE), its EMA, start and end points."""
    ode = [p for p in paths if p.method == "ode"]
    fig, axes = plt.subplots(1, len(ode), figsize=(3.0 * len(ode), 3.0), squeeze=False)
    for ax, p in zip(axes[0], ode, strict=True):
        ax.plot(p.theta[:, 0], p.theta[:, 1], lw=0.6, label="θ(t)")
        ax.plot(p.theta_ema[:, 0], p.theta_ema[:, 1], lw=1.2, label="EMA of θ(t)")
        ax.plot(*p.theta[0], "ko", ms=3, label="θ(0)")
        ax.plot(*p.theta[-1], "rs", ms=4, label="θ(T)")
        ax.plot(0, 0, "g+", ms=8, label="equilibrium")
        ax.set_title(p.variant)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("θ₁")
    axes[0][0].set_ylabel("θ₂")
    axes[0][-1].legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    return fig


def accuracy_curves(frame: pd.DataFrame) -> plt.Figure:
    """E4.3: test accuracy per epoch for each EMA decay (median over seeds, min-max band)."""
    acc = frame[
        (frame["experiment"] == "E4.3")
        & (frame["metric"] == "test_accuracy")
        & (frame["step"] >= 0)
    ]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for method, group in acc.groupby("method", sort=False):
        band = group.groupby("step")["value"].agg(["min", "median", "max"])
        ax.plot(band.index, 100 * band["median"], lw=1.2, label=method)
        if group["seed"].nunique() > 1:
            ax.fill_between(band.index, 100 * band["min"], 100 * band["max"], alpha=0.2)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
