"""Statistics and figures of the text stages, for the report.

The tables are results tables in the one schema of :mod:`pipeline.tables`: experiment
``corpus_statistics``, dataset = the corpus, method ``corpus`` (corpus and vocabulary rows) or
``cooccur_<weighting>`` (one co-occurrence table), implementation ``ours``, no seed or step.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pipeline import tables  # noqa: E402

EXPERIMENT = "corpus_statistics"


def zipf_figure(counts: np.ndarray, title: str = "") -> plt.Figure:
    """Frequency against rank on log-log axes, with the least-squares slope (Zipf's exponent)."""
    counts = np.sort(np.asarray(counts, dtype=np.float64))[::-1]
    counts = counts[counts > 0]
    ranks = np.arange(1, len(counts) + 1)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.loglog(ranks, counts, lw=1.5, label="corpus")
    if len(counts) > 10:
        slope, intercept = np.polyfit(np.log(ranks), np.log(counts), 1)
        ax.loglog(
            ranks, np.exp(intercept) * ranks**slope, "--", lw=1, label=f"fit: slope {slope:.2f}"
        )
    ax.set_xlabel("rank")
    ax.set_ylabel("count")
    ax.set_title(title or "Zipf plot")
    ax.legend()
    fig.tight_layout()
    return fig


def corpus_table(corpus: str, corpus_stats: dict, vocab_counts: np.ndarray) -> pd.DataFrame:
    """Results rows (pipeline.tables) for the corpus and its vocabulary."""
    rows = {
        "documents": corpus_stats["documents"],
        "tokens": corpus_stats["tokens"],
        "types": corpus_stats["types"],
        "skipped documents": corpus_stats["skipped_documents"],
        "replaced undecodable bytes": corpus_stats["replaced_bytes"],
        "vocabulary size": len(vocab_counts),
        "smallest count in the vocabulary": int(np.min(vocab_counts)),
        "in-vocabulary tokens": int(np.sum(vocab_counts)),
        "in-vocabulary share of tokens": float(np.sum(vocab_counts))
        / max(1, corpus_stats["tokens"]),
    }
    return _frame(corpus, "corpus", rows)


def cooccurrence_table(corpus: str, weighting: str, window: int, stats: dict) -> pd.DataFrame:
    """Results rows (pipeline.tables) for one co-occurrence table (method ``cooccur_<weighting>``)."""
    rows = {
        "window": window,
        "vocabulary size": stats["vocab_size"],
        "non-zeros": stats["nnz"],
        "density": stats["density"],
        "total weight": stats["total"],
        "off-diagonal total (Z)": stats["offdiagonal_total"],
        "diagonal total": stats["diagonal_total"],
    }
    return _frame(corpus, f"cooccur_{weighting}", rows)


def _frame(corpus: str, method: str, rows: dict) -> pd.DataFrame:
    values = [float(v) for v in rows.values()]
    return tables.results_frame({"metric": list(rows), "value": values}, experiment=EXPERIMENT,
                                dataset=corpus, method=method, implementation="ours")  # fmt: skip


def wide_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A statistics table (:func:`corpus_table` and :func:`cooccurrence_table` rows) for reading:
    one row per statistic in first-seen order, one column per method (``corpus``,
    ``cooccur_<weighting>``), empty where a method has no such statistic."""
    wide = frame.pivot(index="metric", columns="method", values="value")
    wide = wide.reindex(index=pd.unique(frame["metric"]), columns=pd.unique(frame["method"]))
    wide.columns.name = None
    return wide.rename_axis("statistic").reset_index()
