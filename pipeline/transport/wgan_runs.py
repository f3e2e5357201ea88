"""E5.5: WGAN runs on the 2-D mixtures and on images, tracking the critic's W1 estimate against
sample quality as training goes (exact W1 by POT in 2-D, the in-pipeline classifier's Fréchet
distance on images), with their Spearman rank correlation over the evaluation steps.

Three recipes (posts.md §5.2, anchors.md WGAN / WGAN-GP rows), each a frozen dataclass:
``clip`` (WGAN: RMSProp 5e-5, c = 0.01, n_critic 5), ``gp`` (WGAN-GP: Adam 1e-4, betas (0, 0.9),
lambda = 10, n_critic 5) and ``author`` (``wgan_gp_celeba.py``: Adam 2e-4, beta1 0.5, lambda = 10,
n_critic 5, batch 64, BN in the DCGAN critic; images only).
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import ot
import pandas as pd
import scipy.stats
import torch

from pipeline import tables
from pipeline.engine import ArrayDataset, TrainConfig, Trainer
from pipeline.images import metrics
from pipeline.images.wgan import NORMS, WGAN, WGANConfig
from pipeline.transport import mixtures

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ClipRecipe:
    """WGAN (Arjovsky et al. 2017): weight clipping, RMSProp."""

    lr: float = 5e-5
    clip_value: float = 0.01
    n_critic: int = 5


@dataclasses.dataclass(frozen=True)
class GPRecipe:
    """WGAN-GP (Gulrajani et al. 2017): gradient penalty, Adam (0, 0.9)."""

    lr: float = 1e-4
    beta1: float = 0.0
    beta2: float = 0.9
    gp_weight: float = 10.0
    n_critic: int = 5


@dataclasses.dataclass(frozen=True)
class AuthorRecipe:
    """The author's ``wgan_gp_celeba.py``: gradient penalty, Adam (2e-4, 0.5), BN in the critic."""

    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    gp_weight: float = 10.0
    n_critic: int = 5
    critic_norm: str = "batch"


def _model_and_optim(recipe, base: dict) -> tuple[dict, dict]:
    """(WGANConfig fields, TrainConfig fields) of one recipe on top of the architecture ``base``."""
    if isinstance(recipe, ClipRecipe):
        return (
            {
                **base,
                "lipschitz": "clip",
                "optimizer": "rmsprop",
                "clip_value": recipe.clip_value,
                "n_critic": recipe.n_critic,
            },
            {"lr": recipe.lr},
        )
    model = {
        **base,
        "lipschitz": "gp",
        "optimizer": "adam",
        "gp_weight": recipe.gp_weight,
        "n_critic": recipe.n_critic,
    }
    if isinstance(recipe, AuthorRecipe):
        model["critic_norm"] = recipe.critic_norm
    return model, {"lr": recipe.lr, "beta1": recipe.beta1, "beta2": recipe.beta2}


def _check_common(cfg, prefix: str, variants: tuple[str, ...]) -> None:
    if not cfg.seeds or min(cfg.seeds) < 0:
        raise ValueError(
            f"transport.{prefix}.seeds: {list(cfg.seeds)} must be non-empty, each >= 0"
        )
    for v in cfg.variants:
        if v not in variants:
            raise ValueError(f"transport.{prefix}.variants: {v!r} is not one of {variants}")
    for key in ("steps", "batch_size", "width", "depth", "z_dim", "eval_every", "eval_samples"):
        if getattr(cfg, key) < 1:
            raise ValueError(f"transport.{prefix}.{key}: {getattr(cfg, key)} must be >= 1")
    for name in variants:
        recipe = getattr(cfg, name)
        if recipe.n_critic < 1:
            raise ValueError(f"transport.{prefix}.{name}.n_critic: {recipe.n_critic} must be >= 1")
        if getattr(recipe, "gp_weight", 0.0) < 0:
            raise ValueError(
                f"transport.{prefix}.{name}.gp_weight: {recipe.gp_weight} must be >= 0 (lambda)"
            )
        if recipe.lr <= 0:
            raise ValueError(f"transport.{prefix}.{name}.lr: {recipe.lr} must be > 0")
        if getattr(recipe, "critic_norm", "none") not in NORMS:
            raise ValueError(
                f"transport.{prefix}.{name}.critic_norm: {recipe.critic_norm!r} is not one of {NORMS}"
            )


def _recipes(cfg, cls_by_name: dict) -> None:
    """Recipes given as plain dicts (direct construction) become their dataclasses."""
    for name, cls in cls_by_name.items():
        value = getattr(cfg, name)
        if isinstance(value, dict):
            object.__setattr__(cfg, name, cls(**value))
    for key in ("variants", "seeds", "datasets"):
        object.__setattr__(cfg, key, tuple(getattr(cfg, key)))


