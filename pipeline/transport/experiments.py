"""Post 5's checklist runs (posts.md §5.3), each a frozen config beside its run function.

Every run returns rows of the one results schema (:mod:`pipeline.tables`): ``E5.1`` primal =
dual, ``farkas`` the two alternatives, ``E5.2`` weak duality, ``E5.3`` the g = -f restriction,
``E5.4`` neural critics against exact W1, ``E5.5`` WGAN (:mod:`pipeline.transport.wgan_runs`).
Values that are compared are relative to the problem's scale (max |C|), never to rounding.
:data:`CONFIG_SECTIONS` maps each sub-section of the ``transport`` config to its dataclass.
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
from pipeline.transport import critics, lp, mixtures
from pipeline.transport.farkas import farkas as farkas_alternatives
from pipeline.transport.wgan_runs import (
    AuthorRecipe,
    ClipRecipe,
    GPRecipe,
    WganImagesConfig,
    WganToyConfig,
)

log = logging.getLogger(__name__)


def _positive(cfg, key: str, prefix: str, minimum: float = 1) -> None:
    values = getattr(cfg, key)
    for v in values if isinstance(values, (list, tuple)) else [values]:
        if v < minimum:
            raise ValueError(f"transport.{prefix}.{key}: {v} must be >= {minimum}")


def random_problem(n: int, dim: int, rho: float, rng: np.random.Generator, common: bool = False):
    """Random masses p, q (Dirichlet(1)) on n Gaussian points each (or one common support) and
    the cost |x - y|^rho. Returns (p, q, cost, x, y)."""
    x = rng.normal(size=(n, dim))
    y = x if common else rng.normal(size=(n, dim)) + 0.5
    p, q = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
    cost = np.linalg.norm(x[:, None] - y[None], axis=-1) ** rho
    return p, q, cost, x, y


# ---- E5.1 primal LP = dual LP ------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LPDualityConfig:
    """E5.1: the post's primal and dual LPs on random problems, against POT and scipy."""

    sizes: tuple[int, ...] = (10, 50, 200)
    dims: tuple[int, ...] = (1, 2)
    rhos: tuple[int, ...] = (1, 2)
    instances: int = 2

    def __post_init__(self):
        for key in ("sizes", "dims", "rhos"):
            object.__setattr__(self, key, tuple(getattr(self, key)))
        for key in ("sizes", "dims", "rhos", "instances"):
            _positive(self, key, "lp")


def lp_duality(cfg: LPDualityConfig, seed: int) -> pd.DataFrame:
    """|primal - dual| / max C for every (n, dim, rho, instance), and both against POT's emd2
    and, in 1-D with rho = 1, ``scipy.stats.wasserstein_distance`` (the closed form int |F_p - F_q|)."""
    rows = []
    for n in cfg.sizes:
        for dim in cfg.dims:
            for rho in cfg.rhos:
                for k in range(cfg.instances):
                    rng = np.random.default_rng([seed, n, dim, rho, k])
                    p, q, cost, x, y = random_problem(n, dim, rho, rng)
                    scale = float(np.abs(cost).max())
                    primal, dual = lp.primal(p, q, cost), lp.dual(p, q, cost)
                    pot = float(ot.emd2(p, q, cost))
                    key = dict(
                        experiment="E5.1", dataset=f"{dim}d_n{n}", method=f"rho{rho}", seed=k
                    )
                    rows += [
                        {
                            **key,
                            "implementation": "ours",
                            "metric": "primal",
                            "value": primal.value,
                        },
                        {**key, "implementation": "ours", "metric": "dual", "value": dual.value},
                        {
                            **key,
                            "implementation": "ours",
                            "metric": "primal_dual_gap_rel",
                            "value": abs(primal.value - dual.value) / scale,
                        },
                        {**key, "implementation": "pot", "metric": "emd2", "value": pot},
                        {
                            **key,
                            "implementation": "pot",
                            "metric": "primal_vs_pot_rel",
                            "value": abs(primal.value - pot) / scale,
                        },
                    ]
                    if dim == 1 and rho == 1:
                        closed = scipy.stats.wasserstein_distance(x[:, 0], y[:, 0], p, q)
                        rows.append(
                            {
                                **key,
                                "implementation": "scipy",
                                "metric": "primal_vs_closed_form_rel",
                                "value": abs(primal.value - closed) / scale,
                            }
                        )
    return tables.results_frame(rows)


