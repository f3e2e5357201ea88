"""The one GPU check: every GPU-scale figure the issues ask for, in one command (≤ 9 minutes on
one H200), written to one JSON file plus the results rows it feeds to the ledger.

    make gpu-check                                    # = python benchmarks/gpu_check.py
    python benchmarks/gpu_check.py --tiny --device cpu   # the CPU smoke run the tests use

On a machine without CUDA (and without ``--tiny``) it says so and exits 1 at once. It needs no
snakemake, gensim or POT: each slot calls the package's functions directly (the device
machine's python has torch, numpy, scipy, scikit-learn, numba, pandas, pyarrow). Data it can
carry in 64 MiB: the CIFAR-10 JPEG training zip of the local mirror (52.6 MB; 5,000 of its
images are held out as the test set); the word-vector slots use a synthetic Zipf corpus of the
English reference corpus's size (17.5M tokens, 71k words), because the corpus and its counts do
not fit beside it. Each slot's plan (sizes, what it is compared with) is in its docstring and in
docs/BENCHMARKS.md ("The GPU check").
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SLOTS: dict[str, Callable[[dict], dict]] = {}


def slot(fn):
    SLOTS[fn.__name__] = fn
    return fn


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, device: str):
    sync(device)
    t0 = time.perf_counter()
    out = fn()
    sync(device)
    return out, time.perf_counter() - t0


def zipf_stream(n_tokens: int, vocab: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, vocab + 1)
    return rng.choice(vocab, size=n_tokens, p=p / p.sum()).astype(np.int32)


# ------------------------------------------------------------------------------------ slots
@slot
def cooccur(ctx: dict) -> dict:
    """Co-occurrence counting (window 10, unit weights) on the GPU (torch backend) against the
    compiled CPU path (numba, the default), same stream: time ratio and equal counts."""
    from pipeline.text.cooccur import CooccurConfig, count_matrices

    n, v = (17_500_000, 71_000) if not ctx["tiny"] else (20_000, 500)
    ids = zipf_stream(n, v)
    doc = np.zeros(n, dtype=np.int32)
    cfg = CooccurConfig(window=10, max_memory_mb=4096 if not ctx["tiny"] else 64)
    gpu, t_gpu = timed(
        lambda: sum(count_matrices(ids, doc, v, cfg, "unit", ctx["device"])), ctx["device"]
    )
    cpu, t_cpu = timed(lambda: sum(count_matrices(ids, doc, v, cfg, "unit", "cpu")), "cpu")
    ctx["counts"], ctx["stream"] = gpu.tocsr(), (n, v)
    diff = abs(gpu - cpu)
    return {
        "tokens": n,
        "vocab": v,
        "nnz": int(gpu.nnz),
        "gpu_s": t_gpu,
        "cpu_s": t_cpu,
        "speedup": t_cpu / t_gpu,
        "max_abs_count_diff": float(diff.max()) if diff.nnz else 0.0,
    }


@slot
def simpler_glove(ctx: dict) -> dict:
    """Simpler GloVe, 30 passes, dim 128 (the author's recipe), on the counts of ``cooccur``,
    torch engine on the device: seconds per 30 passes (the issue's target: ≤ 30 s)."""
    from pipeline.vectors.cooccurrence import Cooccurrence
    from pipeline.vectors.simpler_glove import SimplerGloveConfig, fit_simpler_glove

    counts = ctx.get("counts")
    if counts is None:
        raise RuntimeError("needs the cooccur slot's counts")
    counts = counts.tocoo()
    keep = (counts.row != counts.col) & (counts.data > 0)
    unigrams = (
        np.bincount(zipf_stream(*ctx["stream"]), minlength=counts.shape[0]).astype(np.int64) + 1
    )
    cooc = Cooccurrence(
        counts.row[keep].astype(np.int64),
        counts.col[keep].astype(np.int64),
        counts.data[keep].astype(np.float64),
        unigrams,
    )
    epochs = 30 if not ctx["tiny"] else 2
    cfg = SimplerGloveConfig(
        dim=128 if not ctx["tiny"] else 8,
        epochs=epochs,
        device=ctx["device"],
        engine="torch",
        batch_size=1 << 20 if not ctx["tiny"] else 4096,
    )
    (vectors, history), seconds = timed(lambda: fit_simpler_glove(cooc, cfg, 0), ctx["device"])
    return {
        "cells": int(keep.sum()),
        "epochs": epochs,
        "seconds": seconds,
        "final_loss": float(history[-1]["loss"]) if history else float("nan"),
    }


def _sklearn_seconds_per_iter(estimator, x) -> float:
    t0 = time.perf_counter()
    estimator.fit(x)
    return (time.perf_counter() - t0) / max(1, estimator.n_iter_)


@slot
def kmeans(ctx: dict) -> dict:
    """KMeans 10M × 64, k = 1024, 20 Lloyd iterations on the device against scikit-learn on the
    CPU (per iteration, measured on a 200k subsample and scaled by N: sklearn's Lloyd is linear
    in N)."""
    from sklearn.cluster import KMeans as SkKMeans

    from pipeline.em.kmeans import KMeans

    n, d, k, sub = (10_000_000, 64, 1024, 200_000) if not ctx["tiny"] else (4000, 8, 8, 1000)
    x = np.random.default_rng(0).standard_normal((n, d)).astype(np.float32)
    init = x[:k].copy()
    ours = KMeans(
        k,
        init=init,
        n_init=1,
        max_iter=20,
        tol=0.0,
        backend="torch",
        device=ctx["device"],
        dtype="float32",
    )
    _, t_ours = timed(lambda: ours.fit(x), ctx["device"])
    sk = SkKMeans(k, init=init, n_init=1, max_iter=3, tol=0.0, algorithm="lloyd")
    per_iter = _sklearn_seconds_per_iter(sk, x[:sub]) * n / sub
    ours_per_iter = t_ours / max(1, ours.n_iter_)
    return {
        "n": n,
        "d": d,
        "k": k,
        "ours_s_per_iter": ours_per_iter,
        "sklearn_s_per_iter": per_iter,
        "speedup": per_iter / ours_per_iter,
        "inertia": float(ours.inertia_),
    }


@slot
def gmm(ctx: dict) -> dict:
    """Full-covariance GMM 1M × 64, K = 64, 10 EM iterations on the device against scikit-learn
    on the CPU (per iteration, on a 50k subsample scaled by N)."""
    from sklearn.mixture import GaussianMixture as SkGMM

    from pipeline.em.gmm import GaussianMixture

    n, d, k, sub = (1_000_000, 64, 64, 50_000) if not ctx["tiny"] else (3000, 4, 4, 1000)
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((n, d)) + 4 * rng.integers(0, k, n)[:, None] / k).astype(np.float64)
    ours = GaussianMixture(
        k,
        max_iter=10,
        tol=0.0,
        init_params="random",
        random_state=0,
        backend="torch",
        device=ctx["device"],
        dtype="float32",
    )
    _, t_ours = timed(lambda: ours.fit(x), ctx["device"])
    sk = SkGMM(k, max_iter=3, tol=0.0, init_params="random", random_state=0)
    per_iter = _sklearn_seconds_per_iter(sk, x[:sub]) * n / sub
    ours_per_iter = t_ours / max(1, ours.n_iter_)
    return {
        "n": n,
        "d": d,
        "k": k,
        "ours_s_per_iter": ours_per_iter,
        "sklearn_s_per_iter": per_iter,
        "speedup": per_iter / ours_per_iter,
        "lower_bound": float(ours.lower_bound_),
    }


def cifar10(ctx: dict) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) uint8 NHWC: the mirror's JPEG training zip split 45k / 5k, or random
    images of CIFAR's shape where no zip was given (speed only)."""
    if ctx["cifar_zip"]:
        from pipeline.images.datasets import read_images

        x, _, _ = read_images(ctx["cifar_zip"], None, None, labelled=False)
        return x[:-5000], x[-5000:]
    n = 2048 if not ctx["tiny"] else 256
    x = np.random.default_rng(0).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    return x[: n - 128], x[n - 128 :]


