"""IGEBM image energy model (Du & Mordatch 2019; posts.md §3, checklist E3.4–E3.5): a small
ResNet energy U(x) with spectral normalisation on every layer, trained on the shared engine with
the replay buffer and Langevin negative phase of :class:`pipeline.energy.ebm.EnergyModel`.

Images reach the model in [-1, 1] (``pipeline.engine`` datasets); :meth:`ImageEBM.prepare` maps
them to [0, 1] and adds uniform dequantisation noise of 1/256, as the official code does, so the
official sampler numbers (σ = 0.005, step 10, clip 0.01, clamp to [0, 1]) keep their meaning.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from pipeline.energy.ebm import EBMConfig, EnergyModel
from pipeline.energy.langevin import LangevinConfig

KEY = "energy.image_ebm.datasets.<dataset>.model"


@dataclasses.dataclass(frozen=True)
class ImageLangevin(LangevinConfig):
    """The official sampler (CIFAR-10 flags): σ 0.005, step 10, clip 0.01, [0, 1], 60 steps."""

    KEY: ClassVar[str] = f"{KEY}.ebm.langevin"


@dataclasses.dataclass(frozen=True)
class ImageRecipe(EBMConfig):
    """The official recipe: α = 1 (L2 sum), buffer 10 000 with 95 % reuse."""

    KEY: ClassVar[str] = f"{KEY}.ebm"
    langevin: ImageLangevin = dataclasses.field(default_factory=ImageLangevin)


@dataclasses.dataclass(frozen=True)
class ImageEBMConfig:
    """Network and recipe; ``ebm`` holds the official sampler and loss defaults."""

    in_channels: int = 1
    image_size: int = 8
    width: int = 16  # channels of the first stage (doubled at each downsampling, at most 4x)
    n_blocks: int = 2  # residual blocks, each followed by 2x average pooling while the size allows
    dequantize: float = 1.0 / 256.0  # uniform noise added to the data in [0, 1]
    ebm: ImageRecipe = dataclasses.field(default_factory=ImageRecipe)

    def __post_init__(self):
        if isinstance(self.ebm, dict):  # a config rebuilt from a checkpoint
            object.__setattr__(self, "ebm", ImageRecipe(**self.ebm))
        for key in ("in_channels", "image_size", "width", "n_blocks"):
            if getattr(self, key) < 1:
                raise ValueError(f"{KEY}.{key}: {getattr(self, key)} must be >= 1")
        if not 0 <= self.dequantize < 1:
            raise ValueError(f"{KEY}.dequantize: {self.dequantize} must lie in [0, 1)")


class ResBlock(nn.Module):
    """x + conv(silu(conv(silu(x)))), both convolutions spectrally normalised."""

    def __init__(self, channels: int, out: int):
        super().__init__()
        self.conv1 = spectral_norm(nn.Conv2d(channels, out, 3, padding=1))
        self.conv2 = spectral_norm(nn.Conv2d(out, out, 3, padding=1))
        self.skip = spectral_norm(nn.Conv2d(channels, out, 1)) if channels != out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.conv2(F.silu(self.conv1(F.silu(x))))


class ImageEBM(EnergyModel):
    """U(x): SN conv stem, ``n_blocks`` residual blocks with pooling, sum-pooled SN linear head."""

    config_class = ImageEBMConfig

    def __init__(self, config: ImageEBMConfig):
        c = config
        super().__init__(c.ebm, (c.in_channels, c.image_size, c.image_size))
        self.config = c
        self.stem = spectral_norm(nn.Conv2d(c.in_channels, c.width, 3, padding=1))
        blocks, ch, size = [], c.width, c.image_size
        for _ in range(c.n_blocks):
            out = min(2 * ch, 4 * c.width) if size >= 8 else ch
            blocks.append(ResBlock(ch, out))
            if size >= 8:
                blocks.append(nn.AvgPool2d(2))
                size //= 2
            ch = out
        self.blocks = nn.Sequential(*blocks)
        self.head = spectral_norm(nn.Linear(ch, 1))

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.stem(2 * x - 1))
        return self.head(F.silu(h).sum((2, 3)))[:, 0]

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """[-1, 1] images -> [0, 1] plus uniform dequantisation noise (official data scaling)."""
        x = (x + 1) / 2
        if self.config.dequantize > 0:
            x = x + self.config.dequantize * torch.rand_like(x)
        return x.clamp(0, 1)


def to_signed(x01: torch.Tensor) -> torch.Tensor:
    """Samples in [0, 1] -> the [-1, 1] scaling of the rest of the image pipeline."""
    return x01.clamp(0, 1) * 2 - 1
