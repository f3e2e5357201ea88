"""A prior over VQ-VAE code grids: a small causal transformer (post 6760's "PixelAtt").

The author found his PixelCNN prior "much worse" and used causal self-attention over the
flattened code grid with learned row and column embeddings. Here (minGPT-like): the input at
position i is the previous code (a start token at i = 0), plus the row and column embeddings of
the code being predicted (this fixes the off-by-one of the author's script). Loss: cross-entropy
over the K codes; ``bits_per_code`` is that loss in bits.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from pipeline.engine import TrainConfig


@dataclasses.dataclass(frozen=True)
class PriorConfig:
    codebook_size: int = 64  # K (taken from the VQ-VAE)
    height: int = 4  # code grid (taken from the VQ-VAE)
    width: int = 4
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    dropout: float = 0.0

    def __post_init__(self):
        if self.n_embd % self.n_head:
            raise ValueError(
                f"prior.model.n_embd {self.n_embd} not divisible by n_head {self.n_head}"
            )
        for key in ("codebook_size", "height", "width", "n_layer", "n_head", "n_embd"):
            if getattr(self, key) < 1:
                raise ValueError(f"prior.model.{key}: {getattr(self, key)} must be >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"prior.model.dropout: {self.dropout} not in [0, 1)")


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: PriorConfig):
        super().__init__()
        self.n_head, self.dropout = cfg.n_head, cfg.dropout
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd)

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        """``cache`` (sampling only): keys and values of earlier positions, fed one position at a time."""
        b, t, c = x.shape
        q, k, v = (
            h.view(b, t, self.n_head, c // self.n_head).transpose(1, 2)
            for h in self.qkv(x).split(c, dim=2)
        )
        if cache is not None:
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], dim=2), torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        # one new position attends to every cached one; a full sequence is masked causally
        y = F.scaled_dot_product_attention(
            q, k, v, is_causal=cache is None, dropout_p=self.dropout if self.training else 0.0
        )
        return self.proj(y.transpose(1, 2).reshape(b, t, c))


class Block(nn.Module):
    def __init__(self, cfg: PriorConfig):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(cfg.n_embd), nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.n_embd, 4 * cfg.n_embd),
            nn.GELU(),
            nn.Linear(4 * cfg.n_embd, cfg.n_embd),
            nn.Dropout(cfg.dropout),
        )

    def forward(self, x, cache: dict | None = None):
        x = x + self.attn(self.ln1(x), cache)
        return x + self.mlp(self.ln2(x))


class CodePrior(nn.Module):
    config_class = PriorConfig

    def __init__(self, config: PriorConfig):
        super().__init__()
        self.config = c = config
        self.tok = nn.Embedding(c.codebook_size + 1, c.n_embd)  # + the start token
        self.row, self.col = nn.Embedding(c.height, c.n_embd), nn.Embedding(c.width, c.n_embd)
        self.blocks = nn.ModuleList([Block(c) for _ in range(c.n_layer)])
        self.ln_f = nn.LayerNorm(c.n_embd)
        self.head = nn.Linear(c.n_embd, c.codebook_size, bias=False)
        pos = torch.arange(c.height * c.width)
        self.register_buffer("rows", pos // c.width, persistent=False)
        self.register_buffer("cols", pos % c.width, persistent=False)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (B, h, w) -> logits (B, h*w, K) of each code given those before it."""
        flat = codes.flatten(1)
        start = torch.full_like(flat[:, :1], self.config.codebook_size)
        inp = torch.cat([start, flat[:, :-1]], dim=1)
        return self._logits(inp)

    def _logits(
        self, inp: torch.Tensor, caches: list[dict] | None = None, offset: int = 0
    ) -> torch.Tensor:
        pos = slice(offset, offset + inp.shape[1])
        x = self.tok(inp) + self.row(self.rows[pos]) + self.col(self.cols[pos])
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i])
        return self.head(self.ln_f(x))

    def nll(self, codes: torch.Tensor, logits: torch.Tensor | None = None) -> torch.Tensor:
        """Mean negative log-likelihood per code, in nats."""
        logits = self(codes) if logits is None else logits
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), codes.flatten())

    def train_step(self, ctx) -> dict[str, torch.Tensor]:
        batch = ctx.batch
        logits = ctx.forward(batch["codes"])
        loss = self.nll(batch["codes"], logits)
        ctx.optimize(loss)
        return {"loss": loss.detach(), "bits_per_code": loss.detach() / math.log(2)}

    @torch.no_grad()
    def sample(
        self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Ancestral sampling, one code at a time: (n, h, w) integer codes."""
        c, device = self.config, self.head.weight.device
        token = torch.full((n, 1), c.codebook_size, dtype=torch.long, device=device)
        caches: list[dict] = [{} for _ in self.blocks]  # keys/values so far: O(L) work per step
        out = []
        for i in range(c.height * c.width):
            logits = self._logits(token, caches, offset=i)[:, -1].float() / temperature
            token = torch.multinomial(logits.softmax(-1), 1, generator=generator)
            out.append(token)
        return torch.cat(out, dim=1).view(n, c.height, c.width)


class CodesDataset(Dataset):
    """Code grids (N, h, w) as a map-style dataset for the shared loop."""

    def __init__(self, codes: torch.Tensor):
        self.codes = codes

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"codes": self.codes[i], "x": self.codes[i]}


@dataclasses.dataclass(frozen=True)
class PriorSection:
    """``images.datasets.<name>.prior``: architecture and training settings."""

    model: PriorConfig = dataclasses.field(default_factory=PriorConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)


def build_prior(
    section: PriorSection, codes: torch.Tensor, codebook_size: int
) -> tuple[CodePrior, CodesDataset]:
    """A prior sized to the VQ-VAE's codebook and code grid, and the codes as its dataset."""
    cfg = dataclasses.replace(
        section.model, codebook_size=codebook_size, height=codes.shape[1], width=codes.shape[2]
    )
    return CodePrior(cfg), CodesDataset(codes)
