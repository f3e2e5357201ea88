"""The one training loop for every model of every track; it knows nothing about the model.

A model module supplies an ``nn.Module`` with ``config`` (a frozen dataclass; ``config_class``
on the class) and ``train_step(ctx: StepContext) -> dict[str, float | Tensor]``. Through the
context the model reads its batch (``ctx.batch``), draws more (``ctx.next_batch()``: a WGAN
critic takes ``n_critic`` fresh batches per generator step), reads the step index and the total
(temperature and learning-rate schedules), runs its forward pass through ``ctx.forward`` (the
module itself, or its compiled / DistributedDataParallel wrapper), and applies a loss with
``ctx.optimize(loss, name)`` -- or only computes gradients with ``ctx.backward(loss)``. Optional
hooks: ``configure_optimizers(cfg)`` (several optimizers by name), ``configure_schedulers(
optimizers, cfg)`` (stepped once per step, checkpointed), ``autocast = False`` (full precision:
Langevin sampling needs exact input gradients), and torch's ``get_extra_state`` /
``set_extra_state`` for state that is saved and restored but never averaged (a replay buffer).

The loop owns the rest: device choice (CUDA when present, else CPU with the rule's threads),
bf16 autocast on GPU, optional ``torch.compile``, one or several bias-corrected weight EMAs
(post 6575), seeded resumable batches, a progress bar and a metrics log, atomic checkpoints
every N steps, exact resume (the batch stream replays by batches consumed), a NaN/Inf guard
that names the step, and DDP under ``torchrun``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Dataset
from tqdm import tqdm

from pipeline import devices
from pipeline.engine.activations import activations
from pipeline.engine.checkpoints import (
    CHECKPOINT_NAME,
    decay_key,
    load_checkpoint,
    save_checkpoint,
    set_rng_state,
)
from pipeline.engine.data import batch_stream
from pipeline.engine.ema import EMASet, ema_decays

log = logging.getLogger(__name__)


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
    ema_decay: float | tuple[float, ...] = 0.999  # one decay, or several tracked side by side
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    amp: bool = True  # bf16 autocast, GPU only (a model may opt out: ``autocast = False``)
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
        decays = ema_decays(self.ema_decay)
        object.__setattr__(self, "ema_decay", decays[0] if len(decays) == 1 else decays)
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"train.device: {self.device!r} is not auto, cpu or cuda")
        for key in ("steps", "batch_size", "log_every", "checkpoint_every"):
            if getattr(self, key) < 1:
                raise ValueError(f"train.{key}: {getattr(self, key)} must be >= 1")
        if self.lr <= 0:
            raise ValueError(f"train.lr: {self.lr} must be > 0")
        if self.num_workers < 0:
            raise ValueError(f"train.num_workers: {self.num_workers} must be >= 0")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ValueError(f"train.grad_clip: {self.grad_clip} must be > 0 (or null)")

    @property
    def ema_decays(self) -> tuple[float, ...]:
        return ema_decays(self.ema_decay)


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
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={n}",
        "-m",
        "pipeline",
        *argv,
    ]


def distributed() -> tuple[int, int]:
    """(rank, world size), initialising the process group under ``torchrun``."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def use_autocast(cfg: TrainConfig, device: torch.device, model: nn.Module) -> bool:
    """bf16 autocast: on CUDA when ``train.amp`` is on, unless the model opts out
    (``autocast = False``: Langevin sampling needs full-precision input gradients)."""
    return bool(cfg.amp and device.type == "cuda" and getattr(model, "autocast", True))


def default_optimizers(model: nn.Module, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]:
    if hasattr(model, "configure_optimizers"):
        return model.configure_optimizers(cfg)
    return {
        "main": torch.optim.Adam(
            model.parameters(),
            lr=cfg.lr,
            betas=(cfg.beta1, cfg.beta2),
            weight_decay=cfg.weight_decay,
        )
    }


