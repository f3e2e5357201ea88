"""Post 4's experiments (E4.1-E4.5), each a frozen config and a run function returning results rows.

Every run function returns a frame in the one results schema (:mod:`pipeline.tables`); the
mechanisms live in the concept modules (:mod:`.dirac_gan`, :mod:`.capture`, :mod:`.averaging`,
:mod:`.loading`). :data:`CONFIG_SECTIONS` maps each sub-section of the ``dynamics`` config to its
dataclass (the schema's defaults are checked against these).
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile

import numpy as np
import pandas as pd

from pipeline import tables
from pipeline.dynamics import dirac_gan as dg
from pipeline.images.datasets import ImageSet

log = logging.getLogger(__name__)


def _positive(section: str, obj, *keys: str) -> None:
    for key in keys:
        if not getattr(obj, key) > 0:
            raise ValueError(f"dynamics.{section}.{key}: {getattr(obj, key)} must be > 0")


def _decay(key: str, value: float) -> float:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{key}: EMA decay {value} not in [0, 1)")
    return float(value)


# ---------------------------------------------------------------- E4.4 Dirac-GAN
@dataclasses.dataclass(frozen=True)
class DiracGanConfig:
    """E4.4: the Dirac-GAN ODEs from the author's initial state, and a discrete-time check."""

    variants: tuple[str, ...] = dg.VARIANTS
    phi0: tuple[float, ...] = (0.1, 0.2)
    theta0: tuple[float, ...] = (0.2, 0.1)
    t_end: float = 100.0
    n_eval: int = 10001  # evaluation grid of the ODE (and of the EMA)
    gp_weight: float = 1.0  # w in w (|grad D| - c)^2
    qp_lambda: float = 1.0  # lambda of GAN-QP's quadratic penalty
    ema_decay: float = 0.999  # per grid step (t_end / (n_eval - 1) time units)
    tail_fraction: float = 0.2  # |theta| statistics over the last part of [0, t_end]
    step_size: float = 0.002  # discrete simulated-gradient check: s <- s + h f(s)
    rtol: float = 1e-8
    atol: float = 1e-10
    max_norm: float = 1e3  # |(phi, theta)| beyond this is divergence: an error, not a figure

    def __post_init__(self):
        object.__setattr__(self, "variants", tuple(self.variants))
        object.__setattr__(self, "phi0", tuple(float(v) for v in self.phi0))
        object.__setattr__(self, "theta0", tuple(float(v) for v in self.theta0))
        for v in self.variants:
            if v not in dg.VARIANTS:
                raise ValueError(f"dynamics.dirac_gan.variants: {v!r} is not one of {dg.VARIANTS}")
        if len(self.phi0) != len(self.theta0) or not self.phi0:
            raise ValueError(
                f"dynamics.dirac_gan.phi0 / theta0: lengths {len(self.phi0)} and "
                f"{len(self.theta0)} must be equal and >= 1"
            )
        _positive("dirac_gan", self, "t_end", "step_size", "rtol", "atol", "max_norm", "qp_lambda")
        if self.n_eval < 3:
            raise ValueError(f"dynamics.dirac_gan.n_eval: {self.n_eval} must be >= 3")
        if self.gp_weight < 0:
            raise ValueError(f"dynamics.dirac_gan.gp_weight: {self.gp_weight} must be >= 0")
        if not 0.0 < self.tail_fraction <= 1.0:
            raise ValueError(
                f"dynamics.dirac_gan.tail_fraction: {self.tail_fraction} not in (0, 1]"
            )
        _decay("dynamics.dirac_gan.ema_decay", self.ema_decay)
        if self.step_size > self.t_end:
            raise ValueError(
                f"dynamics.dirac_gan.step_size: {self.step_size} exceeds t_end {self.t_end}"
            )


