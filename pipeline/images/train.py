"""The one training loop for every image model; it knows nothing about the model.

A model module supplies an ``nn.Module`` with ``config`` (a dataclass) and
``train_step(batch, opt, forward) -> dict[str, float | Tensor]``: it computes its losses through
``forward`` (the module itself, or its compiled / DistributedDataParallel wrapper) and calls
``opt.step(loss)`` (or ``opt.step(loss, "critic")`` for a model with several optimizers, which it
declares with ``configure_optimizers(cfg)``). The loop owns the rest: device choice (CUDA when
present, else CPU with the rule's threads), bf16 autocast on GPU, optional ``torch.compile``,
bias-corrected weight EMA (post 6575), seeded resumable batches, a tqdm bar and a metrics log,
atomic checkpoints every N steps (config, step, optimizers, EMA, RNG states), exact resume,
a NaN/Inf guard, and DDP under ``torchrun``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from tqdm import tqdm

from pipeline import devices
from pipeline.images.activations import activations
from pipeline.images.ema import make_ema
from pipeline.images.loader import ImageDataset, batch_stream
from pipeline.io import atomic_path

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "last.pt"


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Optimisation and engine settings (the ``train`` sub-section of a model's config)."""

    steps: int = 300
    batch_size: int = 64
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    weight_decay: float = 0.0
    grad_clip: float | None = None
    ema_decay: float = 0.999
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    amp: bool = True  # bf16 autocast, GPU only
    compile: bool = False
    channels_last: bool = False
    num_workers: int = 0
    hflip: bool = False
    log_every: int = 50
    checkpoint_every: int = 100
    capture: tuple[str, ...] = ()  # module names whose activations are saved at the end
    ddp: bool = True  # several visible GPUs: relaunch under torchrun

    def __post_init__(self):
        object.__setattr__(self, "capture", tuple(self.capture))
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"train.device: {self.device!r} is not auto, cpu or cuda")
        for key in ("steps", "batch_size", "log_every", "checkpoint_every"):
            if getattr(self, key) < 1:
                raise ValueError(f"train.{key}: {getattr(self, key)} must be >= 1")
        if self.lr <= 0:
            raise ValueError(f"train.lr: {self.lr} must be > 0")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"train.ema_decay: {self.ema_decay} not in [0, 1)")
        if self.num_workers < 0:
            raise ValueError(f"train.num_workers: {self.num_workers} must be >= 0")


class NonFiniteLossError(ValueError):
    """A loss or gradient became NaN or Inf: training stops rather than writing garbage."""


def resolve_device(requested: str, threads: int = 1) -> torch.device:
    """``auto`` = CUDA when present, else CPU with ``threads`` intra-op threads."""
    if devices.resolve_device(requested, "train.device") == "cpu":
        torch.set_num_threads(max(1, threads))
        return torch.device("cpu")
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    torch.cuda.set_device(local_rank)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
    return torch.device("cuda", local_rank)


def torchrun_argv(cfg: TrainConfig, argv: list[str]) -> list[str] | None:
    """The ``torchrun`` command re-running this verb on every GPU, or None for one process."""
    if not cfg.ddp or cfg.device == "cpu" or "LOCAL_RANK" in os.environ:
        return None
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n < 2:
        return None
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={n}", "-m", "pipeline", *argv]


