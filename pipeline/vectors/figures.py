"""Figures for the report; each function returns a matplotlib ``Figure`` from a tidy table."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def norm_scatter(points: dict[str, tuple[np.ndarray, np.ndarray]]):
    """‖v‖² against −log P(w), one panel per method; ``points[method] = (−log P, ‖v‖²)``."""
    fig, axes = plt.subplots(1, len(points), figsize=(3.2 * len(points), 3.0), squeeze=False)
    for ax, (name, (neg_log_p, sq)) in zip(axes[0], points.items(), strict=True):
        ax.scatter(neg_log_p, sq, s=2, alpha=0.3, rasterized=True)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("−log P(w)")
    axes[0][0].set_ylabel("‖v‖²")
    fig.tight_layout()
    return fig


def cosine_vs_shift(table: pd.DataFrame):
    """Mean pairwise cosine of the shifted GloVe vectors against ‖c‖ (post 4675, eq. 18)."""
    rows = table[table["metric"] == "mean_pairwise_cosine"]
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(rows["shift_norm"], rows["value"], marker="o")
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel("‖c‖")
    ax.set_ylabel("mean pairwise cosine")
    ax.set_ylim(-0.05, 1.05)
    fig.tight_layout()
    return fig


def loss_curves(histories: dict[str, pd.DataFrame]):
    """Mean loss per epoch, one line per run."""
    fig, ax = plt.subplots(figsize=(4.5, 3))
    for name, h in histories.items():
        ax.plot(h["epoch"], h["loss"], marker=".", label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean ½·f·r²")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
