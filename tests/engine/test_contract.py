"""The widened ``train_step`` contract: step context, several batches per step, several
optimizers and EMA decays, unaveraged state, gradient-only calls, schedules, exact resume."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from pipeline.engine import (
    CHECKPOINT_NAME,
    ArrayDataset,
    TrainConfig,
    Trainer,
    load_checkpoint,
    load_model,
)
from pipeline.engine.ema import ema_decays
from pipeline.engine.loop import use_autocast


@dataclasses.dataclass(frozen=True)
class ToyConfig:
    hidden: int = 16
    n_critic: int = 5
    gp_weight: float = 10.0


def eight_gaussians(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    angles = rng.integers(0, 8, n) * np.pi / 4
    centres = np.stack([np.cos(angles), np.sin(angles)], 1) * 2
    return (centres + 0.05 * rng.standard_normal((n, 2))).astype(np.float32)


class ToyWGANGP(nn.Module):
    """A 2-D WGAN-GP: n_critic fresh batches per generator step, two optimizers, an LR schedule."""

    config_class = ToyConfig

    def __init__(self, config: ToyConfig = ToyConfig()):
        super().__init__()
        self.config = c = config
        self.generator = nn.Sequential(nn.Linear(2, c.hidden), nn.ReLU(), nn.Linear(c.hidden, 2))
        self.critic = nn.Sequential(nn.Linear(2, c.hidden), nn.ReLU(), nn.Linear(c.hidden, 1))
        self.seen_steps: list[tuple[int, int]] = []

    def configure_optimizers(self, cfg):
        return {
            "critic": torch.optim.Adam(self.critic.parameters(), lr=cfg.lr, betas=(0.0, 0.9)),
            "generator": torch.optim.Adam(self.generator.parameters(), lr=cfg.lr, betas=(0.0, 0.9)),
        }

    def configure_schedulers(self, optimizers, cfg):
        return {"generator": torch.optim.lr_scheduler.StepLR(optimizers["generator"], 3, gamma=0.5)}

    def train_step(self, ctx):
        self.seen_steps.append((ctx.step, ctx.total_steps))
        for k in range(self.config.n_critic):
            real = ctx.batch["x"] if k == 0 else ctx.next_batch()["x"]
            fake = self.generator(torch.randn_like(real)).detach()
            eps = torch.rand(len(real), 1)
            mid = (eps * real + (1 - eps) * fake).requires_grad_(True)
            grad = torch.autograd.grad(self.critic(mid).sum(), mid, create_graph=True)[0]
            gp = ((grad.norm(dim=1) - 1) ** 2).mean()
            w = self.critic(real).mean() - self.critic(fake).mean()
            ctx.optimize(-w + self.config.gp_weight * gp, "critic")
        g_loss = -self.critic(self.generator(torch.randn_like(ctx.batch["x"]))).mean()
        ctx.optimize(g_loss, "generator")
        return {"w_estimate": w.detach(), "gp": gp.detach()}


class BufferModel(nn.Module):
    """A toy energy model with a replay buffer kept as extra state (saved, never averaged)."""

    config_class = ToyConfig
    autocast = False

    def __init__(self, config: ToyConfig = ToyConfig()):
        super().__init__()
        self.config = config
        self.energy = nn.Linear(2, 1)
        self.buffer = torch.zeros(0, 2)

    def get_extra_state(self):
        return {"buffer": self.buffer.clone()}

    def set_extra_state(self, state):
        self.buffer = state["buffer"].clone()

    def train_step(self, ctx):
        x = ctx.batch["x"]
        start = torch.randn_like(x) if len(self.buffer) < len(x) else self.buffer[-len(x) :]
        neg = (start - 0.1 * torch.randn_like(start)).detach()
        self.buffer = torch.cat([self.buffer, neg])[-64:]
        loss = self.energy(x).mean() - self.energy(neg).mean() + (self.energy(x) ** 2).mean()
        ctx.optimize(loss)
        return {"loss": loss.detach(), "buffer": float(len(self.buffer))}


def run(model_cls, tmp=None, on_step=None, **kw):
    torch.manual_seed(0)
    model = model_cls()
    cfg = TrainConfig(
        **(
            {
                "steps": 12,
                "batch_size": 16,
                "lr": 1e-3,
                "checkpoint_every": 4,
                "log_every": 2,
                "device": "cpu",
                "ema_decay": (0.9, 0.99),
            }
            | kw
        )
    )
    data = ArrayDataset(eight_gaussians(256))
    return Trainer(cfg, tmp, fingerprint="t").fit(model, data, on_step=on_step)


def killed_then_resumed(model_cls, tmp, at: int):
    def kill(step):
        if step == at:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(model_cls, tmp, on_step=kill)
    return run(model_cls, tmp)


def assert_same_state(a: nn.Module, b: nn.Module):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        if torch.is_tensor(sa[k]):
            assert torch.equal(sa[k], sb[k]), k
        else:
            assert all(torch.equal(sa[k][j], sb[k][j]) for j in sa[k]), k


def without_speed(rows):
    return [r for r in rows if r["metric"] != "images_per_s"]


def test_wgan_gp_with_n_critic_resumes_exactly(tmp_path):
    full = run(ToyWGANGP, tmp_path / "full")
    resumed = killed_then_resumed(ToyWGANGP, tmp_path / "killed", at=6)
    assert_same_state(full.model, resumed.model)
    for d in (0.9, 0.99):
        assert_same_state(full.emas[d], resumed.emas[d])
    assert without_speed(full.log) == without_speed(resumed.log)
    ckpt = load_checkpoint(tmp_path / "full" / CHECKPOINT_NAME)
    assert ckpt["step"] == 12 and ckpt["batches"] == 12 * 5  # five fresh batches per step
    assert ckpt["schedulers"]["generator"]["last_epoch"] == 12  # the schedule is checkpointed
    assert set(ckpt["emas"]) == {"0.9", "0.99"}


def test_step_context_gives_step_and_total():
    result = run(ToyWGANGP, steps=3)
    assert result.model.seen_steps == [(0, 3), (1, 3), (2, 3)]


def test_replay_buffer_is_restored_and_never_averaged(tmp_path):
    full = run(BufferModel, tmp_path / "full")
    resumed = killed_then_resumed(BufferModel, tmp_path / "killed", at=7)
    assert len(full.model.buffer) == 64
    assert torch.equal(full.model.buffer, resumed.model.buffer)  # restored from the checkpoint
    assert_same_state(full.model, resumed.model)
    for ema in full.emas.values():  # the EMA copies keep the buffer they were made with: empty
        assert len(ema.buffer) == 0
    model, _ = load_model(tmp_path / "full" / CHECKPOINT_NAME, BufferModel, ema=0.99)
    assert torch.equal(model.buffer, full.model.buffer)  # EMA weights, the raw model's buffer
    assert torch.equal(model.energy.weight, full.emas[0.99].energy.weight)


class Recorder(BufferModel):
    """Keeps what a per-step callback recorded as extra state (the discrete VAE's epoch rows)."""

    def __init__(self, config: ToyConfig = ToyConfig()):
        super().__init__(config)
        self.recorded: list[int] = []

    def get_extra_state(self):
        return {**super().get_extra_state(), "recorded": list(self.recorded)}

    def set_extra_state(self, state):
        super().set_extra_state(state)
        self.recorded = list(state["recorded"])


def test_a_callback_at_a_checkpoint_step_is_in_that_checkpoint(tmp_path):
    """The callback runs before the step's checkpoint: a run resumed from the checkpoint at step
    8 (killed in step 10's callback) keeps step 8's record and matches an uninterrupted run."""

    def record(model, kill_at=None):
        def on_step(step):
            if step == kill_at:
                raise KeyboardInterrupt
            if step % 4 == 0:  # "end of an epoch", on the checkpoint steps
                model.recorded.append(step)

        return on_step

    def fit(folder, kill_at=None):
        torch.manual_seed(0)
        model = Recorder()
        cfg = TrainConfig(steps=12, batch_size=16, checkpoint_every=4, log_every=2, device="cpu")
        trainer = Trainer(cfg, folder, fingerprint="t")
        return trainer.fit(
            model, ArrayDataset(eight_gaussians(256)), on_step=record(model, kill_at)
        )

    full = fit(tmp_path / "full")
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path / "killed", kill_at=10)
    assert load_checkpoint(tmp_path / "killed" / CHECKPOINT_NAME)["step"] == 8
    resumed = fit(tmp_path / "killed")
    assert full.model.recorded == resumed.model.recorded == [4, 8, 12]
    assert torch.equal(full.model.energy.weight, resumed.model.energy.weight)
    assert torch.equal(full.model.buffer, resumed.model.buffer)
    final, _ = load_model(tmp_path / "full" / CHECKPOINT_NAME, Recorder, ema=False)
    assert final.recorded == [4, 8, 12]  # the last step's record is in the last checkpoint


