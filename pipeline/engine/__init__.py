"""The shared training engine: one loop, weight EMA, activation capture, seeded data streams
and checkpoints, for every model of every track (images, toy 2-D GANs and EBMs, studies).

``loop`` (Trainer, TrainConfig, StepContext), ``ema`` (bias-corrected weight EMA, post 6575),
``activations`` (any intermediate variable by module name), ``data`` (map-style datasets and
the seeded, resumable batch stream), ``checkpoints`` (atomic, weights-only loadable, exact
resume). Models live with their track (``pipeline/images/<model>.py``); the engine knows
nothing about them.
"""

from pipeline.engine.checkpoints import (
    CHECKPOINT_NAME,
    code_fingerprint,
    load_checkpoint,
    load_model,
)
from pipeline.engine.data import ArrayDataset, batch_stream
from pipeline.engine.loop import (
    NonFiniteLossError,
    StepContext,
    TrainConfig,
    Trainer,
    TrainResult,
    resolve_device,
    torchrun_argv,
)
from pipeline.engine.run import train_to_checkpoint

__all__ = [
    "CHECKPOINT_NAME",
    "ArrayDataset",
    "NonFiniteLossError",
    "StepContext",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "batch_stream",
    "code_fingerprint",
    "load_checkpoint",
    "load_model",
    "resolve_device",
    "torchrun_argv",
    "train_to_checkpoint",
]