@dataclasses.dataclass(frozen=True)
class WganToyConfig:
    """E5.5 on 2-D mixtures: MLP generator and critic (the WGAN-GP toy set-up, shrunk)."""

    datasets: tuple[str, ...] = ("8gaussians", "25gaussians")
    variants: tuple[str, ...] = ("clip", "gp")
    seeds: tuple[int, ...] = (0,)
    steps: int = 300
    batch_size: int = 64
    width: int = 64
    depth: int = 3
    z_dim: int = 2
    eval_every: int = 25
    eval_samples: int = 500
    clip: ClipRecipe = dataclasses.field(default_factory=ClipRecipe)
    gp: GPRecipe = dataclasses.field(default_factory=GPRecipe)

    def __post_init__(self):
        _recipes(self, {"clip": ClipRecipe, "gp": GPRecipe})
        for d in self.datasets:
            if d not in mixtures.MIXTURES:
                raise ValueError(
                    f"transport.wgan_toy.datasets: {d!r} is not one of {mixtures.MIXTURES}"
                )
        _check_common(self, "wgan_toy", ("clip", "gp"))


def spearman(a, b) -> float:
    """Spearman's rank correlation (NaN when either series is constant)."""
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(scipy.stats.spearmanr(a, b).statistic)


def _train(
    model: WGAN, train: dict, dataset, seed: int, threads: int, device: str, on_step
) -> list[dict]:
    tc = TrainConfig(**train, seed=seed, device=device, ema_decay=0.999, checkpoint_every=10**9)
    return Trainer(tc, None, threads).fit(model, dataset, on_step=on_step).log


