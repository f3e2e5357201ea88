"""Simpler GloVe (Su Jianlin, kexue.fm 4667–4681, "更别致的词向量模型").

One vector table and no biases; ⟨v_i, v_j⟩ regresses PMI_ij with the weight
(x/x_max)^α (capped at 1 only with truncation), diagonal cells excluded, standard Adagrad with
η = 0.1. The defaults are the author's recipe (``demo.sh``: dim 128, 30 passes; window 10 and
min-count 25 belong to the corpus's text config). The author's C code updates one cell at a
time; here a step sums the gradients of a shuffled mini-batch of cells.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from pipeline.io import write_table
from pipeline.tables import save_figure
from pipeline.vectors import figures
from pipeline.vectors import io as vio
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


log = logging.getLogger(__name__)

#: The two methods of the post: with and without the weight cap (``truncate``).
TRUNCATION = {"simpler_glove_trunc": True, "simpler_glove_notrunc": False}


@dataclass(frozen=True)
class AdagradComparisonConfig:
    """Lagged against standard Adagrad on the simpler-GloVe loss (post 4675, part 4)."""

    enabled: bool = True
    epochs: int = 5
    truncate: bool = True
    loss_scale: float = 10.0
    sgd_eta: float = 0.01
    scale_words: int = 300

    def __post_init__(self):
        if self.loss_scale <= 0 or self.sgd_eta <= 0 or self.scale_words < 2:
            raise ValueError(
                "vectors.adagrad_comparison: loss_scale and sgd_eta must be positive, "
                "scale_words at least 2"
            )


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


def fit_simpler_glove(
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


def train_simpler_glove(
    cfg: SimplerGloveConfig,
    *,
    vocab,
    cooccur,
    output,
    history,
    corpus: str,
    method: str,
    seed: int,
    provenance,
) -> None:
    """``vectors_train_simpler_glove``: ``method`` (a key of :data:`TRUNCATION`) on the counts
    ``cooccur``; writes the vectors (exchange format) and the loss per epoch."""
    if method not in TRUNCATION:
        raise ValueError(f"--method {method!r}: expected one of {sorted(TRUNCATION)}")
    words = vio.read_vocab(vocab)
    cooc = vio.read_cooccurrence(cooccur, words["count"].to_numpy())
    vectors, hist = fit_simpler_glove(cooc, replace(cfg, truncate=TRUNCATION[method]), seed)
    vio.write_training(
        words,
        vectors,
        hist,
        output=output,
        history_path=history,
        corpus=corpus,
        method=method,
        seed=seed,
        provenance=provenance,
    )


def _gram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """‖AAᵀ − BBᵀ‖_F / ‖BBᵀ‖_F: how far two tables' inner products (the fitted PMIs) are apart;
    blind to the rotations V → VQ that leave the loss unchanged."""
    return float(np.linalg.norm(a @ a.T - b @ b.T) / np.linalg.norm(b @ b.T))


#: The loss-scale check's optimisers: (name, variant, initial accumulator G₀).
SCALE_OPTIMIZERS = (
    ("adagrad_g1", "standard", 1.0),
    ("adagrad_g0", "standard", 0.0),
    ("sgd", "sgd", 0.0),
)


def loss_scale_rows(
    cooc: Cooccurrence, base: SimplerGloveConfig, cfg: AdagradComparisonConfig, seed: int
) -> list[dict]:
    """E7.9's loss-scale check (post 4675): torch mini-batch runs on the cells of the
    ``cfg.scale_words`` most frequent words with the loss × 1 and × ``cfg.loss_scale``, for
    Adagrad with G₀ = 1 (the C codes), Adagrad with G₀ = 0 (the post's eq. 23) and plain SGD
    (η = ``cfg.sgd_eta``). Per optimiser: how far the scaled run's inner products end from the
    unscaled run's (:func:`_gram_distance`), and the largest relative gap between the two loss
    paths (the scaled one divided by the scale), epoch by epoch."""
    keep = (cooc.i < cfg.scale_words) & (cooc.j < cfg.scale_words)
    sub = Cooccurrence(cooc.i[keep], cooc.j[keep], cooc.x[keep], cooc.counts[: cfg.scale_words])
    off = sub.off_diagonal()
    target = pmi_targets(off, base.context_smoothing) - np.log(base.pmi_shift)
    weight = glove_weights(off.x, base.x_max, base.alpha, base.truncate)
    rows = []
    for name, variant, g0 in SCALE_OPTIMIZERS:
        eta = cfg.sgd_eta if variant == "sgd" else base.eta
        loop = replace(base.loop(), adagrad=variant, eta=eta, initial_accumulator=g0)
        runs = {}
        for scale in (1.0, cfg.loss_scale):
            generator = torch.Generator().manual_seed(seed)
            model = SimplerGlove(sub.vocab_size, base.dim, generator, torch.device("cpu"))
            i, j, t, f = as_tensors(torch.device("cpu"), off.i, off.j, target, weight * scale)
            history = fit(model, i, j, t, f, loop, generator)
            runs[scale] = (model.vectors.numpy().astype(np.float64), history)
        (v1, h1), (vs, hs) = runs[1.0], runs[cfg.loss_scale]
        path = [
            abs(b["loss"] / cfg.loss_scale - a["loss"]) / a["loss"]
            for a, b in zip(h1, hs, strict=True)
        ]
        values = {
            "relative_gram_change_scaled": _gram_distance(vs, v1),
            "scaled_loss_path_change": max(path),
            "scaled_pairs_skipped": sum(h["skipped"] for h in hs),
        }
        rows += [
            {"method": f"simpler_glove_{name}", "metric": m, "value": float(v)}
            for m, v in values.items()
        ]
    return rows


def compare_adagrad(
    cfg: AdagradComparisonConfig,
    model: SimplerGloveConfig,
    *,
    vocab,
    cooccur,
    output,
    figure,
    corpus: str,
    seed: int,
    provenance,
) -> None:
    """``vectors_compare_adagrad``: the model section's settings with ``cfg.epochs`` passes and
    ``cfg.truncate``, once per Adagrad variant, NaN/Inf cells skipped and counted."""
    words = vio.read_vocab(vocab)
    cooc = vio.read_cooccurrence(cooccur, words["count"].to_numpy())
    base = replace(model, epochs=cfg.epochs, truncate=cfg.truncate, nan_policy="skip")
    rows, histories = [], {}
    for variant in ("standard", "lagged"):
        vectors, history = fit_simpler_glove(cooc, replace(base, adagrad=variant), seed)
        histories[variant] = pd.DataFrame(history)
        method = f"simpler_glove_{variant}"
        rows += [
            {
                "method": method,
                "section": f"epoch{h['epoch']}",
                "metric": "loss",
                "value": h["loss"],
            }
            for h in history
        ]
        rows += [
            {"method": method, "metric": "final_loss", "value": history[-1]["loss"]},
            {
                "method": method,
                "metric": "nonfinite_pairs_skipped",
                "value": sum(h["skipped"] for h in history),
            },
            {
                "method": method,
                "metric": "nonfinite_vector_entries",
                "value": int((~np.isfinite(vectors)).sum()),
            },
        ]
    rows += loss_scale_rows(cooc, base, cfg, seed)
    table = vio.tidy(
        rows, experiment="adagrad_variants", dataset=corpus, implementation="pipeline", seed=seed
    )
    write_table(table, output, provenance)
    save_figure(figures.loss_curves(histories), figure)