@slot
def vqvae_cifar10(ctx: dict) -> dict:
    """The CIFAR-10 VQ-VAE of pytorch-vq-vae (K = 512, d = 64, 128 hidden, batch 256, EMA
    codebook): steps in 150 s through the engine (bf16, channels_last), test NMSE and perplexity
    beside the peer's 0.055 and 405 (at 15k steps), and images/s against a bare loop."""
    from pipeline.engine import TrainConfig, Trainer, batch_stream
    from pipeline.images.loader import ImageDataset, to_tensor
    from pipeline.images.vqvae import VQVAE, VQVAEConfig

    train, test = cifar10(ctx)
    cfg = (
        VQVAEConfig(
            in_channels=3,
            hidden=128,
            res_hidden=32,
            n_res=2,
            downsample=2,
            codebook_size=512,
            code_dim=64,
            ema_codebook=True,
        )
        if not ctx["tiny"]
        else VQVAEConfig(
            in_channels=3,
            hidden=8,
            res_hidden=4,
            n_res=1,
            downsample=2,
            codebook_size=16,
            code_dim=4,
        )
    )
    steps, batch = (3000, 256) if not ctx["tiny"] else (4, 16)
    fast = ctx["device"].startswith("cuda")
    torch.manual_seed(0)
    model = VQVAE(cfg)
    tc = TrainConfig(
        steps=steps,
        batch_size=batch,
        lr=1e-3,
        device="cuda" if fast else "cpu",
        log_every=steps,
        checkpoint_every=10**9,
        amp=fast,
        channels_last=fast,
    )
    result, seconds = timed(lambda: Trainer(tc).fit(model, ImageDataset(train)), ctx["device"])
    dev = torch.device(ctx["device"])
    with torch.no_grad():
        vq = result.ema.eval().to(dev)
        x = to_tensor(test).to(dev)
        out = [vq(b) for b in x.split(500)]
        err = sum(
            float(((o["x_hat"].clamp(-1, 1) - b) ** 2).sum())
            for o, b in zip(out, x.split(500), strict=True)
        )
        codes = torch.cat([o["codes"].flatten() for o in out])
    counts = torch.bincount(codes, minlength=cfg.codebook_size).double()
    p = counts[counts > 0] / counts.sum()
    bare_model = VQVAE(cfg).to(dev)
    opt = torch.optim.Adam(bare_model.parameters(), lr=1e-3)
    stream = batch_stream(ImageDataset(train), batch, 0)
    n_bare = min(steps, 200)

    def bare():
        for _ in range(n_bare):
            xb = next(stream)["x"].to(dev)
            loss = bare_model.losses(xb, bare_model(xb))["loss"]
            opt.zero_grad()
            loss.backward()
            opt.step()

    _, t_bare = timed(bare, ctx["device"])
    return {
        "steps": steps,
        "batch": batch,
        "train_s": seconds,
        "images_per_s": steps * batch / seconds,
        "bare_images_per_s": n_bare * batch / t_bare,
        "nmse": err / x.numel() / float(x.var()),
        "perplexity": float(torch.exp(-(p * p.log()).sum())),
        "data": "cifar10 jpeg q75" if ctx["cifar_zip"] else "random images (speed only)",
    }