def dirac_gan(cfg: DiracGanConfig) -> tuple[pd.DataFrame, list[dg.Trajectory]]:
    """E4.4: each variant by ``solve_ivp`` and by small simultaneous gradient steps.

    Returns the results rows (``|theta|`` at the end and over the tail, the EMA's distance to the
    equilibrium) and the trajectories for the figures. Raises :class:`DivergenceError` naming the
    variant if a path leaves ``|state| <= max_norm``.
    """
    state0 = np.array(cfg.phi0 + cfg.theta0)
    d = len(cfg.phi0)
    rows, paths = [], []
    for variant in cfg.variants:
        field = dg.vector_field(variant, cfg.gp_weight, cfg.qp_lambda)
        runs = {
            ("ode", "scipy"): (
                dg.integrate,
                (cfg.n_eval, cfg.rtol, cfg.atol, cfg.max_norm),
                f"dynamics.dirac_gan: the {variant} ODE",
            ),
            ("discrete", "ours"): (
                dg.simulate,
                (cfg.step_size, cfg.n_eval, cfg.max_norm),
                f"dynamics.dirac_gan: the {variant} simulated gradient "
                f"(step_size {cfg.step_size:g})",
            ),
        }
        for (method, impl), (run, options, what) in runs.items():
            t, states = run(field, state0, cfg.t_end, *options, what=what)
            # the EMA runs on the path's own grid; the discrete grid has the ODE's spacing
            decay = cfg.ema_decay ** ((t[1] - t[0]) / (cfg.t_end / (cfg.n_eval - 1)))
            theta = states[:, d:]
            path = dg.Trajectory(
                variant, method, t, states[:, :d], theta, dg.ema_path(theta, decay)
            )
            paths.append(path)
            for metric, value in path.summary(cfg.tail_fraction).items():
                rows.append(
                    {
                        "method": f"{variant}/{method}",
                        "implementation": impl,
                        "metric": metric,
                        "value": value,
                    }
                )
            log.info(
                "%s %s: |theta(T)| = %.4g, |EMA(theta)(T)| = %.4g",
                variant,
                method,
                np.linalg.norm(theta[-1]),
                np.linalg.norm(path.theta_ema[-1]),
            )
    frame = tables.results_frame(rows, experiment="E4.4", dataset="dirac", seed=-1, step=-1)
    return frame, paths


def _data(data: ImageSet, max_train: int | None = None, max_test: int | None = None):
    """(train dataset in [-1, 1], test images (N, C, H, W), test labels) from an image set."""
    import torch

    from pipeline.images.loader import ImageDataset, to_tensor

    x_tr, y_tr = data.x_train[:max_train], data.y_train[:max_train]
    x_te, y_te = data.x_test[:max_test], data.y_test[:max_test]
    return ImageDataset(x_tr, y_tr), to_tensor(x_te), torch.as_tensor(y_te, dtype=torch.long)


def _mlp(data: ImageSet, hidden, dropout):
    from pipeline.images.mlp import MLP, MLPConfig

    h, w, c = data.x_train.shape[1:]
    return MLP(
        MLPConfig(
            in_features=h * w * c,
            hidden=tuple(hidden),
            dropout=dropout,
            n_classes=int(max(data.y_train.max(), data.y_test.max())) + 1,
        )
    )


# ---------------------------------------------------------------- E4.1 intermediate variables
@dataclasses.dataclass(frozen=True)
class IntermediateConfig:
    """E4.1: the post's MLP with its ``Normal`` layer, trained briefly; ``x_normalized`` and an
    attention layer's weights read out and compared with the same tensors by hand."""

    dataset: str = "digits"
    hidden: tuple[int, ...] = (512, 256)
    dropout: float = 0.2
    steps: int = 300
    batch_size: int = 64
    lr: float = 1e-3
    attention_heads: int = 2  # image rows as tokens: embed dim = image width x channels
    n_check: int = 256  # test images the readouts are compared on
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self):
        object.__setattr__(self, "hidden", tuple(self.hidden))
        for key in ("steps", "batch_size", "attention_heads", "n_check"):
            if getattr(self, key) < 1:
                raise ValueError(
                    f"dynamics.intermediate_variables.{key}: {getattr(self, key)} must be >= 1"
                )
        _positive("intermediate_variables", self, "lr")


