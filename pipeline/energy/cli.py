"""``python -m pipeline energy <verb>``: one verb per rule of workflow/rules/energy.smk.

langevin-densities (E3.1), likelihood-gradient (E3.2), toy-ebm (E3.3), train-image-ebm and
evaluate-image-ebm (E3.4, E3.5), summarize (the one results table), plot, plot-samples, and
gpu-check (the CIFAR-10 recipe on a GPU, for the scale-out check script).
"""

from __future__ import annotations

import argparse
import json
import logging

import numpy as np

from pipeline.cli import add_config_argument, load_section, resolve
from pipeline.io import atomic_path, require_file
from pipeline.provenance import collect
from pipeline.tables import read_results, results_frame, save_figure, write_results

log = logging.getLogger(__name__)


def _threads(n: int) -> None:
    import torch
    from threadpoolctl import threadpool_limits

    if n < 1:
        raise ValueError(f"--threads {n}: expected an integer >= 1")
    threadpool_limits(n)
    torch.set_num_threads(n)


def _save_npz(arrays: dict[str, np.ndarray], path: str) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)


def _load_npz(path: str) -> dict[str, np.ndarray]:
    with np.load(require_file(path, "samples file")) as z:
        return {k: z[k] for k in z.files}


# verb -> (config dataclass, run function, help), named as "module:name" and imported by the
# verb that runs (pipeline.cli.resolve): the figure and summary jobs do not import torch.
_X = "pipeline.energy.experiments"
RUNS = {
    "langevin-densities": (f"{_X}:LangevinDensitiesConfig", f"{_X}:langevin_densities",
                           "E3.1: the post's update on known densities, ε ∈ eps, n_chains chains of steps."),
    "likelihood-gradient": (f"{_X}:LikelihoodGradientConfig", f"{_X}:likelihood_gradient",
                            "E3.2: U_θ(x) = θ₁x² + θ₂x⁴; E_q[∇_θU] from chains, then ML training from data at θ*."),
    "toy-ebm": (f"{_X}:ToyConfig", f"{_X}:toy_ebm",
                "E3.3: 2-D toy EBMs, with and without the replay buffer, L2 sum against the post's sign."),
}  # fmt: skip


def run_experiment(args: argparse.Namespace) -> None:
    cls, run, _ = RUNS[args.verb]
    cls, run = resolve(cls), resolve(run)
    cfg = load_section(cls, args.config, name=f"energy.{args.verb.replace('-', '_')}")
    _threads(args.threads)
    out = run(cfg)
    table, arrays = out if isinstance(out, tuple) else (out, None)
    write_results(table, args.output, collect(args.config, (), "cpu"))
    if arrays is not None:
        _save_npz(arrays, args.samples)
    log.info("wrote %d rows to %s", len(table), args.output)


def train_image(args: argparse.Namespace) -> None:
    from pipeline.energy import image_ebm
    from pipeline.images.datasets import load_npz

    section = load_section(
        image_ebm.ImageEBMSection, args.config, f"energy.image_ebm.datasets.{args.dataset}"
    )
    _threads(args.threads)
    data = load_npz(args.data)
    log.info("image EBM on %s, seed %d", args.dataset, args.seed)
    rows, diverged = image_ebm.train_image_ebm(
        section,
        data,
        args.seed,
        args.output,
        lambda device: collect(args.config, [args.data], device),
        args.threads,
    )
    rows = rows + [{"step": -1, "metric": "diverged_at_step", "value": diverged}]
    table = results_frame(
        [{"method": "training", **r} for r in rows],
        experiment=section.evaluate.experiment,
        dataset=args.dataset,
        implementation="ours",
        seed=args.seed,
    )
    write_results(table, args.train_log, collect(args.config, [args.output], section.train.device))


def evaluate_image(args: argparse.Namespace) -> None:
    from pipeline.energy import image_ebm
    from pipeline.engine import resolve_device
    from pipeline.images.datasets import load_npz

    section = load_section(
        image_ebm.ImageEBMSection, args.config, f"energy.image_ebm.datasets.{args.dataset}"
    )
    cfg = section.evaluate
    device = resolve_device(cfg.device, args.threads)
    data = load_npz(args.data)
    rows, arrays = image_ebm.evaluate_image_ebm(cfg, data, args.models, args.classifier, device)
    table = results_frame(
        [{"step": -1, **r} for r in rows],
        experiment=cfg.experiment,
        dataset=args.dataset,
        implementation="ours",
    )
    write_results(
        table,
        args.output,
        collect(args.config, [args.data, args.classifier, *args.models], str(device)),
    )
    _save_npz(arrays, args.samples)


