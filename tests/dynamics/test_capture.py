"""E4.1: hook and attribute readouts against the same tensors by hand."""

import torch

from pipeline.dynamics import capture
from pipeline.images.mlp import MLP, MLPConfig


def _model():
    torch.manual_seed(0)
    return MLP(MLPConfig(in_features=64, hidden=(32, 16), dropout=0.5))


def test_x_normalized_by_hook_and_attribute_equals_f_normalize_by_hand():
    model = _model().train()  # the readout switches to eval mode (dropout off) and back
    x = torch.rand(20, 1, 8, 8) * 2 - 1
    read = capture.normalized_readouts(model, x)
    assert model.training
    assert torch.equal(read["hook"], read["attribute"])
    assert capture.max_abs_diff(read["hook"], read["by_hand"]) < 1e-6
    assert torch.allclose(read["by_hand"].norm(dim=-1), torch.ones(20), atol=1e-6)


def test_by_hand_forward_reproduces_the_logits():
    model = _model().eval()
    x = torch.rand(5, 1, 8, 8)
    h = capture.mlp_hidden_by_hand(model, x)
    xn = h / h.norm(dim=-1, keepdim=True)
    logits = (
        xn * model.normal.kernel.double()
    ) @ model.head.weight.double().T + model.head.bias.double()
    with torch.no_grad():
        assert torch.allclose(model(x).double(), logits, atol=1e-5)


def test_attention_weights_by_hook_equal_softmax_qk_by_hand():
    torch.manual_seed(1)
    mha = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    x = torch.randn(3, 5, 8)
    hooked = capture.attention_weights_by_hook(mha, x)
    assert hooked.shape == (3, 2, 5, 5)
    assert capture.max_abs_diff(hooked, capture.attention_weights_by_hand(mha, x)) < 1e-6
    assert torch.allclose(hooked.sum(-1), torch.ones(3, 2, 5), atol=1e-6)
