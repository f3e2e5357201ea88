"""Post 1's VQ-VAE checklist items beyond the main run (posts.md E1.1, E1.3, E1.4, E1.5).

- :func:`ste_identities` (E1.1): the stop-gradient identities in float64, as results rows:
  ``z + sg[z_q - z]`` has z_q's value and dec's gradient at z_q; ``x + sg[relu(x) - x]`` has
  relu's value and an all-ones gradient; ``|sg(z) - e|^2 + |z - sg(e)|^2`` has the gradients of
  ``|z - e|^2`` and twice its value.
- :func:`ablation_cell` (E1.3): one cell (K, codebook) of the ablation grid, trained for every
  gamma/beta ratio and seed; test PSNR (from z_q and from z) and codebook perplexity.
- :func:`compare_priors` (E1.4): held-out bits per code of the causal-attention prior and of the
  gated PixelCNN on the same codes, their sizes, and samples from both.
- :func:`interpolation` (E1.5): the author's ``sample_inter``: interpolate continuous z between
  two test images, quantise, decode (beside decoding z unquantised).

In the post's notation the loss is ``mse_x + beta * |sg(z) - e|^2 + gamma * |z - sg(e)|^2``;
in :class:`~pipeline.images.vqvae.VQVAEConfig` beta is ``codebook_weight`` and gamma ``beta``.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile

import numpy as np
import pandas as pd
import torch
from torch import nn

from pipeline.engine import Trainer, load_model
from pipeline.images import evaluate
from pipeline.images.datasets import ImageSet
from pipeline.images.loader import to_tensor, to_uint8
from pipeline.images.pixelcnn import GatedPixelCNN, PixelCNNSection, n_parameters
from pipeline.images.prior import CodePrior
from pipeline.images.vqvae import VQVAE, VQVAESection, build_vqvae

log = logging.getLogger(__name__)

CODEBOOKS = ("loss", "ema")


# ---------------------------------------------------------------- E1.1
@dataclasses.dataclass(frozen=True)
class SteConfig:
    """``images.ste``: sizes of the random float64 tensors of the identity checks."""

    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    batch: int = 4
    grid: int = 4  # code grid side
    code_dim: int = 8
    codebook_size: int = 16

    def __post_init__(self):
        object.__setattr__(self, "seeds", tuple(self.seeds))
        if not self.seeds:
            raise ValueError("images.ste.seeds: give at least one seed")
        for key in ("batch", "grid", "code_dim", "codebook_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"images.ste.{key}: {getattr(self, key)} must be >= 1")


def _max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


def ste_identities(cfg: SteConfig) -> list[dict]:
    """Rows (method ste / relu_trick / sg_split, seed, metric, value) of the E1.1 identities."""
    rows = []
    for seed in cfg.seeds:
        gen = torch.Generator().manual_seed(seed)
        d, k = cfg.code_dim, cfg.codebook_size
        z = torch.randn(cfg.batch, d, cfg.grid, cfg.grid, generator=gen, dtype=torch.float64)
        book = torch.randn(k, d, generator=gen, dtype=torch.float64)
        torch.manual_seed(seed)
        dec = nn.Sequential(
            nn.Conv2d(d, 8, 3, padding=1), nn.Tanh(), nn.Conv2d(8, 3, 3, padding=1)
        ).double()
        weight = torch.randn(cfg.batch, 3, cfg.grid, cfg.grid, generator=gen, dtype=torch.float64)
        flat = z.permute(0, 2, 3, 1).reshape(-1, d)
        z_q = (
            book[torch.cdist(flat, book).argmin(1)]
            .view(cfg.batch, cfg.grid, cfg.grid, d)
            .permute(0, 3, 1, 2)
        )

        # the straight-through estimator: value z_q, gradient of dec at z_q, reaching z
        z_leaf = z.clone().requires_grad_(True)
        z_st = z_leaf + (z_q - z_leaf).detach()
        (grad_z,) = torch.autograd.grad((dec(z_st) * weight).sum(), z_leaf)
        at_zq = z_q.clone().requires_grad_(True)
        (grad_zq,) = torch.autograd.grad((dec(at_zq) * weight).sum(), at_zq)
        # z + (z_q - z) rounds twice: equal to z_q up to float64's epsilon times the scale
        eps = torch.finfo(torch.float64).eps
        forward, grad = _max_abs(z_st.detach(), z_q), _max_abs(grad_z, grad_zq)
        rows += [
            {"method": "ste", "seed": seed, "metric": "forward_max_abs_diff", "value": forward},
            {
                "method": "ste",
                "seed": seed,
                "metric": "forward_max_abs_diff_over_eps",
                "value": forward / (eps * float(z_q.abs().max())),
            },
            {"method": "ste", "seed": seed, "metric": "grad_max_abs_diff", "value": grad},
            {
                "method": "ste",
                "seed": seed,
                "metric": "grad_max_abs_diff_over_eps",
                "value": grad / (eps * float(grad_zq.abs().max())),
            },
        ]

        # the general trick: x + sg[relu(x) - x]
        x = torch.randn(256, generator=gen, dtype=torch.float64, requires_grad=True)
        y = x + (torch.relu(x) - x).detach()
        (grad_x,) = torch.autograd.grad(y.sum(), x)
        diff = max(
            _max_abs(y.detach(), torch.relu(x.detach())), _max_abs(grad_x, torch.ones_like(grad_x))
        )
        rows.append({"method": "relu_trick", "seed": seed, "metric": "max_abs_diff", "value": diff})

        # the split of beta |z - e|^2 into a codebook and a commitment term
        ze, ee = z.clone().requires_grad_(True), z_q.clone().requires_grad_(True)
        split = (ze.detach() - ee).pow(2).sum() + (ze - ee.detach()).pow(2).sum()
        g_split = torch.autograd.grad(split, (ze, ee))
        joint = (ze - ee).pow(2).sum()
        g_joint = torch.autograd.grad(joint, (ze, ee))
        rows += [
            {
                "method": "sg_split",
                "seed": seed,
                "metric": "grad_max_abs_diff",
                "value": max(_max_abs(a, b) for a, b in zip(g_split, g_joint, strict=True)),
            },
            {
                "method": "sg_split",
                "seed": seed,
                "metric": "value_ratio",
                "value": float(split.detach() / joint.detach()),
            },
        ]
    return rows


# ---------------------------------------------------------------- E1.3
@dataclasses.dataclass(frozen=True)
class AblationSection:
    """``images.ablation``: the gamma/beta x K x codebook grid on one dataset.

    The base run is that dataset's ``vqvae`` section; each run replaces ``codebook_size``,
    ``ema_codebook``, the commitment weight (gamma = ratio, beta = codebook_weight = 1), the
    seed, and the step count where ``steps`` is set.
    """

    dataset: str | None = "digits"  # the dataset the sweep runs on (null: no sweep)
    ratios: tuple[float, ...] = (0.25, 1.0, 4.0)  # gamma / beta
    codebook_sizes: tuple[int, ...] = (64, 512)  # K
    codebooks: tuple[str, ...] = CODEBOOKS  # loss (learned by gradient) | ema
    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int | None = 100  # None: the base recipe's steps
    batch_size: int = 256  # evaluation batch

    def __post_init__(self):
        for key in ("ratios", "codebook_sizes", "codebooks", "seeds"):
            object.__setattr__(self, key, tuple(getattr(self, key)))
            if not getattr(self, key):
                raise ValueError(f"images.ablation.{key}: give at least one value")
        for r in self.ratios:
            if not r > 0:
                raise ValueError(f"images.ablation.ratios: {r} must be > 0")
        for k in self.codebook_sizes:
            if k < 1:
                raise ValueError(f"images.ablation.codebook_sizes: {k} must be >= 1")
        for c in self.codebooks:
            if c not in CODEBOOKS:
                raise ValueError(
                    f"images.ablation.codebooks: {c!r} is not one of {', '.join(CODEBOOKS)}"
                )
        if self.batch_size < 1:
            raise ValueError(f"images.ablation.batch_size: {self.batch_size} must be >= 1")
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"images.ablation.steps: {self.steps} must be >= 1 (or null)")


def cell_name(codebook_size: int, codebook: str) -> str:
    """The sweep's wildcard value for one cell: ``K64_loss``."""
    return f"K{codebook_size}_{codebook}"


