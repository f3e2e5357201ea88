"""Where the ledger's rows come from: this run's results tables and collected results folders.

A *collected* folder (``results/reference/<label>/``) holds results tables copied from another
run: a reference configuration run here, or a results folder brought back from another machine
or a cluster. Its ``manifest.json`` records the label, the scale (``default`` or ``reference``),
where the tables came from and each table's path; the tables are copied byte for byte, so each
keeps the provenance in its Parquet metadata (commit, config hash, input checksums, device).
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from pipeline import tables
from pipeline.io import DataError, atomic_dir, atomic_path, read_provenance, require_file

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Source:
    """One results table and the run it belongs to."""

    path: str
    scale: str = "default"
    label: str = "this run"


def read_sources(sources: Sequence[Source]) -> pd.DataFrame:
    """Every source's rows (validated, naming the file) plus ``scale``, ``source``, ``commit``
    and ``config_hash`` columns (the last two from the table's provenance)."""
    frames = []
    for src in sources:
        frame = tables.read_results(src.path)
        prov = read_provenance(src.path)
        frames.append(
            frame.assign(
                scale=src.scale,
                source=f"{src.label}:{src.path}",
                commit=prov.get("git_commit", "unknown")[:12],
                config_hash=prov.get("config_hash", "")[:12],
            )
        )
    if not frames:
        return tables.read_results([]).assign(scale="", source="", commit="", config_hash="")
    return pd.concat(frames, ignore_index=True)


def collected_sources(collected_dir: str | os.PathLike) -> list[Source]:
    """The tables of every collected folder ``<collected_dir>/*/manifest.json``."""
    out = []
    for manifest in sorted(Path(collected_dir).glob(f"*/{MANIFEST}")):
        meta = read_manifest(manifest)
        out += [
            Source(str(manifest.parent / t), meta["scale"], meta["label"]) for t in meta["tables"]
        ]
    return out


def read_manifest(path: str | os.PathLike) -> dict:
    path = require_file(path, "collected results manifest")
    try:
        meta = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from exc
    missing = [k for k in ("label", "scale", "tables") if k not in meta]
    if missing or meta.get("scale") not in ("default", "reference"):
        raise DataError(
            f"{path}: a manifest needs label, scale (default | reference) and tables; "
            f"missing {missing}"
            if missing
            else f"{path}: scale {meta['scale']!r}"
        )
    return meta


def find_tables(root: Path, patterns: Sequence[str]) -> list[Path]:
    """Results tables under ``root`` matching any glob ``pattern`` (relative to ``root``);
    Parquet files of another schema (training logs, co-occurrence cells) are skipped."""
    found = sorted(
        {p for pattern in patterns for p in root.glob(pattern) if p.suffix == ".parquet"}
    )
    out = []
    for path in found:
        if _in_collected(path, root):
            continue  # a folder collected earlier (results/reference/<label>/): never twice
        if set(pq.read_schema(path).names) != set(tables.COLUMNS):  # cheap: never reads a big table
            log.info("skipped %s (not a results table)", path)
            continue
        try:
            tables.read_results(path)
        except DataError as exc:
            log.info("skipped %s (not a results table: %s)", path, exc)
            continue
        out.append(path)
    return out


def _in_collected(path: Path, root: Path) -> bool:
    return any(
        (parent / MANIFEST).is_file()
        for parent in path.parents
        if parent.is_relative_to(root) and parent != root
    )


def collect(
    root: str | os.PathLike,
    into: str | os.PathLike,
    label: str,
    scale: str,
    patterns: Sequence[str] = ("**/*.parquet",),
) -> dict:
    """Copy the results tables under ``root`` into ``into`` with a manifest; ``into`` is replaced
    as a whole only once everything is copied (never a half-collected folder)."""
    root, into = Path(root), Path(into)
    if scale not in ("default", "reference"):
        raise ValueError(f"--scale {scale!r}: expected default or reference")
    if not root.is_dir():
        raise FileNotFoundError(f"results folder {str(root)!r} does not exist")
    found = find_tables(root, patterns)
    if not found:
        raise DataError(f"no results tables under {str(root)!r} match {list(patterns)}")
    rel = [str(p.relative_to(root)) for p in found]
    with atomic_dir(into) as staging:
        for src, name in zip(found, rel, strict=True):
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, staging / name)
        meta = {
            "label": label,
            "scale": scale,
            "origin": str(root.resolve()),
            "collected_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "patterns": list(patterns),
            "tables": rel,
        }
        with atomic_path(staging / MANIFEST) as tmp:
            tmp.write_text(json.dumps(meta, indent=1))
    log.info("collected %d results tables from %s into %s (%s scale)", len(rel), root, into, scale)
    return meta
