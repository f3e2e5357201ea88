"""Speed of the em estimators against scikit-learn, same data, same init, same stopping rule.

    .venv/bin/python benchmarks/em_speed.py [--threads 2] [--repeats 3] [--quick | --size quick]
                                            [--out FILE] [--cases kmeans gmm plsa] [--no-torch]

Shapes are those of issue 4 / anchors §2.3: KMeans 200k × 64, k = 64 (std 1 and std 6); GMM
50k × 16, K = 16, full covariance (tol = 1e-3, and a fixed 10 iterations with tol = 0); pLSA
1000 × 2000, K = 10, 100 iterations against NMF-KL (mu, tol = 0). Implementations are interleaved
and the minimum of ``--repeats`` runs is kept; the load average is recorded beside the figures.
Each run also checks that ours and sklearn agree (labels / log-likelihood), so a fast wrong
answer cannot pass. On a CUDA machine the torch backend also runs on the GPU (KMeans 10M × 64,
k = 1024 and GMM 1M × 64, K = 64 with ``--gpu-sizes``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGMM
from threadpoolctl import threadpool_limits

from pipeline.em import GaussianMixture, KMeans
from pipeline.em.backend import NumpyOps
from pipeline.em.datasets import lda_corpus, sample_gmm
from pipeline.em.experiments import nmf_kl
from pipeline.em.gmm import estimate_parameters
from pipeline.em.kmeans import inertia, kmeans_plusplus
from pipeline.em.plsa import PLSA, random_factors

warnings.simplefilter("ignore", ConvergenceWarning)


def best_of(repeats: int, fns: dict) -> dict:
    """Interleave the candidates ``repeats`` times; keep each one's minimum time and last result."""
    times, results = {k: [] for k in fns}, {}
    for _ in range(repeats):
        for name, fn in fns.items():
            if name.endswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
            results[name] = fn()
            if name.endswith("cuda"):
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - start)
    return {k: (min(v), results[k]) for k, v in times.items()}


def kmeans_case(n, d, k, std, repeats, devices):
    X, _ = make_blobs(n, n_features=d, centers=k, cluster_std=std, random_state=0)
    init = kmeans_plusplus(X, k, 0)[0]
    fns = {"sklearn": lambda: SkKMeans(k, init=init, n_init=1, algorithm="lloyd").fit(X)}
    fns["ours_numpy"] = lambda: KMeans(k, init=init, backend="numpy").fit(X)
    for dev in devices:
        fns[f"ours_torch_{dev}"] = lambda dev=dev: KMeans(
            k, init=init, backend="torch", device=dev
        ).fit(X)
    out = best_of(repeats, fns)
    ref = out["sklearn"][1]
    row = {"case": f"KMeans {n}x{d} k={k} std={std}", "n_iter": ref.n_iter_}
    for name, (seconds, model) in out.items():
        row[name] = seconds
        if name != "sklearn":
            assert np.array_equal(model.labels_, ref.labels_), name
            assert (
                abs(
                    inertia(X, model.cluster_centers_, model.labels_)
                    - inertia(X, ref.cluster_centers_, ref.labels_)
                )
                <= 1e-8 * ref.inertia_
            )
    return row


def gmm_case(n, d, k, tol, max_iter, repeats, devices):
    mix = sample_gmm(n, d, k, 0)
    hard = np.eye(k)[KMeans(k, n_init=1, random_state=0).fit(mix.X).labels_]
    nk, means, cov = estimate_parameters(NumpyOps(), mix.X, hard, 1e-6, "full")
    kw = dict(
        weights_init=nk / n,
        means_init=means,
        precisions_init=np.linalg.inv(cov),
        tol=tol,
        max_iter=max_iter,
    )
    fns = {
        "sklearn": lambda: SkGMM(k, **kw).fit(mix.X),
        "ours_numpy": lambda: GaussianMixture(k, **kw).fit(mix.X),
    }
    for dev in devices:
        fns[f"ours_torch_{dev}"] = lambda dev=dev: GaussianMixture(
            k, backend="torch", device=dev, **kw
        ).fit(mix.X)
    out = best_of(repeats, fns)
    ref = out["sklearn"][1]
    row = {"case": f"GMM full {n}x{d} K={k} tol={tol} max_iter={max_iter}", "n_iter": ref.n_iter_}
    for name, (seconds, model) in out.items():
        row[name] = seconds
        assert model.n_iter_ == ref.n_iter_ and abs(model.lower_bound_ - ref.lower_bound_) < 1e-9, (
            name
        )
    return row


