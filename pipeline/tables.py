"""The one results table: every domain's results in one tidy schema, and atomic figures.

Every experiment of every track writes its results as long rows::

    experiment  dataset  method  implementation  seed  step  metric  value

- ``experiment``: the checklist id of posts.md where the row decides one (``E2.1``), else a
  short name of the run (``vqvae``, ``gmm_synthetic``);
- ``implementation``: who computed the value, from :data:`IMPLEMENTATIONS` (``ours`` for this
  package, the peer library's name for a peer's figure, ``exact`` for a closed form or
  quadrature, ``author`` for a figure quoted from the post);
- ``seed``: the run's seed, ``-1`` where nothing is random; ``step``: the training step or
  iteration the value belongs to, ``-1`` for a final value.

The claims ledger reads only this schema (:func:`read_results`), so a table written through
:func:`write_results` is all a track needs for its values to reach the ledger. Extra columns
are refused: put a qualifier into ``method`` or ``metric`` instead.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.io import DataError, atomic_path, require_file, write_html_table, write_table

log = logging.getLogger(__name__)

COLUMNS = ["experiment", "dataset", "method", "implementation", "seed", "step", "metric", "value"]
TEXT_COLUMNS = ["experiment", "dataset", "method", "implementation", "metric"]
INT_COLUMNS = ["seed", "step"]

#: Who computed a value. Extend here (one vocabulary for every domain), never per table.
IMPLEMENTATIONS = frozenset(
    {
        "ours",  # this package, default backend
        "ours-numpy",  # this package, NumPy / numba backend where a choice exists
        "ours-torch",  # this package, PyTorch backend
        "torch",  # a bare PyTorch peer loop written in the same benchmark
        "sklearn",
        "gensim",
        "pot",
        "scipy",
        "glove-c",  # Stanford's / the author's C tools (figures from anchors.md)
        "exact",  # closed form, enumeration or quadrature
        "author",  # a figure quoted from the post
    }
)

SCHEMA = pa.schema(
    [
        ("experiment", pa.string()),
        ("dataset", pa.string()),
        ("method", pa.string()),
        ("implementation", pa.string()),
        ("seed", pa.int64()),
        ("step", pa.int64()),
        ("metric", pa.string()),
        ("value", pa.float64()),
    ]
)


def results_frame(rows: Iterable[Mapping] | pd.DataFrame, **constants) -> pd.DataFrame:
    """Rows (dicts or a frame) plus columns shared by all of them -> a validated results frame.

    Missing ``seed`` / ``step`` default to -1. Raises ``ValueError`` naming the bad column.
    """
    frame = pd.DataFrame(rows).copy() if not isinstance(rows, pd.DataFrame) else rows.copy()
    for key, value in constants.items():
        frame[key] = value
    for key in INT_COLUMNS:
        if key not in frame.columns:
            frame[key] = -1
    return validate(frame)


def validate(frame: pd.DataFrame, source: str = "results table") -> pd.DataFrame:
    """Check the columns, types and vocabulary; return the frame in :data:`COLUMNS` order."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    extra = [c for c in frame.columns if c not in COLUMNS]
    if missing or extra:
        raise DataError(
            f"{source}: columns {list(frame.columns)}; expected exactly {COLUMNS}"
            + (f" (missing {missing})" if missing else "")
            + (f" (unexpected {extra})" if extra else "")
        )
    frame = frame[COLUMNS].copy()
    for key in TEXT_COLUMNS:
        if frame[key].isna().any():
            raise DataError(f"{source}: column {key!r} has empty entries")
        frame[key] = frame[key].astype(str)
    for key in INT_COLUMNS:
        values = pd.to_numeric(frame[key], errors="coerce")
        if values.isna().any() or (values != np.round(values)).any():
            raise DataError(f"{source}: column {key!r} must hold integers (-1 for none)")
        frame[key] = values.astype("int64")
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype("float64")
    unknown = sorted(set(frame["implementation"]) - IMPLEMENTATIONS)
    if unknown:
        raise DataError(
            f"{source}: implementation {unknown} not in the vocabulary "
            f"{sorted(IMPLEMENTATIONS)} (pipeline/tables.py)"
        )
    return frame.reset_index(drop=True)


def write_results(
    frame: pd.DataFrame,
    path: str | os.PathLike,
    provenance: Mapping[str, str],
    html: str | os.PathLike | None = None,
) -> Path:
    """Validate and write a results table (Parquet, provenance in its metadata), atomically;
    optionally an HTML rendering for the report beside it."""
    frame = validate(frame, str(path))
    table = pa.Table.from_pandas(frame, schema=SCHEMA, preserve_index=False)
    write_table(table, path, provenance)
    log.info("%s: %s", path, headline(frame))
    if html:
        write_html_table(frame, html)
    return Path(path)


def headline(frame: pd.DataFrame, most: int = 6) -> str:
    """The experiments of a results frame and its first final values (step -1; else the last
    step), medians over seeds: what a rule's log says it wrote."""
    if frame.empty:
        return "no rows"
    final = frame[frame["step"] == -1]
    if final.empty:
        final = frame[frame["step"] == frame["step"].max()]
    keys = ["experiment", "method", "metric"]
    med = final.groupby(keys, sort=False)["value"].median().head(most)
    shown = "; ".join(f"{e} {m} {k} = {v:.6g}" for (e, m, k), v in med.items())
    return f"{len(frame)} rows of {', '.join(sorted(set(frame['experiment'])))}; {shown}"


def read_results(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> pd.DataFrame:
    """One frame from one or several results tables, each validated (naming its file)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    frames = [validate(pd.read_parquet(require_file(p, "results table")), str(p)) for p in paths]
    if not frames:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=t)
                for c, t in zip(
                    COLUMNS, ["object"] * 4 + ["int64"] * 2 + ["object", "float64"], strict=True
                )
            }
        )
    return pd.concat(frames, ignore_index=True)


def finite(value: float, what: str) -> float:
    """``value`` as a float, or ``ValueError`` naming ``what`` if it is NaN or infinite."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{what} is {value}")
    return value


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Write a matplotlib figure atomically (format from the suffix) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png", bbox_inches="tight")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    plt.close(fig)
    log.info("wrote figure %s%s", path, f" ({'; '.join(titles[:4])})" if titles else "")
    return path
