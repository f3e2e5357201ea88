"""``python -m pipeline transport <verb>``: one verb per rule of workflow/rules/transport.smk."""

from __future__ import annotations

import argparse
import logging

import numpy as np

from pipeline import tables
from pipeline.cli import add_config_argument, load_section, resolve
from pipeline.io import atomic_path
from pipeline.provenance import collect

log = logging.getLogger(__name__)

# verb -> (config dataclass, run function, dotted config key, help); each run takes (cfg, seed).
# Named as "module:name" and imported by the verb that runs (pipeline.cli.resolve), so that the
# figure and combine jobs do not import POT and torch.
_X = "pipeline.transport.experiments"
STUDIES = {
    "lp-duality": (f"{_X}:LPDualityConfig", f"{_X}:lp_duality", "transport.lp",
                   "E5.1: the post's primal and dual LPs on random problems, against POT and scipy."),
    "farkas": (f"{_X}:FarkasConfig", f"{_X}:farkas", "transport.farkas",
               "Farkas: equal-mass (feasible) and unequal-mass (infeasible) pairs, certificate checked."),
    "weak-duality": (f"{_X}:WeakDualityConfig", f"{_X}:weak_duality", "transport.weak_duality",
                     "E5.2: random dual points made feasible by projection, scored against the primal optimum."),
    "restriction": (f"{_X}:RestrictionConfig", f"{_X}:restriction", "transport.restriction",
                    "E5.3: restricted (g = -f) against full dual on a common support, metric and squared cost."),
    "critics": (f"{_X}:CriticsConfig", f"{_X}:critic_study", "transport.critics",
                "E5.4: p a 2-D mixture, q = p + a (W1 = |a|); critics with clipping, GP and spectral norm."),
}  # fmt: skip


def _threads(threads: int) -> None:
    import torch
    from threadpoolctl import threadpool_limits

    if threads < 1:
        raise ValueError(f"--threads {threads}: expected an integer >= 1")
    threadpool_limits(threads)
    torch.set_num_threads(threads)


def _section(cls, text: str, key: str):
    try:
        return load_section(cls, text, name=key)
    except TypeError as exc:  # a nested recipe with an unknown key
        raise ValueError(f"{key}: {exc}") from exc


def run_study(args: argparse.Namespace) -> None:
    cls, run, key, _ = STUDIES[args.verb]
    cfg = _section(resolve(cls), args.config, key)
    run = resolve(run)
    _threads(args.threads)
    log.info("%s seed=%d", args.verb, args.seed)
    frame = run(cfg, args.seed)
    tables.write_results(frame, args.output, collect(args.config, (), "cpu"))
    log.info("wrote %d rows to %s", len(frame), args.output)


def _save_npz(path: str, **arrays) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def wgan_toy(args: argparse.Namespace) -> None:
    from pipeline.transport.wgan_runs import WganToyConfig, wgan_toy

    cfg = _section(WganToyConfig, args.config, "transport.wgan_toy")
    _threads(args.threads)
    frame, samples, data = wgan_toy(cfg, args.dataset, args.variant, args.seed, args.threads)
    tables.write_results(frame, args.output, collect(args.config, (), "cpu"))
    _save_npz(args.samples, samples=samples, data=data)


def wgan_images(args: argparse.Namespace) -> None:
    from pipeline.devices import resolve_device
    from pipeline.engine import load_model
    from pipeline.images.classifier import Classifier
    from pipeline.images.datasets import load_npz
    from pipeline.images.loader import to_uint8
    from pipeline.transport.wgan_runs import WganImagesConfig, wgan_images

    cfg = _section(WganImagesConfig, args.config, "transport.wgan_images")
    device = resolve_device(cfg.device, key="transport.wgan_images.device")
    _threads(args.threads)
    data = load_npz(args.data)
    classifier, _ = load_model(args.classifier, Classifier)
    frame, samples = wgan_images(
        cfg, data, args.dataset, classifier, args.variant, args.seed, device, args.threads
    )
    tables.write_results(
        frame, args.output, collect(args.config, (args.data, args.classifier), device)
    )
    _save_npz(args.samples, samples=to_uint8(samples))


def combine(args: argparse.Namespace) -> None:
    frame = tables.read_results(args.inputs)
    tables.write_results(
        frame, args.output, collect(args.config, args.inputs, "cpu"), html=args.html
    )


def plot(args: argparse.Namespace) -> None:
    from pipeline.transport import figures

    frame = tables.read_results(args.input)
    if args.figure in figures.FIGURES:
        fig = figures.FIGURES[args.figure](frame)
    elif args.figure in figures.SAMPLE_FIGURES:
        samples = {}
        for name, path in zip(args.names or [], args.samples or [], strict=True):
            with np.load(path) as npz:
                samples[name] = npz["samples"]
                if "data" in npz.files:
                    samples[f"{name.split('/')[0]}/data"] = npz["data"]
        fig = figures.SAMPLE_FIGURES[args.figure](frame, samples)
    else:
        raise ValueError(
            f"--figure {args.figure!r}: expected one of "
            f"{sorted(figures.FIGURES) + sorted(figures.SAMPLE_FIGURES)}"
        )
    tables.save_figure(fig, args.output)


def _common(p: argparse.ArgumentParser, seeded: bool = True) -> None:
    add_config_argument(p)
    if seeded:
        p.add_argument("--seed", type=int, required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--output", required=True)


def register(subparsers: argparse._SubParsersAction) -> None:
    for verb, (_, _, _, help_) in STUDIES.items():
        p = subparsers.add_parser(verb, help=help_)
        _common(p)
        p.set_defaults(func=run_study, verb=verb)
    p = subparsers.add_parser("wgan-toy", help="E5.5: one WGAN recipe on one 2-D mixture")
    _common(p)
    p.add_argument("--dataset", required=True)
    p.add_argument("--variant", required=True)
    p.add_argument(
        "--samples", required=True, help="npz of final generator samples and held-out data"
    )
    p.set_defaults(func=wgan_toy)
    p = subparsers.add_parser("wgan-images", help="E5.5: one WGAN recipe on one image dataset")
    _common(p)
    p.add_argument("--dataset", required=True)
    p.add_argument("--variant", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--classifier", required=True)
    p.add_argument("--samples", required=True, help="npz of final samples (uint8 NHWC)")
    p.set_defaults(func=wgan_images)
    p = subparsers.add_parser("combine", help="all transport results in one table")
    add_config_argument(p)
    p.add_argument("--inputs", nargs="+", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--html")
    p.set_defaults(func=combine)
    p = subparsers.add_parser("plot", help="one report figure from the combined table")
    p.add_argument("--figure", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--samples", nargs="*", help="sample npz files (sample figures)")
    p.add_argument("--names", nargs="*", help="one run name per --samples file: dataset/variant")
    p.add_argument("--output", required=True)
    p.set_defaults(func=plot)
