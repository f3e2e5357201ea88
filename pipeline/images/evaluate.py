"""Evaluation of a VQ-VAE and its prior, raw weights beside EMA weights.

Reconstruction MSE / NMSE / PSNR on the test set from z_q and from the continuous z (the
author's two reconstructions); codebook perplexity and fraction of codes used over the whole
test set; prior bits per code and bits/dim; for samples, the Fréchet distance on the in-pipeline
classifier's features and the sliced Wasserstein distance in pixel space, each beside the same
distance between a real training subset and the test set of the same size.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from pipeline.engine import load_model
from pipeline.images import metrics
from pipeline.images.classifier import Classifier, load_classifier
from pipeline.images.datasets import ImageSet
from pipeline.images.loader import to_tensor, to_uint8
from pipeline.images.prior import CodePrior
from pipeline.images.vqvae import VQVAE


@dataclasses.dataclass(frozen=True)
class EvaluateConfig:
    """``images.datasets.<name>.evaluate``: sample counts and metric settings."""

    n_samples: int = 500  # samples drawn from the prior (and real images per baseline set)
    temperature: float = 1.0
    swd_projections: int = 200
    batch_size: int = 256
    n_grid: int = 32  # images per panel in the figures
    seed: int = 0
    device: str = "auto"

    def __post_init__(self):
        if self.n_samples < 2 or self.swd_projections < 1 or self.batch_size < 1 or self.n_grid < 1:
            raise ValueError("evaluate: n_samples >= 2, swd_projections, batch_size, n_grid >= 1")
        if self.temperature <= 0:
            raise ValueError(f"evaluate.temperature: {self.temperature} must be > 0")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"evaluate.device: {self.device!r} is not auto, cpu or cuda")


def _batches(x: torch.Tensor, size: int):
    return x.split(size)


@torch.no_grad()
def reconstruction(vq: VQVAE, x: torch.Tensor, batch: int, device) -> dict:
    """Reconstruction figures from z_q and from continuous z, code usage, codes and reconstructions."""
    sq_q = sq_z = 0.0
    codes, recon = [], []
    for xb in _batches(x, batch):
        xb = xb.to(device)
        out = vq(xb)
        sq_q += float(((out["x_hat"].clamp(-1, 1) - xb) / 2).pow(2).sum())
        sq_z += float(((vq.decoder(out["z"]).clamp(-1, 1) - xb) / 2).pow(2).sum())
        codes.append(out["codes"].cpu())
        recon.append(out["x_hat"].cpu())
    codes, recon = torch.cat(codes), torch.cat(recon)
    mse_q, mse_z = sq_q / x.numel(), sq_z / x.numel()
    out = {
        "mse": mse_q,
        "nmse": mse_q / float((x / 2).var()),
        "psnr": metrics.psnr(mse_q),
        "psnr_continuous_z": metrics.psnr(mse_z),
        # the decoder's share of bits/dim: a Gaussian of the test MSE, discretised to 256 levels
        "decoder_bits_per_dim": metrics.discretized_gaussian_bits(x, recon, 2 * math.sqrt(mse_q)),
    }
    out |= metrics.code_usage(codes.numpy(), vq.config.codebook_size)
    return {"metrics": out, "codes": codes, "recon": recon}


@torch.no_grad()
def prior_bits(
    prior: CodePrior, codes: torch.Tensor, dims_per_image: int, batch: int, device
) -> dict:
    """Test NLL of the code grids in bits per code, and spread over the image's dimensions."""
    nll = sum(float(prior.nll(c.to(device))) * c.numel() for c in _batches(codes, batch))
    bits_code = nll / codes.numel() / math.log(2)
    return {
        "prior_bits_per_code": bits_code,
        "prior_bits_per_dim": bits_code * codes[0].numel() / dims_per_image,
    }


@torch.no_grad()
def features(clf: Classifier, x: torch.Tensor, batch: int, device) -> np.ndarray:
    return torch.cat([clf.embed(b.to(device)).cpu() for b in _batches(x, batch)]).double().numpy()


