"""Test-set reconstruction PSNR of a VQ-VAE checkpoint, EMA and raw weights.

    .venv/bin/python benchmarks/images_vqvae_psnr.py results/images/fashion_mnist/data.npz \
        results/images/fashion_mnist/vqvae/model.pt      # or a .vqvae/.model_checkpoints/last.pt

Prints one line per weight set with the step, MSE (pixels in [0, 1]), PSNR, PSNR from the
continuous z, perplexity and codes used, plus date, commit and machine, for docs/BENCHMARKS.md.
"""

import argparse
import datetime
import platform
import time

import torch

from pipeline.engine import load_model
from pipeline.images.datasets import load_npz
from pipeline.images.evaluate import reconstruction
from pipeline.images.loader import to_tensor
from pipeline.images.vqvae import VQVAE
from pipeline.provenance import git_state


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data")
    p.add_argument("checkpoint")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    x = to_tensor(load_npz(args.data).x_test)
    commit, dirty = git_state()
    print(
        f"# {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, commit {commit[:8]}"
        f"{' (dirty)' if dirty else ''}, {platform.node()}, torch {torch.__version__}, "
        f"{args.threads} thread(s), {len(x)} test images"
    )
    for ema in (True, False):
        model, ckpt = load_model(args.checkpoint, VQVAE, ema=ema)
        t0 = time.perf_counter()
        m = reconstruction(model, x, 500, torch.device("cpu"))["metrics"]
        print(
            f"{'ema' if ema else 'raw'}: step {ckpt['step']}, mse {m['mse']:.5f}, psnr {m['psnr']:.2f} dB, "
            f"psnr(dec z) {m['psnr_continuous_z']:.2f} dB, nmse {m['nmse']:.4f}, "
            f"perplexity {m['perplexity']:.1f}/{model.config.codebook_size}, codes used "
            f"{m['codes_used']:.3f} ({time.perf_counter() - t0:.1f} s)"
        )


if __name__ == "__main__":
    main()
