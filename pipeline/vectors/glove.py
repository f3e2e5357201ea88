"""The GloVe baseline (Pennington, Socher, Manning 2014) and its ill-posedness (post 4675).

Two tables W, W̃ and two biases b, b̃; ⟨w_i, w̃_j⟩ + b_i + b̃_j regresses log X_ij with the
truncated weight min(1, (x/x_max)^α); 1/d ("harmonic") counts; η = 0.05; output W + W̃.
``adagrad="lagged"`` is the original C code's update (see :mod:`pipeline.vectors.adagrad`).

Ill-posedness: v → v + c, ṽ → ṽ + c, b_i → b_i − ⟨v_i, c⟩ − ‖c‖²/2 and likewise b̃_j leave
the loss unchanged, so the solution is defined only up to a common vector c
(:func:`shift_parameters`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from pipeline.io import atomic_path, require_file, write_table
from pipeline.tables import save_figure
from pipeline.vectors import figures
from pipeline.vectors import io as vio
from pipeline.vectors.cellwise import CellwiseConfig
from pipeline.vectors.cellwise import fit as fit_cellwise
from pipeline.vectors.cooccurrence import Cooccurrence, glove_weights
from pipeline.vectors.training import (
    LoopConfig,
    as_tensors,
    engine_config,
    fit,
    resolve_device,
    resolve_engine,
)


@dataclass(frozen=True)
class GloveConfig:
    dim: int = 100
    epochs: int = 15
    x_max: float = 10.0
    alpha: float = 0.75
    eta: float = 0.05
    adagrad: str = "lagged"
    eps: float = 1e-8
    grad_clip: float | None = 100.0
    batch_size: int = 4096
    weighting: str = "harmonic"
    include_diagonal: bool = True
    device: str = "auto"
    nan_policy: str = "raise"
    engine: str = "auto"
    groups: int = 32
    interleave: int = 1
    precision: str = "float32"

    def __post_init__(self):
        if self.precision not in ("float32", "float64"):
            raise ValueError(f"precision: expected float32 or float64, got {self.precision!r}")
        for key in ("dim", "x_max", "alpha"):
            if getattr(self, key) <= 0:
                raise ValueError(f"{key}: must be positive, got {getattr(self, key)}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ValueError(f"grad_clip: must be positive or null, got {self.grad_clip}")

    def loop(self) -> LoopConfig:
        return engine_config(LoopConfig, self)

    def cellwise(self) -> CellwiseConfig:
        return engine_config(CellwiseConfig, self)


@dataclass(frozen=True)
class IllPosednessConfig:
    """GloVe's invariance under v -> v + c (post 4675, eq. 18) and the cosines as ||c|| grows."""

    shift_norms: list = field(default_factory=lambda: [0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0])
    top_words: int = 1000
    max_pairs: int = 1000000


class Glove:
    """Tables W, C (V, d) and biases b, c (V,), all initialised U(−0.5, 0.5)/d."""

    def __init__(self, vocab_size, dim, generator, device, grad_clip=None):
        def init(*shape):
            return ((torch.rand(*shape, generator=generator) - 0.5) / dim).to(device)

        self.tables = {
            "W": init(vocab_size, dim),
            "C": init(vocab_size, dim),
            "b": init(vocab_size),
            "c": init(vocab_size),
        }
        self.grad_clip = grad_clip

    @property
    def vectors(self) -> torch.Tensor:
        return self.tables["W"] + self.tables["C"]

    def pair_grads(self, i, j, target, weight):
        """Per-pair loss ½·f·r² with r = ⟨w_i, c_j⟩ + b_i + c̃_j − log X_ij, and its gradients."""
        t = self.tables
        wi, cj = t["W"][i], t["C"][j]
        r = (wi * cj).sum(dim=1) + t["b"][i] + t["c"][j] - target
        fr = weight * r
        gw, gc = fr.unsqueeze(1) * cj, fr.unsqueeze(1) * wi
        if self.grad_clip is not None:
            gw, gc = (
                gw.clamp(-self.grad_clip, self.grad_clip),
                gc.clamp(-self.grad_clip, self.grad_clip),
            )
        terms = 0.5 * weight * r * r
        return terms, [("W", i, gw), ("C", j, gc), ("b", i, fr), ("c", j, fr)]


def glove_loss(tables: dict, i, j, log_x, weight) -> torch.Tensor:
    """Σ ½·f·(⟨w_i, c_j⟩ + b_i + c̃_j − log X_ij)², in float64 for the invariance check."""
    t = {k: v.double() for k, v in tables.items()}
    r = (t["W"][i] * t["C"][j]).sum(dim=1) + t["b"][i] + t["c"][j] - log_x.double()
    return 0.5 * (weight.double() * r * r).sum()


