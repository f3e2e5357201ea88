"""One training run of a rule: relaunch under torchrun where several GPUs are visible, train
with exact resume from a hidden checkpoint folder beside the output, then write the final
checkpoint (with its provenance) atomically and drop the folder."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset

from pipeline.engine.checkpoints import (
    CHECKPOINT_NAME,
    code_fingerprint,
    load_checkpoint,
    modules_of,
)
from pipeline.engine.loop import TrainConfig, Trainer, TrainResult, torchrun_argv
from pipeline.io import atomic_path

log = logging.getLogger(__name__)


def checkpoint_dir(output: str | os.PathLike) -> Path:
    """Where a run keeps its resume state: a hidden folder beside its final checkpoint."""
    return Path(output).parent / f".{Path(output).stem}_checkpoints"


def train_to_checkpoint(
    model: nn.Module,
    cfg: TrainConfig,
    dataset: Dataset,
    output: str | os.PathLike,
    provenance: Callable[[str], dict],
    threads: int = 1,
    fixed_batch: torch.Tensor | None = None,
    on_step: Callable[[int], None] | None = None,
    sources: tuple = (),
) -> TrainResult | None:
    """Train ``model`` and write ``output``; returns None on DDP ranks other than 0.

    ``provenance(device)`` gives the record stored in the checkpoint. The resume fingerprint
    covers the engine and the modules defining ``model``: editing another model's code never
    invalidates this run's checkpoint. ``sources`` adds modules (or paths) to that fingerprint;
    ``on_step`` is the loop's per-step callback (an evaluation per epoch), run before each
    checkpoint, so the final checkpoint holds the model as it is after the last callback.
    """
    relaunch = torchrun_argv(cfg, sys.argv[1:])
    if relaunch:
        log.info("%d GPUs visible: relaunching under torchrun", torch.cuda.device_count())
        os.execv(relaunch[0], relaunch)
    folder = checkpoint_dir(output)
    trainer = Trainer(cfg, folder, threads, code_fingerprint(*modules_of(model), *sources))
    result = trainer.fit(model, dataset, fixed_batch, on_step=on_step)
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    if int(os.environ.get("RANK", 0)) != 0:
        return None
    ckpt = load_checkpoint(folder / CHECKPOINT_NAME)
    ckpt["provenance"] = provenance(result.device)
    with atomic_path(output) as tmp:
        torch.save(ckpt, tmp)
    shutil.rmtree(folder)  # a finished run leaves nothing to resume
    return result
