"""Helpers for the ledger tests: a claims folder with the real schema and catalog, and small
results tables written through pipeline.tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline import tables
from pipeline.provenance import collect

REPO = Path(__file__).resolve().parents[2]


def entry(id_="E2.1", post=2, checks=None, **extra) -> dict:
    return {
        "id": id_,
        "post": post,
        "statement": f"claim {id_}",
        "bar": "post",
        "checks": checks if checks is not None else [check()],
        **extra,
    }


def check(name="p-value", select=None, reduce="min", op=">", value=0.01, **extra) -> dict:
    return {
        "name": name,
        "select": select or {"experiment": "E2.1", "metric": "p_value"},
        "reduce": reduce,
        "op": op,
        "value": value,
        **extra,
    }


@pytest.fixture
def claims_dir(tmp_path):
    """A claims folder with the real schema and catalog and no entries yet."""
    folder = tmp_path / "claims"
    folder.mkdir()
    for name in ("schema.yaml", "catalog.yaml"):
        shutil.copy(REPO / "claims" / name, folder / name)
    return folder


def write_claims(folder: Path, entries: list[dict], name: str = "post2.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(entries, sort_keys=False, allow_unicode=True))
    return path


def results_table(path: Path, rows: list[dict], **constants) -> Path:
    base = {"dataset": "synthetic", "method": "m", "implementation": "ours", "seed": -1, "step": -1}
    frame = tables.results_frame([{**base, **constants, **r} for r in rows])
    tables.write_results(frame, path, collect("{}"))
    return path


def rows_frame(rows: list[dict], scale="default") -> pd.DataFrame:
    """A results frame with the ledger's extra columns, for the verdict functions."""
    base = {
        "experiment": "E2.1",
        "dataset": "d",
        "method": "m",
        "implementation": "ours",
        "seed": -1,
        "step": -1,
        "metric": "p_value",
    }
    frame = tables.results_frame([{**base, **r} for r in rows])
    return frame.assign(scale=scale, source=f"{scale}:t.parquet", commit="abc", config_hash="h")
