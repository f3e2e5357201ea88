"""The run functions of post 3 (E3.1–E3.5), each with its frozen config dataclass beside it.

Each returns rows of the one results schema (:mod:`pipeline.tables`); the CLI writes them.
Every bar is project-defined: the author reproduced nothing (posts.md §3.4).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import ClassVar

import numpy as np
import pandas as pd
import scipy.optimize
import scipy.stats
import torch

from pipeline.energy import densities
from pipeline.energy.langevin import LangevinConfig, NonFiniteEnergyError, langevin
from pipeline.energy.objective import EnergyDivergenceError
from pipeline.energy.toy import (
    TOY_DATASETS,
    ToyEBM,
    ToyEBMConfig,
    ToyLangevin,
    ToyRecipe,
    energy_distance,
    mode_shares,
    toy_data,
)
from pipeline.engine import ArrayDataset, NonFiniteLossError, TrainConfig, Trainer
from pipeline.tables import results_frame

log = logging.getLogger(__name__)

#: A run that stops on one of these has diverged: recorded as a result, not a crash.
DIVERGED = (EnergyDivergenceError, NonFiniteEnergyError, NonFiniteLossError)


def _positive_list(values, key: str, kind=float) -> tuple:
    values = tuple(kind(v) for v in values)
    if not values or any(not v > 0 for v in values):
        raise ValueError(f"{key}: {list(values)} must be a non-empty list of numbers > 0")
    return values


def _at_least(value, low: int, key: str) -> None:
    if int(value) != value or value < low:
        raise ValueError(f"{key}: {value} must be an integer >= {low}")


# ---------------------------------------------------------------- E3.1
@dataclasses.dataclass(frozen=True)
class LangevinDensitiesConfig:
    """E3.1: the post's update on known densities, ε ∈ eps, ``n_chains`` chains of ``steps``."""

    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    densities: tuple[str, ...] = densities.DENSITIES
    eps: tuple[float, ...] = (0.1, 0.01, 0.001)
    n_chains: int = 10_000
    steps: int = 1000
    init: str = (
        "exact"  # exact: chains start from q itself (a stationarity test); uniform: U(-3, 3)
    )

    def __post_init__(self):
        k = "energy.langevin_densities"
        object.__setattr__(self, "seeds", tuple(self.seeds))
        object.__setattr__(self, "densities", tuple(self.densities))
        object.__setattr__(self, "eps", _positive_list(self.eps, f"{k}.eps"))
        for name in self.densities:
            densities.known_density(name)
        _at_least(self.n_chains, 2, f"{k}.n_chains")
        _at_least(self.steps, 1, f"{k}.steps")
        if self.init not in ("exact", "uniform"):
            raise ValueError(f"{k}.init: {self.init!r} is not exact or uniform")


def _chain_start(density, cfg: LangevinDensitiesConfig, rng: np.random.Generator) -> torch.Tensor:
    if cfg.init == "exact":
        x = density.sample(cfg.n_chains, rng)
    else:
        x = rng.uniform(-3, 3, (cfg.n_chains, density.dim))
    return torch.as_tensor(x, dtype=torch.float64)


def langevin_densities(cfg: LangevinDensitiesConfig) -> pd.DataFrame:
    """E3.1 for every seed of ``cfg.seeds`` (one process: the exact chain laws are shared)."""
    return pd.concat([langevin_densities_seed(cfg, s) for s in cfg.seeds], ignore_index=True)


