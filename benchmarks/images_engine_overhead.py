"""Images per second of the shared training loop against a bare PyTorch loop, same model and data.

    .venv/bin/python benchmarks/images_engine_overhead.py [--steps 200] [--size 8|28|32] [--device cpu|cuda]

The bare loop is what a minimal script does (Adam, forward, backward, step); the engine adds the
bias-corrected weight EMA, the NaN/Inf guard, metric logging and the seeded batch stream. On CUDA
the engine also runs with bf16 autocast, channels_last and torch.compile (``--fast``) -- the
settings the CIFAR-10 reference uses. Data are random images of the given size (the speed does
not depend on their content).
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
from pipeline.images.loader import ImageDataset
from pipeline.images.vqvae import VQVAE, VQVAEConfig
from pipeline.provenance import git_state


def bare_loop(model, dataset, steps, batch, device) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    stream = batch_stream(dataset, batch, 0)
    model.to(device).train()
    t0 = time.perf_counter()
    for _ in range(steps):
        x = next(stream)["x"].to(device)
        out = model(x)
        loss = model.losses(x, out)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - t0)


def engine(model, dataset, steps, batch, device, fast) -> float:
    cfg = TrainConfig(
        steps=steps,
        batch_size=batch,
        device=device.type,
        log_every=steps,
        checkpoint_every=10**9,
        amp=fast,
        compile=fast,
        channels_last=fast,
    )
    t0 = time.perf_counter()
    Trainer(cfg).fit(model, dataset)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--size", type=int, default=8)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--device", default="cpu")
    p.add_argument("--fast", action="store_true", help="bf16 + channels_last + compile (CUDA)")
    p.add_argument("--json", default=None, help="also write the figures here as one JSON record")
    args = p.parse_args()
    load_before = os.getloadavg()
    torch.set_num_threads(1)
    device = torch.device(args.device)
    channels = 1 if args.size <= 28 else 3
    images = np.random.default_rng(0).integers(
        0, 256, (4096, args.size, args.size, channels), dtype=np.uint8
    )
    cfg = VQVAEConfig(
        in_channels=channels,
        hidden=32 if args.size == 8 else 128,
        res_hidden=16 if args.size == 8 else 32,
        downsample=1 if args.size <= 28 else 2,
        codebook_size=64 if args.size == 8 else 512,
        code_dim=16 if args.size == 8 else 64,
    )
    commit, _ = git_state()
    print(
        f"# {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, commit {commit[:8]}, {platform.node()}, "
        f"{device}, {args.size}x{args.size}x{channels}, batch {args.batch}, {args.steps} steps"
    )
    rates = {}
    for name in ("bare", "engine", "bare", "engine"):  # interleaved, best of two against load drift
        torch.manual_seed(0)
        model = VQVAE(cfg)
        run = bare_loop if name == "bare" else engine
        extra = () if name == "bare" else (args.fast,)
        rates[name] = max(
            rates.get(name, 0.0),
            run(model, ImageDataset(images), args.steps, args.batch, device, *extra),
        )
    print(
        f"bare loop {rates['bare']:.0f} img/s, engine {rates['engine']:.0f} img/s, "
        f"engine/bare {rates['engine'] / rates['bare']:.2f}"
    )
    if args.json:
        record = {
            "commit": commit,
            "device": str(device),
            "image": [args.size, args.size, channels],
            "batch": args.batch,
            "steps": args.steps,
            "bare_img_per_s": rates["bare"],
            "engine_img_per_s": rates["engine"],
            "engine_over_bare": rates["engine"] / rates["bare"],
            "load_before": load_before,
            "load_after": os.getloadavg(),
        }
        Path(args.json).write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