def summarize(args: argparse.Namespace) -> None:
    table = read_results(args.inputs)
    write_results(table, args.output, collect(json.dumps({}), args.inputs), html=args.html)
    log.info("%d rows from %d tables", len(table), len(args.inputs))


def plot(args: argparse.Namespace) -> None:
    from pipeline.energy import figures

    if args.figure not in figures.FIGURES:
        raise ValueError(f"--figure {args.figure!r}: expected one of {sorted(figures.FIGURES)}")
    save_figure(figures.FIGURES[args.figure](read_results(args.input)), args.output)


def plot_samples(args: argparse.Namespace) -> None:
    from pipeline.energy import figures

    arrays = _load_npz(args.samples)
    if args.kind == "toy":
        fig = figures.toy_samples(arrays)
    else:
        from pipeline.images.figures import image_grids

        fig = image_grids({k: v for k, v in arrays.items()})
    save_figure(fig, args.output)


def gpu_check(args: argparse.Namespace) -> None:
    from pipeline.energy import image_ebm
    from pipeline.images.datasets import load_npz

    section = load_section(
        image_ebm.ImageEBMSection, args.config, "energy.image_ebm.datasets.cifar10"
    )
    rows = image_ebm.gpu_check(section, args.tiny, load_npz(args.data) if args.data else None)
    device = rows[0]["device"]
    table = results_frame([{k: v for k, v in r.items() if k != "device"} for r in rows])
    write_results(
        table, args.output, collect(args.config, [args.data] if args.data else [], device)
    )
    for r in rows:
        log.info("E3.5 GPU check on %s: %s = %.4g", device, r["metric"], r["value"])


def register(subparsers: argparse._SubParsersAction) -> None:
    for verb, (_, _, help_) in RUNS.items():
        p = subparsers.add_parser(verb, help=help_)
        add_config_argument(p)
        p.add_argument("--threads", type=int, default=1)
        p.add_argument("--output", required=True)
        if verb == "toy-ebm":
            p.add_argument("--samples", required=True, help="npz of the samples behind the figure")
        p.set_defaults(func=run_experiment, verb=verb)
    p = subparsers.add_parser(
        "train-image-ebm", help="train the image EBM of one dataset and seed (E3.4/E3.5)"
    )
    add_config_argument(p)
    for name in ("dataset", "data", "output", "train-log"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=train_image)
    p = subparsers.add_parser(
        "evaluate-image-ebm", help="buffer / fresh / joint samples, classifier metrics"
    )
    add_config_argument(p)
    for name in ("dataset", "data", "classifier", "output", "samples"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--models", nargs="+", required=True, help="one checkpoint per seed")
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=evaluate_image)
    p = subparsers.add_parser("summarize", help="the post's results tables as one")
    p.add_argument("--inputs", nargs="+", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--html")
    p.set_defaults(func=summarize)
    p = subparsers.add_parser("plot", help="one report figure from the results table")
    for name in ("figure", "input", "output"):
        p.add_argument(f"--{name}", required=True)
    p.set_defaults(func=plot)
    p = subparsers.add_parser(
        "plot-samples", help="toy scatter plots or image grids from a samples npz"
    )
    p.add_argument("--kind", choices=["toy", "images"], required=True)
    p.add_argument("--samples", required=True)
    p.add_argument("--output", required=True)
    p.set_defaults(func=plot_samples)
    p = subparsers.add_parser(
        "gpu-check", help="E3.5: the official CIFAR-10 recipe for a few steps on CUDA"
    )
    add_config_argument(p)
    p.add_argument("--tiny", action="store_true", help="a few steps of a small model (seconds)")
    p.add_argument("--data", help="a prepared CIFAR-10 data.npz; default random images")
    p.add_argument("--output", required=True)
    p.set_defaults(func=gpu_check)