def shift_parameters(tables: dict, shift: torch.Tensor) -> dict:
    """Post 4675 eq. (18): add ``shift`` (d,) to every vector and absorb the cross terms in the
    biases, b_i − ⟨w_i, c⟩ − ‖c‖²/2; the GloVe loss is unchanged."""
    half = 0.5 * (shift * shift).sum()
    return {
        "W": tables["W"] + shift,
        "C": tables["C"] + shift,
        "b": tables["b"] - tables["W"] @ shift - half,
        "c": tables["c"] - tables["C"] @ shift - half,
    }


def mean_pairwise_cosine(vectors: torch.Tensor) -> float:
    """Mean cosine over all pairs of distinct rows of ``vectors`` (n, d)."""
    u = torch.nn.functional.normalize(vectors.double(), dim=1)
    n = len(u)
    s = u.sum(dim=0)
    return float(((s @ s) - n) / (n * (n - 1)))


def fit_glove(cooc: Cooccurrence, cfg: GloveConfig, random_state: int = 0):
    """Train GloVe; return (W + W̃ as (V, d) array, history, the four tables on the CPU)."""
    device = resolve_device(cfg.device)
    engine = resolve_engine(cfg.engine, device)
    generator = torch.Generator().manual_seed(random_state)
    data = cooc if cfg.include_diagonal else cooc.off_diagonal()
    weight = glove_weights(data.x, cfg.x_max, cfg.alpha, truncate=True)
    model = Glove(cooc.vocab_size, cfg.dim, generator, device, cfg.grad_clip)
    if engine == "numba":
        tables = {k: v.numpy().astype(cfg.precision) for k, v in model.tables.items()}
        history = fit_cellwise(
            tables, data.i, data.j, np.log(data.x), weight, cfg.cellwise(), random_state
        )
        model.tables = {k: torch.from_numpy(v.astype(np.float32)) for k, v in tables.items()}
    else:
        i, j, t, f = as_tensors(device, data.i, data.j, np.log(data.x), weight)
        history = fit(model, i, j, t, f, cfg.loop(), generator)
    tables = {k: v.cpu() for k, v in model.tables.items()}
    return model.vectors.cpu().numpy(), history, tables


def train_glove(
    cfg: GloveConfig,
    *,
    vocab,
    cooccur,
    output,
    history,
    params,
    corpus: str,
    method: str,
    seed: int,
    provenance,
) -> None:
    """``vectors_train_glove``: writes W + W̃ (exchange format), the loss per epoch, and the four
    tables with the config (``params``, for the ill-posedness check)."""
    words = vio.read_vocab(vocab)
    cooc = vio.read_cooccurrence(cooccur, words["count"].to_numpy())
    vectors, hist, tables = fit_glove(cooc, cfg, random_state=seed)
    with atomic_path(params) as tmp:
        torch.save({"config": asdict(cfg), "epochs": len(hist), "tables": tables}, tmp)
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


def check_ill_posedness(
    cfg: IllPosednessConfig,
    *,
    params,
    vocab,
    cooccur,
    output,
    figure,
    corpus: str,
    seed: int,
    provenance,
) -> None:
    """``vectors_check_ill_posedness``: the loss of the trained tables on sampled cells, and the
    mean pairwise cosine of the ``top_words`` vectors, for every shift norm ||c||."""
    state = torch.load(require_file(params, "GloVe parameters"), weights_only=False)
    tables, gcfg = state["tables"], state["config"]
    words = vio.read_vocab(vocab)
    cooc = vio.read_cooccurrence(cooccur, words["count"].to_numpy())
    gen = np.random.default_rng(seed)
    pick = gen.choice(len(cooc.x), size=min(cfg.max_pairs, len(cooc.x)), replace=False)
    i = torch.as_tensor(cooc.i[pick].astype(np.int64))
    j = torch.as_tensor(cooc.j[pick].astype(np.int64))
    log_x = torch.as_tensor(np.log(cooc.x[pick]))
    weight = torch.as_tensor(glove_weights(cooc.x[pick], gcfg["x_max"], gcfg["alpha"], True))
    direction = torch.as_tensor(gen.normal(size=tables["W"].shape[1]))
    direction /= direction.norm()
    base = float(glove_loss(tables, i, j, log_x, weight))
    rows = []
    for norm in cfg.shift_norms:
        shifted = shift_parameters({k: v.double() for k, v in tables.items()}, direction * norm)
        loss = float(glove_loss(shifted, i, j, log_x, weight))
        cosine = mean_pairwise_cosine(shifted["W"][: cfg.top_words])
        rows += [
            {"shift_norm": norm, "metric": "loss", "value": loss},
            {
                "shift_norm": norm,
                "metric": "relative_loss_change",
                "value": abs(loss - base) / base,
            },
            {"shift_norm": norm, "metric": "mean_pairwise_cosine", "value": cosine},
        ]
    for r in rows:
        r["section"] = f"shift={r['shift_norm']:g}"
    table = vio.tidy(
        rows,
        experiment="ill_posedness",
        dataset=corpus,
        method="glove",
        implementation="pipeline",
        seed=seed,
    )
    write_table(table, output, provenance)
    save_figure(figures.cosine_vs_shift(table.to_pandas()), figure)
