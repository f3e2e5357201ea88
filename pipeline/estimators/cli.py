"""``python -m pipeline estimators <verb>``: one verb per rule of workflow/rules/estimators.smk."""

from __future__ import annotations

import argparse
import logging

import numpy as np
import pandas as pd

from pipeline import tables
from pipeline.cli import add_config_argument, load_section
from pipeline.estimators import experiments
from pipeline.io import atomic_path
from pipeline.provenance import collect

log = logging.getLogger(__name__)

# verb -> (config dataclass, run function, config key for messages)
STUDIES = {
    "gumbel-max": (experiments.GumbelMaxConfig, experiments.gumbel_max),
    "gumbel-softmax": (experiments.GumbelSoftmaxConfig, experiments.gumbel_softmax),
    "continuous-gradients": (experiments.ContinuousConfig, experiments.continuous_gradients),
    "discrete-gradients": (experiments.DiscreteConfig, experiments.discrete_gradients),
}


def _threads(threads: int) -> None:
    from threadpoolctl import threadpool_limits

    if threads < 1:
        raise ValueError(f"--threads {threads}: expected an integer >= 1")
    threadpool_limits(threads)


def run_study(args: argparse.Namespace) -> None:
    cls, run = STUDIES[args.verb]
    cfg = load_section(cls, args.config, name=f"estimators {args.verb}")
    _threads(args.threads)
    log.info("%s seed=%d", args.verb, args.seed)
    frame = run(cfg, args.seed)
    tables.write_results(frame, args.output, collect(args.config, (), "cpu"))
    log.info("wrote %d rows to %s", len(frame), args.output)


def combine(args: argparse.Namespace) -> None:
    frame = tables.read_results(args.inputs)
    frame = pd.concat([frame, experiments.ks_of_pvalues(frame)], ignore_index=True)
    tables.write_results(
        frame, args.output, collect(args.config, args.inputs, "cpu"), html=args.html
    )


def plot(args: argparse.Namespace) -> None:
    from pipeline.estimators import figures

    if args.figure not in figures.FIGURES:
        raise ValueError(f"--figure {args.figure!r}: expected one of {sorted(figures.FIGURES)}")
    tables.save_figure(figures.FIGURES[args.figure](tables.read_results(args.input)), args.output)


def _section(cls, args, key: str):
    """A dVAE section, with errors naming the full dotted key."""
    try:
        return load_section(cls, args.config, name=key)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{key}: {exc}") from exc


def _torch_setup(device: str, threads: int, key: str) -> str:
    import torch

    from pipeline.devices import resolve_device

    device = resolve_device(device, key=key)
    if device == "cpu":
        torch.set_num_threads(max(1, threads))
    return device


def train_dvae(args: argparse.Namespace) -> None:
    from pipeline.estimators import vae_experiments as vx
    from pipeline.images.datasets import load_npz

    key = f"estimators.dvae.datasets.{args.dataset}.variants.{args.variant}"
    cfg = _section(vx.DVAEVariantConfig, args, key)
    _torch_setup(cfg.train.device, args.threads, f"{key}.train.device")
    data = load_npz(args.data)
    frame = vx.train_dvae(
        cfg,
        data,
        args.dataset,
        args.variant,
        args.output,
        lambda device: collect(args.config, [args.data], device),
        args.threads,
    )
    tables.write_results(
        frame, args.epochs_output, collect(args.config, [args.data], cfg.train.device)
    )


def evaluate_dvae(args: argparse.Namespace) -> None:
    from pipeline.estimators import vae_experiments as vx
    from pipeline.images.datasets import load_npz

    key = f"estimators.dvae.datasets.{args.dataset}.evaluate"
    cfg = _section(vx.DVAEEvaluateConfig, args, key)
    device = _torch_setup(cfg.device, args.threads, f"{key}.device")
    models = dict(m.split("=", 1) for m in args.models)
    frame, grids = vx.evaluate_dvae(
        cfg, load_npz(args.data), args.dataset, models, args.classifier, device
    )
    inputs = [args.data, args.classifier, *models.values()]
    tables.write_results(frame, args.output, collect(args.config, inputs, device), html=args.html)
    with atomic_path(args.samples) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **grids)


def plot_dvae(args: argparse.Namespace) -> None:
    from pipeline.estimators import figures
    from pipeline.images.figures import image_grids
    from pipeline.io import require_file

    tables.save_figure(figures.dvae_elbo(tables.read_results(args.epochs)), args.elbo_figure)
    with np.load(require_file(args.samples, "sample grids"), allow_pickle=False) as z:
        grids = {k: z[k] for k in z.files}
    tables.save_figure(image_grids(grids, ncol=15), args.samples_figure)


def register(subparsers: argparse._SubParsersAction) -> None:
    for verb, (cls, _) in STUDIES.items():
        p = subparsers.add_parser(verb, help=(cls.__doc__ or verb).splitlines()[0])
        add_config_argument(p)
        p.add_argument("--seed", type=int, required=True)
        p.add_argument("--threads", type=int, default=1)
        p.add_argument("--output", required=True)
        p.set_defaults(func=run_study, verb=verb)
    p = subparsers.add_parser(
        "combine", help="the per-seed tables in one, plus the KS test of E2.1's p-values"
    )
    add_config_argument(p)
    p.add_argument("--inputs", nargs="+", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--html")
    p.set_defaults(func=combine)
    p = subparsers.add_parser("plot", help="one report figure of E2.1-E2.4 from the combined table")
    p.add_argument("--figure", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.set_defaults(func=plot)
    p = subparsers.add_parser("train-dvae", help="train one discrete-VAE variant (E2.5)")
    add_config_argument(p)
    for name in ("--dataset", "--variant", "--data", "--output", "--epochs-output"):
        p.add_argument(name, required=True)
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=train_dvae)
    p = subparsers.add_parser(
        "evaluate-dvae", help="IWAE bound, samples and classifier metrics of every variant"
    )
    add_config_argument(p)
    for name in ("--dataset", "--data", "--classifier", "--output", "--samples", "--html"):
        p.add_argument(name, required=True)
    p.add_argument("--models", nargs="+", required=True, help="variant=path/to/model.pt")
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=evaluate_dvae)
    p = subparsers.add_parser("plot-dvae", help="test -ELBO curves and the sample grids")
    p.add_argument("--epochs", nargs="+", required=True)
    for name in ("--samples", "--elbo-figure", "--samples-figure"):
        p.add_argument(name, required=True)
    p.set_defaults(func=plot_dvae)