# ---- Farkas' lemma -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FarkasConfig:
    """Farkas: equal-mass (feasible) and unequal-mass (infeasible) pairs, certificate checked."""

    sizes: tuple[int, ...] = (5, 20)
    instances: int = 5
    mass_ratio: float = 1.2

    def __post_init__(self):
        object.__setattr__(self, "sizes", tuple(self.sizes))
        _positive(self, "sizes", "farkas")
        _positive(self, "instances", "farkas")
        if not self.mass_ratio > 0 or self.mass_ratio == 1:
            raise ValueError(f"transport.farkas.mass_ratio: {self.mass_ratio} must be > 0 and != 1")


def farkas(cfg: FarkasConfig, seed: int) -> pd.DataFrame:
    """For each pair: which alternative holds and whether exactly one does, with residuals."""
    rows = []
    for n in cfg.sizes:
        for k in range(cfg.instances):
            rng = np.random.default_rng([seed, n, k])
            p, q = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n + 1))
            for case, scale in (("equal_mass", 1.0), ("unequal_mass", cfg.mass_ratio)):
                res = farkas_alternatives(p * scale, q)
                key = dict(
                    experiment="farkas", dataset=f"n{n}", method=case, implementation="ours", seed=k
                )
                rows += [
                    {**key, "metric": "plan_found", "value": float(res.feasible)},
                    {
                        **key,
                        "metric": "certificate_found",
                        "value": float(res.certificate is not None),
                    },
                    {**key, "metric": "exactly_one", "value": float(res.exactly_one)},
                    {
                        **key,
                        "metric": "correct_alternative",
                        "value": float(res.feasible == (case == "equal_mass") and res.exactly_one),
                    },
                ]
                if res.certificate is not None:
                    rows.append(
                        {
                            **key,
                            "metric": "certificate_violation",
                            "value": res.certificate_violation,
                        }
                    )
                else:
                    rows.append({**key, "metric": "plan_residual", "value": res.plan_residual})
    return tables.results_frame(rows)


# ---- E5.2 weak duality ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class WeakDualityConfig:
    """E5.2: random dual points made feasible by projection, scored against the primal optimum."""

    n: int = 50
    dim: int = 2
    rhos: tuple[int, ...] = (1, 2)
    samples: int = 2000
    near_optimum: float = 0.01

    def __post_init__(self):
        object.__setattr__(self, "rhos", tuple(self.rhos))
        for key in ("n", "dim", "rhos", "samples"):
            _positive(self, key, "weak_duality")
        if not self.near_optimum > 0:
            raise ValueError(
                f"transport.weak_duality.near_optimum: {self.near_optimum} must be > 0"
            )


def weak_duality(cfg: WeakDualityConfig, seed: int) -> pd.DataFrame:
    """Gap primal* - b^T F for ``samples`` dual points projected onto A^T F <= C: random ones,
    F ~ N(0, max C) (method ``rho<k>``), and the optimal dual F* plus N(0, near_optimum x max C)
    noise (method ``rho<k>_near_optimum``), where rounding would show first."""
    rows = []
    for rho in cfg.rhos:
        rng = np.random.default_rng([seed, rho])
        p, q, cost, _, _ = random_problem(cfg.n, cfg.dim, rho, rng)
        scale = float(np.abs(cost).max())
        primal = lp.primal(p, q, cost).value
        optimum = lp.dual(p, q, cost).x
        b = np.concatenate([p, q])
        n = cfg.n
        for method, centre, sd in (
            (f"rho{rho}", np.zeros(2 * n), scale),
            (f"rho{rho}_near_optimum", optimum, cfg.near_optimum * scale),
        ):
            points = centre + rng.normal(scale=sd, size=(cfg.samples, 2 * n))
            gaps = [primal - b @ lp.project_feasible(F[:n], F[n:], cost) for F in points]
            key = dict(
                experiment="E5.2",
                dataset=f"{cfg.dim}d_n{n}",
                method=method,
                implementation="ours",
                seed=seed,
            )
            # one row per dual point, its index in ``step``
            rows += [
                {**key, "step": i, "metric": "gap_rel", "value": v / scale}
                for i, v in enumerate(gaps)
            ]
        rows.append(
            dict(
                experiment="E5.2",
                dataset=f"{cfg.dim}d_n{n}",
                method=f"rho{rho}",
                implementation="ours",
                seed=seed,
                step=-1,
                metric="primal",
                value=primal,
            )
        )
    return tables.results_frame(rows)


