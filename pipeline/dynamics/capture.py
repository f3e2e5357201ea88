"""E4.1: intermediate variables read out of a model, checked against the same tensor by hand.

Post 6575 reads a layer's inner tensor with ``K.function([x_in], [layer.x_normalized])``, in the
test phase. The PyTorch equivalents (posts.md 4.3): a forward hook on the sub-module that makes
the tensor (the engine's :func:`pipeline.engine.activations.activations`), the attribute the layer
keeps, and for attention ``nn.MultiheadAttention(need_weights=True, average_attn_weights=False)``.
Each is compared with the tensor recomputed by hand from the weights (matmuls, ReLU,
``x / |x|``; ``softmax(Q K^T / sqrt(d))``), in eval mode, where dropout is the identity.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from pipeline.engine.activations import activations
from pipeline.images.mlp import MLP


@torch.no_grad()
def mlp_hidden_by_hand(model: MLP, x: torch.Tensor) -> torch.Tensor:
    """The input of the ``Normal`` layer in eval mode: ``relu(W_k ... relu(W_1 x + b_1) + b_k)``."""
    h = x.reshape(len(x), -1).double()
    for layer in model.body:
        if isinstance(layer, nn.Linear):
            h = torch.relu(h @ layer.weight.double().T + layer.bias.double())
    return h


@torch.no_grad()
def normalized_readouts(model: MLP, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """``x_normalized`` three ways: by a forward hook, by the layer's attribute, and by hand."""
    acts = activations(model, ["normal.normalize"], lambda m: m(x))
    h = mlp_hidden_by_hand(model, x)
    return {
        "hook": acts["normal.normalize"],
        "attribute": model.normal.x_normalized.detach().float().cpu(),
        "by_hand": (h / h.norm(dim=-1, keepdim=True).clamp_min(1e-12)).float(),
    }


@torch.no_grad()
def attention_weights_by_hand(mha: nn.MultiheadAttention, x: torch.Tensor) -> torch.Tensor:
    """``softmax(Q K^T / sqrt(d_head))`` per head for self-attention on ``x`` (B, L, E) -> (B, H, L, L)."""
    e, h = mha.embed_dim, mha.num_heads
    w, b = mha.in_proj_weight.double(), mha.in_proj_bias.double()
    q = x.double() @ w[:e].T + b[:e]
    k = x.double() @ w[e : 2 * e].T + b[e : 2 * e]
    split = lambda t: t.reshape(len(x), -1, h, e // h).transpose(1, 2)  # noqa: E731
    scores = split(q) @ split(k).transpose(-1, -2) / math.sqrt(e // h)
    return torch.softmax(scores, dim=-1).float()


@torch.no_grad()
def attention_weights_by_hook(mha: nn.MultiheadAttention, x: torch.Tensor) -> torch.Tensor:
    """The per-head weights the module returns, recorded by a forward hook in eval mode."""
    store: list[torch.Tensor] = []
    handle = mha.register_forward_hook(lambda _m, _a, out: store.append(out[1].detach()))
    was_training = mha.training
    mha.eval()
    try:
        mha(x, x, x, need_weights=True, average_attn_weights=False)
    finally:
        handle.remove()
        mha.train(was_training)
    return store[0]


def max_abs_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    if a.shape != b.shape:
        raise ValueError(f"capture: shapes {tuple(a.shape)} and {tuple(b.shape)} differ")
    return float((a.float() - b.float()).abs().max())
