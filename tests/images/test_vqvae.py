import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pipeline.images.vqvae import VQVAE, EMAVectorQuantizer, VectorQuantizer, VQVAEConfig

CFG = VQVAEConfig(
    in_channels=1, hidden=8, res_hidden=4, n_res=1, downsample=1, codebook_size=6, code_dim=3
)


def test_straight_through_value_and_gradient():
    """E1.1: z + sg[z_q - z] has z_q's value forward and passes dec's gradient at z_q to z."""
    torch.manual_seed(0)
    dec = torch.nn.Linear(3, 2).double()
    z = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    zq = torch.randn(5, 3, dtype=torch.float64)
    st = z + (zq - z).detach()
    # equal up to the rounding of one subtraction and one addition in float64
    torch.testing.assert_close(st, zq, rtol=0, atol=1e-15)
    (g_st,) = torch.autograd.grad(dec(st).pow(2).sum(), z)
    zq_leaf = zq.clone().requires_grad_(True)
    (g_at_zq,) = torch.autograd.grad(dec(zq_leaf).pow(2).sum(), zq_leaf)
    torch.testing.assert_close(g_st, g_at_zq, rtol=1e-12, atol=1e-14)
    x = torch.randn(7, dtype=torch.float64, requires_grad=True)
    y = x + (torch.relu(x) - x).detach()
    (g,) = torch.autograd.grad(y.sum(), x)
    assert torch.equal(y, torch.relu(x)) and torch.equal(g, torch.ones_like(x))


def test_split_codebook_and_commitment_terms():
    """E1.1: ||sg z - e||^2 + ||z - sg e||^2 has the gradients of ||z - e||^2 and twice its value."""
    z = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    e = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    split = (z.detach() - e).pow(2).sum() + (z - e.detach()).pow(2).sum()
    joint = (z - e).pow(2).sum()
    assert torch.allclose(split, 2 * joint)
    gs, gj = torch.autograd.grad(split, (z, e)), torch.autograd.grad(joint, (z, e))
    assert all(torch.equal(a, b) for a, b in zip(gs, gj, strict=True))


def test_nearest_code_and_perplexity():
    q = VectorQuantizer(CFG).eval()
    z = torch.randn(2, 3, 4, 4)
    out = q(z)
    flat = z.permute(0, 2, 3, 1).reshape(-1, 3)
    brute = torch.cdist(flat, q.codebook.detach()).argmin(1)
    assert torch.equal(out["codes"].flatten(), brute)
    torch.testing.assert_close(
        out["z_q"].permute(0, 2, 3, 1).reshape(-1, 3), q.codebook.detach()[brute]
    )
    p = torch.bincount(brute, minlength=6).float() / len(brute)
    nz = p[p > 0]
    assert out["perplexity"].item() == pytest.approx(
        float(torch.exp(-(nz * nz.log()).sum())), rel=1e-5
    )


def test_losses_send_gradients_where_the_post_says():
    torch.manual_seed(0)
    model = VQVAE(CFG)
    x = torch.rand(2, 1, 8, 8) * 2 - 1
    out = model(x)
    losses = model.losses(x, out)
    torch.testing.assert_close(
        losses["mse_x"], F.mse_loss(model.decoder(out["z_q"]), x)
    )  # forward = dec(z_q)
    g_e = torch.autograd.grad(
        losses["mse_e"], [model.quantizer.codebook, model.encoder[0].weight], allow_unused=True
    )
    assert g_e[0].abs().sum() > 0 and g_e[1] is None  # codebook term: codebook only
    g_z = torch.autograd.grad(
        model.losses(x, model(x))["mse_z"],
        [model.quantizer.codebook, model.encoder[0].weight],
        allow_unused=True,
    )
    assert g_z[0] is None and g_z[1].abs().sum() > 0  # commitment term: encoder only
    expected = losses["mse_x"] + losses["mse_e"] + 0.25 * losses["mse_z"]
    torch.testing.assert_close(losses["loss"], expected)


def test_ema_codebook_update_by_hand():
    cfg = VQVAEConfig(codebook_size=2, code_dim=1, ema_codebook=True, codebook_decay=0.5)
    q = EMAVectorQuantizer(cfg)
    q.codebook.data = torch.tensor([[0.0], [10.0]])
    q.embed_sum.copy_(q.codebook.data)
    q.cluster_size.fill_(1.0)
    z = torch.tensor([1.0, 2.0, 3.0]).view(1, 1, 1, 3)  # all nearest code 0
    q.train()(z)
    n0, n1 = 0.5 * 1 + 0.5 * 3, 0.5 * 1 + 0.5 * 0
    m0, m1 = 0.5 * 0 + 0.5 * 6, 0.5 * 10
    n, eps = n0 + n1, 1e-5
    s0, s1 = (n0 + eps) / (n + 2 * eps) * n, (n1 + eps) / (n + 2 * eps) * n
    torch.testing.assert_close(q.codebook.data.flatten(), torch.tensor([m0 / s0, m1 / s1]))


def test_dead_codes_restart_on_encoder_outputs():
    # usage starts at 1 (a grace period) and halves per unused batch: 0.5 < 0.6 after one batch
    cfg = VQVAEConfig(codebook_size=4, code_dim=2, dead_code_threshold=0.6, codebook_decay=0.5)
    torch.manual_seed(0)
    q = VectorQuantizer(cfg).train()
    q.codebook.data = torch.tensor([[0.0, 0.0], [100.0, 100.0], [-100.0, 100.0], [100.0, -100.0]])
    z = torch.randn(1, 2, 4, 4) * 0.1  # every vector goes to code 0; codes 1..3 are dead
    q(z)
    flat = z.permute(0, 2, 3, 1).reshape(-1, 2)
    for k in (1, 2, 3):
        assert (q.codebook.data[k] == flat).all(1).any()  # moved onto an encoder output
    assert torch.equal(q.codebook.data[0], torch.zeros(2))


def test_encode_decode_shapes_and_reconstruction_modes():
    model = VQVAE(
        VQVAEConfig(
            in_channels=3, hidden=8, res_hidden=4, downsample=2, codebook_size=5, code_dim=3
        )
    )
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    codes = model.encode(x)
    assert codes.shape == (2, 4, 4) and codes.max() < 5
    torch.testing.assert_close(model.decode_codes(codes), model.reconstruct(x))
    assert model.reconstruct(x, quantize=False).shape == x.shape
    assert np.isfinite(model.reconstruct(x).detach().numpy()).all()


def test_config_meaning_checks():
    with pytest.raises(ValueError, match="codebook_size"):
        VQVAEConfig(codebook_size=0)
    with pytest.raises(ValueError, match="codebook_decay"):
        VQVAEConfig(codebook_decay=1.0)