class StepContext:
    """What ``train_step`` sees of the loop: the batch, more batches, the step, the optimizers."""

    def __init__(
        self,
        model: nn.Module,
        forward: nn.Module,
        optimizers: dict,
        grad_clip: float | None,
        stream: Iterator[dict],
        device: torch.device,
        total_steps: int,
        fmt,
    ):
        self.model, self.forward, self.optimizers, self.grad_clip = (
            model,
            forward,
            optimizers,
            grad_clip,
        )
        self._stream, self.device, self.total_steps, self._fmt = stream, device, total_steps, fmt
        self.step, self.batches, self.items = 0, 0, 0
        self.batch: dict[str, torch.Tensor] = {}

    def next_batch(self) -> dict[str, torch.Tensor]:
        """A fresh batch from the seeded stream, on the device (counted: a resume replays it)."""
        batch = {k: v.to(self.device, non_blocking=True) for k, v in next(self._stream).items()}
        if "x" in batch and batch["x"].ndim == 4:
            batch["x"] = batch["x"].contiguous(memory_format=self._fmt)
        self.batches += 1
        self.items += len(next(iter(batch.values())))
        return batch

    def _check(self, value: torch.Tensor, what: str) -> None:
        if not torch.isfinite(value.detach()).all():
            raise NonFiniteLossError(
                f"{what} is {value.detach().float().flatten()[0].item()} at step {self.step}: training "
                "stopped (lower train.lr, set train.grad_clip, or check the data); the last "
                "checkpoint is kept"
            )

    def backward(self, loss: torch.Tensor, name: str | None = None) -> dict[str, torch.Tensor]:
        """Gradients of ``loss`` (of optimizer ``name``'s parameters, or all) without a step:
        {parameter name: gradient}, e.g. for gradient-variance measurements."""
        self._check(loss, "loss")
        params = dict(self.model.named_parameters())
        if name is not None:
            wanted = {id(p) for g in self.optimizers[name].param_groups for p in g["params"]}
            params = {k: p for k, p in params.items() if id(p) in wanted}
        for p in params.values():
            p.grad = None
        with torch.autocast(loss.device.type, enabled=False):  # backward outside autocast
            loss.backward()
        return {k: p.grad.detach().clone() for k, p in params.items() if p.grad is not None}

    def optimize(self, loss: torch.Tensor, name: str = "main") -> None:
        """NaN/Inf guard, zero_grad, backward, optional clipping, and the optimizer's step."""
        self._check(loss, f"loss for optimizer {name!r}")
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        with torch.autocast(loss.device.type, enabled=False):
            loss.backward()
        if self.grad_clip is not None:
            params = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
            self._check(torch.nn.utils.clip_grad_norm_(params, self.grad_clip), "gradient norm")
        opt.step()


@dataclasses.dataclass
class TrainResult:
    model: nn.Module
    ema: nn.Module  # the EMA copy of the first decay (``AveragedModel.module``)
    log: list[dict]  # rows of step, metric, value
    steps: int
    activations: dict[str, torch.Tensor]
    device: str
    emas: dict[float, nn.Module] = dataclasses.field(default_factory=dict)  # every decay