def distributed() -> tuple[int, int]:
    """(rank, world size), initialising the process group under ``torchrun``."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


class Optimization:
    """What ``train_step`` calls to apply a loss: NaN/Inf guard, backward, clip, step."""

    def __init__(self, optimizers: dict[str, torch.optim.Optimizer], grad_clip: float | None):
        self.optimizers, self.grad_clip, self.step_index = optimizers, grad_clip, 0

    def step(self, loss: torch.Tensor, name: str = "main") -> None:
        if not torch.isfinite(loss.detach()).all():
            raise NonFiniteLossError(
                f"loss for optimizer {name!r} is {loss.item()} at step {self.step_index}: training "
                "stopped (lower train.lr, set train.grad_clip, or check the data); the last "
                "checkpoint is kept"
            )
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        with torch.autocast(loss.device.type, enabled=False):  # backward outside the autocast region
            loss.backward()
        params = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
        if self.grad_clip is not None:
            norm = torch.nn.utils.clip_grad_norm_(params, self.grad_clip)
            if not torch.isfinite(norm):
                raise NonFiniteLossError(f"gradient norm is {norm.item()} at step {self.step_index}")
        opt.step()


def default_optimizers(model: nn.Module, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]:
    if hasattr(model, "configure_optimizers"):
        return model.configure_optimizers(cfg)
    return {"main": torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                                     weight_decay=cfg.weight_decay)}


@dataclasses.dataclass
class TrainResult:
    model: nn.Module
    ema: nn.Module  # the EMA copy of the model (``AveragedModel.module``)
    log: list[dict]  # rows of step, metric, value
    steps: int
    activations: dict[str, torch.Tensor]
    device: str


# ---------------------------------------------------------------- checkpoints
def rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, model: nn.Module, ema, optimizers, cfg: TrainConfig,
                    step: int, rows: list[dict], extra: dict | None = None) -> None:
    """Everything a resume needs, written atomically (a kill never leaves half a file)."""
    state = {
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "config": dataclasses.asdict(model.config),
        "train_config": dataclasses.asdict(cfg),
        "step": step,
        "model": model.state_dict(),
        "ema": ema.state_dict(),
        "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
        "log": rows,
        "rng": rng_state(),
        **(extra or {}),
    }
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path) -> dict:
    """A checkpoint written by this module (our own files: full unpickling is allowed)."""
    from pipeline.io import require_file

    return torch.load(require_file(path, "checkpoint"), map_location="cpu", weights_only=False)


def load_model(path: str | Path, model_cls: type, ema: bool = True) -> tuple[nn.Module, dict]:
    """Rebuild ``model_cls`` from a checkpoint; its EMA weights unless ``ema`` is False."""
    ckpt = load_checkpoint(path)
    model = model_cls(model_cls.config_class(**ckpt["config"]))
    if ema:
        prefix = "module."
        state = {k[len(prefix):]: v for k, v in ckpt["ema"].items() if k.startswith(prefix)}
    else:
        state = ckpt["model"]
    model.load_state_dict(state)
    return model.eval(), ckpt


def code_fingerprint() -> str:
    """sha256 of this package's sources: a checkpoint from other code is not resumed."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


