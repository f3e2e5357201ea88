"""2-D toy data (8 Gaussians, 2 spirals, checkerboard) inside the unit square, and a small
energy MLP with spectral normalisation on every layer (E3.3; posts.md §3.4)."""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from pipeline.energy.ebm import EBMConfig, EnergyModel
from pipeline.energy.langevin import LangevinConfig

TOY_DATASETS = ("8gaussians", "2spirals", "checkerboard")
#: The 8 Gaussians' centres: a ring of radius 0.35 around the square's centre; std 0.02.
RING_RADIUS, RING_STD = 0.35, 0.02


def ring_centres() -> np.ndarray:
    angles = np.arange(8) * (2 * math.pi / 8)
    return 0.5 + RING_RADIUS * np.stack([np.cos(angles), np.sin(angles)], 1)


def toy_data(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points (n, 2) of a toy distribution, all inside [0, 1]²."""
    if name == "8gaussians":
        return ring_centres()[rng.integers(8, size=n)] + RING_STD * rng.standard_normal((n, 2))
    if name == "2spirals":
        t = np.sqrt(rng.random(n)) * 3 * math.pi
        arm = rng.integers(2, size=n) * 2 - 1
        xy = arm[:, None] * np.stack([t * np.cos(t), t * np.sin(t)], 1) / (3 * math.pi)
        return 0.5 + 0.4 * xy + 0.01 * rng.standard_normal((n, 2))
    if name == "checkerboard":
        i = rng.integers(4, size=n)
        j = 2 * rng.integers(2, size=n) + i % 2  # the 8 cells of one colour of a 4 x 4 board
        return 0.1 + 0.2 * (np.stack([i, j], 1) + rng.random((n, 2)))
    raise ValueError(f"energy.toy.datasets: {name!r} is not one of {list(TOY_DATASETS)}")


def mode_shares(x: np.ndarray) -> np.ndarray:
    """Share of all samples that lie within 5 std of each of the 8 ring centres (8,); a sample
    far from every centre counts for none."""
    d = np.linalg.norm(x[:, None, :] - ring_centres()[None], axis=-1)
    near = d.min(1) < 5 * RING_STD
    counts = np.bincount(d.argmin(1)[near], minlength=8)
    return counts / max(1, len(x))


def energy_distance(a: np.ndarray, b: np.ndarray) -> float:
    """2 E|X − Y| − E|X − X'| − E|Y − Y'| (Székely), V-statistic, between point sets (n, d)."""
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return float(2 * torch.cdist(a, b).mean() - torch.cdist(a, a).mean() - torch.cdist(b, b).mean())


@dataclasses.dataclass(frozen=True)
class ToyLangevin(LangevinConfig):
    """The official decoupled sampler with a finer step for 2-D points (max move per step
    step_size x grad_clip = 0.02, the modes' std) and more noise (σ = 0.02) than the images'."""

    KEY: ClassVar[str] = "energy.toy.model.ebm.langevin"
    step_size: float = 2.0
    noise: float = 0.02


@dataclasses.dataclass(frozen=True)
class ToyRecipe(EBMConfig):
    KEY: ClassVar[str] = "energy.toy.model.ebm"
    langevin: ToyLangevin = dataclasses.field(default_factory=ToyLangevin)


@dataclasses.dataclass(frozen=True)
class ToyEBMConfig:
    hidden: int = 64
    layers: int = 3  # linear layers
    input_scale: float = 8.0  # the unit square is mapped to [-s/2, s/2]² (SN bounds U's slope)
    ebm: ToyRecipe = dataclasses.field(default_factory=ToyRecipe)

    def __post_init__(self):
        if isinstance(self.ebm, dict):  # a config rebuilt from a checkpoint
            object.__setattr__(self, "ebm", ToyRecipe(**self.ebm))
        if self.hidden < 1 or self.layers < 2:
            raise ValueError(
                f"energy.toy.model: hidden {self.hidden} >= 1 and layers {self.layers} >= 2"
            )


class ToyEBM(EnergyModel):
    """U(x) = MLP(x) with spectral norm on every linear layer and SiLU activations."""

    config_class = ToyEBMConfig

    def __init__(self, config: ToyEBMConfig):
        super().__init__(config.ebm, (2,))
        self.config = config
        dims = [2] + [config.hidden] * (config.layers - 1)
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            layers += [spectral_norm(nn.Linear(a, b)), nn.SiLU()]
        layers.append(spectral_norm(nn.Linear(dims[-1], 1)))
        self.net = nn.Sequential(*layers)

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.config.input_scale * (x - 0.5))[:, 0]
