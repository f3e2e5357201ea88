"""The ledger's summary figure: per post, how many entries have each verdict."""

from __future__ import annotations

import pandas as pd

from pipeline.ledger.verdicts import VERDICTS

COLOURS = {
    "reproduced": "#2e7d32",
    "partly": "#f9a825",
    "not reproduced": "#c62828",
    "not run": "#9e9e9e",
}


def summary_bars(counts: pd.DataFrame):
    """Stacked horizontal bars, one per post, of the verdict counts (``ledger.summary``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 0.35 * len(counts) + 1.0))
    left = pd.Series(0, index=counts.index)
    for verdict in VERDICTS:
        ax.barh(
            [f"post {p}" for p in counts.index],
            counts[verdict],
            left=left,
            color=COLOURS[verdict],
            label=verdict,
        )
        left = left + counts[verdict]
    ax.invert_yaxis()
    ax.set_xlabel("entries (checklist items and claims)")
    ax.legend(
        ncol=4,
        fontsize=8,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.25 if len(counts) < 4 else -0.12),
        frameon=False,
    )
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
