"""E4.2 and E4.3: weight EMA's semantics and its benefit (post 6575; evidence in post 6583).

Semantics (E4.2): the EMA is Polyak averaging, not momentum -- it never changes the optimizer's
path, so a run through the engine with EMAs and a bare PyTorch loop without any, from one seed,
end with bit-identical raw weights; and the engine's shadow of a scalar sequence is the
bias-corrected closed form ``(1 - a) sum_k a^(n-k) theta_k / (1 - a^n)`` (Keras's zero-debiased
``moving_average_update``).

Benefit (E4.3): one training run, the raw model ("none") and one EMA per decay evaluated side by
side after every epoch. The run is advanced one epoch at a time through the engine's exact
resume, so the curves come from a single trajectory.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from pipeline.engine import TrainConfig, Trainer
from pipeline.engine.data import batch_stream
from pipeline.engine.ema import make_ema

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- E4.2 semantics
def closed_form_ema(values: np.ndarray, decay: float) -> np.ndarray:
    """Bias-corrected EMA of a sequence by its closed form, in float64: (n,) -> (n,)."""
    values = np.asarray(values, dtype=np.float64)
    n = np.arange(1, len(values) + 1)
    out = np.empty_like(values)
    for i in range(len(values)):
        weights = (1.0 - decay) * decay ** (n[i] - n[: i + 1])
        out[i] = weights @ values[: i + 1] / (1.0 - decay ** n[i])
    return out


def engine_shadow(values: np.ndarray, decay: float) -> np.ndarray:
    """The engine's EMA (``make_ema``) of a one-parameter module fed ``values`` in turn, float64."""
    module = nn.Linear(1, 1, bias=False).double()
    ema = None
    out = np.empty(len(values))
    for i, v in enumerate(values):
        with torch.no_grad():
            module.weight.fill_(float(v))
        if ema is None:
            ema = make_ema(module, decay)  # an AveragedModel's first update copies the weights
        ema.update_parameters(module)
        out[i] = float(ema.module.weight.detach())
    return out


def train_without_ema(model: nn.Module, cfg: TrainConfig, dataset: Dataset) -> nn.Module:
    """A bare PyTorch loop with no EMA at all: the engine's batches, Adam, seed and step order."""
    model = copy.deepcopy(model)
    torch.manual_seed(cfg.seed)
    opt = torch.optim.Adam(
        model.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay
    )
    stream = batch_stream(dataset, cfg.batch_size, cfg.seed)
    model.train()
    for _ in range(cfg.steps):
        batch = next(stream)
        loss = F.cross_entropy(model(batch["x"]).float(), batch["y"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model


def max_weight_difference(a: nn.Module, b: nn.Module) -> float:
    """Largest absolute difference over every parameter and buffer (0.0 = bit-identical)."""
    sa, sb = a.state_dict(), b.state_dict()
    if sa.keys() != sb.keys():
        raise ValueError("the two models have different weights")
    return max(
        float((sa[k].double() - sb[k].double()).abs().max()) if sa[k].numel() else 0.0 for k in sa
    )


def apply_evaluate_restore(
    model: nn.Module, ema: nn.Module, test: tuple[torch.Tensor, torch.Tensor]
) -> float:
    """The post's ``apply_ema_weights()`` / ``reset_old_weights()`` round trip on ``model``: back
    up, load the EMA weights, evaluate, restore; returns the largest change left in the raw
    weights (0.0 = restored exactly)."""
    before = copy.deepcopy(model)
    backup = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(ema.state_dict())
    accuracy(model, *test)
    model.load_state_dict(backup)
    return max_weight_difference(model, before)


# ---------------------------------------------------------------- E4.3 benefit
@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """Top-1 accuracy in eval mode (restores the previous mode)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for i in range(0, len(x), batch_size):
        logits = model(x[i : i + batch_size].to(device))
        correct += int((logits.argmax(1).cpu() == y[i : i + batch_size]).sum())
    model.train(was_training)
    return correct / len(x)


def accuracy_per_epoch(
    model: nn.Module,
    cfg: TrainConfig,
    train: Dataset,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    epochs: int,
    work_dir: str | Path,
    threads: int = 1,
) -> dict[str, list[float]]:
    """Train for ``epochs`` epochs; after each, the test accuracy of the raw model (``"none"``)
    and of each EMA (``"ema_<decay>"``). ``cfg.steps`` is ignored: an epoch is
    ``len(train) // cfg.batch_size`` steps."""
    per_epoch = len(train) // cfg.batch_size
    curves: dict[str, list[float]] = {}
    for epoch in range(1, epochs + 1):
        step_cfg = TrainConfig(
            **{
                **_fields(cfg),
                "steps": epoch * per_epoch,
                "checkpoint_every": per_epoch,
                "log_every": per_epoch,
            }
        )
        result = Trainer(step_cfg, work_dir, threads, fingerprint="dynamics.ema_benefit").fit(
            model, train
        )
        model = result.model
        evaluated = {"none": result.model} | {f"ema_{d:g}": m for d, m in result.emas.items()}
        for name, m in evaluated.items():
            curves.setdefault(name, []).append(accuracy(m, x_test, y_test))
        log.info("epoch %d: %s", epoch, ", ".join(f"{k} {v[-1]:.4f}" for k, v in curves.items()))
    return curves


def _fields(cfg: TrainConfig) -> dict:
    return {f: getattr(cfg, f) for f in cfg.__dataclass_fields__}


def curve_summary(curves: dict[str, list[float]], last: int) -> dict[str, dict[str, float]]:
    """Per method: final accuracy, the std of the accuracy over the last ``last`` epochs, and
    both against the raw model's (gain in accuracy, ratio of the stds)."""
    out = {}
    for name, acc in curves.items():
        tail = np.asarray(acc[-last:])
        out[name] = {
            "final_accuracy": float(acc[-1]),
            "last_epochs_std": float(tail.std(ddof=1)) if len(tail) > 1 else 0.0,
            "last_epochs_mean": float(tail.mean()),
        }
    base = out["none"]
    for row in out.values():
        row["final_gain_over_none"] = row["final_accuracy"] - base["final_accuracy"]
        row["std_ratio_to_none"] = (
            row["last_epochs_std"] / base["last_epochs_std"]
            if base["last_epochs_std"] > 0
            else float("nan")
        )
    return out
