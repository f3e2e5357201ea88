"""From results rows to verdicts: select, reduce over seeds, compare with the threshold.

An entry's checks are evaluated on each scale's rows separately (``default``: the default
config's run; ``reference``: a reference run, collected). Where both have rows the reference
decides and both values are shown. Verdicts: ``reproduced`` (every check passes), ``partly``
(some), ``not reproduced`` (none), ``not run`` with the reason (needs a GPU, needs a reference
config, the track is not built, no rows, or no computed check). A check without rows counts as
not passed; a decided entry with such checks gives their number and the same reason.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping

import numpy as np
import pandas as pd

VERDICTS = ("reproduced", "partly", "not reproduced", "not run")
SCALES = ("default", "reference")
OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
NUMERIC_COLUMNS = ("seed", "step")


def select_rows(frame: pd.DataFrame, select: Mapping) -> pd.DataFrame:
    """The rows whose columns equal the selection's values (a list: any of them)."""
    mask = np.ones(len(frame), dtype=bool)
    for column, wanted in select.items():
        wanted = wanted if isinstance(wanted, list) else [wanted]
        if column in NUMERIC_COLUMNS:
            mask &= frame[column].isin([int(w) for w in wanted]).to_numpy()
        else:
            mask &= frame[column].astype(str).isin([str(w) for w in wanted]).to_numpy()
    return frame[mask]


def _reduce(values: pd.Series, steps: pd.Series, how: str) -> float:
    if how == "last":
        return float(values[steps == steps.max()].mean())
    return float(getattr(np, how)(values.to_numpy()))


def reduce_rows(rows: pd.DataFrame, how: str) -> tuple[float, np.ndarray]:
    """(value, per-seed values): ``how`` within each seed, then over the seeds (``last``: the
    median of the seeds' last values). Non-finite values stay (they fail every comparison)."""
    per_seed = np.array(
        [_reduce(g["value"], g["step"], how) for _, g in rows.groupby("seed", sort=True)]
    )
    value = float(np.median(per_seed)) if how == "last" else float(getattr(np, how)(per_seed))
    return value, per_seed


def compare(value: float, op: str, threshold, tolerance: float = 0.0) -> bool:
    """``value op threshold``; NaN never passes."""
    if not math.isfinite(value):
        return False
    if op == "between":
        lo, hi = threshold
        return lo <= value <= hi
    if op == "==":
        return abs(value - threshold) <= tolerance
    return bool(OPS[op](value, threshold))


def threshold_of(check: Mapping, frame: pd.DataFrame):
    """The check's threshold: its number or [lo, hi], or the reduced value of another selection
    times ``factor`` plus ``offset`` (None where that selection has no rows)."""
    value = check["value"]
    if not isinstance(value, dict):
        return value
    rows = select_rows(frame, value["select"])
    if rows.empty:
        return None
    ref, _ = reduce_rows(rows, value["reduce"])
    return ref * value.get("factor", 1.0) + value.get("offset", 0.0)


def evaluate_check(check: Mapping, frame: pd.DataFrame) -> dict:
    """One check on one scale's rows: value, seed band, threshold and pass/fail (None: no rows)."""
    rows = select_rows(frame, check["select"])
    out = {
        "check": check["name"],
        "op": check["op"],
        "n_rows": len(rows),
        "value": math.nan,
        "band_min": math.nan,
        "band_median": math.nan,
        "band_max": math.nan,
        "n_seeds": 0,
        "threshold": math.nan,
        "threshold_hi": math.nan,
        "passed": None,
        "sources": ";".join(sorted(set(rows["source"]))) if len(rows) else "",
    }
    threshold = threshold_of(check, frame)
    if rows.empty or threshold is None:
        return out
    value, per_seed = reduce_rows(rows, check["reduce"])
    lo, hi = threshold if isinstance(threshold, list) else (threshold, math.nan)
    out.update(
        value=value,
        n_seeds=len(per_seed),
        threshold=float(lo),
        threshold_hi=float(hi),
        passed=compare(value, check["op"], threshold, check.get("tolerance", 0.0)),
    )
    if len(per_seed) > 1:
        out.update(
            band_min=float(per_seed.min()),
            band_median=float(np.median(per_seed)),
            band_max=float(per_seed.max()),
        )
    return out


