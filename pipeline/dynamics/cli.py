"""``python -m pipeline dynamics <verb>``: one verb per rule of workflow/rules/dynamics.smk."""

from __future__ import annotations

import argparse
import logging

from pipeline import tables
from pipeline.cli import add_config_argument, load_section
from pipeline.provenance import collect

log = logging.getLogger(__name__)


def _threads(n: int) -> int:
    if n < 1:
        raise ValueError(f"--threads {n}: expected an integer >= 1")
    import torch

    torch.set_num_threads(n)
    return n


def dirac_gan(args: argparse.Namespace) -> None:
    from pipeline.dynamics import experiments, figures

    cfg = load_section(experiments.DiracGanConfig, args.config, "dynamics.dirac_gan")
    frame, paths = experiments.dirac_gan(cfg)
    tables.write_results(frame, args.output, collect(args.config, ()), html=args.html)
    tables.save_figure(figures.dirac_gan_norms(paths), args.norms)
    tables.save_figure(figures.dirac_gan_phase(paths), args.phase)


def intermediate_variables(args: argparse.Namespace) -> None:
    from pipeline.dynamics import experiments
    from pipeline.images.datasets import load_npz

    cfg = load_section(
        experiments.IntermediateConfig, args.config, "dynamics.intermediate_variables"
    )
    _threads(args.threads)
    frame = experiments.intermediate_variables(cfg, load_npz(args.data))
    tables.write_results(frame, args.output, collect(args.config, [args.data]), html=args.html)


def ema_semantics(args: argparse.Namespace) -> None:
    from pipeline.dynamics import experiments
    from pipeline.images.datasets import load_npz

    cfg = load_section(experiments.EmaSemanticsConfig, args.config, "dynamics.ema_semantics")
    _threads(args.threads)
    frame = experiments.ema_semantics(cfg, load_npz(args.data))
    tables.write_results(frame, args.output, collect(args.config, [args.data]), html=args.html)


def ema_benefit(args: argparse.Namespace) -> None:
    from pipeline.devices import resolve_device
    from pipeline.dynamics import experiments
    from pipeline.images.datasets import load_npz

    cfg = load_section(experiments.EmaBenefitConfig, args.config, "dynamics.ema_benefit")
    device = resolve_device(cfg.device, "dynamics.ema_benefit.device")
    log.info("ema-benefit seed=%d on %s", args.seed, device)
    frame = experiments.ema_benefit(cfg, load_npz(args.data), args.seed, _threads(args.threads))
    tables.write_results(frame, args.output, collect(args.config, [args.data], device))


def plot_ema_benefit(args: argparse.Namespace) -> None:
    from pipeline.dynamics import figures

    frame = tables.read_results(args.inputs)
    tables.save_figure(figures.accuracy_curves(frame), args.figure)
    summary = frame[frame["step"] < 0]
    tables.write_results(summary, args.output, collect("{}", args.inputs), html=args.html)


def loader_safety(args: argparse.Namespace) -> None:
    from pipeline.dynamics import experiments

    cfg = load_section(experiments.LoaderSafetyConfig, args.config, "dynamics.loader_safety")
    frame = experiments.loader_safety(cfg)
    tables.write_results(frame, args.output, collect(args.config, ()), html=args.html)


def _parser(subparsers, verb: str, help: str, func, data: bool = False, threads: bool = False):
    p = subparsers.add_parser(verb, help=help)
    add_config_argument(p)
    if data:
        p.add_argument("--data", required=True, help="results/images/<dataset>/data.npz")
    if threads:
        p.add_argument("--threads", type=int, default=1)
    p.add_argument("--output", required=True, help="results table (.parquet)")
    p.add_argument("--html", help="the table as HTML, for the report")
    p.set_defaults(func=func)
    return p


def register(subparsers: argparse._SubParsersAction) -> None:
    p = _parser(subparsers, "dirac-gan", "E4.4: the Dirac-GAN ODEs and a discrete check", dirac_gan)
    p.add_argument("--norms", required=True, help="figure: |theta(t)| over time")
    p.add_argument("--phase", required=True, help="figure: phase portraits")
    _parser(
        subparsers,
        "intermediate-variables",
        "E4.1: hook and attribute readouts against by-hand",
        intermediate_variables,
        data=True,
        threads=True,
    )
    _parser(
        subparsers,
        "ema-semantics",
        "E4.2: raw weights unchanged by EMA; closed-form shadow",
        ema_semantics,
        data=True,
        threads=True,
    )
    p = _parser(
        subparsers,
        "ema-benefit",
        "E4.3: test accuracy per epoch, EMA decays side by side",
        ema_benefit,
        data=True,
        threads=True,
    )
    p.add_argument("--seed", type=int, required=True)
    p = _parser(
        subparsers,
        "plot-ema-benefit",
        "E4.3: accuracy curves over seeds and the summary rows",
        plot_ema_benefit,
    )
    p.add_argument("--inputs", nargs="+", required=True, help="the per-seed ema-benefit tables")
    p.add_argument("--figure", required=True)
    _parser(
        subparsers,
        "loader-safety",
        "E4.5: DataLoader workers, duplicates and RNG streams",
        loader_safety,
    )
