"""Offline metrics: reconstruction error, codebook use, prior bits/dim, Fréchet and sliced
Wasserstein distances. None needs downloaded weights; sample metrics are always reported beside
the same metric between two real sets of the same size (anchors.md section 3.3)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import ot
import scipy.linalg
import torch


def psnr(mse01: float) -> float:
    """PSNR in dB for pixels in [0, 1] (peak 1)."""
    return float("inf") if mse01 == 0 else 10.0 * math.log10(1.0 / mse01)


def mse01(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """Mean squared error in [0, 1] pixel units of two [-1, 1] batches (the estimate is clamped)."""
    return float(((x_hat.clamp(-1, 1) - x) / 2).pow(2).mean())


def code_usage(codes: np.ndarray, codebook_size: int) -> dict[str, float]:
    """Perplexity exp(H(p)) of the code histogram and the fraction of codes used at least once."""
    counts = np.bincount(np.asarray(codes).ravel(), minlength=codebook_size).astype(float)
    p = counts / counts.sum()
    nz = p[p > 0]
    return {
        "perplexity": float(np.exp(-(nz * np.log(nz)).sum())),
        "codes_used": float((counts > 0).mean()),
    }


def discretized_gaussian_bits(x: torch.Tensor, mean: torch.Tensor, sigma: float) -> float:
    """Mean -log2 P(x) per subpixel under a Gaussian with ``sigma`` discretised to 256 bins of
    [-1, 1] (edge bins take the tails): the decoder's share of a bits/dim bound."""
    half = 1.0 / 255.0
    normal = torch.distributions.Normal(mean.double(), sigma)
    x = x.double()
    upper = torch.where(x > 1 - half, torch.ones_like(x), normal.cdf(x + half))
    lower = torch.where(x < -1 + half, torch.zeros_like(x), normal.cdf(x - half))
    return float(-torch.log2((upper - lower).clamp_min(1e-12)).mean())


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^{1/2}) between two feature sets (N, d)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu = a.mean(0) - b.mean(0)
    sa, sb = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(sa @ sb)
        if not np.isfinite(covmean).all():  # singular product (dead ReLU features): as pytorch-fid
            offset = np.eye(len(sa)) * 1e-6
            covmean = scipy.linalg.sqrtm((sa + offset) @ (sb + offset))
    covmean = covmean.real
    return float(mu @ mu + np.trace(sa) + np.trace(sb) - 2.0 * np.trace(covmean))


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, n_projections: int, seed: int) -> float:
    """POT's sliced Wasserstein-2 distance between two pixel sets (N, D)."""
    a = np.asarray(a, np.float64).reshape(len(a), -1)
    b = np.asarray(b, np.float64).reshape(len(b), -1)
    return float(ot.sliced_wasserstein_distance(a, b, n_projections=n_projections, seed=seed))
