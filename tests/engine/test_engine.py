import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from pipeline.engine import NonFiniteLossError, TrainConfig, Trainer, resolve_device
from pipeline.engine import checkpoints as train
from pipeline.engine.activations import activations, capture
from pipeline.engine.ema import make_ema
from pipeline.images.loader import ImageDataset
from pipeline.images.vqvae import VQVAE, VQVAEConfig

TINY = VQVAEConfig(
    hidden=8,
    res_hidden=4,
    n_res=1,
    downsample=1,
    codebook_size=8,
    code_dim=4,
    dead_code_threshold=0.5,
)


def tiny_run(digits, tmp_path=None, on_step=None, **train_kw):
    torch.manual_seed(0)
    model = VQVAE(TINY)
    cfg = TrainConfig(
        **(
            {
                "steps": 16,
                "batch_size": 32,
                "checkpoint_every": 5,
                "log_every": 4,
                "device": "cpu",
                "ema_decay": 0.9,
            }
            | train_kw
        )
    )
    trainer = Trainer(cfg, tmp_path, threads=1, fingerprint="test")
    return trainer.fit(
        model, ImageDataset(digits.x_train[:300], digits.y_train[:300]), on_step=on_step
    )


def test_debiased_ema_matches_keras_zero_debias_by_hand():
    a, thetas = 0.9, [1.0, 3.0, -2.0, 0.5, 4.0]
    p = nn.Parameter(torch.zeros(1, dtype=torch.float64))
    holder = nn.Module()
    holder.p = p
    ema = make_ema(holder, a)
    biased = 0.0
    for t, theta in enumerate(thetas, start=1):
        p.data.fill_(theta)
        ema.update_parameters(holder)
        biased = a * biased + (1 - a) * theta  # Keras: zero-initialised accumulator ...
        expected = biased / (1 - a**t)  # ... read with zero_debias=True
        assert ema.module.p.item() == pytest.approx(expected, rel=1e-12)
    assert ema.n_averaged.item() == len(thetas)


def test_ema_never_changes_the_raw_trajectory(digits):
    a = tiny_run(digits, ema_decay=0.99)
    b = tiny_run(digits, ema_decay=0.0)
    for (k, va), vb in zip(
        a.model.state_dict().items(), b.model.state_dict().values(), strict=True
    ):
        assert torch.equal(va, vb), k
    # decay 0 keeps only the latest weights; 0.99 averages and so differs
    assert torch.equal(b.ema.decoder[0].weight, b.model.decoder[0].weight)
    assert not torch.equal(a.ema.decoder[0].weight, a.model.decoder[0].weight)


def test_resume_after_a_kill_ends_where_an_uninterrupted_run_ends(digits, tmp_path):
    full = tiny_run(digits, tmp_path / "full")

    def kill(step):
        if step == 12:  # the last checkpoint is at step 10: steps 11 and 12 are lost and redone
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tiny_run(digits, tmp_path / "killed", on_step=kill)
    assert train.load_checkpoint(tmp_path / "killed" / train.CHECKPOINT_NAME)["step"] == 10
    resumed = tiny_run(digits, tmp_path / "killed")
    for name in ("model", "ema"):
        sa, sb = getattr(full, name).state_dict(), getattr(resumed, name).state_dict()
        for k in sa:
            assert torch.equal(sa[k], sb[k]), (name, k)

    def without_speed(rows):
        return [r for r in rows if r["metric"] != "images_per_s"]

    assert without_speed(full.log) == without_speed(resumed.log)  # step 12 averages steps 9..12


def test_checkpoint_carries_config_step_optimizer_ema(digits, tmp_path):
    tiny_run(digits, tmp_path, steps=5)
    ckpt = train.load_checkpoint(tmp_path / train.CHECKPOINT_NAME)
    assert ckpt["step"] == 5 and ckpt["config"] == dataclasses.asdict(TINY)
    assert ckpt["train_config"]["ema_decay"] == 0.9 and ckpt["fingerprint"] == "test"
    assert ckpt["optimizers"]["main"]["state"]  # Adam moments are there
    assert int(ckpt["ema"]["n_averaged"]) == 5
    ema_model, _ = train.load_model(tmp_path / train.CHECKPOINT_NAME, VQVAE, ema=True)
    raw_model, _ = train.load_model(tmp_path / train.CHECKPOINT_NAME, VQVAE, ema=False)
    assert not torch.equal(ema_model.encoder[0].weight, raw_model.encoder[0].weight)


def test_stale_checkpoint_is_not_resumed(digits, tmp_path, caplog):
    tiny_run(digits, tmp_path, steps=5)
    result = tiny_run(digits, tmp_path, steps=5, lr=5e-4)  # another config: start afresh
    assert "stale" in caplog.text and result.log[0]["step"] == 4


class Exploding(nn.Module):
    config = TINY

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return x.mean() * self.w

    def train_step(self, ctx):
        loss = ctx.forward(ctx.batch["x"]) * (float("nan") if ctx.step == 3 else 1.0)
        ctx.optimize(loss)
        return {"loss": loss.detach()}


def test_nan_guard_stops_with_a_clear_message(digits):
    cfg = TrainConfig(steps=10, batch_size=16, device="cpu")
    with pytest.raises(NonFiniteLossError, match=r"loss for optimizer 'main' is nan at step 3"):
        Trainer(cfg).fit(Exploding(), ImageDataset(digits.x_train[:64]))


def test_dataset_smaller_than_batch(digits):
    cfg = TrainConfig(steps=2, batch_size=64, device="cpu")
    with pytest.raises(ValueError, match="fewer than train.batch_size 64"):
        Trainer(cfg).fit(VQVAE(TINY), ImageDataset(digits.x_train[:10]))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_requested_without_cuda():
    with pytest.raises(
        ValueError, match="train.device: cuda requested but torch finds no CUDA device"
    ):
        resolve_device("cuda")


def test_config_meaning_checks():
    with pytest.raises(ValueError, match="train.device"):
        TrainConfig(device="tpu")
    with pytest.raises(ValueError, match="train.ema_decay"):
        TrainConfig(ema_decay=1.0)


def test_capture_by_module_name_matches_a_manual_forward(digits):
    torch.manual_seed(0)
    model = VQVAE(TINY).eval()
    x = torch.from_numpy(digits.x_test[:4]).permute(0, 3, 1, 2).float() / 127.5 - 1
    acts = activations(model, ["encoder", "encoder.2", "quantizer"], lambda m: m(x))
    with torch.no_grad():
        z = model.encoder(x)
        hidden = model.encoder[:3](x)
    torch.testing.assert_close(acts["encoder"], z, rtol=0, atol=1e-6)
    torch.testing.assert_close(acts["encoder.2"], hidden, rtol=0, atol=1e-6)
    assert torch.equal(acts["quantizer.codes"], model.quantizer(z)["codes"].float())
    assert not model.encoder._forward_hooks  # hooks are removed afterwards
    with (
        pytest.raises(ValueError, match="no module named 'encoder.99'"),
        capture(model, ["encoder.99"]),
    ):
        pass


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_bf16_channels_last_compile(digits, tmp_path):
    result = tiny_run(
        digits, tmp_path, device="cuda", amp=True, channels_last=True, compile=True, steps=8
    )
    assert result.device.startswith("cuda")
    assert np.isfinite([r["value"] for r in result.log]).all()
