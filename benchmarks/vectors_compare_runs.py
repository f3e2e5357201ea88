"""Compare every Parquet table of two runs of the vectors rules (before / after a refactor).

    python benchmarks/vectors_compare_runs.py BEFORE/results/vectors AFTER/results/vectors

For each table present in both trees: same columns (those of the older one), same rows after
sorting on the text columns, and the largest absolute difference of each numeric column
(timings, ``seconds``, are listed apart). Prints one line per table; exit status 1 when a table
is missing or differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

TIMING = {"seconds"}


def compare(before: pd.DataFrame, after: pd.DataFrame) -> tuple[bool, str]:
    missing = [c for c in before.columns if c not in after.columns]
    if missing:
        return False, f"columns missing after: {missing}"
    after = after[list(before.columns)]
    if "metric" in before.columns:
        before = before[~before["metric"].isin(TIMING)]
        after = after[~after["metric"].isin(TIMING)]
    if len(before) != len(after):
        return False, f"{len(before)} rows before, {len(after)} after"
    keys = [c for c in before.columns if not pd.api.types.is_numeric_dtype(before[c])]
    b = before.sort_values(keys, kind="stable").reset_index(drop=True)
    a = after.sort_values(keys, kind="stable").reset_index(drop=True)
    for c in keys:
        if not b[c].fillna("").equals(a[c].fillna("")):
            return False, f"column {c!r} differs"
    worst = {}
    for c in before.columns:
        if c not in keys:
            x, y = b[c].to_numpy(np.float64), a[c].to_numpy(np.float64)
            same = (x == y) | (np.isnan(x) & np.isnan(y))
            worst[c] = float(np.nanmax(np.abs(x - y), initial=0.0)) if not same.all() else 0.0
    ok = all(v == 0.0 for v in worst.values())
    return ok, ", ".join(f"{c} max |diff| {v:.3g}" for c, v in worst.items())


def compare_vectors(before: Path, after: Path) -> tuple[bool, str]:
    from gensim.models import KeyedVectors

    a, b = KeyedVectors.load(str(before)), KeyedVectors.load(str(after))
    if a.index_to_key != b.index_to_key:
        return False, "vocabularies differ"
    diff = float(np.abs(a.vectors.astype(np.float64) - b.vectors).max())
    return diff == 0.0, f"vectors max |diff| {diff:.3g}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    status = 0
    paths = sorted([*args.before.rglob("*.parquet"), *args.before.rglob("*.kv")])
    for path in paths:
        rel = path.relative_to(args.before)
        other = args.after / rel
        if not other.exists():
            print(f"MISSING  {rel}")
            status = 1
            continue
        if path.suffix == ".kv":
            ok, detail = compare_vectors(path, other)
        else:
            ok, detail = compare(pd.read_parquet(path), pd.read_parquet(other))
        print(f"{'same    ' if ok else 'DIFFERS '} {rel}: {detail}")
        status |= not ok
    return status


if __name__ == "__main__":
    sys.exit(main())
