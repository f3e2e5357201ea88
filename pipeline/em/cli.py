"""``python -m pipeline em <verb>``: one verb per rule of workflow/rules/em.smk."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd
import pyarrow as pa

from pipeline.cli import add_config_argument, load_section
from pipeline.devices import resolve_device
from pipeline.em import experiments, figures
from pipeline.io import DataError, atomic_path, require_file, write_html_table, write_table
from pipeline.provenance import collect

log = logging.getLogger(__name__)

# verb -> (config dataclass, run function, takes a seed)
RUNS = {
    "gmm-synthetic": (experiments.GmmConfig, experiments.gmm_synthetic, True),
    "kmeans-blobs": (experiments.KMeansConfig, experiments.kmeans_blobs, True),
    "soft-kmeans": (experiments.SoftKMeansConfig, experiments.soft_kmeans, True),
    "plsa-synthetic": (experiments.PlsaConfig, experiments.plsa_synthetic, True),
    "real-data": (experiments.RealDataConfig, experiments.real_data, True),
    "plsa-corpus": (experiments.CorpusConfig, experiments.plsa_corpus, True),
    "newton-gd": (experiments.NewtonConfig, experiments.newton_gd, False),
}


def _set_threads(threads: int, backend: str) -> None:
    """Pin BLAS/OpenMP (and torch's pool, only when torch runs) to the rule's threads."""
    from threadpoolctl import threadpool_limits

    if threads < 1:
        raise ValueError(f"--threads {threads}: expected an integer >= 1")
    threadpool_limits(threads)
    if backend == "torch":
        import torch

        torch.set_num_threads(threads)


def _device(cfg) -> str:
    """The device our side runs on: the shared rule for ``em.device`` when torch runs, else CPU."""
    if getattr(cfg, "backend", "numpy") != "torch":
        return "cpu"
    return resolve_device(getattr(cfg, "device", "auto"), key="em.device")


def run_experiment(args: argparse.Namespace) -> None:
    cls, run, seeded = RUNS[args.verb]
    cfg = load_section(cls, args.config, name=f"em {args.verb}")
    device = _device(cfg)  # cuda without a GPU fails here, naming the key, before any work
    _set_threads(args.threads, getattr(cfg, "backend", "numpy"))
    if seeded:
        log.info("%s seed=%d", args.verb, args.seed)
        table = run(cfg, args.seed)
    else:
        table = run(cfg)
    write_table(pa.Table.from_pandas(table, preserve_index=False), args.output,
                collect(args.config, (), device))  # fmt: skip
    log.info("wrote %d rows to %s", len(table), args.output)


def read_runs(paths: list[str]) -> pd.DataFrame:
    frames = []
    for path in paths:
        require_file(path, "em runs table")
        frame = pd.read_parquet(path)
        if list(frame.columns) != experiments.COLUMNS:
            raise DataError(f"{path!r} has columns {list(frame.columns)}; expected {experiments.COLUMNS}")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def summarize(args: argparse.Namespace) -> None:
    runs = read_runs(args.inputs)
    prov = collect(args.config, args.inputs)
    write_table(pa.Table.from_pandas(runs, preserve_index=False), args.runs_output, prov)
    summary = figures.summarize(runs)
    write_table(pa.Table.from_pandas(summary, preserve_index=False), args.output, prov)
    if args.html:
        write_html_table(summary, args.html)


def plot(args: argparse.Namespace) -> None:
    if args.figure not in figures.FIGURES:
        raise ValueError(f"--figure {args.figure!r}: expected one of {sorted(figures.FIGURES)}")
    fig = figures.FIGURES[args.figure](read_runs([args.input]))
    with atomic_path(args.output) as tmp:
        fig.savefig(tmp, dpi=120, format=Path(args.output).suffix.lstrip(".") or "png")


def register(subparsers: argparse._SubParsersAction) -> None:
    for verb, (cls, _, seeded) in RUNS.items():
        p = subparsers.add_parser(verb, help=(cls.__doc__ or verb).splitlines()[0])
        add_config_argument(p)
        if seeded:
            p.add_argument("--seed", type=int, required=True)
        p.add_argument("--threads", type=int, default=1)
        p.add_argument("--output", required=True)
        p.set_defaults(func=run_experiment, verb=verb)
    p = subparsers.add_parser("summarize", help="combine the runs tables and compute seed bands")
    add_config_argument(p)
    p.add_argument("--inputs", nargs="+", required=True)
    p.add_argument("--runs-output", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--html", help="also write the summary as an HTML table (for the report)")
    p.set_defaults(func=summarize)
    p = subparsers.add_parser("plot", help="one report figure from the combined runs table")
    p.add_argument("--figure", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.set_defaults(func=plot)


