"""Compare every Parquet table of two results folders (before/after a refactor); exit 1 on a difference.

    python benchmarks/compare_results.py BEFORE/results AFTER/results [--rtol 1e-9] [--atol 1e-12]
        [--rename-column iteration=step] [--map implementation:ours_numpy=ours-numpy] [--only em]

Tables are matched by their path relative to each folder. Within a table, rows are matched by
content: both sides are sorted on every column (text and integer columns first), then text and
integer columns must be equal and floating columns equal within ``|a − b| ≤ atol + rtol·|b|``
(NaN equals NaN). Row order and provenance metadata are ignored.

Timings are excluded, since they differ between any two runs: a column whose name matches
:data:`TIMING` is dropped, and so is a row whose ``metric`` matches it. The pattern matches
``seconds``, ``_per_s``, ``per_second``, ``wall``, ``time`` / ``timing`` / ``elapsed``,
``throughput`` and ``speed`` anywhere in the name (``fit_seconds``, ``tokens_per_s``,
``wall_s``, ``time_ratio``); ``--timing`` replaces it.

``--rename-column OLD=NEW`` and ``--map COLUMN:OLD=NEW[@COND_COLUMN=VALUE]`` (repeatable, applied
in order, compared as text) rewrite the BEFORE side, for a refactor that renamed a column or a
label on purpose (list them in the note); ``--only`` restricts the comparison to paths under one
subfolder.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

TIMING = r"seconds|_per_s\b|_per_s$|per_second|wall|time|timing|elapsed|throughput|speed"
MAX_SHOWN = 10


def tables_under(root: Path, only: str | None) -> dict[str, Path]:
    base = root / only if only else root
    return {str(p.relative_to(root)): p for p in sorted(base.rglob("*.parquet"))}


def prepare(frame: pd.DataFrame, timing: re.Pattern, renames: dict, maps: list) -> pd.DataFrame:
    frame = frame.rename(columns=renames)
    for column, old, new, cond in maps:
        if column in frame.columns:
            hit = frame[column].astype(str) == old
            if cond:
                key, value = cond.split("=", 1)
                hit &= frame[key].astype(str) == value if key in frame.columns else False
            frame[column] = frame[column].astype(object).where(~hit, new)
    frame = frame[[c for c in frame.columns if not timing.search(str(c))]]
    if "metric" in frame.columns:
        frame = frame[~frame["metric"].astype(str).str.contains(timing)]
    return frame.reset_index(drop=True)


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns in name order, rows sorted on exact columns first, then floating ones."""
    frame = frame[sorted(frame.columns)]
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    exact = [c for c in frame.columns if c not in floats]
    for c in exact:  # compared and sorted as text: a label mapped by --map may change type
        frame[c] = frame[c].astype(str)
    return frame.sort_values(exact + floats, kind="mergesort").reset_index(drop=True)


def compare_frames(
    before: pd.DataFrame, after: pd.DataFrame, rtol: float, atol: float
) -> list[str]:
    """Differences between two prepared tables, as lines of text (empty: the same)."""
    if set(before.columns) != set(after.columns):
        return [f"columns differ: only before {sorted(set(before.columns) - set(after.columns))}, "
                f"only after {sorted(set(after.columns) - set(before.columns))}"]  # fmt: skip
    a, b = canonical(before), canonical(after)
    floats = [
        c
        for c in a.columns
        if pd.api.types.is_float_dtype(a[c]) or pd.api.types.is_float_dtype(b[c])
    ]
    exact = [c for c in a.columns if c not in floats]
    if len(a) != len(b):
        merged = a[exact].merge(b[exact], how="outer", indicator=True)
        lines = [f"{len(a)} rows before, {len(b)} after"]
        for side, name in (("left_only", "only before"), ("right_only", "only after")):
            rows = merged[merged["_merge"] == side].drop(columns="_merge")
            lines += [f"  {name}: {r}" for r in rows.head(MAX_SHOWN).to_dict("records")]
        return lines
    bad = np.zeros(len(a), dtype=bool)
    for c in exact:
        bad |= (a[c].astype(str) != b[c].astype(str)).to_numpy()
    for c in floats:
        x, y = a[c].to_numpy(dtype=float), b[c].to_numpy(dtype=float)
        bad |= ~np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=True)
    lines = []
    for i in np.flatnonzero(bad)[:MAX_SHOWN]:
        lines.append(f"  before {a.iloc[i].to_dict()}")
        lines.append(f"  after  {b.iloc[i].to_dict()}")
    if bad.any():
        lines.insert(0, f"{int(bad.sum())} of {len(a)} rows differ")
    return lines


