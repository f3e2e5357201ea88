"""``python -m pipeline ledger <verb>``: one verb per rule of workflow/rules/ledger.smk.

- ``build``: claims + results tables (this run's and every collected folder's) -> ledger;
- ``diff OLD NEW``: the rows whose verdict or value moved between two ledgers;
- ``collect``: copy a results folder (a reference run, another machine's) into the collected
  folder the ledger reads, provenance kept.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa

from pipeline.cli import add_config_argument, load_section
from pipeline.io import atomic_dir, atomic_path, read_provenance, require_file, write_table
from pipeline.ledger import claims, figures, ledger, render, sources
from pipeline.provenance import collect

log = logging.getLogger(__name__)


def _write(frame: pd.DataFrame, path: str, prov: dict) -> None:
    write_table(pa.Table.from_pandas(frame, preserve_index=False), path, prov)


def cmd_build(args: argparse.Namespace) -> None:
    cfg = load_section(ledger.LedgerConfig, args.config, "ledger")
    entries = claims.load_claims(cfg.claims_dir)
    declared = json.loads(args.declared)
    claims.check_selects(entries, declared)
    catalog = claims.load_catalog(cfg.claims_dir)
    srcs = [sources.Source(p, cfg.scale) for p in args.results]
    srcs += sources.collected_sources(cfg.collected_dir)
    frame = sources.read_sources(srcs)
    table, checks = ledger.build(entries, catalog, frame, claims.declared_experiments(declared))
    counts = ledger.summary(table)
    chart = io.BytesIO()
    figures.summary_bars(counts).savefig(chart, format="png", dpi=100, bbox_inches="tight")
    # Everything is computed before the first file is written: an error leaves no partial ledger.
    files = [str(p) for p in claims.claim_files(cfg.claims_dir)]
    prov = collect(args.config, [s.path for s in srcs] + files) | {
        "ledger_schema_version": ledger.LEDGER_SCHEMA_VERSION
    }
    _write(checks, args.checks, prov)
    for path, text in (
        (args.html, render.full_table(table)),
        (args.front, render.front_page(table, counts, chart.getvalue())),
    ):
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    with atomic_path(args.summary_figure) as tmp:
        tmp.write_bytes(chart.getvalue())
    if args.notes:
        _write_notes(render.verdict_notes(table), args.notes)
    _write(table, args.output, prov)
    log.info(
        "ledger of %d entries from %d results tables: %s",
        len(table),
        len(srcs),
        table["verdict"].value_counts().to_dict(),
    )


def _write_notes(notes: dict[str, str], folder: str) -> None:
    """One ``<id>.html`` per entry in ``folder``, replaced as a whole (never half written)."""
    with atomic_dir(folder) as staging:
        for id_, text in notes.items():
            (staging / f"{id_}.html").write_text(text, encoding="utf-8")


def read_ledger(path: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A ledger and the checks table beside it, refusing another schema version."""
    require_file(path, "ledger")
    ledger.check_version(read_provenance(path).get("ledger_schema_version"), path)
    checks = Path(path).with_name("checks.parquet")
    require_file(checks, "ledger checks table (written beside ledger.parquet)")
    ledger.check_version(read_provenance(checks).get("ledger_schema_version"), str(checks))
    return pd.read_parquet(path), pd.read_parquet(checks)


def cmd_diff(args: argparse.Namespace) -> None:
    old, old_checks = read_ledger(args.old)
    new, new_checks = read_ledger(args.new)
    if args.decided:
        old_checks, new_checks = (
            ledger.decided_checks(old, old_checks),
            ledger.decided_checks(new, new_checks),
        )
    moved = ledger.diff(old, new, old_checks, new_checks)
    if args.output:
        _write(
            moved,
            args.output,
            collect("{}", [args.old, args.new])
            | {"ledger_schema_version": ledger.LEDGER_SCHEMA_VERSION},
        )
    text = (
        moved.to_string(index=False, float_format=lambda v: f"{v:.6g}")
        if len(moved)
        else "no moves"
    )
    sys.stdout.write(f"{args.old} -> {args.new}: {len(moved)} rows moved\n{text}\n")


def cmd_collect(args: argparse.Namespace) -> None:
    sources.collect(
        args.source, args.into, args.label, args.scale, args.pattern or ["**/*.parquet"]
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("build", help="claims + results tables -> the ledger")
    add_config_argument(p)
    p.add_argument("--results", nargs="*", default=[], help="this run's declared results tables")
    p.add_argument(
        "--declared",
        default="{}",
        help="the workflow's RESULTS_TABLES as JSON: {path: {experiment: [metric]}}",
    )
    p.add_argument("--output", required=True, help="ledger.parquet")
    p.add_argument("--checks", required=True, help="checks.parquet (one row per check and scale)")
    p.add_argument("--html", required=True, help="the full ledger as HTML (report item)")
    p.add_argument("--front", required=True, help="the report's front page (HTML fragment)")
    p.add_argument("--summary-figure", required=True, help="verdicts per post (PNG)")
    p.add_argument("--notes", help="folder of <id>.html notes the report's captions inline")
    p.set_defaults(func=cmd_build)
    p = subparsers.add_parser("diff", help="rows whose verdict or value moved between two ledgers")
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--output", help="also write the moved rows as Parquet")
    p.add_argument(
        "--decided",
        action="store_true",
        help="compare the values that decided each entry, whatever their scale "
        "(a default-scale ledger against a reference-scale one)",
    )
    p.set_defaults(func=cmd_diff)
    p = subparsers.add_parser("collect", help="copy a results folder into the collected folder")
    p.add_argument(
        "source", help="a results folder (this repository's results/, or one copied back)"
    )
    p.add_argument("--into", required=True, help="results/reference/<label>")
    p.add_argument("--label", required=True, help="name of the run (en-reference, gpu-box)")
    p.add_argument("--scale", choices=["default", "reference"], default="reference")
    p.add_argument("--pattern", action="append", help="glob under the folder (repeatable)")
    p.set_defaults(func=cmd_collect)