def intermediate_variables(cfg: IntermediateConfig, data: ImageSet) -> pd.DataFrame:
    """E4.1 rows: largest |difference| between each readout and the tensor by hand, and the
    trained MLP's test accuracy (context only)."""
    import torch

    from pipeline.dynamics import averaging, capture
    from pipeline.engine import TrainConfig, Trainer

    train, x_test, y_test = _data(data)
    torch.manual_seed(cfg.seed)
    model = _mlp(data, cfg.hidden, cfg.dropout)
    tcfg = TrainConfig(
        steps=cfg.steps,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        seed=cfg.seed,
        device=cfg.device,
        log_every=cfg.steps,
        checkpoint_every=cfg.steps,
    )
    model = Trainer(tcfg).fit(model, train).model.cpu()
    x = x_test[: cfg.n_check]
    read = capture.normalized_readouts(model, x)
    _, c, h, w = x.shape
    if (w * c) % cfg.attention_heads:
        raise ValueError(
            f"dynamics.intermediate_variables.attention_heads: {cfg.attention_heads} "
            f"does not divide the token width {w * c}"
        )
    mha = torch.nn.MultiheadAttention(w * c, cfg.attention_heads, batch_first=True)
    tokens = x.permute(0, 2, 3, 1).reshape(len(x), h, w * c)  # one token per image row
    values = {
        ("normal_x_normalized", "hook"): capture.max_abs_diff(read["hook"], read["by_hand"]),
        ("normal_x_normalized", "attribute"): capture.max_abs_diff(
            read["attribute"], read["by_hand"]
        ),
        ("normal_x_normalized", "hook_vs_attribute"): capture.max_abs_diff(
            read["hook"], read["attribute"]
        ),
        ("attention_weights", "hook"): capture.max_abs_diff(
            capture.attention_weights_by_hook(mha, tokens),
            capture.attention_weights_by_hand(mha, tokens),
        ),
    }
    rows = [
        {"method": f"{tensor}/{how}", "metric": "max_abs_diff", "value": v}
        for (tensor, how), v in values.items()
    ]
    rows.append(
        {
            "method": "mlp",
            "metric": "test_accuracy",
            "value": averaging.accuracy(model, x_test, y_test),
        }
    )
    return tables.results_frame(
        rows, experiment="E4.1", dataset=cfg.dataset, implementation="ours", seed=cfg.seed, step=-1
    )


# ---------------------------------------------------------------- E4.2 EMA semantics
@dataclasses.dataclass(frozen=True)
class EmaSemanticsConfig:
    """E4.2: EMA never moves the raw weights; the shadow is the bias-corrected closed form."""

    dataset: str = "digits"
    hidden: tuple[int, ...] = (512, 256)
    dropout: float = 0.2
    steps: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    ema_decays: tuple[float, ...] = (0.999, 0.9999)
    scalar_length: int = 2000  # length of the random scalar sequence of the closed-form check
    scalar_decays: tuple[float, ...] = (0.9, 0.999)
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "hidden", tuple(self.hidden))
        for key in ("ema_decays", "scalar_decays"):
            value = tuple(_decay(f"dynamics.ema_semantics.{key}", d) for d in getattr(self, key))
            if not value:
                raise ValueError(f"dynamics.ema_semantics.{key}: give at least one decay")
            object.__setattr__(self, key, value)
        for key in ("steps", "batch_size", "scalar_length"):
            if getattr(self, key) < 1:
                raise ValueError(f"dynamics.ema_semantics.{key}: {getattr(self, key)} must be >= 1")
        _positive("ema_semantics", self, "lr")


def ema_semantics(cfg: EmaSemanticsConfig, data: ImageSet) -> pd.DataFrame:
    """E4.2 rows: the raw weights of an engine run with EMAs against a bare loop with none (and
    against an engine run with one decay), and the shadow against the closed form."""
    import copy

    import torch

    from pipeline.dynamics import averaging
    from pipeline.engine import TrainConfig, Trainer

    train, _, _ = _data(data)
    torch.manual_seed(cfg.seed)
    model = _mlp(data, cfg.hidden, cfg.dropout)
    base = dict(
        steps=cfg.steps,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        seed=cfg.seed,
        device="cpu",
        log_every=cfg.steps,
        checkpoint_every=cfg.steps,
    )
    several = Trainer(TrainConfig(**base, ema_decay=cfg.ema_decays)).fit(
        copy.deepcopy(model), train
    )
    one = Trainer(TrainConfig(**base, ema_decay=cfg.ema_decays[0])).fit(copy.deepcopy(model), train)
    bare = averaging.train_without_ema(model, TrainConfig(**base), train)
    rows = [
        {
            "method": "engine_emas_vs_bare_loop",
            "implementation": "torch",
            "metric": "raw_weights_max_abs_diff",
            "value": averaging.max_weight_difference(several.model, bare),
        },
        {
            "method": "engine_emas_vs_one_ema",
            "implementation": "ours",
            "metric": "raw_weights_max_abs_diff",
            "value": averaging.max_weight_difference(several.model, one.model),
        },
        {
            "method": "ema_vs_raw",
            "implementation": "ours",
            "metric": "weights_max_abs_diff",
            "value": averaging.max_weight_difference(several.ema, several.model),
        },
        {
            "method": "apply_evaluate_restore",
            "implementation": "ours",
            "metric": "raw_weights_max_abs_diff",
            "value": averaging.apply_evaluate_restore(several.model, several.ema, _data(data)[1:]),
        },
    ]
    values = np.random.default_rng(cfg.seed).normal(size=cfg.scalar_length)
    for decay in cfg.scalar_decays:
        exact, ours = (
            averaging.closed_form_ema(values, decay),
            averaging.engine_shadow(values, decay),
        )
        rows.append(
            {
                "method": f"scalar_decay_{decay:g}",
                "implementation": "ours",
                "metric": "shadow_vs_closed_form_max_abs_diff",
                "value": float(np.abs(ours - exact).max()),
            }
        )
    return tables.results_frame(
        rows, experiment="E4.2", dataset=cfg.dataset, seed=cfg.seed, step=-1
    )


