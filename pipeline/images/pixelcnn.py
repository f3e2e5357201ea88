"""A gated PixelCNN prior over VQ-VAE code grids (van den Oord et al. 2016, "Conditional Image
Generation with PixelCNN Decoders"), the baseline the author found "much worse" than his
causal-attention prior (post 6760).

Codes are embedded, then passed through gated layers, each with a vertical stack (everything
above the current row) and a horizontal stack (the current row to the left): the two-stack
design has no blind spot. Causality is made by padding and shifting rather than by masks: the
vertical stack's output enters the horizontal stack shifted down one row, and the first layer's
horizontal convolution is shifted right one column, so the logits at (r, c) depend only on the
codes before (r, c) in raster order. Gate: ``tanh(a) * sigmoid(b)``; residual connections on
the horizontal stack after the first layer. Same interface as :class:`pipeline.images.prior.
CodePrior` (``nll``, ``train_step``, ``sample``), trained on the same codes by the same engine.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.engine import TrainConfig
from pipeline.images.prior import CodesDataset


@dataclasses.dataclass(frozen=True)
class PixelCNNConfig:
    codebook_size: int = 64  # K (taken from the VQ-VAE)
    height: int = 4  # code grid (taken from the VQ-VAE)
    width: int = 4
    channels: int = 32  # width of both stacks
    n_layers: int = 5  # gated layers (the first excludes the current position)
    kernel: int = 3  # odd; the vertical kernel is (kernel // 2 + 1) x kernel

    def __post_init__(self):
        for key in ("codebook_size", "height", "width", "channels", "n_layers", "kernel"):
            if getattr(self, key) < 1:
                raise ValueError(f"pixelcnn.model.{key}: {getattr(self, key)} must be >= 1")
        if self.kernel % 2 == 0:
            raise ValueError(f"pixelcnn.model.kernel: {self.kernel} must be odd")


def _gate(x: torch.Tensor) -> torch.Tensor:
    a, b = x.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    """One gated layer: (vertical, horizontal) -> (vertical, horizontal), causal by construction."""

    def __init__(self, channels: int, kernel: int, first: bool):
        super().__init__()
        self.p, self.first = kernel // 2, first
        self.vertical = nn.Conv2d(channels, 2 * channels, (self.p + 1, kernel))
        self.v_to_h = nn.Conv2d(2 * channels, 2 * channels, 1)
        self.horizontal = nn.Conv2d(channels, 2 * channels, (1, self.p + 1))
        self.h_out = nn.Conv2d(channels, channels, 1)

    def forward(self, v: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        height, width, p = v.shape[-2], v.shape[-1], self.p
        v_feat = self.vertical(F.pad(v, (p, p, p, 0)))  # (r, c) sees rows r-p..r, columns c-p..c+p
        below = F.pad(v_feat, (0, 0, 1, 0))[:, :, :height]  # shifted down: rows strictly above r
        shift = 1 if self.first else 0  # the first layer must not see the current code
        h_feat = self.horizontal(F.pad(h, (p + shift, 0)))[
            ..., :width
        ]  # columns c-p-shift..c-shift
        h_new = self.h_out(_gate(h_feat + self.v_to_h(below)))
        return _gate(v_feat), h_new if self.first else h + h_new


class GatedPixelCNN(nn.Module):
    config_class = PixelCNNConfig

    def __init__(self, config: PixelCNNConfig):
        super().__init__()
        self.config = c = config
        self.embed = nn.Embedding(c.codebook_size, c.channels)
        self.layers = nn.ModuleList(
            [GatedLayer(c.channels, c.kernel, i == 0) for i in range(c.n_layers)]
        )
        self.head = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(c.channels, c.channels, 1),
            nn.ReLU(),
            nn.Conv2d(c.channels, c.codebook_size, 1),
        )

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (B, h, w) -> logits (B, h*w, K) of each code given those before it (raster order)."""
        x = self.embed(codes).permute(0, 3, 1, 2)
        v = h = x
        for layer in self.layers:
            v, h = layer(v, h)
        return self.head(h).flatten(2).transpose(1, 2)

    def nll(self, codes: torch.Tensor, logits: torch.Tensor | None = None) -> torch.Tensor:
        """Mean negative log-likelihood per code, in nats."""
        logits = self(codes) if logits is None else logits
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), codes.flatten())

    def train_step(self, ctx) -> dict[str, torch.Tensor]:
        codes = ctx.batch["codes"]
        loss = self.nll(codes, ctx.forward(codes))
        ctx.optimize(loss)
        return {"loss": loss.detach(), "bits_per_code": loss.detach() / math.log(2)}

    @torch.no_grad()
    def sample(
        self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Ancestral sampling in raster order, one full forward pass per code: (n, h, w)."""
        c, device = self.config, self.head[-1].weight.device
        codes = torch.zeros(n, c.height, c.width, dtype=torch.long, device=device)
        for i in range(c.height * c.width):
            logits = self(codes)[:, i].float() / temperature
            codes.view(n, -1)[:, i] = torch.multinomial(
                logits.softmax(-1), 1, generator=generator
            ).squeeze(1)
        return codes


@dataclasses.dataclass(frozen=True)
class PixelCNNSection:
    """``images.datasets.<name>.pixelcnn``: architecture and training settings."""

    model: PixelCNNConfig = dataclasses.field(default_factory=PixelCNNConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)


def build_pixelcnn(
    section: PixelCNNSection, codes: torch.Tensor, codebook_size: int
) -> tuple[GatedPixelCNN, CodesDataset]:
    """A PixelCNN sized to the VQ-VAE's codebook and code grid, and the codes as its dataset."""
    cfg = dataclasses.replace(
        section.model, codebook_size=codebook_size, height=codes.shape[1], width=codes.shape[2]
    )
    return GatedPixelCNN(cfg), CodesDataset(codes)


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
