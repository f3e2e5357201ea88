"""The author's discrete VAE (pipeline/images/dvae.py) and the E2.5 run functions, tiny and on CPU."""

import math

import numpy as np
import pytest
import torch

from pipeline.engine import NonFiniteLossError, load_model
from pipeline.estimators import vae_experiments as vx
from pipeline.images.classifier import Classifier, ClassifierConfig
from pipeline.images.datasets import ImageSet
from pipeline.images.dvae import DiscreteVAE, DVAEConfig
from pipeline.io import DataError

TINY = {"channels": (4, 8), "hidden": 8, "latents": 4, "classes": 3}


def tiny_data(n_train=120, n_test=40, size=8) -> ImageSet:
    rng = np.random.default_rng(0)
    x = (rng.random((n_train + n_test, size, size, 1)) > 0.6).astype(np.uint8) * 255
    y = rng.integers(0, 10, n_train + n_test)
    return ImageSet(x[:n_train], y[:n_train], x[n_train:], y[n_train:], [str(i) for i in range(10)])


def test_author_architecture_shapes_and_parameter_count_on_28x28():
    model = DiscreteVAE(DVAEConfig(image_size=28))
    post = model.posterior(torch.rand(2, 1, 28, 28))
    assert post.shape == (2, 32, 10)
    assert model.decode(torch.softmax(post, -1)).shape == (2, 1, 28, 28)
    # Keras: conv 1->32 (320) + 32->64 (18496) + dense 3136->32 (100384) + 32->320 (10560); decoder
    # 320->32 (10272) + 32->3136 (103488) + convT 64->64 (36928) + 64->32 (18464) + 32->1 (289)
    assert sum(p.numel() for p in model.parameters()) == 299201


def test_temperature_schedules():
    author = DVAEConfig()
    assert author.tau(0) == 1.0
    assert author.tau(600) == pytest.approx(
        0.01 + 0.99 * 0.999**600
    )  # about 0.55 after one MNIST epoch
    assert DVAEConfig(tau_decay=1.0).tau(10_000) == 1.0
    jang = DVAEConfig(tau_schedule="jang", tau_min=0.5, tau_rate=3e-5, tau_every=1000)
    assert jang.tau(999) == 1.0 and jang.tau(1000) == pytest.approx(math.exp(-0.03))
    assert jang.tau(10**6) == 0.5


def test_straight_through_forward_is_one_hot_with_the_soft_gradient():
    torch.manual_seed(0)
    model = DiscreteVAE(DVAEConfig(image_size=8, estimator="straight_through", **TINY))
    logits = torch.randn(5, 4, 3, requires_grad=True)
    code = model.relaxed_code(logits, 0.5)
    assert torch.equal(code.detach().sum(-1), torch.ones(5, 4)) and set(
        code.detach().unique().tolist()
    ) <= {0.0, 1.0}
    (code * torch.arange(3.0)).sum().backward()
    assert logits.grad.abs().sum() > 0


def test_kl_to_the_uniform_prior_is_zero_for_uniform_logits():
    model = DiscreteVAE(DVAEConfig(image_size=8, **TINY))
    assert torch.allclose(model.kl(torch.zeros(2, 4, 3)), torch.zeros(2), atol=1e-6)
    assert torch.all(model.kl(torch.randn(2, 4, 3) * 3) > 0)


@pytest.mark.parametrize("latent", ["categorical", "gaussian"])
def test_iwae_bound_is_tighter_than_the_elbo(latent):
    torch.manual_seed(0)
    model = DiscreteVAE(DVAEConfig(image_size=8, latent=latent, **TINY))
    x = vx.to_unit(tiny_data().x_test)
    neg_elbo = vx.test_neg_elbo(model, x, None, 100)
    assert vx.neg_iwae(model, x, 200, 2000) < neg_elbo
    assert vx.neg_iwae(model, x, 1, 100) == pytest.approx(neg_elbo, rel=0.05)  # k = 1 is the ELBO