# ---------------------------------------------------------------- the loop
class Trainer:
    """Train any model that follows the ``train_step`` protocol (see the module docstring)."""

    def __init__(self, cfg: TrainConfig, checkpoint_dir: str | Path | None = None, threads: int = 1,
                 fingerprint: str = ""):
        self.cfg, self.threads, self.fingerprint = cfg, threads, fingerprint
        # metric sums since the last log row: checkpointed, so a resumed log matches exactly
        self.pending: dict = {"sums": {}, "count": 0}
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None

    def _resume(self, model, ema, optimizers) -> tuple[int, list[dict]]:
        path = self.checkpoint_dir / CHECKPOINT_NAME if self.checkpoint_dir else None
        if path is None or not path.exists():
            return 0, []
        ckpt = load_checkpoint(path)
        then, now = self._identity(ckpt), self._identity(self.fingerprint_state(model))
        if then != now:
            diff = sorted(k for k in now if then.get(k) != now[k])
            log.warning("checkpoint %s is stale (different %s): starting afresh", path, diff)
            return 0, []
        model.load_state_dict(ckpt["model"])
        ema.load_state_dict(ckpt["ema"])
        for name, opt in optimizers.items():
            opt.load_state_dict(ckpt["optimizers"][name])
        set_rng_state(ckpt["rng"])
        self.pending = ckpt.get("pending", self.pending)
        log.info("resumed from %s at step %d", path, ckpt["step"])
        return ckpt["step"], list(ckpt["log"])

    def fingerprint_state(self, model) -> dict:
        return {"config": dataclasses.asdict(model.config), "train_config": dataclasses.asdict(self.cfg),
                "fingerprint": self.fingerprint}

    @staticmethod
    def _identity(state: dict) -> dict:
        """What must match for a resume: model config, code, and training config except its length."""
        train = {k: (tuple(v) if isinstance(v, list) else v) for k, v in state["train_config"].items()
                 if k != "steps"}
        return {"config": state["config"], "fingerprint": state.get("fingerprint"), **train}

    def fit(self, model: nn.Module, dataset: ImageDataset, fixed_batch: torch.Tensor | None = None,
            on_step: Callable[[int], None] | None = None) -> TrainResult:
        """Train ``model`` for ``cfg.steps`` steps (resuming from the checkpoint folder if any)."""
        cfg = self.cfg
        device = resolve_device(cfg.device, self.threads)
        rank, world = distributed()
        torch.manual_seed(cfg.seed + rank)  # model-side randomness; restored on resume
        fmt = torch.channels_last if cfg.channels_last and device.type == "cuda" else torch.contiguous_format
        model.to(device, memory_format=fmt)
        ema = make_ema(model, cfg.ema_decay)
        optimizers = default_optimizers(model, cfg)
        step, rows = self._resume(model, ema, optimizers)
        forward: nn.Module = model
        if world > 1:
            forward = nn.parallel.DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None)
        if cfg.compile:
            forward = torch.compile(forward)
        opt = Optimization(optimizers, cfg.grad_clip)
        stream = batch_stream(dataset, cfg.batch_size, cfg.seed, step, cfg.num_workers, rank, world,
                              pin_memory=device.type == "cuda")
        sums, count = defaultdict(float, self.pending["sums"]), self.pending["count"]
        t0, n_img = time.perf_counter(), 0
        bar = tqdm(total=cfg.steps, initial=step, disable=rank != 0, mininterval=5.0,
                   file=sys.stderr, desc=type(model).__name__)
        model.train()
        while step < cfg.steps:
            batch = {k: v.to(device, non_blocking=True) for k, v in next(stream).items()}
            if batch["x"].ndim == 4:
                batch["x"] = batch["x"].contiguous(memory_format=fmt)
            opt.step_index = step
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.amp and device.type == "cuda"):
                metrics = model.train_step(batch, opt, forward)
            ema.update_parameters(model)
            step += 1
            n_img += len(batch["x"]) * world
            for k, v in metrics.items():  # summed on the device: no host sync per step
                sums[k] = sums[k] + (v.detach() if torch.is_tensor(v) else v)
            count += 1
            bar.update(1)
            if step % cfg.log_every == 0 or step == cfg.steps:
                elapsed = time.perf_counter() - t0
                means = {k: float(v) / count for k, v in sums.items()} | {"images_per_s": n_img / elapsed}
                rows += [{"step": step, "metric": k, "value": v} for k, v in sorted(means.items())]
                bar.set_postfix({k: f"{v:.4g}" for k, v in list(means.items())[:4]})
                log.info("step %d: %s", step, ", ".join(f"{k}={v:.5g}" for k, v in means.items()))
                sums, count, t0, n_img = defaultdict(float), 0, time.perf_counter(), 0
            if self.checkpoint_dir and rank == 0 and (step % cfg.checkpoint_every == 0 or step == cfg.steps):
                save_checkpoint(self.checkpoint_dir / CHECKPOINT_NAME, model, ema, optimizers, cfg,
                                step, rows, {"fingerprint": self.fingerprint,
                                             "pending": {"sums": {k: float(v) for k, v in sums.items()},
                                                         "count": count}})
            if on_step is not None:
                on_step(step)
        bar.close()
        acts = {}
        if cfg.capture and fixed_batch is not None:
            x = fixed_batch.to(device)
            acts = activations(ema.module, cfg.capture, lambda m: m(x))
        if world > 1:
            dist.barrier()
        return TrainResult(model, ema.module, rows, step, acts, str(device))