def test_several_decays_share_one_raw_trajectory():
    one = run(ToyWGANGP, ema_decay=0.9)
    two = run(ToyWGANGP, ema_decay=(0.9, 0.99))
    assert_same_state(one.model, two.model)
    assert_same_state(one.emas[0.9], two.emas[0.9])
    assert not torch.equal(two.emas[0.9].critic[0].weight, two.emas[0.99].critic[0].weight)


def test_gradient_only_call_leaves_weights_alone():
    class GradOnly(BufferModel):
        def train_step(self, ctx):
            loss = self.energy(ctx.batch["x"]).pow(2).mean()
            grads = ctx.backward(loss)
            manual = torch.autograd.grad(
                self.energy(ctx.batch["x"]).pow(2).mean(), self.energy.weight
            )[0]
            torch.testing.assert_close(grads["energy.weight"], manual)
            return {"grad_norm": grads["energy.weight"].norm()}

    torch.manual_seed(0)
    before = GradOnly().energy.weight.detach().clone()
    result = run(GradOnly, steps=3, ema_decay=0.9)
    assert torch.equal(result.model.energy.weight, before)


def test_checkpoint_opens_with_torch_default_weights_only_load(tmp_path):
    run(BufferModel, tmp_path, steps=4)
    ckpt = torch.load(tmp_path / CHECKPOINT_NAME)  # PyTorch's default: weights_only=True
    assert ckpt["step"] == 4 and ckpt["model_class"].endswith("BufferModel")


