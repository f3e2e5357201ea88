"""``python -m pipeline images <verb>``: one verb per rule of workflow/rules/images.smk.

prepare-dataset -> train-classifier, train-vqvae -> train-prior -> evaluate-vqvae -> plot-vqvae;
post 1's studies: ste-checks (E1.1), ablation-vqvae -> plot-ablation (E1.3), train-pixelcnn ->
compare-priors (E1.4), interpolate-vqvae (E1.5).
Each verb parses its arguments, builds its config section (the dataclass lives beside the model
that uses it) and calls the function owning the work; outputs are written atomically, results
in the one schema of ``pipeline.tables``, checkpoints with their provenance.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import pandas as pd
import torch

from pipeline.cli import add_config_argument, load_section
from pipeline.engine import load_model, resolve_device, train_to_checkpoint
from pipeline.images import classifier, datasets, figures, pixelcnn, prior, vqvae, vqvae_studies
from pipeline.images.evaluate import EvaluateConfig, evaluate
from pipeline.images.loader import to_tensor
from pipeline.io import atomic_path, write_html_table
from pipeline.provenance import collect
from pipeline.tables import read_results, results_frame, save_figure, write_results

log = logging.getLogger(__name__)


def _fit(args, model: torch.nn.Module, train_cfg, dataset, inputs: list[str], fixed=None):
    """Seed the initialisation (the only global seeding), train, write the checkpoint."""
    log.info("seed %d", train_cfg.seed)
    return train_to_checkpoint(
        model,
        train_cfg,
        dataset,
        args.output,
        lambda device: collect(args.config, [args.data, *inputs], device),
        args.threads,
        fixed,
    )


def _write_log(args, result, method: str, seed: int) -> None:
    frame = results_frame(
        result.log,
        experiment=method,
        dataset=args.dataset,
        method=method,
        implementation="ours",
        seed=seed,
    )
    write_results(frame, args.train_log, collect(args.config, [args.output], result.device))


def cmd_prepare_dataset(args) -> None:
    cfg = load_section(datasets.DataConfig, args.config, "data")
    data, hashes = datasets.load_dataset(cfg, args.download_dir)
    with atomic_path(args.output) as tmp, open(tmp, "wb") as f:
        datasets.save_npz(data, f)
    frame = results_frame(
        datasets.summary_rows(data),
        experiment="dataset",
        dataset=args.dataset,
        implementation="ours",
        seed=cfg.seed,
    )
    write_results(frame, args.summary, collect(args.config, input_hashes=hashes))


def cmd_train_classifier(args) -> None:
    section = load_section(classifier.ClassifierSection, args.config, "classifier")
    data = datasets.load_npz(args.data)
    torch.manual_seed(section.train.seed)
    if not classifier.labelled(data).any():
        reason = f"{args.data}: the dataset has no labels"
        log.warning("%s: no classifier trained; the evaluation skips the Fréchet distances", reason)
        classifier.save_no_classifier(args.output, reason)
        write_results(
            results_frame(
                pd.DataFrame(columns=["step", "metric", "value"]),
                experiment="classifier",
                dataset=args.dataset,
                method="classifier",
                implementation="ours",
                seed=section.train.seed,
            ),
            args.train_log,
            collect(args.config, [args.data]),
        )
        return
    model, dataset = classifier.build_classifier(section, data)
    result = _fit(args, model, section.train, dataset, [])
    if result is None:
        return
    acc = classifier.test_accuracy(result.ema, data)
    log.info("classifier test accuracy (EMA weights): %.4f", acc)
    result.log.append({"step": result.steps, "metric": "test_accuracy", "value": acc})
    _write_log(args, result, "classifier", section.train.seed)


def cmd_train_vqvae(args) -> None:
    section = load_section(vqvae.VQVAESection, args.config, "vqvae")
    data = datasets.load_npz(args.data)
    torch.manual_seed(section.train.seed)
    model, dataset = vqvae.build_vqvae(section, data)
    result = _fit(args, model, section.train, dataset, [], to_tensor(data.x_test[:16]))
    if result is None:
        return
    _write_log(args, result, "vqvae", section.train.seed)
    with atomic_path(args.activations) as tmp, open(tmp, "wb") as f:
        np.savez(f, **{k: v.numpy() for k, v in result.activations.items()})


def cmd_train_prior(args) -> None:
    section = load_section(prior.PriorSection, args.config, "prior")
    data = datasets.load_npz(args.data)
    vq, _ = load_model(args.vqvae, vqvae.VQVAE, ema=True)
    codes = vqvae.encode_all(vq, data.x_train)
    torch.manual_seed(section.train.seed)
    model, dataset = prior.build_prior(section, codes, vq.config.codebook_size)
    result = _fit(args, model, section.train, dataset, [args.vqvae])
    if result is not None:
        _write_log(args, result, "prior", section.train.seed)


def cmd_evaluate_vqvae(args) -> None:
    cfg = load_section(EvaluateConfig, args.config, "evaluate")
    device = resolve_device(cfg.device, args.threads)
    data = datasets.load_npz(args.data)
    rows, arrays = evaluate(cfg, data, args.vqvae, args.prior, args.classifier, device)
    frame = results_frame(rows, experiment="vqvae", dataset=args.dataset, seed=cfg.seed)
    inputs = [args.data, args.vqvae, args.prior, args.classifier]
    write_results(frame, args.output, collect(args.config, inputs, str(device)), html=args.html)
    with atomic_path(args.samples) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def cmd_plot_vqvae(args) -> None:
    with np.load(args.samples) as z:
        arrays = {k: z[k] for k in z.files}
    with np.load(args.activations) as z:
        acts = {k: z[k] for k in z.files}
    logs = {"vqvae": pd.read_parquet(args.vqvae_log), "prior": pd.read_parquet(args.prior_log)}
    paths = {
        "reconstructions": args.reconstructions,
        "samples": args.samples_figure,
        "codebook": args.codebook,
        "activations": args.activations_figure,
        "losses": args.losses,
    }
    for name, fig in figures.vqvae_figures(arrays, acts, logs).items():
        save_figure(fig, paths[name])


# ---------------------------------------------------------------- post 1's studies (vqvae_studies)
def cmd_ste_checks(args) -> None:
    cfg = load_section(vqvae_studies.SteConfig, args.config, "images.ste")
    frame = results_frame(
        vqvae_studies.ste_identities(cfg),
        experiment="E1.1",
        dataset="synthetic",
        implementation="ours",
    )
    write_results(frame, args.output, collect(args.config), html=args.html)


def cmd_ablation_vqvae(args) -> None:
    section = load_section(vqvae_studies.AblationSection, args.config, "images.ablation")
    base = load_section(vqvae.VQVAESection, args.base, f"images.datasets.{args.dataset}.vqvae")
    rows = vqvae_studies.ablation_cell(
        section, base, datasets.load_npz(args.data), args.cell, args.threads
    )
    frame = results_frame(rows, experiment="E1.3", dataset=args.dataset, implementation="ours")
    write_results(frame, args.output, collect(args.config, [args.data]))


def cmd_plot_ablation(args) -> None:
    frame = pd.concat([read_results(path) for path in args.tables], ignore_index=True)
    summary = vqvae_studies.ablation_summary(frame)
    write_html_table(summary, args.html)
    save_figure(figures.ablation(summary, args.cells), args.figure)


def cmd_train_pixelcnn(args) -> None:
    section = load_section(pixelcnn.PixelCNNSection, args.config, "pixelcnn")
    data = datasets.load_npz(args.data)
    vq, _ = load_model(args.vqvae, vqvae.VQVAE, ema=True)  # the codes the attention prior learns
    codes = vqvae.encode_all(vq, data.x_train)
    torch.manual_seed(section.train.seed)
    model, dataset = pixelcnn.build_pixelcnn(section, codes, vq.config.codebook_size)
    result = _fit(args, model, section.train, dataset, [args.vqvae])
    if result is not None:
        _write_log(args, result, "pixelcnn", section.train.seed)


def cmd_compare_priors(args) -> None:
    cfg = load_section(vqvae_studies.PriorComparisonConfig, args.config, "compare_priors")
    device = resolve_device(cfg.device, args.threads)
    rows, arrays = vqvae_studies.compare_priors(
        cfg, datasets.load_npz(args.data), args.vqvae, args.prior, args.pixelcnn, device
    )
    frame = results_frame(rows, experiment="E1.4", dataset=args.dataset, implementation="ours")
    inputs = [args.data, args.vqvae, args.prior, args.pixelcnn]
    write_results(frame, args.output, collect(args.config, inputs, str(device)), html=args.html)
    save_figure(
        figures.image_grids(
            {
                "test images": arrays["real"],
                "attention prior": arrays["attention_prior"],
                "gated PixelCNN": arrays["pixelcnn_prior"],
            }
        ),
        args.figure,
    )


def cmd_interpolate_vqvae(args) -> None:
    cfg = load_section(vqvae_studies.InterpolateConfig, args.config, "interpolate")
    vq, _ = load_model(args.vqvae, vqvae.VQVAE, ema=False)  # raw weights: the author kept no EMA
    rows, arrays = vqvae_studies.interpolation(cfg, vq, datasets.load_npz(args.data).x_test)
    frame = results_frame(rows, experiment="E1.5", dataset=args.dataset, implementation="ours")
    write_results(frame, args.output, collect(args.config, [args.data, args.vqvae]))
    save_figure(figures.interpolation(arrays), args.figure)


# ---------------------------------------------------------------- registration
def register(subparsers: argparse._SubParsersAction) -> None:
    def verb(name, func, help_, *paths, threads=False, dataset=True):
        p = subparsers.add_parser(name, help=help_)
        add_config_argument(p)
        if dataset:
            p.add_argument(
                "--dataset", default="dataset", help="dataset name (the {dataset} wildcard)"
            )
        for path in paths:
            p.add_argument(f"--{path}", required=True)
        if threads:
            p.add_argument(
                "--threads", type=int, default=1, help="CPU threads (the rule's threads)"
            )
        p.set_defaults(func=func)
        return p

    p = verb(
        "prepare-dataset",
        cmd_prepare_dataset,
        "read a dataset into one npz + summary table",
        "output",
        "summary",
    )
    p.add_argument("--download-dir", default="resources/images", help="where downloads are kept")
    verb(
        "train-classifier",
        cmd_train_classifier,
        "train the feature classifier for the Fréchet distance",
        "data",
        "output",
        "train-log",
        threads=True,
    )
    verb(
        "train-vqvae",
        cmd_train_vqvae,
        "train a VQ-VAE",
        "data",
        "output",
        "train-log",
        "activations",
        threads=True,
    )
    verb(
        "train-prior",
        cmd_train_prior,
        "train the code prior on the VQ-VAE's codes",
        "data",
        "vqvae",
        "output",
        "train-log",
        threads=True,
    )
    p = verb(
        "evaluate-vqvae",
        cmd_evaluate_vqvae,
        "reconstruction, codebook, bits/dim and sample metrics",
        "data",
        "vqvae",
        "prior",
        "classifier",
        "output",
        "samples",
        threads=True,
    )
    p.add_argument("--html", help="also write the metrics as an HTML table (for the report)")
    verb(
        "plot-vqvae",
        cmd_plot_vqvae,
        "report figures",
        "samples",
        "vqvae-log",
        "prior-log",
        "reconstructions",
        "samples-figure",
        "codebook",
        "losses",
        "activations",
        "activations-figure",
        dataset=False,
    )
    p = verb(
        "ste-checks",
        cmd_ste_checks,
        "E1.1: the stop-gradient identities in float64",
        "output",
        dataset=False,
    )
    p.add_argument("--html", help="also write the rows as an HTML table (for the report)")
    p = verb(
        "ablation-vqvae",
        cmd_ablation_vqvae,
        "E1.3: one (K, codebook) cell of the ablation, every ratio and seed",
        "data",
        "output",
        threads=True,
    )
    p.add_argument(
        "--cell", required=True, help="the cell, K<codebook size>_<loss|ema> (the {cell} wildcard)"
    )
    p.add_argument(
        "--base", required=True, help="the dataset's vqvae section (JSON): the recipe varied"
    )
    p = verb(
        "plot-ablation",
        cmd_plot_ablation,
        "E1.3: the ablation's summary table and figure",
        "figure",
        "html",
        dataset=False,
    )
    p.add_argument("--tables", nargs="+", required=True, help="the cells' results tables")
    p.add_argument(
        "--cells", nargs="+", required=True, help="the cells' names, in the figure's order"
    )
    verb(
        "train-pixelcnn",
        cmd_train_pixelcnn,
        "E1.4: train a gated PixelCNN on the VQ-VAE's codes",
        "data",
        "vqvae",
        "output",
        "train-log",
        threads=True,
    )
    verb(
        "compare-priors",
        cmd_compare_priors,
        "E1.4: held-out bits per code of both priors, samples",
        "data",
        "vqvae",
        "prior",
        "pixelcnn",
        "output",
        "html",
        "figure",
        threads=True,
    )
    verb(
        "interpolate-vqvae",
        cmd_interpolate_vqvae,
        "E1.5: interpolate continuous z, quantise, decode",
        "data",
        "vqvae",
        "output",
        "figure",
    )
