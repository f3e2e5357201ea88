import numpy as np
import pytest
import torch

from pipeline.vectors.glove import (
    Glove,
    GloveConfig,
    fit_glove,
    glove_loss,
    mean_pairwise_cosine,
    shift_parameters,
)


def random_tables(v=30, d=8, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {
        "W": torch.randn(v, d, generator=gen),
        "C": torch.randn(v, d, generator=gen),
        "b": torch.randn(v, generator=gen),
        "c": torch.randn(v, generator=gen),
    }


def test_loss_invariant_under_shift_with_bias_correction():
    tables = {k: v.double() for k, v in random_tables().items()}
    gen = torch.Generator().manual_seed(1)
    i, j = torch.randint(0, 30, (500,), generator=gen), torch.randint(0, 30, (500,), generator=gen)
    log_x, f = torch.rand(500, generator=gen) * 5, torch.rand(500, generator=gen)
    base = glove_loss(tables, i, j, log_x, f)
    for norm in (0.5, 5.0, 50.0):
        shift = torch.ones(8, dtype=torch.float64) * norm / 8**0.5
        shifted = shift_parameters(tables, shift)
        assert float(glove_loss(shifted, i, j, log_x, f)) == pytest.approx(float(base), rel=1e-9)
        # without the bias correction the loss changes
        naive = dict(tables, W=tables["W"] + shift, C=tables["C"] + shift)
        assert float(glove_loss(naive, i, j, log_x, f)) != pytest.approx(float(base), rel=1e-3)


def test_mean_cosine_goes_to_one_as_shift_grows():
    tables = {k: v.double() for k, v in random_tables().items()}
    direction = torch.zeros(8, dtype=torch.float64)
    direction[0] = 1.0
    values = [
        mean_pairwise_cosine(shift_parameters(tables, direction * n)["W"]) for n in (0, 10, 1000)
    ]
    assert values[0] < 0.2 and values[1] < values[2] and values[2] > 0.999


def test_mean_pairwise_cosine_brute_force():
    v = torch.randn(7, 3, generator=torch.Generator().manual_seed(2))
    u = v / v.norm(dim=1, keepdim=True)
    sims = u @ u.T
    expect = (sims.sum() - sims.diagonal().sum()) / (7 * 6)
    assert mean_pairwise_cosine(v) == pytest.approx(float(expect))


def test_pair_gradients_match_autograd():
    tables = random_tables(v=6, d=4)
    model = Glove(6, 4, torch.Generator(), torch.device("cpu"))
    model.tables = {k: v.clone() for k, v in tables.items()}
    i, j = torch.tensor([0, 1, 3, 0]), torch.tensor([1, 2, 0, 5])
    gen = torch.Generator().manual_seed(3)
    log_x, f = torch.rand(4, generator=gen), torch.rand(4, generator=gen)
    terms, updates = model.pair_grads(i, j, log_x, f)
    leaves = {k: v.clone().requires_grad_(True) for k, v in tables.items()}
    loss = glove_loss(leaves, i, j, log_x, f)
    loss.backward()
    torch.testing.assert_close(terms.sum().double(), loss.detach(), rtol=1e-5, atol=1e-5)
    for name, rows, grads in updates:
        dense = torch.zeros_like(tables[name]).index_add_(0, rows, grads)
        torch.testing.assert_close(dense, leaves[name].grad.float(), rtol=1e-4, atol=1e-5)


def test_training_lowers_loss_and_outputs_w_plus_c(tiny_cooc):
    cfg = GloveConfig(dim=8, epochs=10, batch_size=256, device="cpu")
    vectors, history, tables = fit_glove(tiny_cooc, cfg)
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]
    np.testing.assert_allclose(vectors, (tables["W"] + tables["C"]).numpy(), rtol=1e-6)