def plsa_case(repeats, devices, max_iter=100):
    corpus = lda_corpus(1000, 2000, 10, 200, 0.2, 0.05, 0)
    theta0, phi0 = random_factors(1000, 2000, 10, 0)

    def ours(backend, dev="cpu"):
        return PLSA(10, max_iter=max_iter, tol=0, backend=backend, device=dev).fit(
            corpus.counts, theta_init=theta0, phi_init=phi0
        )

    fns = {
        "sklearn": lambda: nmf_kl(corpus.counts, theta0, phi0, max_iter),
        "ours_numpy": lambda: ours("numpy"),
    }
    for dev in devices:
        fns[f"ours_torch_{dev}"] = lambda dev=dev: ours("torch", dev)
    out = best_of(repeats, fns)
    row = {
        "case": f"pLSA EM vs NMF-KL(mu) 1000x2000 K=10, {max_iter} iterations",
        "n_iter": max_iter,
    }
    row.update({name: seconds for name, (seconds, _) in out.items()})
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small shapes, for a smoke test")
    parser.add_argument(
        "--size",
        choices=["full", "quick"],
        default="full",
        help="quick: the shapes of --quick (N / 10, pLSA 10 iterations); full: the issue's shapes",
    )
    parser.add_argument(
        "--gpu-sizes", action="store_true", help="the issue's GPU shapes (CUDA only)"
    )
    parser.add_argument("--out", default="results/benchmarks/em_speed.json")
    parser.add_argument(
        "--cases", nargs="+", choices=["kmeans", "gmm", "plsa"], default=["kmeans", "gmm", "plsa"]
    )
    parser.add_argument("--no-torch", action="store_true", help="numpy backend and sklearn only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    devices = [] if args.no_torch else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    loadavg_before = os.getloadavg()
    quick = args.quick or args.size == "quick"
    scale, fewer = (10 if quick else 1), max(1, args.repeats - 1)
    rows = []
    if "kmeans" in args.cases:
        rows.append(kmeans_case(200_000 // scale, 64, 64, 1.0, args.repeats, devices))
        rows.append(kmeans_case(200_000 // scale, 64, 64, 6.0, args.repeats, devices))
    if "gmm" in args.cases:
        rows.append(gmm_case(50_000 // scale, 16, 16, 1e-3, 100, args.repeats, devices))
        rows.append(gmm_case(50_000 // scale, 16, 16, 0.0, 10, fewer, devices))
    if "plsa" in args.cases:
        rows.append(plsa_case(fewer, devices, 100 // scale))
    if args.gpu_sizes and "cuda" in devices:
        rows.append(kmeans_case(10_000_000, 64, 1024, 1.0, 1, ["cuda"]))
        rows.append(gmm_case(1_000_000, 64, 64, 0.0, 10, 1, ["cuda"]))
    for row in rows:
        for name in [k for k in row if k.startswith("ours")]:
            row[f"{name}/sklearn"] = row[name] / row["sklearn"]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    meta = {
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "commit": commit,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "size": "quick" if quick else "full",
        "threads": args.threads, "loadavg_before": loadavg_before, "loadavg_after": os.getloadavg(),
        "torch": torch.__version__, "cases": args.cases,
        "cuda": torch.cuda.get_device_name(0) if "cuda" in devices else "not available (not measured)",
    }  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(json.dumps(meta))
    for row in rows:
        print(
            " | ".join(
                f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
            )
        )


if __name__ == "__main__":
    main()
