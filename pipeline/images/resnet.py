"""ResNet for CIFAR (He et al. 2016, section 4.2): the ResNet20 of post 6583's EMA experiment.

``depth = 6n + 2``: a 3x3 stem, three stages of ``n`` basic blocks at widths ``w, 2w, 4w`` (the
second and third start with stride 2), global average pooling and a linear head. ResNet20 is
``depth=20, width=16`` (0.27 M parameters); the CPU proxy is ``depth=8, width=8``. Shortcuts that
change shape are 1x1 convolutions with BatchNorm (option B). The EMA averages the BatchNorm
statistics with the weights (as Keras's EMA averaged all ``model.weights``).

Training uses the standard CIFAR augmentation when ``augment`` is set: a random crop of the image
padded by ``pad`` pixels (zeros) and a random horizontal flip, drawn on the device from torch's
global generator (seeded and checkpointed by the engine).
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn


@dataclasses.dataclass(frozen=True)
class ResNetConfig:
    depth: int = 20
    width: int = 16
    in_channels: int = 3
    n_classes: int = 10
    augment: bool = True  # random crop (zero padding ``pad``) and horizontal flip while training
    pad: int = 4

    def __post_init__(self):
        if self.depth < 8 or (self.depth - 2) % 6:
            raise ValueError(
                f"resnet.depth: {self.depth} must be 6n + 2 with n >= 1 (8, 14, 20, 32, ...)"
            )
        for key in ("width", "in_channels", "n_classes"):
            if getattr(self, key) < 1:
                raise ValueError(f"resnet.{key}: {getattr(self, key)} must be >= 1")
        if self.pad < 0:
            raise ValueError(f"resnet.pad: {self.pad} must be >= 0")


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def augment_crop_flip(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Random ``pad``-pixel translation (zero padding, then a crop of the original size) and a
    random horizontal flip per image; (B, C, H, W) -> (B, C, H, W)."""
    b, _, h, w = x.shape
    flip = torch.rand(b, device=x.device) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    if pad == 0:
        return x
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (b,), device=x.device)
    dx = torch.randint(0, 2 * pad + 1, (b,), device=x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    idx = torch.arange(b, device=x.device)[:, None, None, None]
    chan = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[idx, chan, rows, cols]


class ResNet(nn.Module):
    config_class = ResNetConfig

    def __init__(self, config: ResNetConfig):
        super().__init__()
        self.config = c = config
        n, w = (c.depth - 2) // 6, c.width
        self.stem = nn.Sequential(
            nn.Conv2d(c.in_channels, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU()
        )
        blocks, c_in = [], w
        for stage, c_out in enumerate((w, 2 * w, 4 * w)):
            for i in range(n):
                blocks.append(BasicBlock(c_in, c_out, 2 if stage > 0 and i == 0 else 1))
                c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(c_in, c.n_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.stem(x))
        return self.head(F.adaptive_avg_pool2d(h, 1).flatten(1))

    def train_step(self, ctx) -> dict[str, torch.Tensor]:
        x, y = ctx.batch["x"], ctx.batch["y"]
        if self.config.augment:
            x = augment_crop_flip(x, self.config.pad)
        logits = ctx.forward(x)
        loss = F.cross_entropy(logits.float(), y)
        ctx.optimize(loss)
        acc = (logits.argmax(1) == y).float().mean()
        return {"loss": loss.detach(), "accuracy": acc.detach()}
