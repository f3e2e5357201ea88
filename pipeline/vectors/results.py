"""One corpus's results: the run tables combined, the headline TSV, the loss curves.

``summarize`` concatenates the domain's run tables (``summary.parquet``: columns
:data:`pipeline.vectors.io.COLUMNS`) and writes the headline accuracies; the rows that decide a
checklist item of post 7 go to the one results schema (:mod:`pipeline.tables`) in
``results.parquet`` with the checklist id as ``experiment``.
"""

from __future__ import annotations

import logging

import pandas as pd

from pipeline.tables import read_results, results_frame, save_figure, write_results
from pipeline.vectors import figures
from pipeline.vectors import io as vio

log = logging.getLogger(__name__)


def loss_histories(paths: list[str]) -> dict[str, pd.DataFrame]:
    """{method: DataFrame(epoch, loss)} from the training run tables."""
    histories = {}
    for p in paths:
        h = vio.read_table(p, "training history")
        h = h[h["metric"] == "loss"]
        histories[h["method"].iloc[0]] = pd.DataFrame(
            {"epoch": h["section"].str.removeprefix("epoch").astype(int), "loss": h["value"]}
        )
    return histories


def headline(frame: pd.DataFrame) -> pd.DataFrame:
    """Analogy accuracy (total, semantic, syntactic) and similarity Spearman, method by column."""
    rows = frame[
        frame["metric"].isin(["accuracy", "spearman"])
        & (
            (frame["experiment"] == "similarity")
            | frame["section"].str.endswith(("/total", "/semantic", "/syntactic"))
        )
    ]
    return rows.pivot_table(index=["section", "metric"], columns="method", values="value")


def summarize(
    *,
    tables,
    histories,
    checks,
    output,
    tsv,
    figure,
    results,
    html,
    corpus: str,
    seed: int,
    provenance,
) -> None:
    """``vectors_summarize``: every run table in one (``output``), the headline TSV, the
    training loss curves, and the rows that decide post 7's checklist in the one results schema
    (``results`` and its HTML rendering for the report), with the tables already in that schema
    (``checks``) appended."""
    frame = pd.concat([vio.read_table(p, "run table") for p in tables], ignore_index=True)
    vio.write_frame(frame, output, provenance)
    curves = loss_histories(histories)
    save_figure(figures.loss_curves(curves), figure)
    vio.write_report_table(headline(frame), tsv, index=True)
    skipped = {}
    for p in histories:
        h = vio.read_table(p, "training history")
        skipped[h["method"].iloc[0]] = float(h.loc[h["metric"] == "skipped", "value"].sum())
    rows = results_rows(frame) + training_rows(curves, skipped)
    for r in rows:
        r["implementation"] = _implementation(r["implementation"])
    combined = pd.concat([results_frame(rows, dataset=corpus, seed=seed), read_results(checks)])
    write_results(combined.reset_index(drop=True), results, provenance, html=html)


#: (run-table experiment, metric) -> checklist id, for the rows copied as they are.
CHECKLIST = {
    ("norms", "spearman_sqnorm_vs_neglogp"): "E7.3",
    ("norms", "function_word_share_smallest"): "E7.3",
    ("norms", "norm_rank_top2_frequent"): "E7.3",
    ("norms", "author_overlap_smallest"): "E7.3",
    ("norms", "stopword_norm_ratio"): "E7.4",
    **{
        ("adagrad_variants", m): "E7.9"
        for m in (
            "final_loss",
            "nonfinite_pairs_skipped",
            "nonfinite_vector_entries",
            "relative_gram_change_scaled",
            "scaled_loss_path_change",
            "scaled_pairs_skipped",
        )
    },
    ("sentiment", "token_coverage"): "E7.8",
}
SENTIMENT = ("lr_val_accuracy", "mlp_best_val_accuracy", "bilstm_best_val_accuracy")


def _implementation(name: str) -> str:
    return "ours" if name == "pipeline" else name


