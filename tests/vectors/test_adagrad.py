import pytest
import torch

from pipeline.vectors.adagrad import RowAdagrad


def test_standard_accumulates_then_steps_with_repeated_rows_summed():
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    opt = RowAdagrad({"W": w}, lr=0.1, variant="standard", eps=1e-8)
    rows = torch.tensor([0, 2, 0])
    grads = torch.tensor([[0.5, -1.0], [2.0, 0.0], [0.5, 3.0]])
    opt.step("W", rows, grads)
    # row 0: g = (1, 2); G = 1 + g² = (2, 5); w -= 0.1 g / sqrt(G + eps)
    g0 = torch.tensor([1.0, 2.0])
    expect0 = torch.tensor([1.0, 2.0]) - 0.1 * g0 / torch.sqrt(torch.tensor([2.0, 5.0]) + 1e-8)
    g2 = torch.tensor([2.0, 0.0])
    expect2 = torch.tensor([5.0, 6.0]) - 0.1 * g2 / torch.sqrt(torch.tensor([5.0, 1.0]) + 1e-8)
    torch.testing.assert_close(w[0], expect0)
    torch.testing.assert_close(w[1], torch.tensor([3.0, 4.0]))  # untouched
    torch.testing.assert_close(w[2], expect2)
    torch.testing.assert_close(opt.accumulators["W"][1], torch.tensor([1.0, 1.0]))


def test_lagged_steps_with_old_accumulator_of_scaled_gradients():
    w = torch.tensor([[0.0], [1.0]])
    opt = RowAdagrad({"W": w}, lr=0.5, variant="lagged")
    opt.step("W", torch.tensor([1]), torch.tensor([[2.0]]))
    # step with sqrt(G_old = 1): w = 1 − 0.5·2/1 = 0; then G = 1 + (0.5·2)² = 2
    assert w[1, 0].item() == pytest.approx(0.0)
    assert opt.accumulators["W"][1, 0].item() == pytest.approx(2.0)
    opt.step("W", torch.tensor([1]), torch.tensor([[2.0]]))
    assert w[1, 0].item() == pytest.approx(-1.0 / 2**0.5)


def test_bias_vectors_and_bad_variant():
    b = torch.zeros(3)
    opt = RowAdagrad({"b": b}, lr=1.0)
    opt.step("b", torch.tensor([2]), torch.tensor([3.0]))
    assert b.tolist() == pytest.approx([0.0, 0.0, -3.0 / 10**0.5])
    with pytest.raises(ValueError, match="variant"):
        RowAdagrad({"b": b}, variant="adam")