def cifar10_set(ctx: dict):
    """CIFAR-10 with labels (the zip's class folders) as an ImageSet, 5,000 held out; random
    labelled images where no zip was given (speed only)."""
    from pipeline.images.datasets import ImageSet, label_ids, read_images

    if ctx["cifar_zip"]:
        x, labels, _ = read_images(ctx["cifar_zip"], None, None, labelled=True)
        y, classes = label_ids(labels)
        order = np.random.default_rng(0).permutation(len(x))  # the zip is sorted by class
        x, y = x[order], y[order]
        return ImageSet(x[:-5000], y[:-5000], x[-5000:], y[-5000:], classes)
    n = 2048 if not ctx["tiny"] else 256
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, n)
    return ImageSet(x[:-128], y[:-128], x[-128:], y[-128:], [str(k) for k in range(10)])


@slot
def ema_benefit_cifar10(ctx: dict) -> dict:
    """E4.3 / C8: ResNet20 on CIFAR-10, Adam 1e-3 constant, batch 128, augmentation, raw weights
    beside EMA 0.999 and 0.9999 from one run (the author: > 90 % with EMA 0.9999 against ~86 %
    oscillating without); 15 epochs here (the dynamics track's "check" size is 30)."""
    import dataclasses

    from pipeline.dynamics.experiments import cifar10_ema_benefit, ema_benefit

    cfg = cifar10_ema_benefit("check" if not ctx["tiny"] else "smoke")
    cfg = (
        dataclasses.replace(cfg, epochs=15, last_epochs=10, device=ctx["device"].split(":")[0])
        if not ctx["tiny"]
        else dataclasses.replace(
            cfg, epochs=1, last_epochs=1, device="cpu", num_workers=0, depth=8, width=4
        )
    )
    frame = ema_benefit(cfg, cifar10_set(ctx), seed=0)
    if not ctx["tiny"]:  # the E4.3 rows themselves, at the author's scale, for the ledger
        ctx["rows"].append(frame.assign(dataset="cifar10"))
    final = frame[frame["step"] < 0]
    return {f"{r.method}:{r.metric}": float(r.value) for r in final.itertuples()}


