"""Replay buffer and loss: FIFO, the 95 % / 5 % split, the two L2 forms, the divergence guard."""

import pytest
import torch

from pipeline.energy.buffer import ReplayBuffer
from pipeline.energy.objective import EnergyDivergenceError, contrastive_loss, guard


def test_buffer_is_fifo_and_wraps():
    b = ReplayBuffer((1,), capacity=4)
    b.push(torch.arange(3.0)[:, None])
    b.push(torch.arange(3.0, 6.0)[:, None])
    assert b.data[:, 0].tolist() == [4.0, 5.0, 2.0, 3.0]  # 0 and 1 overwritten, oldest first
    state = b.state_dict()
    c = ReplayBuffer((1,), capacity=4)
    c.load_state_dict(state)
    c.push(torch.tensor([[9.0]]))
    assert c.data[:, 0].tolist() == [4.0, 5.0, 9.0, 3.0]


def test_replay_share_extremes():
    g = torch.Generator().manual_seed(0)
    b = ReplayBuffer((2,), capacity=100, replay_share=1.0, low=5.0, high=6.0)
    assert ((b.init(10, g) >= 5) & (b.init(10, g) <= 6)).all()  # empty buffer: noise
    b.push(torch.full((100, 2), -1.0))
    assert (b.init(50, g) == -1).all()
    b0 = ReplayBuffer((2,), capacity=100, replay_share=0.0, low=5.0, high=6.0)
    b0.push(torch.full((100, 2), -1.0))
    assert (b0.init(50, g) >= 5).all()


def test_replay_share_about_95_percent():
    b = ReplayBuffer((1,), capacity=1000, replay_share=0.95, low=5.0, high=6.0)
    b.push(torch.zeros(1000, 1))
    g = torch.Generator().manual_seed(0)
    x = torch.cat([b.init(500, g) for _ in range(40)])  # replay starts once a batch is stored
    assert (x == 0).float().mean().item() == pytest.approx(0.95, abs=0.01)


@pytest.mark.parametrize("share", [-0.01, 1.5])
def test_buffer_share_outside_unit_interval(share):
    with pytest.raises(ValueError, match=r"buffer\.replay_share: .* must lie in \[0, 1\]"):
        ReplayBuffer((1,), replay_share=share)


def test_contrastive_loss_by_hand():
    e_pos, e_neg = torch.tensor([1.0, 3.0]), torch.tensor([2.0, -2.0])
    loss_sum, parts = contrastive_loss(e_pos, e_neg, alpha=0.5, l2="sum")
    # cd = 2 - 0 = 2; E[U+^2] = 5, E[U-^2] = 4
    assert parts["cd"].item() == 2.0
    assert loss_sum.item() == pytest.approx(2 + 0.5 * (5 + 4))
    loss_post, _ = contrastive_loss(e_pos, e_neg, alpha=0.5, l2="post")
    assert loss_post.item() == pytest.approx(2 + 0.5 * (5 - 4))


def test_guard_names_the_step():
    with pytest.raises(
        EnergyDivergenceError, match="gap .* at training step 12 exceeds the guard 10"
    ):
        guard(torch.tensor([30.0]), torch.tensor([1.0]), 12, 10.0)
    with pytest.raises(EnergyDivergenceError, match="non-finite energies at training step 3"):
        guard(torch.tensor([float("nan")]), torch.tensor([1.0]), 3, None)
    guard(torch.tensor([3.0]), torch.tensor([1.0]), 0, 10.0)  # within the bound: no error
