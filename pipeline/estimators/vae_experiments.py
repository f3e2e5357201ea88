"""E2.5: train the author's discrete VAE and its baselines on the shared engine, and evaluate them.

Training (:func:`train_dvae`) evaluates the test -ELBO at the end of every epoch, as the author's
Keras ``fit(validation_data=...)`` does: ``test_neg_elbo`` with the relaxed sample at the current
tau (his validation loss) and ``test_neg_elbo_hard`` with an exact categorical sample (the ELBO of
the discrete model). Evaluation (:func:`evaluate_dvae`) adds the importance-weighted bound
(IWAE, k samples), a grid of decoded random one-hot codes, and sample quality on the in-pipeline
classifier: the share of samples classified with confidence above a threshold and the Fréchet
distance of its features, each beside the same figure for real test images.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from pipeline import tables
from pipeline.engine import TrainConfig, load_model, train_to_checkpoint
from pipeline.images import metrics
from pipeline.images.classifier import Classifier
from pipeline.images.datasets import ImageSet
from pipeline.images.dvae import DiscreteVAE, DVAEConfig
from pipeline.images.loader import ImageDataset, to_tensor, to_uint8
from pipeline.io import DataError

log = logging.getLogger(__name__)

#: Seed of the Monte Carlo draws of every evaluation (kept apart from the training RNG streams).
EVAL_SEED = 12345


@dataclasses.dataclass(frozen=True)
class DVAETrainConfig:
    """``...variants.<variant>.train``: the author's batch 100, 30 epochs, RMSprop lr 1e-3."""

    epochs: int = 30
    batch_size: int = 100
    lr: float = 1e-3
    seed: int = 0
    device: str = "auto"
    ema_decay: float = 0.999
    log_every: int = 100
    checkpoint_every: int = 600
    eval_batch_size: int = 1000

    def __post_init__(self):
        for key in ("epochs", "batch_size", "log_every", "checkpoint_every", "eval_batch_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"train.{key}: {getattr(self, key)} must be >= 1")

    def engine_config(self, steps: int) -> TrainConfig:
        # ddp=False: one process, since the per-epoch evaluation runs in the loop's callback
        return TrainConfig(steps=steps, batch_size=self.batch_size, lr=self.lr, seed=self.seed,
                           device=self.device, ema_decay=self.ema_decay, log_every=self.log_every,
                           checkpoint_every=self.checkpoint_every, amp=False, ddp=False)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class DVAEVariantConfig:
    """One variant: the model (:class:`DVAEConfig`) and its training settings."""

    model: DVAEConfig = dataclasses.field(default_factory=DVAEConfig)
    train: DVAETrainConfig = dataclasses.field(default_factory=DVAETrainConfig)


@dataclasses.dataclass(frozen=True)
class DVAEEvaluateConfig:
    """``estimators.dvae.datasets.<name>.evaluate``."""

    iwae_k: int = 100
    iwae_images: int | None = None  # test images of the IWAE bound (None: all)
    n_samples: int = 1000
    confidence: float = 0.9
    n_grid: int = 225  # the author's 15 x 15 grid
    batch_size: int = 500
    device: str = "auto"

    def __post_init__(self):
        for key in ("iwae_k", "n_grid", "batch_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"evaluate.{key}: {getattr(self, key)} must be >= 1")
        if self.iwae_images is not None and self.iwae_images < 1:
            raise ValueError(f"evaluate.iwae_images: {self.iwae_images} must be >= 1 (or null)")
        if self.n_samples < 2:
            raise ValueError(f"evaluate.n_samples: {self.n_samples} must be >= 2")
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"evaluate.confidence: {self.confidence} must be in (0, 1)")


def build_model(cfg: DVAEConfig, data: ImageSet) -> DiscreteVAE:
    """The model for this data: image size and channels from the images (checked if set)."""
    _, h, w, c = data.x_train.shape
    if h != w:
        raise DataError(f"images are {h}x{w}; the discrete VAE needs square images")
    if cfg.image_size is not None and cfg.image_size != h:
        raise ValueError(f"model.image_size: {cfg.image_size} but the data are {h}x{w}")
    return DiscreteVAE(dataclasses.replace(cfg, image_size=h, in_channels=c))


def to_unit(x_uint8: np.ndarray) -> torch.Tensor:
    """uint8 NHWC -> float NCHW in [0, 1] (the author's scaling)."""
    return (to_tensor(x_uint8) + 1.0) / 2.0


@torch.no_grad()
def test_neg_elbo(model: DiscreteVAE, x01: torch.Tensor, tau: float | None, batch: int) -> float:
    """Mean -ELBO over the test set with one latent sample per image (see the module docstring)."""
    device = next(model.parameters()).device
    total = sum(
        float(model.neg_elbo(b.to(device), tau)["neg_elbo"].sum()) for b in x01.split(batch)
    )
    return total / len(x01)


@torch.no_grad()
def neg_iwae(model: DiscreteVAE, x01: torch.Tensor, k: int, batch: int) -> float:
    """Mean ``-log (1/k) sum_j p(x, z_j) / q(z_j | x)``: an upper bound on -log p(x), tighter
    than the -ELBO (Burda et al. 2016)."""
    device = next(model.parameters()).device
    per_batch = max(1, batch // k)
    total = 0.0
    for b in x01.split(per_batch):
        w = model.log_weights(b.to(device), k)
        total -= float((torch.logsumexp(w, 1) - math.log(k)).sum())
    return total / len(x01)


def _own_rng(model: DiscreteVAE):
    """Fork the CPU (and the model's CUDA) RNG: evaluation draws leave training's streams as they
    were, so a resumed run matches an uninterrupted one."""
    device = next(model.parameters()).device
    return torch.random.fork_rng(devices=[device] if device.type == "cuda" else [])


def epoch_rows(
    model: DiscreteVAE, x_test01: torch.Tensor, epoch: int, step: int, batch: int
) -> list[dict]:
    """The per-epoch evaluation, on its own RNG stream so that training randomness is untouched."""
    tau = model.config.tau(max(step - 1, 0))  # the temperature of the epoch's last batch
    was_training = model.training
    model.eval()
    with _own_rng(model):
        torch.manual_seed(EVAL_SEED + epoch)
        rows = {"tau": tau, "test_neg_elbo": test_neg_elbo(model, x_test01, tau, batch)}
        if model.config.latent == "categorical":
            rows["test_neg_elbo_hard"] = test_neg_elbo(model, x_test01, None, batch)
    model.train(was_training)
    log.info(
        "epoch %d (step %d): %s", epoch, step, ", ".join(f"{k}={v:.4g}" for k, v in rows.items())
    )
    return [{"step": epoch, "metric": k, "value": float(v)} for k, v in rows.items()]


def train_dvae(
    cfg: DVAEVariantConfig,
    data: ImageSet,
    dataset: str,
    variant: str,
    output: str | os.PathLike,
    provenance: Callable[[str], dict],
    threads: int = 1,
) -> pd.DataFrame:
    """Train one variant on the engine (exact resume from a folder beside ``output``), evaluating
    the test -ELBO after every epoch; write the final checkpoint; return the per-epoch rows
    (``step`` = epoch, 1-based) plus the engine's throughput.

    The initial weights come from ``train.seed``: the engine seeds torch only once the model
    exists, and torch's default generator is seeded afresh in every process, so an unseeded
    initialisation made every run differ (all -ELBO rows, from epoch 1)."""
    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg.model, data)
    per_epoch = len(data.x_train) // cfg.train.batch_size
    if per_epoch == 0:
        raise DataError(
            f"the training set has {len(data.x_train)} images, fewer than "
            f"train.batch_size {cfg.train.batch_size}; lower train.batch_size"
        )
    engine_cfg = cfg.train.engine_config(per_epoch * cfg.train.epochs)
    x_test01 = to_unit(data.x_test)

    def on_step(step: int) -> None:
        if step % per_epoch == 0:
            model.history += epoch_rows(
                model, x_test01, step // per_epoch, step, cfg.train.eval_batch_size
            )

    start = time.perf_counter()
    result = train_to_checkpoint(
        model,
        engine_cfg,
        ImageDataset(data.x_train, data.y_train),
        output,
        provenance,
        threads,
        on_step=on_step,
        sources=(__file__,),
    )
    seconds = time.perf_counter() - start
    speed = [r["value"] for r in result.log if r["metric"] == "images_per_s"]
    rows = list(model.history) + [
        {"step": -1, "metric": "train_seconds", "value": seconds},
        {
            "step": -1,
            "metric": "engine_images_per_s",
            "value": float(np.median(speed)) if speed else math.nan,
        },
    ]
    return tables.results_frame(
        rows,
        experiment="E2.5",
        dataset=dataset,
        method=variant,
        implementation="ours",
        seed=cfg.train.seed,
    )


def classifier_view(
    clf: Classifier, x01: torch.Tensor, threshold: float, batch: int
) -> tuple[float, np.ndarray]:
    """(share of images classified with max softmax probability > threshold, penultimate features)."""
    device = next(clf.parameters()).device
    confident, feats = 0, []
    with torch.no_grad():
        for b in x01.split(batch):
            x = b.to(device) * 2.0 - 1.0  # the classifier was trained on [-1, 1]
            confident += int((torch.softmax(clf(x), 1).max(1).values > threshold).sum())
            feats.append(clf.embed(x).cpu())
    return confident / len(x01), torch.cat(feats).double().numpy()


def evaluate_variant(
    model: DiscreteVAE,
    cfg: DVAEEvaluateConfig,
    x_test01: torch.Tensor,
    clf: Classifier,
    real_features: np.ndarray,
) -> tuple[dict[str, float], np.ndarray]:
    """Final metrics of one trained variant and its decoded random codes (uint8 NHWC)."""
    device = next(model.parameters()).device
    with _own_rng(model):
        torch.manual_seed(EVAL_SEED)
        x_iwae = x_test01[: cfg.iwae_images]
        out = {
            f"neg_iwae_k{cfg.iwae_k}": neg_iwae(
                model, x_iwae, cfg.iwae_k, cfg.batch_size * cfg.iwae_k // 10
            ),
            # the -ELBO on the same images, beside the bound
            "neg_elbo_iwae_images": test_neg_elbo(model, x_iwae, None, cfg.batch_size),
        }
        if model.config.latent == "categorical":
            out["test_neg_elbo_hard"] = test_neg_elbo(model, x_test01, None, cfg.batch_size)
        else:
            out["test_neg_elbo"] = test_neg_elbo(model, x_test01, None, cfg.batch_size)
    codes = model.sample_codes(cfg.n_samples, torch.Generator().manual_seed(EVAL_SEED))
    with torch.no_grad():
        samples = torch.cat(
            [torch.sigmoid(model.decode(c.to(device))).cpu() for c in codes.split(cfg.batch_size)]
        )
    share, feats = classifier_view(clf, samples, cfg.confidence, cfg.batch_size)
    out["confident_share"] = share
    out["frechet_distance"] = metrics.frechet_distance(feats, real_features)
    return out, to_uint8(samples[: cfg.n_grid] * 2.0 - 1.0)


def evaluate_dvae(
    cfg: DVAEEvaluateConfig,
    data: ImageSet,
    dataset: str,
    models: dict[str, str],
    classifier_path: str,
    device: str,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """E2.5 final rows for every variant (``method`` = variant) and for real images
    (``real_test``, ``real_train_vs_test``), and the sample grids by variant."""
    x_test01 = to_unit(data.x_test)
    clf = load_model(classifier_path, Classifier, ema=True)[0].to(device)
    n = min(cfg.n_samples, len(data.x_test), len(data.x_train))
    rng = np.random.default_rng(EVAL_SEED)
    share_test, feat_test = classifier_view(
        clf,
        x_test01[torch.from_numpy(rng.choice(len(x_test01), n, replace=False))],
        cfg.confidence,
        cfg.batch_size,
    )
    _, feat_train = classifier_view(
        clf,
        to_unit(data.x_train[rng.choice(len(data.x_train), n, replace=False)]),
        cfg.confidence,
        cfg.batch_size,
    )
    rows = [
        {"method": "real_test", "metric": "confident_share", "value": share_test},
        {
            "method": "real_train_vs_test",
            "metric": "frechet_distance",
            "value": metrics.frechet_distance(feat_train, feat_test),
        },
    ]
    grids = {"real": data.x_test[: cfg.n_grid]}
    for variant, path in models.items():
        model = load_model(path, DiscreteVAE, ema=False)[0].to(device)  # the author uses no EMA
        values, grids[variant] = evaluate_variant(model, cfg, x_test01, clf, feat_test)
        rows += [{"method": variant, "metric": k, "value": float(v)} for k, v in values.items()]
        log.info("%s: %s", variant, ", ".join(f"{k}={v:.4g}" for k, v in values.items()))
    frame = tables.results_frame(rows, experiment="E2.5", dataset=dataset, implementation="ours")
    return frame, grids


CONFIG_SECTIONS: dict[str, type] = {
    "$defs.dvae_model": DVAEConfig,
    "$defs.dvae_train": DVAETrainConfig,
    "$defs.dvae_evaluate": DVAEEvaluateConfig,
}