def parse_cell(section: AblationSection, cell: str) -> tuple[int, str]:
    """``K64_loss`` -> (64, "loss"); a cell outside the configured grid is a ValueError."""
    cells = {cell_name(k, c): (k, c) for k in section.codebook_sizes for c in section.codebooks}
    if cell not in cells:
        raise ValueError(f"images.ablation: cell {cell!r} is not in the grid ({', '.join(cells)})")
    return cells[cell]


def method_name(ratio: float, codebook_size: int, codebook: str) -> str:
    """``ratio_0.25_K64_loss``: the results ``method`` of one cell and ratio."""
    return f"ratio_{ratio:g}_{cell_name(codebook_size, codebook)}"


def ablation_cell(
    section: AblationSection, base: VQVAESection, data: ImageSet, cell: str, threads: int = 1
) -> list[dict]:
    """Train the cell's VQ-VAE (the base recipe, changed as the cell and ratio say) for every
    ratio and seed; test metrics of the raw weights (the author kept no weight EMA) as rows."""
    k, codebook = parse_cell(section, cell)
    x_test = to_tensor(data.x_test)
    steps = section.steps or base.train.steps
    rows = []
    for ratio in section.ratios:
        model_cfg = dataclasses.replace(
            base.model,
            codebook_size=k,
            ema_codebook=codebook == "ema",
            codebook_weight=1.0,
            beta=float(ratio),
        )
        method = method_name(ratio, k, codebook)
        for seed in section.seeds:
            torch.manual_seed(seed)
            train = dataclasses.replace(
                base.train, steps=steps, seed=seed, capture=(), checkpoint_every=steps
            )
            model, dataset = build_vqvae(VQVAESection(model=model_cfg, train=train), data)
            with tempfile.TemporaryDirectory() as folder:
                result = Trainer(train, folder, threads, f"ablation-{method}-{seed}").fit(
                    model, dataset
                )
            vq = result.model.eval()
            metrics = evaluate.reconstruction(vq, x_test, section.batch_size, result.device)[
                "metrics"
            ]
            metrics["psnr_gap"] = metrics["psnr_continuous_z"] - metrics["psnr"]
            for name in ("mse_x", "mse_e", "mse_z"):
                metrics[f"final_{name}"] = [r["value"] for r in result.log if r["metric"] == name][
                    -1
                ]
            log.info(
                "%s seed %d: PSNR %.2f dB, perplexity %.1f",
                method,
                seed,
                metrics["psnr"],
                metrics["perplexity"],
            )
            rows += [
                {
                    "method": method,
                    "seed": seed,
                    "step": result.steps,
                    "metric": m,
                    "value": float(v),
                }
                for m, v in metrics.items()
            ]
    return rows