def test_train_dvae_tiny_run_records_epochs_and_checkpoint(tmp_path):
    cfg = vx.DVAEVariantConfig(
        DVAEConfig(**TINY, tau_decay=0.99),
        vx.DVAETrainConfig(epochs=3, batch_size=30, device="cpu", log_every=2),
    )
    out = tmp_path / "model.pt"
    frame = vx.train_dvae(
        cfg, tiny_data(), "tiny", "gumbel", out, lambda device: {"device": device}
    )
    curve = frame[frame.metric == "test_neg_elbo"].sort_values("step")
    assert list(curve.step) == [1, 2, 3] and np.isfinite(curve.value).all()
    assert set(frame.method) == {"gumbel"} and (frame.experiment == "E2.5").all()
    model, ckpt = load_model(out, DiscreteVAE, ema=False)
    assert (
        ckpt["provenance"] == {"device": "cpu"} and len(model.history) == 3 * 3
    )  # tau, relaxed and hard -ELBO per epoch
    assert not (tmp_path / ".model_checkpoints").exists()


def test_dataset_smaller_than_the_batch_is_refused(tmp_path):
    cfg = vx.DVAEVariantConfig(
        DVAEConfig(**TINY), vx.DVAETrainConfig(epochs=1, batch_size=500, device="cpu")
    )
    with pytest.raises(DataError, match="fewer than train.batch_size 500"):
        vx.train_dvae(cfg, tiny_data(), "tiny", "gumbel", tmp_path / "m.pt", dict)


def test_nan_in_training_stops_naming_the_step(tmp_path):
    cfg = vx.DVAEVariantConfig(
        DVAEConfig(**TINY, optimizer="adam"),
        vx.DVAETrainConfig(epochs=5, batch_size=30, lr=1e30, device="cpu"),
    )
    with pytest.raises(NonFiniteLossError, match=r"at step \d+"):
        vx.train_dvae(cfg, tiny_data(), "tiny", "gumbel", tmp_path / "m.pt", dict)


def test_bad_model_config_names_the_key():
    with pytest.raises(ValueError, match="model.tau_decay"):
        DVAEConfig(tau_decay=0.0)
    with pytest.raises(ValueError, match="model.image_size"):
        vx.build_model(DVAEConfig(image_size=28, **TINY), tiny_data())


def write_classifier(path) -> None:
    """A tiny untrained classifier checkpoint (EMA = raw weights), seeded."""
    torch.manual_seed(0)
    clf = Classifier(ClassifierConfig(width=4, feature_dim=8))
    torch.save(
        {
            "config": dict(vars(clf.config)),
            "model": clf.state_dict(),
            "ema": {f"module.{k}": v for k, v in clf.state_dict().items()},
        },
        path,
    )


def test_evaluate_dvae_rows_and_grids(tmp_path):
    data = tiny_data()
    model = vx.build_model(DVAEConfig(**TINY), data)
    ckpt = {"config": dict(vars(model.config)), "model": model.state_dict(), "ema": {}, "emas": {}}
    torch.save(ckpt, tmp_path / "dvae.pt")
    write_classifier(tmp_path / "clf.pt")
    cfg = vx.DVAEEvaluateConfig(iwae_k=5, n_samples=30, n_grid=9, batch_size=20, device="cpu")
    frame, grids = vx.evaluate_dvae(
        cfg, data, "tiny", {"gumbel": str(tmp_path / "dvae.pt")}, str(tmp_path / "clf.pt"), "cpu"
    )
    values = frame.set_index(["method", "metric"]).value
    assert {"neg_iwae_k5", "test_neg_elbo_hard", "confident_share", "frechet_distance"} <= set(
        values["gumbel"].index
    )
    assert 0.0 <= values[("gumbel", "confident_share")] <= 1.0
    assert grids["gumbel"].shape == (9, 8, 8, 1) and grids["gumbel"].dtype == np.uint8


TINY_TRAIN = {"epochs": 3, "batch_size": 30, "device": "cpu", "log_every": 2}


def provenance(device: str) -> dict:
    return {"device": device}