def lost_values(before: pd.DataFrame, after: pd.DataFrame, timing: re.Pattern) -> Counter:
    """``--values-kept``: the values of BEFORE's ``value`` column (every numeric column where
    there is none), to 10 significant digits, that AFTER does not hold: a multiset difference
    that ignores labels and row order, for a refactor that relabelled rows and added new ones."""

    def values(frame: pd.DataFrame) -> Counter:
        if "metric" in frame.columns:
            frame = frame[~frame["metric"].astype(str).str.contains(timing)]
        frame = frame[[c for c in frame.columns if not timing.search(c)]]
        numbers = frame[["value"]] if "value" in frame.columns else frame.select_dtypes("number")
        flat = numbers.to_numpy(dtype=float).ravel()
        return Counter("nan" if np.isnan(v) else float(f"{v:.10g}") for v in flat)

    return values(before) - values(after)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rtol", type=float, default=1e-9)
    parser.add_argument("--atol", type=float, default=1e-12)
    parser.add_argument("--timing", default=TIMING, help="regex of timing columns/metrics to skip")
    parser.add_argument("--rename-column", action="append", default=[], metavar="OLD=NEW")
    parser.add_argument("--map", action="append", default=[], metavar="COLUMN:OLD=NEW")
    parser.add_argument("--only", help="compare only tables under this subfolder (e.g. em)")
    parser.add_argument(
        "--values-kept",
        action="store_true",
        help="only check that every value of BEFORE's tables is in AFTER's (labels ignored)",
    )
    args = parser.parse_args(argv)
    timing = re.compile(args.timing)
    if args.values_kept:
        before, after = tables_under(args.before, args.only), tables_under(args.after, args.only)
        n_diff = 0
        for rel in sorted(before):
            lost = (
                lost_values(pd.read_parquet(before[rel]), pd.read_parquet(after[rel]), timing)
                if rel in after
                else Counter({"the whole table": 1})
            )
            if lost:
                n_diff += 1
                print(
                    f"{rel}: {sum(lost.values())} values before are not after, e.g. {list(lost)[:5]}"
                )
        print(f"{len(before)} tables before, {n_diff} lost values")
        return 1 if n_diff else 0
    renames = dict(r.split("=", 1) for r in args.rename_column)
    maps = []
    for m in args.map:
        rule, _, cond = m.partition("@")
        column, _, change = rule.partition(":")
        old, _, new = change.partition("=")
        maps.append((column, old, new, cond))
    before, after = tables_under(args.before, args.only), tables_under(args.after, args.only)
    n_diff = 0
    for rel in sorted(before.keys() | after.keys()):
        if rel not in after or rel not in before:
            print(f"{rel}: only {'before' if rel in before else 'after'}")
            n_diff += 1
            continue
        lines = compare_frames(prepare(pd.read_parquet(before[rel]), timing, renames, maps),
                               prepare(pd.read_parquet(after[rel]), timing, {}, []),
                               args.rtol, args.atol)  # fmt: skip
        if lines:
            n_diff += 1
            print(f"{rel}: {lines[0]}", *lines[1:], sep="\n")
    print(f"{len(before.keys() | after.keys())} tables compared, {n_diff} differ")
    return 1 if n_diff else 0


if __name__ == "__main__":
    sys.exit(main())