# ---------------------------------------------------------------- E1.4
@dataclasses.dataclass(frozen=True)
class PriorComparisonConfig:
    """``images.datasets.<name>.compare_priors``: held-out NLL of both priors and samples."""

    n_samples: int = 32  # samples per prior for the figure
    temperature: float = 1.0
    batch_size: int = 256
    seed: int = 0
    device: str = "auto"

    def __post_init__(self):
        if self.n_samples < 1 or self.batch_size < 1:
            raise ValueError("compare_priors: n_samples and batch_size must be >= 1")
        if self.temperature <= 0:
            raise ValueError(f"compare_priors.temperature: {self.temperature} must be > 0")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"compare_priors.device: {self.device!r} is not auto, cpu or cuda")


def compare_priors(
    cfg: PriorComparisonConfig, data: ImageSet, vqvae_path, prior_path, pixelcnn_path, device
) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Rows for both priors (raw weights as ``attention_prior`` / ``pixelcnn_prior``, EMA weights
    with ``_ema``): held-out and training bits per code, parameter count; decoded samples.

    Both priors were trained on the EMA VQ-VAE's codes (``images train-prior`` and
    ``train-pixelcnn``); the held-out codes are that VQ-VAE's codes of the test set.
    """
    vq = load_model(vqvae_path, VQVAE, ema=True)[0].to(device)
    test_codes = torch.cat(
        [vq.encode(b.to(device)).cpu() for b in to_tensor(data.x_test).split(cfg.batch_size)]
    )
    train_codes = torch.cat(
        [vq.encode(b.to(device)).cpu() for b in to_tensor(data.x_train).split(cfg.batch_size)]
    )
    dims = int(np.prod(data.x_test.shape[1:]))
    rows, arrays = [], {}
    for name, cls, path in (
        ("attention_prior", CodePrior, prior_path),
        ("pixelcnn_prior", GatedPixelCNN, pixelcnn_path),
    ):
        for weights in ("raw", "ema"):
            prior, ckpt = load_model(path, cls, ema=weights == "ema")
            prior = prior.to(device)
            seed = int(ckpt["train_config"]["seed"])
            method = name if weights == "raw" else f"{name}_ema"
            test = evaluate.prior_bits(prior, test_codes, dims, cfg.batch_size, device)
            train = evaluate.prior_bits(prior, train_codes, dims, cfg.batch_size, device)
            values = {
                "prior_bits_per_code": test["prior_bits_per_code"],
                "train_bits_per_code": train["prior_bits_per_code"],
                "prior_bits_per_dim": test["prior_bits_per_dim"],
                "n_parameters": float(n_parameters(prior)),
            }
            rows += [
                {"method": method, "seed": seed, "metric": m, "value": float(v)}
                for m, v in values.items()
            ]
            log.info(
                "%s: held-out %.3f bits/code (train %.3f), %d parameters",
                method,
                values["prior_bits_per_code"],
                values["train_bits_per_code"],
                values["n_parameters"],
            )
            if weights == "raw":
                gen = torch.Generator(device=device).manual_seed(cfg.seed)
                codes = prior.sample(cfg.n_samples, cfg.temperature, gen)
                arrays[name] = to_uint8(evaluate.decode(vq, codes, cfg.batch_size, device))
    arrays["real"] = data.x_test[: cfg.n_samples]
    return rows, arrays


# ---------------------------------------------------------------- E1.5
@dataclasses.dataclass(frozen=True)
class InterpolateConfig:
    """``images.datasets.<name>.interpolate``: the author's ``sample_inter``."""

    n_pairs: int = 4  # random pairs of test images
    n_steps: int = 8  # points on each path, endpoints included
    seed: int = 0

    def __post_init__(self):
        if self.n_pairs < 1 or self.n_steps < 2:
            raise ValueError(
                f"interpolate: n_pairs {self.n_pairs} must be >= 1, n_steps {self.n_steps} >= 2"
            )


