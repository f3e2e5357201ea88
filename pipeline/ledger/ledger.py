"""The ledger: one row per id of the catalog (every checklist item and claim of posts.md) with
the author's value, ours (with the seed band), the verdict and where the value came from; and
the comparison of two ledgers (:func:`diff`).

Pure functions over frames; :mod:`pipeline.ledger.cli` reads and writes the files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.io import DataError
from pipeline.ledger import verdicts

#: Bumped whenever the ledger's columns change meaning; ``diff`` refuses other versions.
LEDGER_SCHEMA_VERSION = "1"
LEDGER_COLUMNS = [
    "id",
    "post",
    "statement",
    "bar",
    "author",
    "verdict",
    "reason",
    "passed",
    "n_checks",
    "value",
    "decided_by",
    "default_value",
    "reference_value",
    "scale",
    "needs",
    "evidence",
    "sources",
    "commits",
    "config_hashes",
    "claims_file",
    "notes",
]
CHECK_COLUMNS = [
    "id",
    "scale",
    "check",
    "op",
    "value",
    "band_min",
    "band_median",
    "band_max",
    "n_seeds",
    "n_rows",
    "threshold",
    "threshold_hi",
    "passed",
    "sources",
]


@dataclass(frozen=True)
class LedgerConfig:
    """The ``ledger`` section of config/config.yaml."""

    #: the scale of this run's results tables: default, or reference for a reference config run
    scale: str = "default"
    #: folder of collected results (``<label>/manifest.json`` + tables), read if present
    collected_dir: str = "results/reference"
    #: folder of the claims files (claims/schema.yaml, claims/catalog.yaml, claims/post*.yaml)
    claims_dir: str = "claims"

    def __post_init__(self):
        if self.scale not in verdicts.SCALES:
            raise ValueError(f"ledger.scale: {self.scale!r} is not one of {list(verdicts.SCALES)}")


CONFIG_SECTIONS = {"": LedgerConfig}


def _post_text(post) -> str:
    return ", ".join(map(str, post)) if isinstance(post, list) else str(post)


def _not_entered(item: Mapping) -> dict:
    """The row of a catalog id that no claims file has an entry for yet."""
    row = dict.fromkeys(LEDGER_COLUMNS, "")
    row.update(
        id=item["id"],
        post=_post_text(item["post"]),
        statement=item["statement"],
        bar=item["bar"],
        needs=item.get("needs") or "",
        verdict="not run",
        reason="no entry yet (claims/*.yaml)",
        passed=0,
        n_checks=0,
    )
    return row


def build(
    entries: list[dict], catalog: list[dict], frame: pd.DataFrame, declared: set[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ledger, checks): one ledger row per catalog id, in catalog order, and one check row per
    entry, check and scale. ``frame`` holds the results rows with ``scale``, ``source``,
    ``commit`` and ``config_hash``; ``declared`` the experiments of the declared tables."""
    by_id = {e["id"]: e for e in entries}
    rows, check_rows = [], []
    for item in catalog:
        entry = by_id.get(item["id"])
        if entry is None:
            rows.append(_not_entered(item))
            continue
        judged, checks = verdicts.judge(entry, frame, declared)
        used = frame[frame["source"].isin(judged["sources"].split(";"))]
        rows.append(
            {
                "id": entry["id"],
                "post": _post_text(item["post"]),
                "statement": entry["statement"],
                "bar": entry["bar"],
                "author": "" if entry["author"] is None else str(entry["author"]),
                **judged,
                "scale": entry["scale"],
                "needs": entry["needs"] or "",
                "evidence": ";".join(entry["evidence"]),
                "commits": ";".join(sorted(set(used["commit"]))),
                "config_hashes": ";".join(sorted(set(used["config_hash"]))),
                "claims_file": entry["file"],
                "notes": entry["notes"],
            }
        )
        check_rows += checks
    ledger = pd.DataFrame(rows)[LEDGER_COLUMNS]
    checks = pd.DataFrame(check_rows, columns=CHECK_COLUMNS)
    checks["passed"] = (
        checks["passed"].map({True: "pass", False: "fail", None: "no rows"}).fillna("no rows")
    )
    return ledger, checks


