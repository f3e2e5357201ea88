"""Checkpoints: everything a resume needs, written atomically, loadable with ``weights_only``.

A checkpoint is a dict of tensors, numbers, strings, lists and dicts only (RNG states are
converted to tensors and tuples), so PyTorch's default ``torch.load(path)`` (weights-only since
2.6) opens it without allowing arbitrary unpickling. It carries the model's class and config,
the training config, the step and the number of batches consumed (a model may draw several
batches per step), the raw weights (with any ``get_extra_state``, e.g. a replay buffer), one
EMA per decay, the optimizers, the schedulers, the metric log and the RNG states.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import random
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pipeline.io import DataError, atomic_path, require_file

CHECKPOINT_NAME = "last.pt"
ENGINE_DIR = Path(__file__).resolve().parent


def rng_state() -> dict:
    """Torch, NumPy-global and Python RNG states as weights-only-loadable values."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(
        (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"])
    )
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def decay_key(decay: float) -> str:
    return repr(float(decay))


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    emas: dict,
    optimizers: dict,
    schedulers: dict,
    cfg,
    step: int,
    batches: int,
    rows: list[dict],
    extra: dict | None = None,
) -> None:
    """Write the resume state atomically (a kill never leaves half a file)."""
    first = next(iter(emas.values()))
    state = {
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "config": dataclasses.asdict(model.config),
        "train_config": dataclasses.asdict(cfg),
        "step": step,
        "batches": batches,
        "model": model.state_dict(),
        "ema": first.state_dict(),  # the first decay: what load_model(ema=True) rebuilds
        "emas": {decay_key(d): e.state_dict() for d, e in emas.items()},
        "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
        "schedulers": {k: s.state_dict() for k, s in schedulers.items()},
        "log": rows,
        "rng": rng_state(),
        **(extra or {}),
    }
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path) -> dict:
    """A checkpoint written by this module, opened weights-only (no arbitrary unpickling)."""
    path = require_file(path, "checkpoint")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a corrupt or foreign file
        raise DataError(
            f"checkpoint {str(path)!r} cannot be read as a weights-only torch "
            f"checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
        ) from exc


def ema_state(ckpt: dict, decay: float | None = None) -> dict:
    """The EMA weights (as a plain module state dict) for ``decay`` (default: the first)."""
    state = ckpt["ema"] if decay is None else ckpt["emas"][decay_key(decay)]
    prefix = "module."
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def load_model(
    path: str | Path, model_cls: type, ema: bool | float = True
) -> tuple[nn.Module, dict]:
    """Rebuild ``model_cls`` from a checkpoint: its EMA weights (the first decay, or the decay
    given), or the raw weights when ``ema`` is False. Extra state (a replay buffer) always
    comes from the raw model: the EMA never averages it."""
    ckpt = load_checkpoint(path)
    model = model_cls(model_cls.config_class(**ckpt["config"]))
    if ema is False:
        state = ckpt["model"]
    else:
        state = ema_state(ckpt, None if ema is True else float(ema))
        state.update({k: v for k, v in ckpt["model"].items() if k.endswith("_extra_state")})
    model.load_state_dict(state)
    return model.eval(), ckpt


def code_fingerprint(*sources: type | object | str | Path) -> str:
    """sha256 of the engine's sources plus the given modules (classes, modules or paths): a
    checkpoint made by other training code is not resumed, while editing an unrelated model
    leaves it valid."""
    files = set(ENGINE_DIR.glob("*.py"))
    for src in sources:
        files.add(Path(src) if isinstance(src, (str, Path)) else Path(inspect.getfile(src)))
    h = hashlib.sha256()
    for path in sorted(files, key=lambda p: (p.name, str(p))):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


def modules_of(model: nn.Module) -> Iterable[type]:
    """The classes whose source defines ``model`` (its own and its sub-modules')."""
    return {type(m) for m in model.modules() if type(m).__module__.startswith("pipeline.")}