@torch.no_grad()
def interpolation(
    cfg: InterpolateConfig, vq: VQVAE, x: np.ndarray
) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Per pair and step, dec(q(z_t)) and dec(z_t) for z_t = (1 - t) z_a + t z_b (uint8 NHWC
    images), and rows: the share of code positions differing from the left endpoint's codes."""
    rng = np.random.default_rng(cfg.seed)
    pairs = [rng.choice(len(x), 2, replace=False) for _ in range(cfg.n_pairs)]
    device = next(vq.parameters()).device
    quantised, continuous, rows = [], [], []
    for i, (a, b) in enumerate(pairs):
        z = vq.encoder(to_tensor(x[[a, b]]).to(device))
        t = torch.linspace(0, 1, cfg.n_steps, device=device, dtype=z.dtype).view(-1, 1, 1, 1)
        path = (1 - t) * z[:1] + t * z[1:]
        q = vq.quantizer(path)
        quantised.append(to_uint8(vq.decoder(q["z_q"]).clamp(-1, 1).cpu()))
        continuous.append(to_uint8(vq.decoder(path).clamp(-1, 1).cpu()))
        changed = (q["codes"] != q["codes"][:1]).flatten(1).float().mean(1).cpu()
        rows += [
            {
                "method": f"pair_{i}",
                "seed": cfg.seed,
                "step": j,
                "metric": "codes_changed",
                "value": float(c),
            }
            for j, c in enumerate(changed)
        ]
    return rows, {"quantised": np.stack(quantised), "continuous": np.stack(continuous)}


def ablation_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """The E1.3 table: per method, the median over seeds (and the seed count) of each metric."""
    keep = ["psnr", "psnr_continuous_z", "psnr_gap", "perplexity", "codes_used"]
    rows = frame[frame.metric.isin(keep)]
    table = rows.pivot_table(index="method", columns="metric", values="value", aggfunc="median")
    table["seeds"] = rows.groupby("method").seed.nunique()
    return table.reset_index()[["method", *[k for k in keep if k in table.columns], "seeds"]]


#: Sub-sections of the ``images`` config this module's dataclasses define (tests/test_config_defaults.py).
CONFIG_SECTIONS: dict[str, type] = {
    "ste": SteConfig,
    "ablation": AblationSection,
    "datasets.*.pixelcnn": PixelCNNSection,
    "datasets.*.compare_priors": PriorComparisonConfig,
    "datasets.*.interpolate": InterpolateConfig,
}