# ---- E5.3 the g = -f restriction -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RestrictionConfig:
    """E5.3: restricted (g = -f) against full dual on a common support, metric and squared cost."""

    sizes: tuple[int, ...] = (10, 50)
    dims: tuple[int, ...] = (1, 2)
    instances: int = 3

    def __post_init__(self):
        object.__setattr__(self, "sizes", tuple(self.sizes))
        object.__setattr__(self, "dims", tuple(self.dims))
        for key in ("sizes", "dims", "instances"):
            _positive(self, key, "restriction")


#: The post's caveat by hand: points 0, 1, 2 on a line, p = delta_0, q = delta_2, c = |x - y|^2.
#: Full dual = W2^2 = 4; with g = -f the chain f_0 - f_1 <= 1, f_1 - f_2 <= 1 caps the value at 2.
CAVEAT = dict(
    points=np.array([[0.0], [1.0], [2.0]]), p=np.array([1.0, 0, 0]), q=np.array([0, 0, 1.0])
)


def _restriction_rows(p, q, cost, points, rho, key) -> list[dict]:
    scale = float(np.abs(cost).max())
    full, restricted = lp.dual(p, q, cost).value, lp.restricted_dual(p, q, cost)
    rows = [
        {**key, "metric": "full_dual", "value": full},
        {**key, "metric": "restricted_dual", "value": restricted.value},
        {**key, "metric": "restricted_gap_rel", "value": (full - restricted.value) / scale},
    ]
    if rho == 1:
        rows.append(
            {
                **key,
                "metric": "lipschitz_constant",
                "value": lp.lipschitz_constant(restricted.x, points),
            }
        )
    else:
        rows.append({**key, "metric": "restricted_over_full", "value": restricted.value / full})
    return rows


def restriction(cfg: RestrictionConfig, seed: int) -> pd.DataFrame:
    """Metric cost: restricted = full and f 1-Lipschitz; squared cost: restricted / full < 1."""
    rows = []
    for n in cfg.sizes:
        for dim in cfg.dims:
            for rho in (1, 2):
                for k in range(cfg.instances):
                    p, q, cost, x, _ = random_problem(
                        n, dim, rho, np.random.default_rng([seed, n, dim, rho, k]), common=True
                    )
                    key = dict(
                        experiment="E5.3",
                        dataset=f"{dim}d_n{n}",
                        method=f"rho{rho}",
                        implementation="ours",
                        seed=k,
                    )
                    rows += _restriction_rows(p, q, cost, x, rho, key)
    pts = CAVEAT["points"]
    for rho in (1, 2):
        cost = np.abs(pts - pts.T) ** rho
        key = dict(
            experiment="E5.3", dataset="line3", method=f"rho{rho}", implementation="ours", seed=-1
        )
        rows += _restriction_rows(CAVEAT["p"], CAVEAT["q"], cost, pts, rho, key)
        rows.append({**key, "implementation": "exact", "metric": "full_dual", "value": 2.0**rho})
    return tables.results_frame(rows)


# ---- E5.4 neural critics against exact W1 ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CriticsConfig:
    """E5.4: p a 2-D mixture, q = p + a (W1 = |a|); critics with clipping, GP and spectral norm."""

    mixture: str = "8gaussians"
    std: float = 0.3
    shift: tuple[float, float] = (1.0, 0.5)
    n_samples: int = 2000
    width: int = 64
    depth: int = 2
    steps: int = 600
    batch_size: int = 256
    clip_value: float = 0.01
    clip_lr: float = 5e-5
    gp_weight: float = 10.0
    adam_lr: float = 1e-3

    def __post_init__(self):
        object.__setattr__(self, "shift", tuple(float(v) for v in self.shift))
        if self.mixture not in mixtures.MIXTURES:
            raise ValueError(
                f"transport.critics.mixture: {self.mixture!r} is not one of {mixtures.MIXTURES}"
            )
        if len(self.shift) != 2 or np.linalg.norm(self.shift) == 0:
            raise ValueError(f"transport.critics.shift: {self.shift} must be a non-zero 2-vector")
        if self.gp_weight < 0:
            raise ValueError(f"transport.critics.gp_weight: {self.gp_weight} must be >= 0 (lambda)")
        if self.std <= 0 or self.clip_value <= 0 or self.clip_lr <= 0 or self.adam_lr <= 0:
            raise ValueError("transport.critics.std, clip_value, clip_lr and adam_lr must be > 0")
        for key in ("n_samples", "width", "depth", "steps", "batch_size"):
            _positive(self, key, "critics")

    def critic(self, method: str) -> critics.CriticConfig:
        """The critic's own config: RMSProp at clip_lr for clipping (WGAN), Adam (0, 0.9) otherwise."""
        clip = method == "clip"
        return critics.CriticConfig(
            lipschitz=method,
            width=self.width,
            depth=self.depth,
            steps=self.steps,
            batch_size=self.batch_size,
            lr=self.clip_lr if clip else self.adam_lr,
            optimizer="rmsprop" if clip else "adam",
            clip_value=self.clip_value,
            gp_weight=self.gp_weight,
        )