def verdict_of(results: list[dict]) -> str | None:
    """The verdict of one scale's checks; None where no check had rows."""
    judged = [r["passed"] for r in results if r["passed"] is not None]
    if not judged:
        return None
    passed = sum(judged)
    if passed == len(results):
        return "reproduced"
    return "partly" if passed else "not reproduced"


def describe(result: dict) -> str:
    """``name: value [band] op threshold ✓`` in a few characters, for the tables."""
    if result["passed"] is None:
        return f"{result['check']}: no rows"
    band = ""
    if result["n_seeds"] > 1:
        band = f" [seeds {result['band_min']:.4g} – {result['band_max']:.4g}]"
    if result["op"] == "between":
        bar = f"in [{result['threshold']:.4g}, {result['threshold_hi']:.4g}]"
    else:
        bar = f"{result['op']} {result['threshold']:.4g}"
    return (
        f"{result['check']}: {result['value']:.4g}{band} {bar} {'✓' if result['passed'] else '✗'}"
    )


def not_run_reason(entry: Mapping, declared: set[str], have_rows: bool) -> str:
    if not entry["checks"]:
        return "no computed check (qualitative): see the evidence"
    experiments = {
        str(e)
        for c in entry["checks"]
        for e in (
            c["select"]["experiment"]
            if isinstance(c["select"]["experiment"], list)
            else [c["select"]["experiment"]]
        )
    }
    # What the entry says it needs comes first: a GPU or reference run's experiments are often
    # not in the default config's DAG at all.
    if entry["needs"] == "gpu":
        return "needs a GPU"
    if entry["needs"]:
        return f"needs the reference config {entry['needs']}"
    if not have_rows and not experiments & declared:
        return "track not built"
    if entry["scale"] == "reference":
        return "needs a reference run (none collected)"
    return "no rows in the results (run the track's rules)"


def judge(entry: Mapping, frame: pd.DataFrame, declared: set[str]) -> tuple[dict, list[dict]]:
    """(ledger row, check rows) of one entry over every scale's rows of ``frame``."""
    checks, by_scale = [], {}
    for scale in SCALES:
        part = frame[frame["scale"] == scale]
        results = [evaluate_check(c, part) for c in entry["checks"]]
        checks += [{"id": entry["id"], "scale": scale, **r} for r in results]
        by_scale[scale] = results
    verdicts = {s: verdict_of(r) for s, r in by_scale.items()}
    candidates = ("reference",) if entry["scale"] == "reference" else ("reference", "default")
    decided = next((s for s in candidates if verdicts[s] is not None), "")
    have_rows = any(r["n_rows"] for r in checks)
    if not decided:
        reason = not_run_reason(entry, declared, have_rows)
    else:  # a decided entry some of whose checks had no rows says which part is missing, and why
        unrun = sum(r["passed"] is None for r in by_scale[decided])
        reason = (
            f"{unrun} of {len(entry['checks'])} checks not run: "
            f"{not_run_reason(entry, declared, True)}"
            if unrun
            else ""
        )
    row = {
        "verdict": verdicts[decided] if decided else "not run",
        "reason": reason,
        "decided_by": decided,
        "passed": sum(bool(r["passed"]) for r in by_scale[decided]) if decided else 0,
        "n_checks": len(entry["checks"]),
        "value": "; ".join(describe(r) for r in by_scale[decided]) if decided else "",
    }
    for scale in SCALES:
        row[f"{scale}_value"] = (
            "; ".join(describe(r) for r in by_scale[scale]) if verdicts[scale] is not None else ""
        )
    row["sources"] = ";".join(sorted({s for r in checks for s in r["sources"].split(";") if s}))
    return row, checks