def summary(ledger: pd.DataFrame) -> pd.DataFrame:
    """Counts of each verdict per post (a claim spanning posts counts under each)."""
    rows = []
    for _, r in ledger.iterrows():
        for post in str(r["post"]).split(", "):
            rows.append({"post": int(post), "verdict": r["verdict"]})
    counts = pd.DataFrame(rows).value_counts().unstack(fill_value=0)
    return counts.reindex(columns=list(verdicts.VERDICTS), fill_value=0).sort_index()


def check_version(version: str | None, path: str) -> None:
    if version != LEDGER_SCHEMA_VERSION:
        raise DataError(
            f"{path}: ledger schema version {version or 'missing (an older ledger)'}; "
            f"this code reads version {LEDGER_SCHEMA_VERSION}: rebuild it with "
            f"`python -m pipeline ledger build` at the matching commit"
        )


def decided_checks(ledger: pd.DataFrame, checks: pd.DataFrame) -> pd.DataFrame:
    """The check rows of the scale that decided each entry, with ``scale`` set to "decided":
    to compare a default-scale ledger with a reference-scale one, or a CPU run with a GPU run."""
    decided = ledger.set_index("id")["decided_by"]
    keep = checks["scale"] == checks["id"].map(decided)
    return checks[keep].assign(scale="decided")


DIFF_COLUMNS = [
    "id",
    "scale",
    "check",
    "old_verdict",
    "new_verdict",
    "old_value",
    "new_value",
    "delta",
    "band_width",
    "delta_in_bands",
]


def diff(
    old: pd.DataFrame,
    new: pd.DataFrame,
    old_checks: pd.DataFrame,
    new_checks: pd.DataFrame,
    rtol: float = 1e-9,
) -> pd.DataFrame:
    """Rows whose verdict or value moved between two ledgers.

    Entry rows (``check`` empty) where the verdict changed; check rows where the value changed
    by more than ``rtol`` relative to its scale, with the move over the wider of the two seed
    bands (``delta_in_bands``; NaN where neither run had several seeds).
    """
    out = []
    merged = old[["id", "verdict"]].merge(
        new[["id", "verdict"]], on="id", how="outer", suffixes=("_old", "_new")
    )
    for _, r in merged.iterrows():
        if r["verdict_old"] != r["verdict_new"]:
            out.append(
                {
                    "id": r["id"],
                    "scale": "",
                    "check": "",
                    "old_verdict": r["verdict_old"],
                    "new_verdict": r["verdict_new"],
                }
            )
    keys = ["id", "scale", "check"]
    both = old_checks.merge(new_checks, on=keys, how="outer", suffixes=("_old", "_new"))
    for _, r in both.iterrows():
        a, b = float(r["value_old"]), float(r["value_new"])
        if np.isnan(a) and np.isnan(b):
            continue
        delta = b - a
        if not (np.isnan(delta) or abs(delta) > rtol * max(abs(a), abs(b), 1e-300)):
            continue
        widths = [r[f"band_max_{s}"] - r[f"band_min_{s}"] for s in ("old", "new")]
        width = max((w for w in widths if not math.isnan(w)), default=math.nan)
        out.append(
            {
                "id": r["id"],
                "scale": r["scale"],
                "check": r["check"],
                "old_verdict": r["passed_old"],
                "new_verdict": r["passed_new"],
                "old_value": a,
                "new_value": b,
                "delta": delta,
                "band_width": width,
                "delta_in_bands": abs(delta) / width if width and width > 0 else math.nan,
            }
        )
    return pd.DataFrame(out, columns=DIFF_COLUMNS).fillna(
        {"old_verdict": "absent", "new_verdict": "absent"}
    )
