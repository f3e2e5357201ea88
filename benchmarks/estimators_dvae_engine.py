"""Images per second of the author's discrete VAE through the shared engine against a bare PyTorch
loop of the same model, same data, same batch stream, in the same script (posts.md §2.2, E2.5).

    .venv/bin/python benchmarks/estimators_dvae_engine.py [--steps 200] [--size 8|28] [--device cpu|cuda]

The bare loop is the minimal script: RMSprop at Keras's defaults, the per-batch tau schedule,
forward, backward, step. The engine adds the bias-corrected weight EMA, the NaN/Inf guard, metric
logging and the StepContext; no per-epoch evaluation in either (that is the experiment's, not the
loop's). Interleaved runs, best of ``--repeats`` each, against load drift on a shared machine.
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

from pipeline.engine import TrainConfig, Trainer, batch_stream
from pipeline.images.dvae import DiscreteVAE, DVAEConfig
from pipeline.images.loader import ImageDataset
from pipeline.provenance import git_state


def bare_loop(model: DiscreteVAE, dataset, steps: int, batch: int, device) -> float:
    model.to(device).train()
    opt = model.configure_optimizers(TrainConfig(lr=1e-3))["main"]
    stream = batch_stream(dataset, batch, 0)
    t0 = time.perf_counter()
    for step in range(steps):
        x01 = (next(stream)["x"].to(device) + 1.0) / 2.0
        loss = model.neg_elbo(x01, model.config.tau(step))["neg_elbo"].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - t0)


def engine(model: DiscreteVAE, dataset, steps: int, batch: int, device) -> float:
    cfg = TrainConfig(
        steps=steps,
        batch_size=batch,
        lr=1e-3,
        device=device.type,
        log_every=steps,
        checkpoint_every=10**9,
        amp=False,
    )
    t0 = time.perf_counter()
    Trainer(cfg).fit(model, dataset)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--size", type=int, default=28)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", default=None, help="also write the figures here as one JSON record")
    args = p.parse_args()
    torch.set_num_threads(1)
    device = torch.device(args.device)
    images = np.random.default_rng(0).integers(
        0, 256, (4000, args.size, args.size, 1), dtype=np.uint8
    )
    small = {"channels": (16, 32), "latents": 16} if args.size == 8 else {}
    cfg = DVAEConfig(image_size=args.size, **small)
    commit, _ = git_state()
    load = os.getloadavg()[0]
    print(
        f"# {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, commit {commit[:8]}, {platform.node()}, "
        f"{device}, {args.size}x{args.size}, batch {args.batch}, {args.steps} steps, load {load:.1f}"
    )
    rates = {}
    for name in ("bare", "engine") * args.repeats:
        torch.manual_seed(0)
        run = bare_loop if name == "bare" else engine
        rates[name] = max(
            rates.get(name, 0.0),
            run(DiscreteVAE(cfg), ImageDataset(images), args.steps, args.batch, device),
        )
    print(
        f"bare loop {rates['bare']:.0f} img/s, engine {rates['engine']:.0f} img/s, "
        f"engine/bare {rates['engine'] / rates['bare']:.2f}, load after {os.getloadavg()[0]:.1f}"
    )
    if args.json:
        record = {
            "commit": commit,
            "device": str(device),
            "image": [args.size, args.size, 1],
            "batch": args.batch,
            "steps": args.steps,
            "repeats": args.repeats,
            "bare_img_per_s": rates["bare"],
            "engine_img_per_s": rates["engine"],
            "engine_over_bare": rates["engine"] / rates["bare"],
            "load_before": load,
            "load_after": os.getloadavg()[0],
        }
        Path(args.json).write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
