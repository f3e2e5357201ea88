"""Simpler GloVe (Su Jianlin, kexue.fm 4667–4681, "更别致的词向量模型").

One vector table and no biases; ⟨v_i, v_j⟩ regresses PMI_ij with the weight
(x/x_max)^α (capped at 1 only with truncation), diagonal cells excluded, standard Adagrad with
η = 0.1. The defaults are the author's recipe (``demo.sh``: dim 128, 30 passes; window 10 and
min-count 25 belong to the corpus's text config). The author's C code updates one cell at a
time; here a step sums the gradients of a shuffled mini-batch of cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from pipeline.vectors.cellwise import CellwiseConfig
from pipeline.vectors.cellwise import fit as fit_cellwise
from pipeline.vectors.cooccurrence import (
    Cooccurrence,
    glove_weights,
    keep_probabilities,
    pmi_targets,
)
from pipeline.vectors.training import (
    LoopConfig,
    as_tensors,
    engine_config,
    fit,
    resolve_device,
    resolve_engine,
)


@dataclass(frozen=True)
class SimplerGloveConfig:
    dim: int = 128
    epochs: int = 30
    x_max: float = 100.0
    alpha: float = 0.75
    truncate: bool = True
    eta: float = 0.1
    adagrad: str = "standard"
    eps: float = 1e-8
    batch_size: int = 4096
    weighting: str = "unit"
    device: str = "auto"
    nan_policy: str = "raise"
    engine: str = "auto"
    groups: int = 32
    interleave: int = 4
    precision: str = "float32"
    context_smoothing: float = 1.0
    subsample: float = 0.0
    pmi_shift: float = 1.0

    def __post_init__(self):
        if self.precision not in ("float32", "float64"):
            raise ValueError(f"precision: expected float32 or float64, got {self.precision!r}")
        for key in ("dim", "x_max", "alpha", "context_smoothing", "pmi_shift"):
            if getattr(self, key) <= 0:
                raise ValueError(f"{key}: must be positive, got {getattr(self, key)}")
        if self.subsample < 0:
            raise ValueError(f"subsample: must be at least 0, got {self.subsample}")
        if self.weighting not in ("unit", "harmonic"):
            raise ValueError(f"weighting: expected unit or harmonic, got {self.weighting!r}")

    def loop(self) -> LoopConfig:
        return engine_config(LoopConfig, self)

    def cellwise(self) -> CellwiseConfig:
        return engine_config(CellwiseConfig, self)


class SimplerGlove:
    """One table W (V, d), initialised U(−0.5, 0.5)/d as in the C code."""

    def __init__(self, vocab_size: int, dim: int, generator: torch.Generator, device: torch.device):
        w = (torch.rand(vocab_size, dim, generator=generator) - 0.5) / dim
        self.tables = {"W": w.to(device)}

    @property
    def vectors(self) -> torch.Tensor:
        return self.tables["W"]

    def pair_grads(self, i, j, target, weight):
        """Per-pair loss ½·f·r² with r = ⟨w_i, w_j⟩ − PMI_ij, and the gradients f·r·w_j, f·r·w_i."""
        w = self.tables["W"]
        wi, wj = w[i], w[j]
        r = (wi * wj).sum(dim=1) - target
        fr = (weight * r).unsqueeze(1)
        terms = 0.5 * weight * r * r
        return terms, [("W", torch.cat([i, j]), torch.cat([fr * wj, fr * wi]))]


def train_simpler_glove(
    cooc: Cooccurrence, cfg: SimplerGloveConfig, random_state: int = 0
) -> tuple[np.ndarray, list[dict]]:
    """Train on the off-diagonal cells of ``cooc``; return the vectors (V, d) and the history."""
    device = resolve_device(cfg.device)
    engine = resolve_engine(cfg.engine, device)
    generator = torch.Generator().manual_seed(random_state)
    off = cooc.off_diagonal()
    target = pmi_targets(off, cfg.context_smoothing) - np.log(cfg.pmi_shift)
    weight = glove_weights(off.x, cfg.x_max, cfg.alpha, cfg.truncate)
    keep = keep_probabilities(cooc.counts, cfg.subsample)
    weight = weight * keep[off.i] * keep[off.j]
    model = SimplerGlove(cooc.vocab_size, cfg.dim, generator, device)
    if engine == "numba":
        tables = {"W": model.tables["W"].numpy().astype(cfg.precision)}
        history = fit_cellwise(tables, off.i, off.j, target, weight, cfg.cellwise(), random_state)
        model.tables["W"] = torch.from_numpy(tables["W"].astype(np.float32))
    else:
        i, j, t, f = as_tensors(device, off.i, off.j, target, weight)
        history = fit(model, i, j, t, f, cfg.loop(), generator)
    return model.vectors.cpu().numpy(), history