def test_autocast_opt_out_is_read_from_the_model():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    cfg = TrainConfig()
    assert use_autocast(cfg, cuda, ToyWGANGP()) is True
    assert use_autocast(cfg, cuda, BufferModel()) is False  # the model opts out
    assert use_autocast(cfg, cpu, ToyWGANGP()) is False  # bf16 autocast is for GPUs only
    assert use_autocast(TrainConfig(amp=False), cuda, ToyWGANGP()) is False


def test_ema_decay_list_is_validated():
    assert ema_decays([0.999, 0.9999]) == (0.999, 0.9999)
    assert TrainConfig(ema_decay=[0.9, 0.99]).ema_decays == (0.9, 0.99)
    for bad in ([], [0.9, 0.9], [1.0], -0.1):
        with pytest.raises(ValueError, match="train.ema_decay"):
            TrainConfig(ema_decay=bad)


def test_no_progress_bar_carriage_returns_in_a_log_file(tmp_path):
    """A rule's stderr is a log file: progress comes as plain "step N" lines, no tqdm bar."""
    import subprocess
    import sys

    code = (
        "import logging, sys; from tests.engine.test_contract import run, ToyWGANGP; "
        "logging.basicConfig(level=logging.INFO, stream=sys.stderr); run(ToyWGANGP, steps=4)"
    )
    log = tmp_path / "rule.log"
    with open(log, "w") as f:
        subprocess.run(
            [sys.executable, "-c", code],
            stderr=f,
            check=True,
            cwd=Path(__file__).resolve().parents[2],
        )
    text = log.read_text()
    assert "\r" not in text and "step 4:" in text


def test_ema_set_equals_averaged_model_bit_for_bit():
    """The joint update of several decays is AveragedModel's arithmetic exactly: floats (incl.
    BatchNorm statistics) lerped with the debiased weight, the step counter copied."""
    from pipeline.engine.ema import EMASet, make_ema

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    joint = EMASet(model, (0.9, 0.99))
    alone = {d: make_ema(model, d) for d in (0.9, 0.99)}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(7):
        loss = model(torch.randn(8, 3)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        joint.update(model)
        for ema in alone.values():
            ema.update_parameters(model)
    for d in (0.9, 0.99):
        assert_same_state(joint.averaged[d], alone[d])
    assert int(joint.averaged[0.99].module[1].num_batches_tracked) == 7
