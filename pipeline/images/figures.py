"""Report figures; each function returns a matplotlib ``Figure``."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def tile(images: np.ndarray, ncol: int) -> np.ndarray:
    """uint8 NHWC -> one (rows*H, ncol*W, C) mosaic with a 1-pixel gap."""
    n, h, w, c = images.shape
    nrow = -(-n // ncol)
    out = np.full((nrow * (h + 1) - 1, ncol * (w + 1) - 1, c), 255, np.uint8)
    for i, im in enumerate(images):
        r, k = divmod(i, ncol)
        out[r * (h + 1) : r * (h + 1) + h, k * (w + 1) : k * (w + 1) + w] = im
    return out


def _show(ax, mosaic: np.ndarray, title: str) -> None:
    ax.imshow(
        mosaic.squeeze(-1) if mosaic.shape[-1] == 1 else mosaic,
        cmap="gray",
        interpolation="nearest",
        vmin=0,
        vmax=255,
    )
    ax.set_title(title, fontsize=9)
    ax.axis("off")


def image_grids(panels: dict[str, np.ndarray], ncol: int = 8):
    """Several uint8 NHWC batches side by side, one panel each (reconstructions, samples)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4), squeeze=False)
    for ax, (title, images) in zip(axes[0], panels.items(), strict=True):
        _show(ax, tile(images, ncol), title)
    fig.tight_layout()
    return fig


def codebook_usage(counts: dict[str, np.ndarray]):
    """Code frequencies sorted high to low, one line per weight set (raw, EMA)."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for name, c in counts.items():
        p = np.sort(np.asarray(c, float))[::-1] / max(1, np.sum(c))
        ax.plot(np.arange(1, len(p) + 1), p, label=f"{name} ({int((p > 0).sum())}/{len(p)} used)")
    ax.set_xlabel("code rank")
    ax.set_ylabel("frequency on the test set")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def loss_curves(logs: dict[str, pd.DataFrame], metrics: dict[str, list[str]]):
    """One panel per training run: the named metrics against step (log scale)."""
    fig, axes = plt.subplots(1, len(logs), figsize=(4.5 * len(logs), 3.2), squeeze=False)
    for ax, (name, df) in zip(axes[0], logs.items(), strict=True):
        for metric in metrics[name]:
            d = df[df.metric == metric]
            ax.plot(d.step, d.value, label=metric)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def activation_maps(acts: dict[str, np.ndarray], n_channels: int = 8):
    """Captured activations of the first test image (post 6575's "any intermediate variable"):
    one row per captured module, its first channels as heat maps (code grids as integer maps)."""
    maps = {k: v for k, v in acts.items() if v.ndim in (3, 4)}
    fig, axes = plt.subplots(
        max(1, len(maps)),
        n_channels,
        figsize=(1.3 * n_channels, 1.4 * max(1, len(maps))),
        squeeze=False,
    )
    for row, (name, a) in zip(axes, maps.items(), strict=False):
        chans = a[0][None] if a.ndim == 3 else a[0]
        for k, ax in enumerate(row):
            ax.axis("off")
            if k < len(chans):
                ax.imshow(chans[k], cmap="viridis", interpolation="nearest")
        row[0].set_title(f"{name} {tuple(a.shape[1:])}", fontsize=7, loc="left")
    fig.tight_layout()
    return fig


def vqvae_figures(
    arrays: dict[str, np.ndarray], acts: dict[str, np.ndarray], logs: dict[str, pd.DataFrame]
) -> dict[str, plt.Figure]:
    """The VQ-VAE's report figures by name: reconstructions, samples, codebook, losses, activations."""
    a = arrays
    return {
        "reconstructions": image_grids(
            {
                "test images": a["real"],
                "EMA dec(z_q)": a["recon_ema"],
                "raw dec(z_q)": a["recon_raw"],
            }
        ),
        "samples": image_grids(
            {"prior samples (EMA)": a["samples_ema"], "prior samples (raw)": a["samples_raw"]}
        ),
        "codebook": codebook_usage({"EMA": a["code_counts_ema"], "raw": a["code_counts_raw"]}),
        "activations": activation_maps(acts),
        "losses": loss_curves(
            logs, {"vqvae": ["mse_x", "mse_e", "mse_z"], "prior": ["bits_per_code"]}
        ),
    }


def ablation(summary: pd.DataFrame, cells: list[str]):
    """E1.3: test PSNR (from z_q) and codebook perplexity against gamma/beta, one line per
    (K, codebook) cell; medians over seeds from :func:`pipeline.images.vqvae_studies.ablation_summary`."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    ratios = sorted({float(m.split("_")[1]) for m in summary.method})
    for cell in cells:
        rows = summary[summary.method.str.endswith(f"_{cell}")].copy()
        rows["ratio"] = rows.method.str.split("_").str[1].astype(float)
        rows = rows.sort_values("ratio")
        for ax, metric in zip(axes, ("psnr", "perplexity"), strict=True):
            ax.plot(rows.ratio, rows[metric], marker="o", label=cell)
    for ax, label in zip(
        axes, ("test PSNR from z_q (dB)", "codebook perplexity (test)"), strict=True
    ):
        ax.set_xscale("log")
        ax.set_xticks(ratios, [f"{r:g}" for r in ratios])
        ax.minorticks_off()
        ax.set_xlabel("gamma / beta")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    axes[1].set_yscale("log")  # K = 64 and K = 512 differ eightfold
    axes[1].yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axes[1].yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes[1].set_yticks(
        [
            t
            for t in (4, 8, 16, 32, 64, 128, 256, 512, 1024)
            if summary.perplexity.min() / 2 <= t <= summary.perplexity.max() * 2
        ]
    )
    fig.tight_layout()
    return fig


def interpolation(arrays: dict[str, np.ndarray]):
    """E1.5: per pair, dec(q(z_t)) above dec(z_t) along the straight path in continuous z."""
    q, z = arrays["quantised"], arrays["continuous"]
    n_pairs, n_steps = q.shape[:2]
    rows = np.stack(
        [r for pair in zip(q, z, strict=True) for r in pair]
    )  # (2 * pairs, steps, H, W, C)
    fig, ax = plt.subplots(figsize=(1.0 * n_steps + 1, 1.0 * 2 * n_pairs))
    _show(
        ax,
        tile(rows.reshape(-1, *rows.shape[2:]), n_steps),
        "z_t = (1-t) z_a + t z_b: dec(q(z_t)) (odd rows) above dec(z_t) (even rows)",
    )
    fig.tight_layout()
    return fig