class Trainer:
    """Train any model that follows the ``train_step`` protocol (see the module docstring)."""

    def __init__(
        self,
        cfg: TrainConfig,
        checkpoint_dir: str | Path | None = None,
        threads: int = 1,
        fingerprint: str = "",
    ):
        self.cfg, self.threads, self.fingerprint = cfg, threads, fingerprint
        # metric sums since the last log row: checkpointed, so a resumed log matches exactly
        self.pending: dict = {"sums": {}, "count": 0}
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None

    def fingerprint_state(self, model) -> dict:
        return {
            "config": dataclasses.asdict(model.config),
            "train_config": dataclasses.asdict(self.cfg),
            "fingerprint": self.fingerprint,
        }

    @staticmethod
    def _identity(state: dict) -> dict:
        """What must match for a resume: model config, code, and training config except its length."""
        train = {
            k: (tuple(v) if isinstance(v, list) else v)
            for k, v in state["train_config"].items()
            if k != "steps"
        }
        return {"config": state["config"], "fingerprint": state.get("fingerprint"), **train}

    def _resume(self, model, emas, optimizers, schedulers) -> tuple[int, int, list[dict]]:
        path = self.checkpoint_dir / CHECKPOINT_NAME if self.checkpoint_dir else None
        if path is None or not path.exists():
            return 0, 0, []
        ckpt = load_checkpoint(path)
        then, now = self._identity(ckpt), self._identity(self.fingerprint_state(model))
        if then != now:
            diff = sorted(k for k in now if then.get(k) != now[k])
            log.warning("checkpoint %s is stale (different %s): starting afresh", path, diff)
            return 0, 0, []
        model.load_state_dict(ckpt["model"])
        for decay, ema in emas.items():
            ema.load_state_dict(ckpt["emas"][decay_key(decay)])
        for name, opt in optimizers.items():
            opt.load_state_dict(ckpt["optimizers"][name])
        for name, sched in schedulers.items():
            sched.load_state_dict(ckpt["schedulers"][name])
        set_rng_state(ckpt["rng"])
        self.pending = ckpt.get("pending", self.pending)
        log.info("resumed from %s at step %d", path, ckpt["step"])
        return ckpt["step"], ckpt.get("batches", ckpt["step"]), list(ckpt["log"])

    def fit(
        self,
        model: nn.Module,
        dataset: Dataset,
        fixed_batch: torch.Tensor | None = None,
        on_step: Callable[[int], None] | None = None,
    ) -> TrainResult:
        """Train ``model`` for ``cfg.steps`` steps (resuming from the checkpoint folder if any).

        ``on_step(step)`` runs after each step and before that step's checkpoint, so the
        checkpoint holds what it did (the discrete VAE's per-epoch rows, as extra state): a run
        resumed from a checkpoint never skips a callback."""
        cfg = self.cfg
        device = resolve_device(cfg.device, self.threads)
        rank, world = distributed()
        torch.manual_seed(cfg.seed + rank)  # model-side randomness; restored on resume
        fmt = (
            torch.channels_last
            if cfg.channels_last and device.type == "cuda"
            else torch.contiguous_format
        )
        model.to(device, memory_format=fmt)
        ema_set = EMASet(model, cfg.ema_decays)
        emas = ema_set.averaged
        optimizers = default_optimizers(model, cfg)
        schedulers = (
            model.configure_schedulers(optimizers, cfg)
            if hasattr(model, "configure_schedulers")
            else {}
        )
        step, batches, rows = self._resume(model, emas, optimizers, schedulers)
        forward: nn.Module = model
        if world > 1:
            forward = nn.parallel.DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None
            )
        if cfg.compile:
            forward = torch.compile(forward)
        stream = batch_stream(
            dataset,
            cfg.batch_size,
            cfg.seed,
            batches,
            cfg.num_workers,
            rank,
            world,
            pin_memory=device.type == "cuda",
        )
        ctx = StepContext(model, forward, optimizers, cfg.grad_clip, stream, device, cfg.steps, fmt)
        ctx.batches = batches
        amp = use_autocast(cfg, device, model)
        sums, count = defaultdict(float, self.pending["sums"]), self.pending["count"]
        t0 = time.perf_counter()
        # A bar only on a terminal: in a rule's log file its carriage returns are noise, and the
        # "step N: ..." lines below already report progress there.
        bar = tqdm(
            total=cfg.steps,
            initial=step,
            disable=rank != 0 or not sys.stderr.isatty(),
            mininterval=5.0,
            file=sys.stderr,
            desc=type(model).__name__,
        )
        model.train()
        while step < cfg.steps:
            ctx.step = step
            ctx.batch = ctx.next_batch()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                metrics = model.train_step(ctx)
            for sched in schedulers.values():
                sched.step()
            ema_set.update(model)
            step += 1
            for k, v in metrics.items():  # summed on the device: no host sync per step
                sums[k] = sums[k] + (v.detach() if torch.is_tensor(v) else v)
            count += 1
            bar.update(1)
            if step % cfg.log_every == 0 or step == cfg.steps:
                elapsed = time.perf_counter() - t0
                means = {k: float(v) / count for k, v in sums.items()}
                means["images_per_s"] = ctx.items * world / elapsed
                rows += [{"step": step, "metric": k, "value": v} for k, v in sorted(means.items())]
                bar.set_postfix({k: f"{v:.4g}" for k, v in list(means.items())[:4]})
                log.info("step %d: %s", step, ", ".join(f"{k}={v:.5g}" for k, v in means.items()))
                sums, count, t0, ctx.items = defaultdict(float), 0, time.perf_counter(), 0
            if on_step is not None:  # before the checkpoint, which then holds what it did
                on_step(step)
            if (
                self.checkpoint_dir
                and rank == 0
                and (step % cfg.checkpoint_every == 0 or step == cfg.steps)
            ):
                pending = {"sums": {k: float(v) for k, v in sums.items()}, "count": count}
                save_checkpoint(
                    self.checkpoint_dir / CHECKPOINT_NAME,
                    model,
                    emas,
                    optimizers,
                    schedulers,
                    cfg,
                    step,
                    ctx.batches,
                    rows,
                    {"fingerprint": self.fingerprint, "pending": pending},
                )
        bar.close()
        first = next(iter(emas.values())).module
        acts = {}
        if cfg.capture and fixed_batch is not None:
            x = fixed_batch.to(device)
            acts = activations(first, cfg.capture, lambda m: m(x))
        if world > 1:
            dist.barrier()
        return TrainResult(
            model, first, rows, step, acts, str(device), {d: e.module for d, e in emas.items()}
        )