# ---------------------------------------------------------------- E4.3 EMA benefit
@dataclasses.dataclass(frozen=True)
class EmaBenefitConfig:
    """E4.3: one run, the raw model and each EMA decay evaluated side by side after every epoch
    (post 6583: ResNet20 on CIFAR-10, Adam 1e-3 constant; EMA 0.9999 > 90 % vs ~86 %)."""

    dataset: str = "digits"
    model: str = "mlp"  # mlp (the post's MLP) | resnet
    hidden: tuple[int, ...] = (512, 256)  # mlp
    dropout: float = 0.2  # mlp
    depth: int = 8  # resnet: 6n + 2 (ResNet20: 20)
    width: int = 8  # resnet: first stage's channels (ResNet20: 16)
    augment: bool = True  # resnet: random crop (pad 4) and horizontal flip
    epochs: int = 40
    batch_size: int = 128
    lr: float = 1e-3  # Adam, constant
    ema_decays: tuple[float, ...] = (0.999, 0.9999)
    last_epochs: int = 20  # the accuracy's std over this many final epochs
    max_train: int | None = None
    max_test: int | None = None
    device: str = "auto"
    num_workers: int = 0

    def __post_init__(self):
        object.__setattr__(self, "hidden", tuple(self.hidden))
        decays = tuple(_decay("dynamics.ema_benefit.ema_decays", d) for d in self.ema_decays)
        if not decays or len(set(decays)) != len(decays):
            raise ValueError(
                f"dynamics.ema_benefit.ema_decays: {list(self.ema_decays)} must be distinct, >= 1 decay"
            )
        object.__setattr__(self, "ema_decays", decays)
        if self.model not in ("mlp", "resnet"):
            raise ValueError(f"dynamics.ema_benefit.model: {self.model!r} is not mlp or resnet")
        for key in ("epochs", "batch_size", "last_epochs"):
            if getattr(self, key) < 1:
                raise ValueError(f"dynamics.ema_benefit.{key}: {getattr(self, key)} must be >= 1")
        for key in ("max_train", "max_test"):
            if getattr(self, key) is not None and getattr(self, key) < 1:
                raise ValueError(
                    f"dynamics.ema_benefit.{key}: {getattr(self, key)} must be >= 1 (or null)"
                )
        if self.num_workers < 0:
            raise ValueError(f"dynamics.ema_benefit.num_workers: {self.num_workers} must be >= 0")
        _positive("ema_benefit", self, "lr")


def cifar10_ema_benefit(size: str = "smoke") -> EmaBenefitConfig:
    """The GPU configuration of E4.3: ResNet20 on CIFAR-10, Adam 1e-3, batch 128, standard
    augmentation. ``size``: ``smoke`` (2 epochs), ``check`` (30 epochs, a few minutes on one
    H200) or ``full`` (100 epochs)."""
    epochs = {"smoke": 2, "check": 30, "full": 100}
    if size not in epochs:
        raise ValueError(f"size: {size!r} is not one of {sorted(epochs)}")
    return EmaBenefitConfig(
        dataset="cifar10",
        model="resnet",
        depth=20,
        width=16,
        augment=True,
        epochs=epochs[size],
        batch_size=128,
        lr=1e-3,
        ema_decays=(0.999, 0.9999),
        last_epochs=min(20, epochs[size]),
        device="cuda",
        num_workers=4,
    )


