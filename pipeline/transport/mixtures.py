"""2-D Gaussian mixtures: the WGAN-GP toys (8 and 25 Gaussians) and mode coverage.

Layouts follow ``igul222/improved_wgan_training/gan_toy.py``: 8 Gaussians on a circle of
radius 2 (std 0.02), 25 Gaussians on the grid {-2, ..., 2}^2 scaled by 2 / 2.828 (std 0.05 before
scaling). ``std`` is configurable so the E5.4 critic study can use broad modes.
"""

from __future__ import annotations

import numpy as np

MIXTURES = ("8gaussians", "25gaussians")


def centres(name: str) -> np.ndarray:
    """The mode centres (K, 2) of a named mixture."""
    if name == "8gaussians":
        angles = np.arange(8) * np.pi / 4
        return 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    if name == "25gaussians":
        grid = np.arange(-2, 3, dtype=np.float64)
        return np.stack(np.meshgrid(grid, grid, indexing="ij"), axis=-1).reshape(-1, 2) * 2 / 2.828
    raise ValueError(f"mixture {name!r} is not one of {MIXTURES}")


def default_std(name: str) -> float:
    """The toy's per-mode standard deviation (25 Gaussians: 0.05 before the 1/1.414 scaling)."""
    return 0.02 if name == "8gaussians" else 0.05 * 2 / 2.828


def sample(name: str, n: int, rng: np.random.Generator, std: float | None = None) -> np.ndarray:
    """``n`` points (n, 2) from the mixture with equal weights."""
    if n < 1:
        raise ValueError(f"sample size {n}: expected >= 1")
    mu = centres(name)
    k = rng.integers(len(mu), size=n)
    return mu[k] + rng.normal(scale=default_std(name) if std is None else std, size=(n, 2))


def mode_coverage(
    x: np.ndarray,
    name: str,
    std: float | None = None,
    k_sigma: float = 3.0,
    min_count: int | None = None,
) -> dict[str, float]:
    """Modes hit and sample quality, as in the unrolled-GAN / VEEGAN toy metrics.

    A sample is high quality when within ``k_sigma`` standard deviations of its nearest centre;
    a mode is covered when it holds at least ``min_count`` high-quality samples (default: a
    fifth of its expected share, at least 1).
    """
    mu = centres(name)
    std = default_std(name) if std is None else std
    d = np.linalg.norm(np.asarray(x)[:, None] - mu[None], axis=-1)
    nearest, dist = d.argmin(1), d.min(1)
    good = dist <= k_sigma * std
    counts = np.bincount(nearest[good], minlength=len(mu))
    need = max(1, len(x) // (5 * len(mu))) if min_count is None else min_count
    return {
        "modes_covered": float((counts >= need).sum()),
        "modes_total": float(len(mu)),
        "high_quality_fraction": float(good.mean()),
    }