def results_rows(frame: pd.DataFrame) -> list[dict]:
    """The rows of the combined run table that decide a checklist item, in the one schema."""
    out = []
    whole = frame[frame["section"] == "all"]
    for row in whole.itertuples():
        key = CHECKLIST.get((row.experiment, row.metric))
        if key is None and row.experiment.startswith("E7."):
            key = row.experiment  # the example scores carry their id already
        if key:
            out.append(
                {
                    "experiment": key,
                    "method": row.method,
                    "metric": row.metric,
                    "implementation": row.implementation,
                    "value": row.value,
                }
            )
    analogy = frame[
        (frame["experiment"] == "analogy")
        & (frame["metric"] == "accuracy")
        & frame["section"].str.endswith("/total")
    ]
    out += [
        {
            "experiment": "E7.5",
            "method": r.method,
            "implementation": r.implementation,
            "metric": f"analogy_accuracy_{r.section.removesuffix('/total')}",
            "value": r.value,
        }
        for r in analogy.itertuples()
    ]
    similarity = frame[(frame["experiment"] == "similarity") & (frame["metric"] == "spearman")]
    out += [
        {
            "experiment": "word_similarity",
            "method": r.method,
            "value": r.value,
            "implementation": r.implementation,
            "metric": f"spearman_{r.section}",
        }
        for r in similarity.itertuples()
    ]
    sentiment = frame[(frame["experiment"] == "sentiment") & frame["metric"].isin(SENTIMENT)]
    out += [
        {
            "experiment": "E7.8",
            "method": r.method,
            "implementation": r.implementation,
            "metric": f"{r.metric}_{r.section}",
            "value": r.value,
        }
        for r in sentiment.itertuples()
    ]
    return out + ill_posedness_rows(frame) + truncation_rows(frame)


def ill_posedness_rows(frame: pd.DataFrame) -> list[dict]:
    """E7.2: the largest relative loss change over the shifts, and the mean cosine unshifted and
    at the largest shift."""
    ill = frame[frame["experiment"] == "ill_posedness"]
    if ill.empty:
        return []
    cos = ill[ill["metric"] == "mean_pairwise_cosine"].sort_values("shift_norm")
    values = {
        "max_relative_loss_change": ill.loc[ill["metric"] == "relative_loss_change", "value"].max(),
        "mean_pairwise_cosine_unshifted": cos["value"].iloc[0],
        "mean_pairwise_cosine_largest_shift": cos["value"].iloc[-1],
    }
    return [
        {
            "experiment": "E7.2",
            "method": "glove",
            "implementation": "ours",
            "metric": m,
            "value": float(v),
        }
        for m, v in values.items()
    ]


def truncation_rows(frame: pd.DataFrame) -> list[dict]:
    """E7.3's truncation claim: the mean norm rank of the two most frequent words with the
    weight cap minus without it (> 0: truncation gives them larger norms)."""
    ranks = frame[frame["metric"] == "norm_rank_top2_frequent"].set_index("method")["value"]
    if not {"simpler_glove_trunc", "simpler_glove_notrunc"} <= set(ranks.index):
        return []
    gain = ranks["simpler_glove_trunc"] - ranks["simpler_glove_notrunc"]
    return [
        {
            "experiment": "E7.3",
            "method": "simpler_glove",
            "implementation": "ours",
            "metric": "top2_norm_rank_gain_truncation",
            "value": float(gain),
        }
    ]


def training_rows(histories: dict[str, pd.DataFrame], skipped: dict[str, float]) -> list[dict]:
    """C4 (the recipe trains): final loss, last over first epoch's loss, NaN/Inf cells skipped."""
    out = []
    for method, h in histories.items():
        values = {
            "final_loss": h["loss"].iloc[-1],
            "loss_ratio_last_first": h["loss"].iloc[-1] / h["loss"].iloc[0],
            "pairs_skipped": skipped.get(method, 0.0),
        }
        out += [
            {
                "experiment": "C4",
                "method": method,
                "metric": m,
                "value": float(v),
                "implementation": "ours",
            }
            for m, v in values.items()
        ]
    return out