def ema_benefit(cfg: EmaBenefitConfig, data: ImageSet, seed: int, threads: int = 1) -> pd.DataFrame:
    """E4.3 rows: test accuracy per epoch (``step`` = epoch) for ``none`` and each ``ema_<decay>``,
    then the final accuracy, the std over the last epochs, and both against ``none``."""
    import torch

    from pipeline.dynamics import averaging, loading
    from pipeline.engine import TrainConfig
    from pipeline.images.resnet import ResNet, ResNetConfig

    loading.check_workers(cfg.num_workers, "dynamics.ema_benefit.num_workers")
    train, x_test, y_test = _data(data, cfg.max_train, cfg.max_test)
    torch.manual_seed(seed)
    if cfg.model == "mlp":
        model = _mlp(data, cfg.hidden, cfg.dropout)
    else:
        model = ResNet(
            ResNetConfig(
                depth=cfg.depth,
                width=cfg.width,
                in_channels=data.x_train.shape[-1],
                n_classes=int(data.y_train.max()) + 1,
                augment=cfg.augment,
            )
        )
    tcfg = TrainConfig(
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        ema_decay=cfg.ema_decays,
        seed=seed,
        device=cfg.device,
        num_workers=cfg.num_workers,
    )
    with tempfile.TemporaryDirectory(prefix="ema_benefit_") as work:
        curves = averaging.accuracy_per_epoch(
            model, tcfg, train, x_test, y_test, cfg.epochs, work, threads
        )
    rows = [
        {"method": name, "step": epoch, "metric": "test_accuracy", "value": acc}
        for name, accs in curves.items()
        for epoch, acc in enumerate(accs, start=1)
    ]
    for name, summary in averaging.curve_summary(curves, min(cfg.last_epochs, cfg.epochs)).items():
        rows += [{"method": name, "step": -1, "metric": k, "value": v} for k, v in summary.items()]
    return tables.results_frame(
        rows, experiment="E4.3", dataset=cfg.dataset, implementation="ours", seed=seed
    )


# ---------------------------------------------------------------- E4.5 data-loader safety
@dataclasses.dataclass(frozen=True)
class LoaderSafetyConfig:
    """E4.5: what several DataLoader workers do to map-style and iterable datasets and to a
    NumPy generator made in the parent."""

    n_items: int = 64
    num_workers: int = 4
    batch_size: int = 4
    seed: int = 0
    timeout_s: float = 120.0  # a worker silent this long is an error, never a hang

    def __post_init__(self):
        for key in ("n_items", "batch_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"dynamics.loader_safety.{key}: {getattr(self, key)} must be >= 1")
        if self.num_workers < 2:
            raise ValueError(
                f"dynamics.loader_safety.num_workers: {self.num_workers} must be >= 2 "
                "(the point is several workers)"
            )
        if self.n_items < self.num_workers * self.batch_size:
            raise ValueError(
                f"dynamics.loader_safety.n_items: {self.n_items} must be >= num_workers x "
                f"batch_size = {self.num_workers * self.batch_size} (every worker serves a batch)"
            )
        _positive("loader_safety", self, "timeout_s")


def loader_safety(cfg: LoaderSafetyConfig) -> pd.DataFrame:
    """E4.5 rows: copies of each item per epoch (min and max), distinct per-worker random
    streams, and whether two runs give the same batches."""
    import torch

    from pipeline.dynamics import loading

    w = loading.check_workers(cfg.num_workers, "dynamics.loader_safety.num_workers")
    n, b, t = cfg.n_items, cfg.batch_size, cfg.timeout_s
    rows = []
    for method, dataset in [
        ("map_style", loading.IndexDataset(n, cfg.seed)),
        ("iterable_naive", loading.NaiveStream(n)),
        ("iterable_sharded", loading.ShardedStream(n)),
    ]:
        counts = loading.copies_per_item(
            dataset, n, w, b, t, torch.Generator().manual_seed(cfg.seed)
        )
        rows += [
            {"method": method, "metric": "copies_per_item_min", "value": counts.min()},
            {"method": method, "metric": "copies_per_item_max", "value": counts.max()},
        ]
    for method, reseed in [("parent_generator", False), ("parent_generator_seed_worker", True)]:
        streams = loading.worker_streams(n, w, b, cfg.seed, t, reseed)
        rows += [
            {"method": method, "metric": "workers", "value": len(streams)},
            {
                "method": method,
                "metric": "distinct_worker_streams",
                "value": len(set(streams.values())),
            },
        ]
    first = loading.epoch_batches(n, w, b, cfg.seed, t)
    for method, other_seed in [
        ("same_generator_seed", cfg.seed),
        ("other_generator_seed", cfg.seed + 1),
    ]:
        same = loading.same_batches(first, loading.epoch_batches(n, w, b, other_seed, t))
        rows.append({"method": method, "metric": "identical_batches", "value": float(same)})
    return tables.results_frame(
        rows, experiment="E4.5", dataset="synthetic", implementation="ours", seed=cfg.seed, step=-1
    )


#: dotted sub-section of ``dynamics`` -> its config dataclass (schema defaults are checked against these)
CONFIG_SECTIONS: dict[str, type] = {
    "dirac_gan": DiracGanConfig,
    "intermediate_variables": IntermediateConfig,
    "ema_semantics": EmaSemanticsConfig,
    "ema_benefit": EmaBenefitConfig,
    "loader_safety": LoaderSafetyConfig,
}