def test_train_dvae_repeats_bit_for_bit_whatever_the_global_rng(tmp_path):
    """The initial weights come from train.seed, not from whatever torch's global generator
    held (it is seeded afresh in every process): the same config gives the same rows and weights."""
    cfg = vx.DVAEVariantConfig(DVAEConfig(**TINY, tau_decay=0.99), vx.DVAETrainConfig(**TINY_TRAIN))
    frames = []
    for i, disturb in enumerate((1, 2)):
        torch.manual_seed(disturb)  # another global state before each run
        torch.rand(disturb)
        frames.append(
            vx.train_dvae(cfg, tiny_data(), "tiny", "g", tmp_path / f"{i}.pt", provenance)
        )
    a, b = (f[f.step > 0].reset_index(drop=True) for f in frames)  # not the timings
    assert len(a) == 9 and a[["step", "metric", "value"]].equals(b[["step", "metric", "value"]])
    wa, wb = (load_model(tmp_path / f"{i}.pt", DiscreteVAE, ema=False)[0] for i in (0, 1))
    for (k, va), vb in zip(wa.state_dict().items(), wb.state_dict().values(), strict=True):
        assert not torch.is_tensor(va) or torch.equal(va, vb), k


def test_train_and_evaluate_dvae_repeat_bit_for_bit_in_fresh_processes(tmp_path):
    """The rules' CLI chain (train-dvae, then evaluate-dvae) run twice, each in a new process,
    gives identical per-epoch and final rows."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from pipeline import tables
    from pipeline.images.datasets import save_npz

    save_npz(tiny_data(), tmp_path / "data.npz")
    write_classifier(tmp_path / "clf.pt")
    variant = json.dumps({"model": {**TINY, "tau_decay": 0.99}, "train": TINY_TRAIN})
    evaluate = json.dumps({"iwae_k": 5, "n_samples": 30, "n_grid": 9, "batch_size": 20})
    for run in ("a", "b"):
        d = tmp_path / run
        argv = [
            ["estimators", "train-dvae", "--config", variant, "--dataset", "tiny",
             "--variant", "g", "--data", str(tmp_path / "data.npz"), "--output",
             str(d / "model.pt"), "--epochs-output", str(d / "epochs.parquet")],
            ["estimators", "evaluate-dvae", "--config", evaluate, "--dataset", "tiny",
             "--data", str(tmp_path / "data.npz"), "--classifier", str(tmp_path / "clf.pt"),
             "--models", f"g={d / 'model.pt'}", "--output", str(d / "metrics.parquet"),
             "--samples", str(d / "samples.npz"), "--html", str(d / "metrics.html")],
        ]  # fmt: skip
        code = f"from pipeline.__main__ import main; assert not any(main(a) for a in {argv!r})"
        subprocess.run(
            [sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2]
        )
    for name in ("epochs", "metrics"):
        a, b = (tables.read_results(tmp_path / r / f"{name}.parquet") for r in ("a", "b"))
        keep = ~a.metric.isin(["train_seconds", "engine_images_per_s"])
        assert keep.sum() >= 5, name
        assert a[keep].value.to_numpy().tobytes() == b[keep].value.to_numpy().tobytes(), name
        assert list(a[keep].metric) == list(b[keep].metric), name


def test_train_dvae_resumed_after_a_kill_keeps_every_epoch_row(tmp_path, monkeypatch):
    """A checkpoint on an epoch's last step holds that epoch's rows: killed in epoch 3's
    evaluation and resumed from the checkpoint at epoch 2, the run matches an uninterrupted one."""
    cfg = vx.DVAEVariantConfig(
        DVAEConfig(**TINY, tau_decay=0.99),
        vx.DVAETrainConfig(**{**TINY_TRAIN, "epochs": 4, "checkpoint_every": 8}),  # 4 steps/epoch
    )
    full = vx.train_dvae(cfg, tiny_data(), "tiny", "g", tmp_path / "full.pt", provenance)
    rows = vx.epoch_rows

    def killed_in_epoch_3(model, x, epoch, step, batch):
        if epoch == 3:
            raise KeyboardInterrupt
        return rows(model, x, epoch, step, batch)

    monkeypatch.setattr(vx, "epoch_rows", killed_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        vx.train_dvae(cfg, tiny_data(), "tiny", "g", tmp_path / "killed.pt", provenance)
    monkeypatch.setattr(vx, "epoch_rows", rows)
    resumed = vx.train_dvae(cfg, tiny_data(), "tiny", "g", tmp_path / "killed.pt", provenance)
    a, b = (
        f[f.step > 0][["step", "metric", "value"]].reset_index(drop=True) for f in (full, resumed)
    )
    assert sorted(set(a.step)) == [1, 2, 3, 4] and a.equals(b)