@torch.no_grad()
def decode(vq: VQVAE, codes: torch.Tensor, batch: int, device) -> torch.Tensor:
    return torch.cat(
        [vq.decode_codes(c.to(device)).clamp(-1, 1).cpu() for c in _batches(codes, batch)]
    )


def evaluate(
    cfg, data: ImageSet, vqvae_path, prior_path, classifier_path, device
) -> tuple[list[dict], dict]:
    """Results rows (``method`` names the weights: ``_ema`` or ``_raw``) and arrays for the figures."""
    x_test = to_tensor(data.x_test)
    n = min(cfg.n_samples, len(data.x_test), len(data.x_train))
    rng = np.random.default_rng(cfg.seed)
    real_a = to_tensor(data.x_train[rng.choice(len(data.x_train), n, replace=False)])
    real_b = x_test[torch.from_numpy(rng.choice(len(x_test), n, replace=False))]
    # An unlabelled dataset has no classifier: its Fréchet distances are left out, the rest stays.
    clf = load_classifier(classifier_path)
    clf = clf.to(device) if clf is not None else None
    feat_b = features(clf, real_b, cfg.batch_size, device) if clf is not None else None

    def frechet(x: torch.Tensor) -> dict:
        if clf is None:
            return {}
        return {
            "frechet_distance": metrics.frechet_distance(
                features(clf, x, cfg.batch_size, device), feat_b
            )
        }

    baseline = frechet(real_a) | {
        "sliced_wasserstein": metrics.sliced_wasserstein(
            real_a / 2 + 0.5, real_b / 2 + 0.5, cfg.swd_projections, cfg.seed
        ),
        "n_images": float(n),
    }
    rows = [
        {"method": "real_train_vs_test", "implementation": "ours", "metric": m, "value": v}
        for m, v in baseline.items()
    ]
    arrays = {"real": data.x_test[: cfg.n_grid]}
    vqs = {
        impl: load_model(vqvae_path, VQVAE, ema=impl == "ema")[0].to(device)
        for impl in ("ema", "raw")
    }
    recs = {impl: reconstruction(vq, x_test, cfg.batch_size, device) for impl, vq in vqs.items()}
    for impl, rec in recs.items():
        rows += [
            {
                "method": f"vqvae_reconstruction_{impl}",
                "implementation": "ours",
                "metric": k,
                "value": float(v),
            }
            for k, v in rec["metrics"].items()
        ]
        arrays |= {
            f"recon_{impl}": to_uint8(rec["recon"][: cfg.n_grid]),
            f"code_counts_{impl}": np.bincount(
                rec["codes"].numpy().ravel(), minlength=vqs[impl].config.codebook_size
            ),
        }
    # The prior was trained on the EMA VQ-VAE's codes: its raw and EMA weights both pair with it.
    vq, test_codes, decoder_bpd = (
        vqs["ema"],
        recs["ema"]["codes"],
        recs["ema"]["metrics"]["decoder_bits_per_dim"],
    )
    for impl in ("ema", "raw"):
        prior = load_model(prior_path, CodePrior, ema=impl == "ema")[0].to(device)
        bits = prior_bits(prior, test_codes, x_test[0].numel(), cfg.batch_size, device)
        bits["bits_per_dim"] = bits["prior_bits_per_dim"] + decoder_bpd
        gen = torch.Generator(device=device).manual_seed(cfg.seed)
        codes = torch.cat(
            [
                prior.sample(len(c), cfg.temperature, gen)
                for c in _batches(torch.empty(n), cfg.batch_size)
            ]
        )
        samples = decode(vq, codes, cfg.batch_size, device)
        bits |= frechet(samples) | {
            "sliced_wasserstein": metrics.sliced_wasserstein(
                samples / 2 + 0.5, real_b / 2 + 0.5, cfg.swd_projections, cfg.seed
            ),
            "n_images": float(n),
        }
        rows += [
            {
                "method": f"vqvae_prior_samples_{impl}",
                "implementation": "ours",
                "metric": k,
                "value": float(v),
            }
            for k, v in bits.items()
        ]
        arrays[f"samples_{impl}"] = to_uint8(samples[: cfg.n_grid])
    return rows, arrays