def langevin_densities_seed(cfg: LangevinDensitiesConfig, seed: int) -> pd.DataFrame:
    """E3.1 rows of one seed per density and ε: KS test of a 1-D projection against the exact CDF, the
    bias of E[x²] (E|x|² in 2-D) with its standard error, and for the 1-D densities the exact
    stationary bias of the discrete chain and the fitted slope of log bias against log ε."""
    rows = []
    for d_index, name in enumerate(cfg.densities):
        density = densities.known_density(name)
        exact = density.exact_statistic()
        chain_bias = {}
        for e_index, eps in enumerate(cfg.eps):
            rng = np.random.default_rng([seed, d_index, e_index])
            gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
            sampler = LangevinConfig(
                rule="post", step_size=eps, noise=0.0, grad_clip=None, clamp=None, steps=cfg.steps
            )
            x = langevin(
                density.energy, _chain_start(density, cfg, rng), sampler, gen, grad_fn=density.grad
            ).numpy()
            stat = density.statistic(x)
            ks = scipy.stats.kstest(density.projection(x), density.cdf)
            bias, se = float(stat.mean() - exact), float(stat.std(ddof=1) / math.sqrt(len(stat)))
            method = f"eps={eps:g}"
            rows += [
                dict(dataset=name, method=method, implementation="ours", metric=m, value=v)
                for m, v in (
                    ("ks_statistic", ks.statistic),
                    ("ks_pvalue", ks.pvalue),
                    ("statistic_mean", stat.mean()),
                    ("bias", bias),
                    ("bias_se", se),
                )
            ]
            if isinstance(density, densities.Quartic):
                chain_bias[eps] = densities.chain_stationary_statistic(density, eps) - exact
                rows += [
                    dict(
                        dataset=name,
                        method=method,
                        implementation="exact",
                        metric="chain_bias",
                        value=chain_bias[eps],
                    ),
                    dict(
                        dataset=name,
                        method=method,
                        implementation="ours",
                        metric="bias_z",
                        value=(bias - chain_bias[eps]) / se,
                    ),
                ]
        if len(chain_bias) >= 2:
            eps = np.array(sorted(chain_bias))
            slope = np.polyfit(np.log(eps), np.log(np.abs([chain_bias[e] for e in eps])), 1)[0]
            rows.append(
                dict(
                    dataset=name,
                    method="fit",
                    implementation="exact",
                    metric="bias_slope",
                    value=float(slope),
                )
            )
    return results_frame(rows, experiment="E3.1", seed=seed)


