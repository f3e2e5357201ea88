"""VQ-VAE (van den Oord et al. 2017; post 6760, "VQ-VAE的简明介绍").

Encoder -> grid of d-dim vectors z -> nearest of K codes e_k -> decoder. The post's loss, with
means as in the author's Keras script::

    L = mse(x, dec(z + sg[e - z])) + codebook_weight * mse(sg[z], e) + beta * mse(z, sg[e])

(``codebook_weight`` 1 and ``beta`` 0.25: the post's beta = 1, gamma = 0.25 beta). The
straight-through term ``z + sg[e - z]`` has e's value forward and z's gradient backward.
Two quantiser classes rather than a flag: :class:`VectorQuantizer` learns the codebook by
gradient; :class:`EMAVectorQuantizer` by exponential moving averages of assigned vectors
(the paper's appendix, decay 0.99). Both can restart dead codes from current encoder outputs.

Two encoder/decoder pairs, chosen by ``architecture`` (:data:`ARCHITECTURES`): ``paper`` (the
paper's stack: stride-2 convolutions and ReLU residual blocks, no normalisation, linear output)
and ``author`` (the author's Keras script ``vq_vae_keras.py``: BatchNorm after every strided
convolution and inside each residual block, BN between blocks, a tanh output).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from pipeline.engine import TrainConfig
from pipeline.images.datasets import ImageSet
from pipeline.images.loader import ImageDataset, to_tensor


@dataclasses.dataclass(frozen=True)
class VQVAEConfig:
    in_channels: int = 1
    hidden: int = 64  # channels of the conv stacks
    res_hidden: int = 32  # channels inside a residual block
    n_res: int = 2  # residual blocks in encoder and decoder
    downsample: int = 1  # stride-2 convolutions: the code grid is H / 2**downsample
    codebook_size: int = 64  # K
    code_dim: int = 16  # d
    beta: float = 0.25  # commitment weight (the post's gamma)
    codebook_weight: float = 1.0  # weight of mse(sg[z], e) (unused by the EMA codebook)
    ema_codebook: bool = False
    codebook_decay: float = 0.99
    dead_code_threshold: float = 0.0  # restart codes whose EMA usage count falls below this
    architecture: str = "paper"  # encoder/decoder pair: paper | author (ARCHITECTURES)

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"vqvae.model.architecture: {self.architecture!r} is not one of "
                f"{', '.join(ARCHITECTURES)}"
            )
        for key in (
            "in_channels",
            "hidden",
            "res_hidden",
            "codebook_size",
            "code_dim",
            "downsample",
        ):
            if getattr(self, key) < 1:
                raise ValueError(f"vqvae.model.{key}: {getattr(self, key)} must be >= 1")
        if (
            self.n_res < 0
            or self.beta < 0
            or self.codebook_weight < 0
            or self.dead_code_threshold < 0
        ):
            raise ValueError(
                "vqvae.model: n_res, beta, codebook_weight, dead_code_threshold must be >= 0"
            )
        if not 0.0 < self.codebook_decay < 1.0:
            raise ValueError(f"vqvae.model.codebook_decay: {self.codebook_decay} not in (0, 1)")


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(channels, hidden, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(hidden, channels, 1),
        )

    def forward(self, x):
        return x + self.net(x)


def encoder(cfg: VQVAEConfig) -> nn.Sequential:
    layers, c = [], cfg.in_channels
    for i in range(cfg.downsample):
        out = cfg.hidden if i == cfg.downsample - 1 else cfg.hidden // 2
        layers += [nn.Conv2d(c, out, 4, stride=2, padding=1), nn.ReLU()]
        c = out
    layers += [nn.Conv2d(c, cfg.hidden, 3, padding=1)]
    layers += [ResidualBlock(cfg.hidden, cfg.res_hidden) for _ in range(cfg.n_res)]
    layers += [nn.ReLU(), nn.Conv2d(cfg.hidden, cfg.code_dim, 1)]
    return nn.Sequential(*layers)


def decoder(cfg: VQVAEConfig) -> nn.Sequential:
    layers = [nn.Conv2d(cfg.code_dim, cfg.hidden, 3, padding=1)]
    layers += [ResidualBlock(cfg.hidden, cfg.res_hidden) for _ in range(cfg.n_res)]
    layers += [nn.ReLU()]
    c = cfg.hidden
    for i in range(cfg.downsample):
        last = i == cfg.downsample - 1
        out = cfg.in_channels if last else cfg.hidden // 2
        layers += [nn.ConvTranspose2d(c, out, 4, stride=2, padding=1)] + (
            [] if last else [nn.ReLU()]
        )
        c = out
    return nn.Sequential(*layers)


def _keras_bn(channels: int) -> nn.BatchNorm2d:
    """BatchNorm with Keras's defaults (momentum 0.99 of the running mean, epsilon 1e-3)."""
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class AuthorResidualBlock(nn.Module):
    """The author's ``resnet_block``: x + Conv1x1(ReLU(BN(Conv3x3(ReLU(x)))))."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(channels, hidden, 3, padding=1),
            _keras_bn(hidden),
            nn.ReLU(),
            nn.Conv2d(hidden, channels, 1),
        )

    def forward(self, x):
        return x + self.net(x)


def author_encoder(cfg: VQVAEConfig) -> nn.Sequential:
    """Conv 4x4 s2 -> BN (-> ReLU -> Conv 4x4 s2 -> BN)* -> residual blocks with BN between them.

    The author's width is his code dimension (z_dim = 128 for both); where ``code_dim`` differs
    from ``hidden`` a 1x1 convolution projects to it.
    """
    layers, c = [], cfg.in_channels
    for i in range(cfg.downsample):
        layers += ([nn.ReLU()] if i else []) + [
            nn.Conv2d(c, cfg.hidden, 4, stride=2, padding=1),
            _keras_bn(cfg.hidden),
        ]
        c = cfg.hidden
    for i in range(cfg.n_res):
        layers += [AuthorResidualBlock(cfg.hidden, cfg.res_hidden)]
        if i < cfg.n_res - 1:
            layers += [_keras_bn(cfg.hidden)]
    if cfg.code_dim != cfg.hidden:
        layers += [nn.Conv2d(cfg.hidden, cfg.code_dim, 1)]
    return nn.Sequential(*layers)


def author_decoder(cfg: VQVAEConfig) -> nn.Sequential:
    """(BN -> residual block)* -> (ConvT 4x4 s2 -> BN -> ReLU)* -> ConvT 4x4 s2 -> tanh."""
    layers = [nn.Conv2d(cfg.code_dim, cfg.hidden, 1)] if cfg.code_dim != cfg.hidden else []
    for _ in range(cfg.n_res):
        layers += [_keras_bn(cfg.hidden), AuthorResidualBlock(cfg.hidden, cfg.res_hidden)]
    for i in range(cfg.downsample):
        if i == cfg.downsample - 1:
            layers += [
                nn.ConvTranspose2d(cfg.hidden, cfg.in_channels, 4, stride=2, padding=1),
                nn.Tanh(),
            ]
        else:
            layers += [
                nn.ConvTranspose2d(cfg.hidden, cfg.hidden, 4, stride=2, padding=1),
                _keras_bn(cfg.hidden),
                nn.ReLU(),
            ]
    return nn.Sequential(*layers)


#: ``vqvae.model.architecture`` -> (encoder builder, decoder builder).
ARCHITECTURES = {"paper": (encoder, decoder), "author": (author_encoder, author_decoder)}


def _all_reduce(t: torch.Tensor) -> torch.Tensor:
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t)
    return t


class VectorQuantizer(nn.Module):
    """Nearest-code quantiser with a codebook learned by gradient (the post's Keras layer)."""

    def __init__(self, cfg: VQVAEConfig):
        super().__init__()
        self.cfg = cfg
        k = cfg.codebook_size
        self.codebook = nn.Parameter(torch.empty(k, cfg.code_dim).uniform_(-1.0 / k, 1.0 / k))
        self.register_buffer("usage", torch.ones(k))  # EMA of assignments per batch, for restarts

    def assign(self, flat: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code, (N, d) -> (N,); ``|z|^2 + |e|^2 - 2 z.e`` in float32."""
        e = self.codebook.float()
        d2 = flat.pow(2).sum(1, keepdim=True) + e.pow(2).sum(1) - 2.0 * flat @ e.t()
        return d2.argmin(1)

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """z (B, d, H, W) -> z_q (straight-through), codes (B, H, W), perplexity."""
        with torch.autocast(z.device.type, enabled=False):
            z = z.float()
            flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
            codes = self.assign(flat)
            onehot = F.one_hot(codes, self.cfg.codebook_size).float()
            if self.training:
                self.update(flat, onehot)
            e = self.codebook.float()[codes].view(z.shape[0], z.shape[2], z.shape[3], -1)
            z_q = e.permute(0, 3, 1, 2)
            probs = onehot.mean(0)
            perplexity = torch.exp(-(probs * torch.log(probs + 1e-10)).sum())
        return {
            "z_q": z_q,
            "z_q_st": z + (z_q - z).detach(),
            "codes": codes.view(z.shape[0], *z.shape[2:]),
            "perplexity": perplexity,
            "used": (probs > 0).float().mean(),
        }

    @torch.no_grad()
    def update(self, flat: torch.Tensor, onehot: torch.Tensor) -> None:
        counts = _all_reduce(onehot.sum(0))
        self.usage.mul_(self.cfg.codebook_decay).add_(counts, alpha=1 - self.cfg.codebook_decay)
        if self.cfg.dead_code_threshold > 0:
            self.restart_dead(flat)

    @torch.no_grad()
    def restart_dead(self, flat: torch.Tensor) -> None:
        """Move codes used less than the threshold onto random current encoder outputs."""
        dead = (self.usage < self.cfg.dead_code_threshold).nonzero().squeeze(1)
        if len(dead) == 0:
            return
        pick = torch.randint(len(flat), (len(dead),), device=flat.device)
        new = flat[pick].to(self.codebook.dtype)
        if dist.is_available() and dist.is_initialized():
            dist.broadcast(new, 0)
        self.codebook.data[dead] = new
        self.usage[dead] = 1.0


class EMAVectorQuantizer(VectorQuantizer):
    """Codebook as EMA of assigned encoder outputs (Laplace-smoothed counts), not by gradient."""

    def __init__(self, cfg: VQVAEConfig):
        super().__init__(cfg)
        self.codebook.requires_grad_(False)
        self.codebook.data.normal_()
        self.register_buffer("cluster_size", torch.zeros(cfg.codebook_size))
        self.register_buffer("embed_sum", self.codebook.data.clone())

    @torch.no_grad()
    def update(self, flat: torch.Tensor, onehot: torch.Tensor) -> None:
        g, k, eps = self.cfg.codebook_decay, self.cfg.codebook_size, 1e-5
        counts = _all_reduce(onehot.sum(0))
        sums = _all_reduce(onehot.t() @ flat)
        self.cluster_size.mul_(g).add_(counts, alpha=1 - g)
        self.embed_sum.mul_(g).add_(sums, alpha=1 - g)
        n = self.cluster_size.sum()
        smoothed = (self.cluster_size + eps) / (n + k * eps) * n
        self.codebook.data.copy_(self.embed_sum / smoothed.unsqueeze(1))
        self.usage.mul_(g).add_(counts, alpha=1 - g)
        if self.cfg.dead_code_threshold > 0:
            dead = self.usage < self.cfg.dead_code_threshold
            self.restart_dead(flat)
            self.embed_sum[dead] = self.codebook.data[dead]
            self.cluster_size[dead] = 1.0


class VQVAE(nn.Module):
    config_class = VQVAEConfig

    def __init__(self, config: VQVAEConfig):
        super().__init__()
        self.config = config
        build_encoder, build_decoder = ARCHITECTURES[config.architecture]
        self.encoder = build_encoder(config)
        self.quantizer = (EMAVectorQuantizer if config.ema_codebook else VectorQuantizer)(config)
        self.decoder = build_decoder(config)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.encoder(x)
        q = self.quantizer(z)
        return {"x_hat": self.decoder(q["z_q_st"]), "z": z, **q}

    def losses(self, x: torch.Tensor, out: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        cfg = self.config
        mse_x = F.mse_loss(out["x_hat"].float(), x.float())
        mse_e = F.mse_loss(out["z_q"], out["z"].detach().float())
        mse_z = F.mse_loss(out["z"].float(), out["z_q"].detach())
        weight_e = 0.0 if cfg.ema_codebook else cfg.codebook_weight
        return {
            "loss": mse_x + weight_e * mse_e + cfg.beta * mse_z,
            "mse_x": mse_x,
            "mse_e": mse_e,
            "mse_z": mse_z,
        }

    def train_step(self, ctx) -> dict[str, torch.Tensor]:
        batch = ctx.batch
        out = ctx.forward(batch["x"])
        losses = self.losses(batch["x"], out)
        ctx.optimize(losses["loss"])
        return {k: v.detach() for k, v in losses.items()} | {
            "perplexity": out["perplexity"].detach(),
            "codes_used": out["used"].detach(),
        }

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) in [-1, 1] -> integer code grid (B, h, w)."""
        return self.quantizer(self.encoder(x))["codes"]

    @torch.no_grad()
    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """Code grid (B, h, w) -> images (B, C, H, W)."""
        e = self.quantizer.codebook[codes].permute(0, 3, 1, 2)
        return self.decoder(e)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, quantize: bool = True) -> torch.Tensor:
        """dec(z_q), or dec(z) from the continuous encoding (the author's sample_ae_1)."""
        z = self.encoder(x)
        return self.decoder(self.quantizer(z)["z_q"] if quantize else z)

    def grid_size(self, image_size: int) -> int:
        return image_size // 2**self.config.downsample


@dataclasses.dataclass(frozen=True)
class VQVAESection:
    """``images.datasets.<name>.vqvae``: architecture, loss and training settings."""

    model: VQVAEConfig = dataclasses.field(default_factory=VQVAEConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)


def build_vqvae(section: VQVAESection, data: ImageSet) -> tuple[VQVAE, ImageDataset]:
    """The VQ-VAE for the dataset's channels (its size must be divisible by the halvings)."""
    if data.x_train.shape[1] % 2**section.model.downsample:
        raise ValueError(
            f"vqvae.model.downsample: {section.model.downsample} halvings do not divide "
            f"the image size {data.x_train.shape[1]}"
        )
    model = VQVAE(dataclasses.replace(section.model, in_channels=data.x_train.shape[-1]))
    return model, ImageDataset(data.x_train, data.y_train, section.train.hflip)


@torch.no_grad()
def encode_all(vq: VQVAE, x: np.ndarray, batch: int = 512) -> torch.Tensor:
    """Integer code grids (N, h, w) of uint8 NHWC images."""
    device = next(vq.parameters()).device
    return torch.cat(
        [vq.encode(to_tensor(x[i : i + batch]).to(device)).cpu() for i in range(0, len(x), batch)]
    )
