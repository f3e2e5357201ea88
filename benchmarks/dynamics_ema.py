"""Cost of tracking three EMA decays against one, per training step, through the engine.

    .venv/bin/python benchmarks/dynamics_ema.py [--model mlp|resnet8|resnet20] [--steps 300] [--repeats 5]

Post 6583 compares EMA decays none / 0.999 / 0.9999 from one run; the engine keeps one
bias-corrected EMA per decay, each updated after every optimizer step. This script times
``Trainer.fit`` with ``ema_decay=0.999`` and with ``ema_decay=(0.99, 0.999, 0.9999)`` on the same
model and data, interleaved, and reports the per-step times (minimum over the repeats) and the
extra cost of the two extra decays as a share of a one-decay step (the bar: at most 5 %). It also
times one EMA update alone: twice that over a one-decay step is the same share, estimated from a
tight loop (less exposed to machine load than the difference of two training runs). Models: the post's MLP on 8x8 images (the cheapest step, so the
largest EMA share), ResNet8 (width 8) on 28x28, ResNet20 on 32x32. Data are random (speed does not
depend on content). Prints one JSON line.
"""

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from pipeline.engine import TrainConfig, Trainer
from pipeline.engine.ema import make_ema
from pipeline.images.loader import ImageDataset
from pipeline.images.mlp import MLP, MLPConfig
from pipeline.images.resnet import ResNet, ResNetConfig
from pipeline.provenance import git_state

MODELS = {
    "mlp": (8, 1, lambda: MLP(MLPConfig(in_features=64))),
    "resnet8": (28, 1, lambda: ResNet(ResNetConfig(depth=8, width=8, in_channels=1))),
    "resnet20": (32, 3, lambda: ResNet(ResNetConfig(depth=20, width=16, in_channels=3))),
}


def step_time(build, dataset, decays, steps: int, batch: int) -> float:
    torch.manual_seed(0)
    cfg = TrainConfig(
        steps=steps,
        batch_size=batch,
        ema_decay=decays,
        device="cpu",
        log_every=steps,
        checkpoint_every=10**9,
    )
    model = build()
    t0 = time.perf_counter()
    Trainer(cfg).fit(model, dataset)
    return (time.perf_counter() - t0) / steps


def ema_update_time(build, repeats: int = 200) -> float:
    model = build()
    ema = make_ema(model, 0.999)
    ema.update_parameters(model)
    t0 = time.perf_counter()
    for _ in range(repeats):
        ema.update_parameters(model)
    return (time.perf_counter() - t0) / repeats


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=sorted(MODELS), default="mlp")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None, help="also write the record here")
    args = p.parse_args()
    load_before = os.getloadavg()
    torch.set_num_threads(args.threads)
    size, channels, build = MODELS[args.model]
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(4096, size, size, channels), dtype=np.uint8)
    dataset = ImageDataset(images, rng.integers(0, 10, size=4096))
    one, three = [], []
    step_time(build, dataset, 0.999, 20, args.batch)  # warm-up
    for _ in range(args.repeats):  # interleaved, so that load drifts hit both alike
        one.append(step_time(build, dataset, 0.999, args.steps, args.batch))
        three.append(step_time(build, dataset, (0.99, 0.999, 0.9999), args.steps, args.batch))
    t1, t3 = min(one), min(three)
    upd = ema_update_time(build)
    commit, dirty = git_state()
    record = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "dirty": dirty,
        "machine": platform.processor() or platform.machine(),
        "load_before": load_before,
        "loadavg_1min_after": os.getloadavg()[0],
        "model": args.model,
        "params": sum(q.numel() for q in build().parameters()),
        "batch": args.batch,
        "steps": args.steps,
        "repeats": args.repeats,
        "threads": args.threads,
        "step_s_one_decay": t1,
        "step_s_three_decays": t3,
        "extra_share": t3 / t1 - 1.0,
        "ema_update_s": upd,
        "extra_share_from_update": 2 * upd / t1,
        "one_decay_all": one,
        "three_decays_all": three,
    }
    print(json.dumps(record))
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