# ---------------------------------------------------------------- E3.2
@dataclasses.dataclass(frozen=True)
class LikelihoodGradientConfig:
    """E3.2: U_θ(x) = θ₁x² + θ₂x⁴; E_q[∇_θU] from chains, then ML training from data at θ*."""

    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    theta_star: tuple[float, float] = (-1.0, 0.5)
    eps: float = 0.003  # post-rule Langevin step for both parts (its O(ε) bias enters θ)
    n_chains: int = 10_000
    burn_in: int = 2000  # Langevin steps before the moments are averaged
    average_steps: int = 1000  # steps over which chain moments are averaged (after burn-in)
    n_data: int = 10_000  # data drawn exactly at θ*
    theta_init: tuple[float, float] = (0.0, 1.0)
    iterations: int = 300  # ML updates
    chain_steps: int = 20  # persistent-chain Langevin steps per update
    lr: float = 0.5  # natural-gradient step (Fisher = Cov_q[∇_θU])
    max_step: float = 0.25  # trust region: longest θ update per iteration (noisy Fisher early on)
    average_last: int = 100  # θ is averaged over the last iterations (Polyak)

    def __post_init__(self):
        k = "energy.likelihood_gradient"
        object.__setattr__(self, "seeds", tuple(self.seeds))
        for key in ("theta_star", "theta_init"):
            object.__setattr__(self, key, tuple(float(v) for v in getattr(self, key)))
            if len(getattr(self, key)) != 2 or not getattr(self, key)[1] > 0:
                raise ValueError(
                    f"{k}.{key}: {list(getattr(self, key))} must be [θ₁, θ₂] with θ₂ > 0"
                )
        for key in ("eps", "lr", "max_step"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{k}.{key}: {getattr(self, key)} must be > 0")
        for key in (
            "n_chains",
            "n_data",
            "burn_in",
            "average_steps",
            "iterations",
            "chain_steps",
            "average_last",
        ):
            _at_least(getattr(self, key), 1, f"{k}.{key}")
        if self.average_last > self.iterations:
            raise ValueError(
                f"{k}.average_last: {self.average_last} exceeds iterations {self.iterations}"
            )


def _features(x: torch.Tensor) -> torch.Tensor:
    """∇_θU(x) = (x², x⁴), (n, 2)."""
    return torch.cat([x**2, x**4], 1)


def _quartic_energy(theta: torch.Tensor):
    return lambda x: theta[0] * x[:, 0] ** 2 + theta[1] * x[:, 0] ** 4


def exact_mle(data_moments: np.ndarray, start: tuple[float, float]) -> np.ndarray:
    """θ whose model moments (E x², E x⁴) equal the data's (the exponential family's MLE)."""

    def gap(t):
        if t[1] <= 0:
            return [1e3, 1e3]
        q = densities.Quartic(float(t[0]), float(t[1]))
        return [q.moment(2) - data_moments[0], q.moment(4) - data_moments[1]]

    sol = scipy.optimize.root(gap, np.asarray(start), method="hybr")
    return sol.x


def likelihood_gradient(cfg: LikelihoodGradientConfig) -> pd.DataFrame:
    """E3.2 for every seed of ``cfg.seeds``."""
    return pd.concat([likelihood_gradient_seed(cfg, s) for s in cfg.seeds], ignore_index=True)


def likelihood_gradient_seed(cfg: LikelihoodGradientConfig, seed: int) -> pd.DataFrame:
    """E3.2 rows of one seed: chain against quadrature E_q[x²], E_q[x⁴] at θ*, then ML training."""
    rng = np.random.default_rng([seed, 32])
    gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
    star = densities.Quartic(*cfg.theta_star)
    theta_star = torch.tensor(cfg.theta_star, dtype=torch.float64)
    sampler = LangevinConfig(
        rule="post", step_size=cfg.eps, noise=0.0, grad_clip=None, clamp=None, steps=1
    )
    rows = []
    # (a) the negative phase E_q[∇_θU] from chains against quadrature
    x = langevin(
        _quartic_energy(theta_star),
        torch.randn(cfg.n_chains, 1, generator=gen, dtype=torch.float64),
        sampler,
        gen,
        steps=cfg.burn_in,
        grad_fn=star.grad,
    )
    total = torch.zeros(2, dtype=torch.float64)

    def accumulate(_k, xk):
        total.add_(_features(xk).mean(0))

    langevin(
        _quartic_energy(theta_star),
        x,
        sampler,
        gen,
        steps=cfg.average_steps,
        trace=accumulate,
        grad_fn=star.grad,
    )
    chain = (total / cfg.average_steps).numpy()
    exact = np.array([star.moment(2), star.moment(4)])
    for i, name in enumerate(("x2", "x4")):
        rows += [
            dict(method="moments", implementation="ours", metric=f"E_{name}", value=chain[i]),
            dict(method="moments", implementation="exact", metric=f"E_{name}", value=exact[i]),
            dict(
                method="moments",
                implementation="ours",
                metric=f"rel_error_E_{name}",
                value=abs(chain[i] - exact[i]) / abs(exact[i]),
            ),
        ]
    # (b) maximum likelihood: θ ← θ − lr F⁻¹ (E_data[∇U] − E_chains[∇U]), persistent chains
    data = torch.as_tensor(star.sample(cfg.n_data, rng), dtype=torch.float64)
    data_moments = _features(data).mean(0)
    theta = torch.tensor(cfg.theta_init, dtype=torch.float64)
    chains = torch.randn(cfg.n_chains, 1, generator=gen, dtype=torch.float64)
    history = []
    for it in range(cfg.iterations):
        chains = langevin(
            _quartic_energy(theta),
            chains,
            sampler,
            gen,
            steps=cfg.chain_steps,
            where=f" (ML iteration {it})",
        )
        feats = _features(chains)
        grad = data_moments - feats.mean(0)
        fisher = torch.cov(feats.T) + 1e-9 * torch.eye(2, dtype=torch.float64)
        update = cfg.lr * torch.linalg.solve(fisher, grad)
        theta = theta - update * min(1.0, cfg.max_step / float(update.norm()))
        if theta[1] <= 0:  # keep U normalisable: θ₂ > 0
            theta[1] = 1e-3
        history.append(theta.clone())
        if it % 10 == 0 or it == cfg.iterations - 1:
            rows += [
                dict(
                    method="ml",
                    implementation="ours",
                    metric=f"theta{j + 1}",
                    value=float(theta[j]),
                    step=it,
                )
                for j in range(2)
            ]
    final = torch.stack(history[-cfg.average_last :]).mean(0).numpy()
    mle = exact_mle(data_moments.numpy(), cfg.theta_star)
    for j in range(2):
        t = f"theta{j + 1}"
        rows += [
            dict(method="ml", implementation="ours", metric=t, value=final[j]),
            dict(method="ml", implementation="exact", metric=f"{t}_mle", value=mle[j]),
            dict(method="ml", implementation="exact", metric=f"{t}_star", value=cfg.theta_star[j]),
            dict(
                method="ml",
                implementation="ours",
                metric=f"rel_error_{t}",
                value=abs(final[j] - cfg.theta_star[j]) / abs(cfg.theta_star[j]),
            ),
            dict(
                method="ml",
                implementation="exact",
                metric=f"rel_error_{t}",
                value=abs(mle[j] - cfg.theta_star[j]) / abs(cfg.theta_star[j]),
            ),
        ]
    rows = [{"step": -1, **r} for r in rows]
    return results_frame(rows, experiment="E3.2", dataset="quartic", seed=seed)


# ---------------------------------------------------------------- E3.3
@dataclasses.dataclass(frozen=True)
class ToyTrainConfig(TrainConfig):
    """The engine's settings for the toy EBMs (Adam with β₁ = 0 as the official code)."""

    steps: int = 300
    batch_size: int = 128
    lr: float = 0.01
    beta1: float = 0.0
    ema_decay: float = 0.999
    device: str = "cpu"
    log_every: int = 25
    checkpoint_every: int = 1_000_000  # no checkpoints: each toy run takes seconds


#: The four settings of E3.3: (name, replay buffer on, L2 form).
TOY_SETTINGS = (
    ("buffer/sum-l2", True, "sum"),
    ("buffer/post-l2", True, "post"),
    ("no-buffer/sum-l2", False, "sum"),
    ("no-buffer/post-l2", False, "post"),
)


@dataclasses.dataclass(frozen=True)
class ToyConfig:
    """E3.3: 2-D toy EBMs, with and without the replay buffer, L2 sum against the post's sign."""

    KEY: ClassVar[str] = "energy.toy"
    seeds: tuple[int, ...] = (0,)
    datasets: tuple[str, ...] = ("8gaussians",)
    n_train: int = 5000
    n_eval: int = 1000  # held-out points and samples per sample source
    model: ToyEBMConfig = dataclasses.field(default_factory=ToyEBMConfig)
    train: ToyTrainConfig = dataclasses.field(default_factory=ToyTrainConfig)

    def __post_init__(self):
        object.__setattr__(self, "seeds", tuple(self.seeds))
        object.__setattr__(self, "datasets", tuple(self.datasets))
        for name in self.datasets:
            if name not in TOY_DATASETS:
                raise ValueError(
                    f"{self.KEY}.datasets: {name!r} is not one of {list(TOY_DATASETS)}"
                )
        _at_least(self.n_train, 1, f"{self.KEY}.n_train")
        _at_least(self.n_eval, 2, f"{self.KEY}.n_eval")


def train_toy(
    cfg: ToyConfig, data: np.ndarray, replay: bool, l2: str, seed: int
) -> tuple[ToyEBM, int]:
    """One toy EBM on the shared engine; returns the model and the step it diverged at (-1: none)."""
    recipe = dataclasses.replace(cfg.model.ebm, replay=replay, l2=l2)
    torch.manual_seed(seed)
    model = ToyEBM(dataclasses.replace(cfg.model, ebm=recipe))
    train = dataclasses.replace(cfg.train, seed=seed)
    try:
        Trainer(train, None, threads=1).fit(model, ArrayDataset(data.astype(np.float32)))
    except DIVERGED as exc:
        log.warning("toy EBM %s replay=%s l2=%s diverged: %s", cfg.datasets, replay, l2, exc)
        return model, len(model.history)
    return model, -1


def _toy_metrics(name: str, samples: np.ndarray, held: np.ndarray, source: str) -> list[dict]:
    rows = [dict(metric=f"energy_distance_{source}", value=energy_distance(samples, held))]
    if name == "8gaussians":
        shares = mode_shares(samples)
        rows += [
            dict(metric=f"modes_covered_{source}", value=float((shares >= 0.05).mean())),
            dict(metric=f"mode_mass_{source}", value=float(shares.sum())),
        ]
    return rows


def toy_ebm(cfg: ToyConfig) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """E3.3 rows (per seed, dataset and setting) and the samples behind the figure."""
    rows, arrays = [], {}
    for seed in cfg.seeds:
        for d_index, name in enumerate(cfg.datasets):
            rng = np.random.default_rng([seed, d_index, 33])
            data, held = toy_data(name, cfg.n_train, rng), toy_data(name, cfg.n_eval, rng)
            base = dict(dataset=name, seed=seed, implementation="ours")
            rows += [
                {**base, "method": "real", **r}
                for r in _toy_metrics(name, data[: cfg.n_eval], held, "real")
            ]
            arrays[f"{name}/seed{seed}/data"] = held
            covered = {}
            for setting, replay, l2 in TOY_SETTINGS:
                model, diverged = train_toy(cfg, data, replay, l2, seed)
                gen = torch.Generator().manual_seed(seed)
                sources = {"fresh": model.sample(cfg.n_eval, generator=gen)}
                if replay:
                    sources["buffer"] = model.sample(cfg.n_eval, from_buffer=True, generator=gen)
                for source, x in sources.items():
                    x = x.numpy()
                    arrays[f"{name}/seed{seed}/{setting}/{source}"] = x
                    metrics = _toy_metrics(name, x, held, source) if np.isfinite(x).all() else []
                    rows += [{**base, "method": setting, **r} for r in metrics]
                    covered[(setting, source)] = next(
                        (r["value"] for r in metrics if r["metric"] == f"modes_covered_{source}"),
                        None,
                    )
                rows += [
                    {**base, "method": setting, "metric": "diverged_at_step", "value": diverged}
                ]
                rows += [
                    {**base, "method": setting, "step": h["step"], "metric": k, "value": h[k]}
                    for h in model.history[:: cfg.train.log_every]
                    for k in ("abs_energy", "cd", "energy_pos", "energy_neg")
                ]
            for l2 in ("sum", "post"):  # the post's claim: without the buffer, fewer modes
                with_buffer = covered.get((f"buffer/{l2}-l2", "buffer"))
                without = covered.get((f"no-buffer/{l2}-l2", "fresh"))
                if with_buffer is not None and without is not None:
                    rows.append(
                        {
                            **base,
                            "method": f"buffer-minus-no-buffer/{l2}-l2",
                            "metric": "modes_covered_gain",
                            "value": with_buffer - without,
                        }
                    )
    return results_frame([{"step": -1, **r} for r in rows], experiment="E3.3"), arrays


def _image_sections() -> dict[str, type]:
    from pipeline.energy.image_ebm import EBMEvaluateConfig, EBMTrainConfig
    from pipeline.images.ebm import ImageEBMConfig, ImageLangevin, ImageRecipe

    base = "image_ebm.datasets.*"  # * : every dataset entry (the schema's additionalProperties)
    return {
        f"{base}.model": ImageEBMConfig,
        f"{base}.model.ebm": ImageRecipe,
        f"{base}.model.ebm.langevin": ImageLangevin,
        f"{base}.train": EBMTrainConfig,
        f"{base}.evaluate": EBMEvaluateConfig,
    }


#: Schema sub-section (dotted, relative to ``energy``) -> the dataclass holding its defaults.
CONFIG_SECTIONS: dict[str, type] = {
    "langevin_densities": LangevinDensitiesConfig,
    "likelihood_gradient": LikelihoodGradientConfig,
    "toy": ToyConfig,
    "toy.model": ToyEBMConfig,
    "toy.model.ebm": ToyRecipe,
    "toy.model.ebm.langevin": ToyLangevin,
    "toy.train": ToyTrainConfig,
    **_image_sections(),
}