@slot
def ebm_cifar10(ctx: dict) -> dict:
    """E3.5 / C11: the image EBM with the official CIFAR-10 flags (config/energy-reference.yaml,
    60 Langevin steps of size 10, clip 0.01, buffer): training and Langevin steps per second for
    its configured steps, the energy magnitude at the end (stability)."""
    import dataclasses

    import yaml

    from pipeline.cli import load_section
    from pipeline.energy import image_ebm

    ref = yaml.safe_load((REPO / "config/energy-reference.yaml").read_text())
    entry = ref["energy"]["image_ebm"]["datasets"]["cifar10"]
    section = load_section(
        image_ebm.ImageEBMSection, json.dumps(entry), "energy.image_ebm.datasets.cifar10"
    )
    steps = 600 if not ctx["tiny"] else 5
    device = "cuda" if ctx["device"].startswith("cuda") else "cpu"
    section = dataclasses.replace(
        section, train=dataclasses.replace(section.train, steps=steps, device=device)
    )
    rows = image_ebm.gpu_check(section, ctx["tiny"], cifar10_set(ctx))
    ctx["rows"].append(pd.DataFrame([{k: v for k, v in r.items() if k != "device"} for r in rows]))
    return {r["metric"]: float(r["value"]) for r in rows}


@slot
def wgan_cifar10(ctx: dict) -> dict:
    """E5.5 on CIFAR-10: WGAN-GP and the author's recipe (DCGAN-style 5x5 stride-2 critic, 64
    channels, 3 halvings), 1,000 generator steps each; the critic's W1 estimate against the
    Fréchet distance on an in-check classifier (1,500 steps) over the run, as a rank correlation."""
    import dataclasses

    from pipeline.engine import TrainConfig, Trainer
    from pipeline.images.classifier import ClassifierSection, build_classifier
    from pipeline.transport.wgan_runs import WganImagesConfig, wgan_images

    data = cifar10_set(ctx)
    device = "cuda" if ctx["device"].startswith("cuda") else "cpu"
    clf_steps, steps, width = (1500, 1000, 64) if not ctx["tiny"] else (3, 4, 4)
    section = ClassifierSection(
        train=TrainConfig(steps=clf_steps, batch_size=128, device=device, log_every=clf_steps)
    )
    torch.manual_seed(0)
    model, dataset = build_classifier(section, data)
    classifier = Trainer(section.train).fit(model, dataset).ema
    cfg = WganImagesConfig(
        datasets=("cifar10",),
        variants=("gp", "author"),
        steps=steps,
        width=width,
        depth=3,
        z_dim=100,
        eval_every=max(1, steps // 10),
        eval_samples=1000 if not ctx["tiny"] else 32,
        device=device,
    )
    out = {}
    for variant in cfg.variants:
        frame, _ = wgan_images(
            dataclasses.replace(cfg), data, "cifar10", classifier, variant, 0, device
        )
        if not ctx["tiny"]:
            ctx["rows"].append(frame)
        final = frame[frame["step"] < 0]
        out |= {f"{variant}:{r.metric}": float(r.value) for r in final.itertuples()}
    return out


# ------------------------------------------------------------------------------------ driver
def rows_for_ledger(report: dict) -> list[dict]:
    """The figures as rows of the one results schema (experiment = the slot; implementation
    ours; dataset = the device), so ``python -m pipeline ledger collect`` can gather them; the
    slots that reproduce a checklist item add that item's own rows (E3.5, E4.3) beside them."""
    rows = []
    for name, figures in report["slots"].items():
        for metric, value in figures.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                rows.append(
                    {
                        "experiment": f"gpu_{name}",
                        "dataset": report["device_name"],
                        "method": name,
                        "implementation": "ours",
                        "seed": 0,
                        "step": -1,
                        "metric": metric,
                        "value": float(value),
                    }
                )
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="tiny sizes (the CPU smoke test)")
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu (only with --tiny)")
    p.add_argument("--only", nargs="*", choices=sorted(SLOTS), help="run only these slots")
    p.add_argument(
        "--cifar-zip", help="the mirror's cifar10_train_jpg_q75.zip (else random images)"
    )
    p.add_argument("--out", default="results/gpu_check.json")
    args = p.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(
            "gpu_check: no CUDA device here (torch.cuda.is_available() is False); "
            "run it on a machine with a GPU, or use --tiny --device cpu",
            file=sys.stderr,
        )
        return 1
    if args.device == "cpu" and not args.tiny:
        print("gpu_check: --device cpu is only for the --tiny smoke run", file=sys.stderr)
        return 2
    ctx = {"tiny": args.tiny, "device": args.device, "cifar_zip": args.cifar_zip, "rows": []}
    name = (
        torch.cuda.get_device_name()
        if args.device.startswith("cuda")
        else platform.processor() or "cpu"
    )
    report = {
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "device_name": name,
        "torch": torch.__version__,
        "tiny": args.tiny,
        "slots": {},
        "errors": {},
    }
    for slot_name in args.only or list(SLOTS):
        t0 = time.perf_counter()
        try:
            report["slots"][slot_name] = SLOTS[slot_name](ctx) | {
                "wall_s": time.perf_counter() - t0
            }
            print(f"{slot_name}: {json.dumps(report['slots'][slot_name])}", flush=True)
        except Exception as exc:  # one slot failing must not lose the others' figures
            report["errors"][slot_name] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    from pipeline.tables import results_frame, write_results

    frames = [results_frame(rows_for_ledger(report))] + [results_frame(f) for f in ctx["rows"]]
    rows = pd.concat(frames, ignore_index=True)
    if len(rows):
        write_results(
            rows,
            out.with_suffix(".parquet"),
            {"device": name, "torch": torch.__version__, "gpu_check": "benchmarks/gpu_check.py"},
        )
    print(f"gpu_check: {len(report['slots'])} slots, {len(report['errors'])} errors -> {out}")
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
