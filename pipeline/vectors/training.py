"""The one training loop both torch models share: devices, shuffling, the NaN/Inf guard.

A model exposes ``tables`` (a dict of tensors Adagrad updates) and
``pair_grads(i, j, target, weight) -> (loss_terms, updates)``, where ``loss_terms`` is the
per-pair loss ½·f·r² (n,) and ``updates`` a list of ``(table name, rows, per-pair gradients)``.
The loop knows nothing else about the model.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, fields

import numpy as np
import torch

from pipeline import devices
from pipeline.vectors.adagrad import RowAdagrad
from pipeline.vectors.cooccurrence import shuffled_batches

log = logging.getLogger(__name__)

NAN_POLICIES = ("raise", "skip")


class DivergenceError(ValueError):
    """Training produced a non-finite loss; the message names the step and the loss."""


def engine_config(cls: type, model_cfg):
    """The engine's config ``cls`` from the like-named fields of a model's config (fields the
    model does not have keep ``cls``'s defaults), so no field is passed by position."""
    return cls(
        **{f.name: getattr(model_cfg, f.name) for f in fields(cls) if hasattr(model_cfg, f.name)}
    )


@dataclass(frozen=True)
class LoopConfig:
    """What the loop needs: passes, batch size, optimiser, and what to do with NaN/Inf."""

    epochs: int
    batch_size: int
    eta: float
    adagrad: str = "standard"
    eps: float = 1e-8
    nan_policy: str = "raise"
    initial_accumulator: float = 1.0  # G at the start: 1 in both C codes

    def __post_init__(self):
        if self.epochs < 1:
            raise ValueError(f"epochs: must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size: must be at least 1, got {self.batch_size}")
        if self.nan_policy not in NAN_POLICIES:
            raise ValueError(f"nan_policy: expected one of {NAN_POLICIES}, got {self.nan_policy!r}")


def resolve_device(name: str, key: str = "device") -> torch.device:
    """``auto`` → CUDA when present, else CPU; ``cuda`` without a GPU is a config error
    (the shared rule of :mod:`pipeline.devices`)."""
    return torch.device(devices.resolve_device(name, key))


ENGINES = ("auto", "torch", "numba")


def resolve_engine(name: str, device: torch.device) -> str:
    """``auto`` → the per-cell numba engine on the CPU, the mini-batch torch loop on CUDA."""
    if name not in ENGINES:
        raise ValueError(f"engine: expected one of {ENGINES}, got {name!r}")
    if name == "auto":
        return "torch" if device.type == "cuda" else "numba"
    if name == "numba" and device.type == "cuda":
        raise ValueError("engine: numba runs on the CPU; set device: cpu or engine: torch")
    return name


def as_tensors(device: torch.device, *arrays: np.ndarray) -> list[torch.Tensor]:
    """Integer arrays as int64, float arrays as float32, on ``device``."""
    out = []
    for a in arrays:
        dtype = torch.int64 if np.issubdtype(a.dtype, np.integer) else torch.float32
        out.append(torch.as_tensor(a).to(device=device, dtype=dtype))
    return out


def fit(model, i, j, target, weight, cfg: LoopConfig, generator: torch.Generator) -> list[dict]:
    """Run ``cfg.epochs`` passes of shuffled mini-batches; return one dict per epoch.

    Each dict holds epoch, loss (mean of ½·f·r² over the pairs), skipped (pairs whose loss or
    gradient was NaN/Inf and were left out, ``nan_policy="skip"`` only) and seconds.

    Raises
    ------
    DivergenceError
        With ``nan_policy="raise"``, at the first mini-batch whose loss is not finite.
    """
    opt = RowAdagrad(
        model.tables,
        lr=cfg.eta,
        variant=cfg.adagrad,
        eps=cfg.eps,
        initial_accumulator=cfg.initial_accumulator,
    )
    n, step, history = len(target), 0, []
    for epoch in range(1, cfg.epochs + 1):
        start, total, skipped = time.perf_counter(), 0.0, 0
        for idx in shuffled_batches(n, cfg.batch_size, generator, target.device):
            step += 1
            terms, updates = model.pair_grads(i[idx], j[idx], target[idx], weight[idx])
            batch_loss = terms.sum()
            ok = None
            if not torch.isfinite(batch_loss):
                if cfg.nan_policy == "raise":
                    raise DivergenceError(
                        f"training diverged at step {step} (epoch {epoch}): mini-batch loss "
                        f"{batch_loss.item()}; lower eta or x_max, or check the co-occurrence table"
                    )
                ok = torch.isfinite(terms)
                for _, _, g in updates:  # a table's gradients stack k blocks of the n pairs
                    ok &= (
                        torch.isfinite(g.reshape(len(g) // len(terms), len(terms), -1))
                        .all(2)
                        .all(0)
                    )
                skipped += int((~ok).sum())
                batch_loss = terms[ok].sum()
            total += float(batch_loss)
            for name, rows, grads in updates:
                if ok is not None:
                    keep = ok.repeat(len(rows) // len(ok))
                    rows, grads = rows[keep], grads[keep]
                opt.step(name, rows, grads)
        history.append(
            {
                "epoch": epoch,
                "loss": total / n,
                "skipped": skipped,
                "seconds": time.perf_counter() - start,
            }
        )
        log.info(
            "epoch %d: loss %.6g, %d pairs skipped, %.1f s",
            epoch,
            total / n,
            skipped,
            history[-1]["seconds"],
        )
    return history