def wgan_toy(cfg: WganToyConfig, dataset: str, variant: str, seed: int, threads: int = 1):
    """Train one recipe on one mixture; every ``eval_every`` steps: exact W1 (POT) of
    ``eval_samples`` generated points to held-out data, the critic's estimate on the same sets,
    and mode coverage. Returns (results frame, final samples (n, 2), held-out data (n, 2))."""
    if dataset not in cfg.datasets or variant not in cfg.variants:
        raise ValueError(
            f"wgan_toy: dataset {dataset!r} / variant {variant!r} not in the config's "
            f"{cfg.datasets} / {cfg.variants}"
        )
    rng = np.random.default_rng(seed)
    # a quarter as many points as the run draws (about four passes), at least 16 batches
    n_train = cfg.batch_size * max(cfg.steps * getattr(cfg, variant).n_critic // 4, 16)
    data = mixtures.sample(dataset, min(n_train, 200_000), rng)
    held, held2 = (
        mixtures.sample(dataset, cfg.eval_samples, rng),
        mixtures.sample(dataset, cfg.eval_samples, rng),
    )
    base = dict(architecture="mlp", data_dim=2, z_dim=cfg.z_dim, width=cfg.width, depth=cfg.depth)
    model_kw, optim_kw = _model_and_optim(getattr(cfg, variant), base)
    torch.manual_seed(seed)
    model = WGAN(WGANConfig(**model_kw))
    z_gen = torch.Generator().manual_seed(seed + 1)
    held_t = torch.as_tensor(held, dtype=torch.float32)
    rows, key = (
        [],
        dict(experiment="E5.5", dataset=dataset, method=variant, implementation="ours", seed=seed),
    )
    floor = float(ot.emd2([], [], ot.dist(held, held2, metric="euclidean")))

    def evaluate(step: int) -> None:
        if step % cfg.eval_every and step != cfg.steps:
            return
        fake = model.sample(cfg.eval_samples, z_gen.manual_seed(seed + 1)).cpu()
        w1 = float(
            ot.emd2([], [], ot.dist(fake.numpy().astype(np.float64), held, metric="euclidean"))
        )
        cover = mixtures.mode_coverage(fake.numpy(), dataset)
        for metric, value in (
            ("w1_exact", w1),
            ("critic_estimate", model.critic_estimate(held_t, fake)),
            ("modes_covered", cover["modes_covered"]),
            ("high_quality_fraction", cover["high_quality_fraction"]),
        ):
            rows.append({**key, "step": step, "metric": metric, "value": value})

    evaluate(0)
    train = dict(steps=cfg.steps, batch_size=cfg.batch_size, log_every=cfg.eval_every, **optim_kw)
    _train(model, train, ArrayDataset(data), seed, threads, "cpu", evaluate)
    frame = pd.DataFrame(rows)
    return (
        tables.results_frame(rows + _summary(frame, key, "w1_exact", floor)),
        model.sample(2000, torch.Generator().manual_seed(seed + 2)).numpy(),
        held,
    )


def _summary(frame: pd.DataFrame, key: dict, quality: str, floor: float) -> list[dict]:
    """Final values, the floor, and the Spearman correlation of estimate and quality over steps
    (excluding step 0, where an untrained critic's estimate is meaningless)."""
    trained = frame[frame["step"] > 0].pivot_table(index="step", columns="metric", values="value")
    last = trained.iloc[-1]
    key = {**key, "step": -1}
    out = [{**key, "metric": f"{m}_final", "value": float(last[m])} for m in trained.columns]
    out += [
        {**key, "metric": f"{quality}_floor", "value": floor},
        {
            **key,
            "metric": "spearman_estimate_vs_quality",
            "value": spearman(trained["critic_estimate"], trained[quality]),
        },
    ]
    return out


@dataclasses.dataclass(frozen=True)
class WganImagesConfig:
    """E5.5 on images: the DCGAN-style pair, scaled to the image size by ``depth`` stride-2 layers."""

    datasets: tuple[str, ...] = ("digits",)
    variants: tuple[str, ...] = ("clip", "gp", "author")
    seeds: tuple[int, ...] = (0,)
    steps: int = 100
    batch_size: int = 64
    width: int = 16
    depth: int = 2
    z_dim: int = 32
    eval_every: int = 20
    eval_samples: int = 359
    device: str = "auto"
    clip: ClipRecipe = dataclasses.field(default_factory=ClipRecipe)
    gp: GPRecipe = dataclasses.field(default_factory=GPRecipe)
    author: AuthorRecipe = dataclasses.field(default_factory=AuthorRecipe)

    def __post_init__(self):
        _recipes(self, {"clip": ClipRecipe, "gp": GPRecipe, "author": AuthorRecipe})
        _check_common(self, "wgan_images", ("clip", "gp", "author"))
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(
                f"transport.wgan_images.device: {self.device!r} is not auto, cpu or cuda"
            )


def _features(classifier, x: torch.Tensor, device, batch: int = 512) -> np.ndarray:
    return torch.cat(
        [
            classifier.embed(x[i : i + batch].to(device)).float().cpu()
            for i in range(0, len(x), batch)
        ]
    ).numpy()


def wgan_images(
    cfg: WganImagesConfig,
    data,
    dataset: str,
    classifier,
    variant: str,
    seed: int,
    device: str = "cpu",
    threads: int = 1,
):
    """Train one recipe on an :class:`~pipeline.images.datasets.ImageSet`; every ``eval_every``
    steps the classifier's Fréchet distance of ``eval_samples`` samples to the test images and the
    critic's estimate on the same sets. Returns (results frame, final samples NCHW in [-1, 1])."""
    from pipeline.images.loader import ImageDataset, to_tensor

    if variant not in cfg.variants:
        raise ValueError(f"wgan_images: variant {variant!r} not in the config's {cfg.variants}")
    n, h, w, c = data.x_train.shape
    if h != w:
        raise ValueError(f"wgan_images: square images expected, got {h}x{w}")
    base = dict(
        architecture="dcgan",
        channels=c,
        image_size=h,
        z_dim=cfg.z_dim,
        width=cfg.width,
        depth=cfg.depth,
    )
    model_kw, optim_kw = _model_and_optim(getattr(cfg, variant), base)
    torch.manual_seed(seed)
    model = WGAN(WGANConfig(**model_kw))
    classifier = classifier.to(device).eval()
    m = min(cfg.eval_samples, len(data.x_test), n)
    test = to_tensor(data.x_test[:m])
    rng = np.random.default_rng(seed)
    train_ref = to_tensor(data.x_train[rng.choice(n, size=m, replace=False)])
    test_feat = _features(classifier, test, device)
    floor = metrics.frechet_distance(_features(classifier, train_ref, device), test_feat)
    z_gen, rows = torch.Generator(), []
    key = dict(experiment="E5.5", dataset=dataset, method=variant, implementation="ours", seed=seed)

    def evaluate(step: int) -> None:
        if step % cfg.eval_every and step != cfg.steps:
            return
        fake = model.sample(m, z_gen.manual_seed(seed + 1))
        fd = metrics.frechet_distance(_features(classifier, fake, device), test_feat)
        est = model.critic_estimate(test.to(fake.device), fake)
        rows.extend(
            {**key, "step": step, "metric": k, "value": v}
            for k, v in (("frechet_distance", fd), ("critic_estimate", est))
        )

    evaluate(0)
    train = dict(steps=cfg.steps, batch_size=cfg.batch_size, log_every=cfg.eval_every, **optim_kw)
    _train(model, train, ImageDataset(data.x_train), seed, threads, device, evaluate)
    frame = pd.DataFrame(rows)
    samples = model.sample(64, torch.Generator().manual_seed(seed + 2)).cpu()
    return tables.results_frame(rows + _summary(frame, key, "frechet_distance", floor)), samples
