import math

import pytest
import torch
import torch.nn.functional as F

from pipeline.images.prior import CodePrior, PriorConfig

CFG = PriorConfig(codebook_size=5, height=3, width=4, n_layer=2, n_head=2, n_embd=16)


def test_causal_each_code_sees_only_earlier_codes():
    torch.manual_seed(0)
    prior = CodePrior(CFG).eval()
    codes = torch.randint(0, 5, (2, 3, 4))
    base = prior(codes)
    j = 6
    changed = codes.clone().view(2, -1)
    changed[:, j] = (changed[:, j] + 1) % 5
    out = prior(changed.view(2, 3, 4))
    # logits for positions <= j predict codes up to j from codes before them: unchanged
    torch.testing.assert_close(out[:, : j + 1], base[:, : j + 1])
    assert not torch.allclose(out[:, j + 1 :], base[:, j + 1 :])


def test_nll_is_cross_entropy_in_nats():
    torch.manual_seed(0)
    prior = CodePrior(CFG)
    codes = torch.randint(0, 5, (3, 3, 4))
    logits = prior(codes)
    by_hand = -logits.log_softmax(-1).gather(-1, codes.view(3, -1, 1)).mean()
    torch.testing.assert_close(prior.nll(codes), by_hand)
    untrained_uniform = F.cross_entropy(torch.zeros(12, 5), codes[0].flatten())
    assert untrained_uniform.item() == pytest.approx(math.log(5))


def test_sampling_shape_range_and_seed():
    prior = CodePrior(CFG).eval()
    a = prior.sample(4, generator=torch.Generator().manual_seed(1))
    b = prior.sample(4, generator=torch.Generator().manual_seed(1))
    assert a.shape == (4, 3, 4) and a.min() >= 0 and a.max() < 5
    assert torch.equal(a, b)


def test_learns_a_deterministic_grid():
    """A prior trained on one repeated grid gives it nearly all the mass (near 0 bits per code)."""
    torch.manual_seed(0)
    prior = CodePrior(CFG)
    grid = torch.arange(12).view(1, 3, 4) % 5
    opt = torch.optim.Adam(prior.parameters(), lr=3e-3)
    for _ in range(150):
        loss = prior.nll(grid.repeat(8, 1, 1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() / math.log(2) < 0.05
    assert torch.equal(prior.eval().sample(2, temperature=0.5)[0], grid[0])


def test_config_meaning_checks():
    with pytest.raises(ValueError, match="not divisible by n_head"):
        PriorConfig(n_embd=10, n_head=4)


def test_cached_one_step_logits_equal_the_full_causal_pass():
    torch.manual_seed(0)
    prior = CodePrior(CFG).eval()
    codes = torch.randint(0, 5, (3, 3, 4))
    full = prior(codes)
    flat = codes.flatten(1)
    inp = torch.cat([torch.full_like(flat[:, :1], 5), flat[:, :-1]], dim=1)
    caches = [{} for _ in prior.blocks]
    with torch.no_grad():
        steps = torch.cat(
            [prior._logits(inp[:, i : i + 1], caches, offset=i) for i in range(12)], dim=1
        )
    torch.testing.assert_close(steps, full, rtol=1e-5, atol=1e-5)
