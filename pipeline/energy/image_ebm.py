"""E3.4 / E3.5 runs: train the image EBM (:mod:`pipeline.images.ebm`) on the shared engine, then
sample from its replay buffer and from fresh chains and score the samples with the in-pipeline
classifier (Fréchet distance of its features, class histogram: mode dropping).

Divergence is a result: a run whose energies blow up stops at the guard; the last checkpoint
before it is kept (with ``diverged_at_step``) and evaluated, and the report shows the step.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from collections.abc import Callable

import numpy as np
import torch

from pipeline.energy.buffer import uniform
from pipeline.energy.ebm import joint_samples
from pipeline.energy.langevin import NonFiniteEnergyError
from pipeline.energy.objective import EnergyDivergenceError
from pipeline.engine import (
    CHECKPOINT_NAME,
    NonFiniteLossError,
    TrainConfig,
    load_checkpoint,
    load_model,
)
from pipeline.engine.run import checkpoint_dir, train_to_checkpoint
from pipeline.images.classifier import Classifier
from pipeline.images.datasets import ImageSet
from pipeline.images.ebm import ImageEBM, ImageEBMConfig, to_signed
from pipeline.images.loader import ImageDataset, to_tensor, to_uint8
from pipeline.images.metrics import frechet_distance
from pipeline.io import DataError, atomic_path

log = logging.getLogger(__name__)
KEY = "energy.image_ebm.datasets.<dataset>"
DIVERGED = (EnergyDivergenceError, NonFiniteEnergyError, NonFiniteLossError)


@dataclasses.dataclass(frozen=True)
class EBMTrainConfig(TrainConfig):
    """The engine's settings with the official optimiser (Adam 3e-4, β₁ = 0, β₂ = 0.999)."""

    steps: int = 150
    batch_size: int = 32
    lr: float = 3e-4
    beta1: float = 0.0
    beta2: float = 0.999
    ema_decay: float = 0.999
    log_every: int = 10
    checkpoint_every: int = 25