def critic_study(cfg: CriticsConfig, seed: int) -> pd.DataFrame:
    """Each critic's E_p f - E_q f on the training samples and on fresh ones, beside |a|, POT's
    exact W1 on the same samples and the finite-sample floor W1(p sample, second p sample)."""
    rng = np.random.default_rng(seed)
    torch.set_num_threads(1)
    shift = np.asarray(cfg.shift)

    def draw(offset):
        return mixtures.sample(cfg.mixture, cfg.n_samples, rng, cfg.std) + offset

    p, q, p2, p_test, q_test = draw(0), draw(shift), draw(0), draw(0), draw(shift)
    key = dict(experiment="E5.4", dataset=cfg.mixture, seed=seed, step=-1)
    exact = float(np.linalg.norm(shift))
    rows = [
        {**key, "method": "truth", "implementation": "exact", "metric": "w1", "value": exact},
        {
            **key,
            "method": "emd",
            "implementation": "pot",
            "metric": "w1",
            "value": float(ot.emd2([], [], ot.dist(p, q, metric="euclidean"))),
        },
        {
            **key,
            "method": "floor",
            "implementation": "pot",
            "metric": "w1",
            "value": float(ot.emd2([], [], ot.dist(p, p2, metric="euclidean"))),
        },
    ]
    support = torch.as_tensor(np.vstack([p, q]), dtype=torch.float32)
    for method in critics.LIPSCHITZ:
        critic, trace = critics.train_critic(p, q, cfg.critic(method), seed)
        train_est, test_est = (
            critics.estimate(critic, p, q),
            critics.estimate(critic, p_test, q_test),
        )
        lip = float(critics.gradient_norms(critic, support).max())
        rows += [
            {
                **key,
                "method": method,
                "implementation": "ours",
                "metric": "estimate_train",
                "value": train_est,
            },
            {
                **key,
                "method": method,
                "implementation": "ours",
                "metric": "estimate_test",
                "value": test_est,
            },
            {
                **key,
                "method": method,
                "implementation": "ours",
                "metric": "ratio_to_truth",
                "value": test_est / exact,
            },
            {
                **key,
                "method": method,
                "implementation": "ours",
                "metric": "max_grad_norm",
                "value": lip,
            },
            {
                **key,
                "method": method,
                "implementation": "ours",
                "metric": "ratio_to_truth_rescaled",
                "value": test_est / lip / exact,
            },
        ]
        rows += [
            {
                **key,
                "method": method,
                "implementation": "ours",
                "metric": "batch_estimate",
                "step": s,
                "value": v,
            }
            for s, v in enumerate(trace)
            if s % 10 == 0 or s == len(trace) - 1
        ]
        log.info("critic %s: estimate %.4f (|a| = %.4f)", method, test_est, exact)
    return tables.results_frame(rows)


CONFIG_SECTIONS: dict[str, type] = {
    "lp": LPDualityConfig,
    "farkas": FarkasConfig,
    "weak_duality": WeakDualityConfig,
    "restriction": RestrictionConfig,
    "critics": CriticsConfig,
    "wgan_toy": WganToyConfig,
    "wgan_toy.clip": ClipRecipe,
    "wgan_toy.gp": GPRecipe,
    "wgan_images": WganImagesConfig,
    "wgan_images.clip": ClipRecipe,
    "wgan_images.gp": GPRecipe,
    "wgan_images.author": AuthorRecipe,
}
