"""``python -m pipeline images <verb>``: one verb per rule of workflow/rules/images.smk.

prepare-dataset -> train-classifier, train-vqvae -> train-prior -> evaluate-vqvae -> plot-vqvae.
Each verb takes its own config section as one JSON string and writes its outputs atomically,
tables with provenance (``pipeline.io.write_table``), checkpoints with a ``provenance`` entry.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import torch

from pipeline.cli import add_config_argument, load_section
from pipeline.images import datasets, figures, train
from pipeline.images.classifier import Classifier, ClassifierConfig
from pipeline.images.loader import ImageDataset, to_tensor
from pipeline.images.prior import CodePrior, CodesDataset, PriorConfig
from pipeline.images.vqvae import VQVAE, VQVAEConfig
from pipeline.io import atomic_path, write_html_table, write_table
from pipeline.provenance import collect

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class VQVAESection:
    model: VQVAEConfig = dataclasses.field(default_factory=VQVAEConfig)
    train: train.TrainConfig = dataclasses.field(default_factory=train.TrainConfig)


@dataclasses.dataclass(frozen=True)
class PriorSection:
    model: PriorConfig = dataclasses.field(default_factory=PriorConfig)
    train: train.TrainConfig = dataclasses.field(default_factory=train.TrainConfig)


@dataclasses.dataclass(frozen=True)
class ClassifierSection:
    model: ClassifierConfig = dataclasses.field(default_factory=ClassifierConfig)
    train: train.TrainConfig = dataclasses.field(default_factory=train.TrainConfig)


@dataclasses.dataclass(frozen=True)
class EvaluateConfig:
    n_samples: int = 500  # samples drawn from the prior (and real images per baseline set)
    temperature: float = 1.0
    swd_projections: int = 200
    batch_size: int = 256
    n_grid: int = 32  # images per panel in the figures
    seed: int = 0
    device: str = "auto"

    def __post_init__(self):
        if self.n_samples < 2 or self.swd_projections < 1 or self.batch_size < 1 or self.n_grid < 1:
            raise ValueError("evaluate: n_samples >= 2, swd_projections, batch_size, n_grid >= 1")
        if self.temperature <= 0:
            raise ValueError(f"evaluate.temperature: {self.temperature} must be > 0")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"evaluate.device: {self.device!r} is not auto, cpu or cuda")


def tidy(rows: list[dict], **const) -> pa.Table:
    """Long table: experiment, dataset, method, implementation, seed, metric, value (+ step)."""
    df = pd.DataFrame(rows)
    for k, v in const.items():
        df[k] = v
    cols = [c for c in ("experiment", "dataset", "method", "implementation", "seed", "step", "metric", "value")
            if c in df.columns]
    return pa.Table.from_pandas(df[cols], preserve_index=False)


# ---------------------------------------------------------------- verbs
def cmd_prepare_dataset(args) -> None:
    cfg = load_section(datasets.DataConfig, args.config, "data")
    data, hashes = datasets.load_dataset(cfg, args.download_dir)
    with atomic_path(args.output) as tmp:
        with open(tmp, "wb") as f:
            datasets.save_npz(data, f)
    rows = []
    for split, x in (("train", data.x_train), ("test", data.x_test)):
        rows += [{"method": split, "metric": m, "value": float(v)} for m, v in (
            ("n_images", len(x)), ("height", x.shape[1]), ("width", x.shape[2]), ("channels", x.shape[3]),
            ("pixel_mean", x.mean() / 255.0), ("pixel_std", x.std() / 255.0))]
    table = tidy(rows, experiment="dataset", dataset=args.dataset, implementation="numpy", seed=cfg.seed)
    write_table(table, args.summary, collect(args.config, input_hashes=hashes))


def seed_init(seed: int) -> None:
    """Seed the model initialisation (the only global seeding; the loop seeds its own streams)."""
    log.info("seed %d", seed)
    torch.manual_seed(seed)


def _train(args, model: torch.nn.Module, section, dataset, fixed_batch=None) -> train.TrainResult | None:
    """Relaunch under torchrun on several GPUs, train (resuming), write the final checkpoint.

    Returns None on DDP ranks other than 0: only rank 0 writes outputs."""
    relaunch = train.torchrun_argv(section.train, sys.argv[1:])
    if relaunch:
        log.info("%d GPUs visible: relaunching under torchrun", torch.cuda.device_count())
        os.execv(relaunch[0], relaunch)
    ckpt_dir = Path(args.output).parent / f".{Path(args.output).stem}_checkpoints"
    trainer = train.Trainer(section.train, ckpt_dir, args.threads, train.code_fingerprint())
    result = trainer.fit(model, dataset, fixed_batch)
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    if int(os.environ.get("RANK", 0)) != 0:
        return None
    ckpt = train.load_checkpoint(ckpt_dir / train.CHECKPOINT_NAME)
    ckpt["provenance"] = collect(args.config, [args.data] + list(args.extra_inputs), result.device)
    with atomic_path(args.output) as tmp:
        torch.save(ckpt, tmp)
    shutil.rmtree(ckpt_dir)  # a finished run leaves nothing to resume
    return result


def _write_log(args, result: train.TrainResult, method: str, seed: int) -> None:
    table = tidy(result.log, experiment=method, dataset=args.dataset, method=method,
                 implementation="ours", seed=seed)
    write_table(table, args.train_log, collect(args.config, [args.output], result.device))


def cmd_train_classifier(args) -> None:
    section = load_section(ClassifierSection, args.config, "classifier")
    data = datasets.load_npz(args.data)
    model_cfg = dataclasses.replace(section.model, in_channels=data.x_train.shape[-1],
                                    n_classes=max(len(data.classes), int(data.y_train.max()) + 1))
    seed_init(section.train.seed)
    model = Classifier(model_cfg)
    result = _train(args, model, section, ImageDataset(data.x_train, data.y_train, section.train.hflip))
    if result is None:
        return
    clf = result.ema.eval()
    with torch.no_grad():
        x = to_tensor(data.x_test).to(next(clf.parameters()).device)
        pred = torch.cat([clf(b).argmax(1).cpu() for b in x.split(512)])
    acc = float((pred.numpy() == data.y_test).mean())
    log.info("classifier test accuracy (EMA weights): %.4f", acc)
    result.log.append({"step": result.steps, "metric": "test_accuracy", "value": acc})
    _write_log(args, result, "classifier", section.train.seed)


def cmd_train_vqvae(args) -> None:
    section = load_section(VQVAESection, args.config, "vqvae")
    data = datasets.load_npz(args.data)
    seed_init(section.train.seed)
    model = VQVAE(dataclasses.replace(section.model, in_channels=data.x_train.shape[-1]))
    if data.x_train.shape[1] % 2**section.model.downsample:
        raise ValueError(f"vqvae.model.downsample: {section.model.downsample} halvings do not divide "
                         f"the image size {data.x_train.shape[1]}")
    fixed = to_tensor(data.x_test[:16])
    result = _train(args, model, section, ImageDataset(data.x_train, data.y_train, section.train.hflip), fixed)
    if result is None:
        return
    _write_log(args, result, "vqvae", section.train.seed)
    with atomic_path(args.activations) as tmp, open(tmp, "wb") as f:
        np.savez(f, **{k: v.numpy() for k, v in result.activations.items()})


@torch.no_grad()
def encode_all(vq: VQVAE, x: np.ndarray, batch: int = 512) -> torch.Tensor:
    device = next(vq.parameters()).device
    return torch.cat([vq.encode(to_tensor(x[i : i + batch]).to(device)).cpu() for i in range(0, len(x), batch)])


def cmd_train_prior(args) -> None:
    section = load_section(PriorSection, args.config, "prior")
    args.extra_inputs = (args.vqvae,)
    data = datasets.load_npz(args.data)
    vq, _ = train.load_model(args.vqvae, VQVAE, ema=True)
    codes = encode_all(vq, data.x_train)
    model_cfg = dataclasses.replace(section.model, codebook_size=vq.config.codebook_size,
                                    height=codes.shape[1], width=codes.shape[2])
    seed_init(section.train.seed)
    result = _train(args, CodePrior(model_cfg), section, CodesDataset(codes))
    if result is None:
        return
    _write_log(args, result, "prior", section.train.seed)


def cmd_evaluate_vqvae(args) -> None:
    from pipeline.images.evaluate import evaluate

    cfg = load_section(EvaluateConfig, args.config, "evaluate")
    device = train.resolve_device(cfg.device, args.threads)
    data = datasets.load_npz(args.data)
    rows, arrays = evaluate(cfg, data, args.vqvae, args.prior, args.classifier, device)
    inputs = [args.data, args.vqvae, args.prior, args.classifier]
    table = tidy(rows, experiment="vqvae", dataset=args.dataset, seed=cfg.seed)
    write_table(table, args.output, collect(args.config, inputs, str(device)))
    if args.html:
        write_html_table(table, args.html)
    with atomic_path(args.samples) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def cmd_plot_vqvae(args) -> None:
    with np.load(args.samples) as z:
        a = {k: z[k] for k in z.files}
    with np.load(args.activations) as z:
        acts = {k: z[k] for k in z.files}
    logs = {name: pd.read_parquet(path) for name, path in (("vqvae", args.vqvae_log), ("prior", args.prior_log))}
    figs = {
        args.reconstructions: figures.image_grids({"test images": a["real"], "EMA dec(z_q)": a["recon_ema"],
                                                   "raw dec(z_q)": a["recon_raw"]}),
        args.samples_figure: figures.image_grids({"prior samples (EMA)": a["samples_ema"],
                                                  "prior samples (raw)": a["samples_raw"]}),
        args.codebook: figures.codebook_usage({"EMA": a["code_counts_ema"], "raw": a["code_counts_raw"]}),
        args.activations_figure: figures.activation_maps(acts),
        args.losses: figures.loss_curves(logs, {"vqvae": ["mse_x", "mse_e", "mse_z"], "prior": ["bits_per_code"]}),
    }
    for path, fig in figs.items():
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=120)
        figures.plt.close(fig)


# ---------------------------------------------------------------- registration
def register(subparsers: argparse._SubParsersAction) -> None:
    def verb(name, func, help_, *paths, threads=False, dataset=True):
        p = subparsers.add_parser(name, help=help_)
        add_config_argument(p)
        if dataset:
            p.add_argument("--dataset", default="dataset", help="dataset name (the {dataset} wildcard)")
        for path in paths:
            p.add_argument(f"--{path}", required=True)
        if threads:
            p.add_argument("--threads", type=int, default=1, help="CPU threads (the rule's threads)")
        p.set_defaults(func=func, extra_inputs=())
        return p

    p = verb("prepare-dataset", cmd_prepare_dataset, "read a dataset into one npz + summary table",
             "output", "summary")
    p.add_argument("--download-dir", default="resources/images", help="where downloads are kept")
    verb("train-classifier", cmd_train_classifier, "train the feature classifier for the Fréchet distance",
         "data", "output", "train-log", threads=True)
    verb("train-vqvae", cmd_train_vqvae, "train a VQ-VAE", "data", "output", "train-log", "activations",
         threads=True)
    verb("train-prior", cmd_train_prior, "train the code prior on the VQ-VAE's codes",
         "data", "vqvae", "output", "train-log", threads=True)
    p = verb("evaluate-vqvae", cmd_evaluate_vqvae, "reconstruction, codebook, bits/dim and sample metrics",
             "data", "vqvae", "prior", "classifier", "output", "samples", threads=True)
    p.add_argument("--html", help="also write the metrics as an HTML table (for the report)")
    verb("plot-vqvae", cmd_plot_vqvae, "report figures", "samples", "vqvae-log", "prior-log",
         "reconstructions", "samples-figure", "codebook", "losses", "activations",
         "activations-figure", dataset=False)