@dataclasses.dataclass(frozen=True)
class EBMEvaluateConfig:
    experiment: str = "E3.4"  # checklist id of the rows (E3.5 for CIFAR-10)
    n_samples: int = 300  # samples per source (buffer, fresh, joint) and real images per set
    fresh_steps: int = 100  # Langevin steps of the fresh chains started from uniform noise
    joint: bool = False  # also sample all seeds' models jointly through one shared buffer
    joint_rounds: int = 2
    batch_size: int = 250
    seed: int = 0
    device: str = "auto"

    def __post_init__(self):
        k = f"{KEY}.evaluate"
        if self.experiment not in ("E3.4", "E3.5"):
            raise ValueError(f"{k}.experiment: {self.experiment!r} is not E3.4 or E3.5")
        for key, low in (
            ("n_samples", 2),
            ("fresh_steps", 1),
            ("joint_rounds", 1),
            ("batch_size", 1),
        ):
            if int(getattr(self, key)) != getattr(self, key) or getattr(self, key) < low:
                raise ValueError(f"{k}.{key}: {getattr(self, key)} must be an integer >= {low}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"{k}.device: {self.device!r} is not auto, cpu or cuda")


@dataclasses.dataclass(frozen=True)
class ImageEBMSection:
    """One dataset's entry of ``energy.image_ebm.datasets``."""

    model: ImageEBMConfig = dataclasses.field(default_factory=ImageEBMConfig)
    train: EBMTrainConfig = dataclasses.field(default_factory=EBMTrainConfig)
    evaluate: EBMEvaluateConfig = dataclasses.field(default_factory=EBMEvaluateConfig)


def build_model(section: ImageEBMSection, data: ImageSet) -> ImageEBM:
    _, h, w, c = data.x_train.shape
    if h != w:
        raise DataError(f"the image EBM needs square images, got {h} x {w}")
    return ImageEBM(dataclasses.replace(section.model, in_channels=c, image_size=h))


def train_image_ebm(
    section: ImageEBMSection,
    data: ImageSet,
    seed: int,
    output: str | os.PathLike,
    provenance: Callable[[str], dict],
    threads: int = 1,
) -> tuple[list[dict], int]:
    """Train one EBM and write its checkpoint to ``output``; returns the engine's log rows and
    the step it diverged at (-1: none). A diverged run keeps its last checkpoint."""
    if len(data.x_train) < section.train.batch_size:
        raise DataError(
            f"the training set has {len(data.x_train)} images, fewer than "
            f"{KEY}.train.batch_size {section.train.batch_size}; lower the batch size"
        )
    torch.manual_seed(seed)
    model = build_model(section, data)
    cfg = dataclasses.replace(section.train, seed=seed)
    dataset = ImageDataset(data.x_train, data.y_train)
    try:
        result = train_to_checkpoint(model, cfg, dataset, output, provenance, threads)
    except DIVERGED as exc:
        step = len(model.history)
        last = checkpoint_dir(output) / CHECKPOINT_NAME
        if not last.exists():
            raise ValueError(
                f"{exc}; no checkpoint was written before step {step} (lower "
                f"{KEY}.train.checkpoint_every or train.lr)"
            ) from exc
        log.warning(
            "image EBM diverged at step %d (%s): keeping the checkpoint of step %d",
            step,
            exc,
            load_checkpoint(last)["step"],
        )
        ckpt = load_checkpoint(last)
        ckpt["diverged_at_step"] = step
        ckpt["divergence"] = str(exc)
        ckpt["provenance"] = provenance("cpu")
        with atomic_path(output) as tmp:
            torch.save(ckpt, tmp)
        return list(ckpt["log"]), step
    return result.log if result is not None else [], -1


@torch.no_grad()
def _classify(clf: Classifier, x: torch.Tensor, batch: int) -> tuple[np.ndarray, np.ndarray]:
    feats, labels = [], []
    for part in x.split(batch):
        feats.append(clf.embed(part).cpu())
        labels.append(clf(part).argmax(1).cpu())
    return torch.cat(feats).double().numpy(), torch.cat(labels).numpy()


def _sample_rows(
    source: str, feats: np.ndarray, labels: np.ndarray, real: np.ndarray, n_classes: int
) -> list[dict]:
    hist = np.bincount(labels, minlength=n_classes) / len(labels)
    nz = hist[hist > 0]
    rows = [
        dict(method=source, metric="frechet_distance", value=frechet_distance(feats, real)),
        dict(method=source, metric="classes_covered", value=float((hist >= 0.05).mean())),
        dict(
            method=source,
            metric="class_entropy",
            value=float(-(nz * np.log(nz)).sum() / math.log(n_classes)),
        ),
    ]
    return rows + [
        dict(method=source, metric=f"class_share_{k}", value=float(h)) for k, h in enumerate(hist)
    ]


def _batched(fn, n: int, batch: int) -> torch.Tensor:
    return torch.cat([fn(min(batch, n - i)) for i in range(0, n, batch)])


def evaluate_image_ebm(
    cfg: EBMEvaluateConfig,
    data: ImageSet,
    model_paths: list[str],
    classifier_path: str,
    device: torch.device,
) -> tuple[list[dict], dict]:
    """Rows (per seed: buffer and fresh samples; joint over seeds) and uint8 sample arrays."""
    clf = load_model(classifier_path, Classifier, ema=True)[0].to(device).eval()
    n_classes = clf.config.n_classes
    rng = np.random.default_rng(cfg.seed)
    test = to_tensor(data.x_test[rng.permutation(len(data.x_test))[: cfg.n_samples]]).to(device)
    train = to_tensor(data.x_train[rng.permutation(len(data.x_train))[: cfg.n_samples]]).to(device)
    real_feats, real_labels = _classify(clf, test, cfg.batch_size)
    rows = _sample_rows(
        "real-train", _classify(clf, train, cfg.batch_size)[0], real_labels, real_feats, n_classes
    )
    rows = [r for r in rows if r["metric"] == "frechet_distance"]  # the floor
    rows += _sample_rows("real-test", real_feats, real_labels, real_feats, n_classes)[1:]
    gen = torch.Generator(device).manual_seed(cfg.seed)
    noise = to_signed(uniform(cfg.n_samples, tuple(test.shape[1:]), 0.0, 1.0, gen, device))
    rows += _sample_rows(
        "uniform-noise", *_classify(clf, noise, cfg.batch_size), real_feats, n_classes
    )[:1]
    arrays = {"real": to_uint8(test[:64])}
    models = []
    for path in model_paths:
        model, ckpt = load_model(path, ImageEBM, ema=False)
        model.to(device)
        seed = int(ckpt["train_config"]["seed"])
        models.append(model)
        seed_rows = [
            dict(
                method="training", metric="diverged_at_step", value=ckpt.get("diverged_at_step", -1)
            )
        ]
        for source, from_buffer, steps in (
            ("buffer", True, None),
            ("fresh", False, cfg.fresh_steps),
        ):
            t0 = time.perf_counter()
            x = to_signed(
                _batched(
                    lambda n, m=model, fb=from_buffer, s=steps: m.sample(n, s, fb, gen),
                    cfg.n_samples,
                    cfg.batch_size,
                )
            )
            log.info(
                "seed %d: %d %s samples in %.1f s",
                seed,
                cfg.n_samples,
                source,
                time.perf_counter() - t0,
            )
            seed_rows += _sample_rows(
                source, *_classify(clf, x, cfg.batch_size), real_feats, n_classes
            )
            arrays[f"seed{seed}/{source}"] = to_uint8(x[:64])
        rows += [{**r, "seed": seed} for r in seed_rows]
    if cfg.joint and len(models) > 1:
        x = to_signed(joint_samples(models, cfg.n_samples, cfg.joint_rounds, gen))
        rows += _sample_rows("joint", *_classify(clf, x, cfg.batch_size), real_feats, n_classes)
        arrays["joint"] = to_uint8(x[:64])
    return [{"seed": -1, **r} for r in rows], arrays


def gpu_check(section: ImageEBMSection, tiny: bool, data: ImageSet | None) -> list[dict]:
    """E3.5 on a GPU: train ``section`` (the reference config's CIFAR-10 entry, official flags)
    for its steps on ``data`` (random 32x32 RGB images when None) and time the sampler.
    ``tiny``: 5 steps of a 16-channel model with 5 Langevin steps and batch 16 (seconds)."""
    from pipeline.engine import Trainer

    if data is None:
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, (512, 32, 32, 3), dtype=np.uint8)
        data = ImageSet(
            x, np.zeros(512, np.int64), x[:64], np.zeros(64, np.int64), [str(k) for k in range(10)]
        )
    if tiny:
        recipe = section.model.ebm
        recipe = dataclasses.replace(recipe, langevin=dataclasses.replace(recipe.langevin, steps=5))
        section = dataclasses.replace(
            section,
            model=dataclasses.replace(section.model, width=16, ebm=recipe),
            train=dataclasses.replace(section.train, steps=5, batch_size=16, log_every=1),
        )
    model = build_model(section, data)
    device = section.train.device
    t0 = time.perf_counter()
    result = Trainer(section.train, None, 1).fit(model, ImageDataset(data.x_train, data.y_train))
    if device != "cpu" and torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    steps = section.train.steps * section.model.ebm.langevin.steps
    last = {r["metric"]: r["value"] for r in result.log if r["step"] == result.steps}
    rows = [
        dict(metric="train_steps_per_s", value=section.train.steps / seconds),
        dict(metric="langevin_steps_per_s", value=steps / seconds),
        dict(metric="abs_energy_last", value=last.get("abs_energy", float("nan"))),
        dict(metric="batch_size", value=section.train.batch_size),
    ]
    return [
        dict(
            experiment="E3.5",
            dataset="cifar10" if not tiny else "cifar10-tiny",
            method="gpu-check",
            implementation="ours",
            seed=section.train.seed,
            step=-1,
            device=result.device,
            **r,
        )
        for r in rows
    ]
