"""Langevin steps per second of the image EBM's sampler against a bare PyTorch sampler loop.

    .venv/bin/python benchmarks/energy_langevin.py [--steps 60] [--size 8|14|28|32] [--batch 32] [--device cpu|cuda]

Ours: ``ImageEBM.chains`` (pipeline/energy/langevin.py: the official decoupled rule with the
per-sample shape check, the NaN/Inf guard, eval mode and cached spectral-norm weights). Bare: the
same network and the same update written inline (noise, autograd input gradient, clip, step,
clamp), with the same eval mode and cached weights. Goal: ours >= 0.95 x bare. Interleaved runs,
best of three each, against load drift; on CPU the rate is per second of process CPU time (a
loaded shared machine inflates wall time unevenly), on CUDA per second of wall time.
"""

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path

import torch
from torch.nn.utils import parametrize

from pipeline.images.ebm import ImageEBM, ImageEBMConfig
from pipeline.provenance import git_state


def bare(model: ImageEBM, x: torch.Tensor, steps: int) -> torch.Tensor:
    cfg = model.ebm.langevin
    model.eval()
    with parametrize.cached():
        for _ in range(steps):
            x = x + cfg.noise * torch.randn_like(x)
            x.requires_grad_(True)
            (g,) = torch.autograd.grad(model.energy(x).sum(), x)
            x = (
                (x - cfg.step_size * g.clamp(-cfg.grad_clip, cfg.grad_clip))
                .clamp(*cfg.clamp)
                .detach()
            )
    return x


def ours(model: ImageEBM, x: torch.Tensor, steps: int) -> torch.Tensor:
    return model.chains(x, steps)


def rate(fn, model, x, steps, device) -> float:
    clock = time.perf_counter if device.type == "cuda" else time.process_time
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = clock()
    fn(model, x, steps)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (clock() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--size", type=int, default=8)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", default=None, help="also write the figures here as one JSON record")
    args = p.parse_args()
    load_before = os.getloadavg()
    torch.set_num_threads(1)
    device = torch.device(args.device)
    channels = 3 if args.size == 32 else 1
    torch.manual_seed(0)
    model = ImageEBM(
        ImageEBMConfig(in_channels=channels, image_size=args.size, width=args.width)
    ).to(device)
    x = torch.rand(args.batch, channels, args.size, args.size, device=device)
    commit, _ = git_state()
    print(
        f"# {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, commit {commit[:8]}, {platform.node()}, "
        f"{device}, {args.size}x{args.size}x{channels}, width {args.width}, batch {args.batch}, {args.steps} steps"
    )
    ours(model, x, 3), bare(model, x, 3)  # warm-up
    rates: dict[str, float] = {}
    for name, fn in [("bare", bare), ("ours", ours)] * 3:
        rates[name] = max(rates.get(name, 0.0), rate(fn, model, x, args.steps, device))
    print(
        f"bare loop {rates['bare']:.1f} steps/s, ours {rates['ours']:.1f} steps/s, "
        f"ours/bare {rates['ours'] / rates['bare']:.3f}"
    )
    if args.json:
        record = {
            "commit": commit,
            "device": str(device),
            "image": [args.size, args.size, channels],
            "width": args.width,
            "batch": args.batch,
            "steps": args.steps,
            "clock": "wall" if device.type == "cuda" else "process CPU",
            "bare_steps_per_s": rates["bare"],
            "ours_steps_per_s": rates["ours"],
            "ours_over_bare": rates["ours"] / rates["bare"],
            "load_before": load_before,
            "load_after": os.getloadavg(),
        }
        Path(args.json).write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
