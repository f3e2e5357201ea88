import numpy as np
import pytest
import torch

from pipeline.vectors.cooccurrence import (
    Cooccurrence,
    glove_weights,
    keep_probabilities,
    pmi_targets,
)
from pipeline.vectors.simpler_glove import SimplerGlove, SimplerGloveConfig, fit_simpler_glove
from pipeline.vectors.training import DivergenceError


def test_pmi_targets_by_hand():
    # 3 words, counts N = (4, 2, 2), N = 8; cells (0,1)=3, (1,0)=3, (0,2)=1, (2,0)=1, (1,1)=5
    cooc = Cooccurrence(
        np.array([0, 1, 0, 2, 1]),
        np.array([1, 0, 2, 0, 1]),
        np.array([3.0, 3.0, 1.0, 1.0, 5.0]),
        np.array([4, 2, 2]),
    )
    z = 8.0  # the diagonal cell (1,1) is not part of Z
    expect_01 = np.log((3 / z) / ((4 / 8) * (2 / 8)))
    t = pmi_targets(cooc)
    assert t[0] == pytest.approx(expect_01)
    assert t[2] == pytest.approx(np.log((1 / z) / ((4 / 8) * (2 / 8))))
    assert len(cooc.off_diagonal().x) == 4
    # smoothing c: P(w) = N_w^c / sum N^c on both sides
    c, norm = 0.75, 4**0.75 + 2 * 2**0.75
    smoothed = np.log((3 / z) / ((4**c / norm) * (2**c / norm)))
    assert pmi_targets(cooc, c)[0] == pytest.approx(smoothed)
    assert pmi_targets(cooc, 1.0) == pytest.approx(t)


def test_keep_probabilities_as_word2vec():
    counts = np.array([900, 90, 10])  # p = 0.9, 0.09, 0.01
    keep = keep_probabilities(counts, 1e-2)
    assert keep == pytest.approx([np.sqrt(1 / 90) + 1 / 90, np.sqrt(1 / 9) + 1 / 9, 1.0])
    assert keep_probabilities(counts, 0) == pytest.approx([1, 1, 1])


def test_weights_with_and_without_truncation():
    x = np.array([1.0, 100.0, 400.0])
    assert glove_weights(x, 100, 0.75, truncate=False) == pytest.approx([0.01**0.75, 1.0, 4**0.75])
    assert glove_weights(x, 100, 0.75, truncate=True) == pytest.approx([0.01**0.75, 1.0, 1.0])


def test_pair_gradients_match_autograd():
    gen = torch.Generator().manual_seed(1)
    model = SimplerGlove(6, 4, gen, torch.device("cpu"))
    model.tables["W"] = torch.randn(6, 4, generator=gen)
    i, j = torch.tensor([0, 1, 3, 0]), torch.tensor([1, 2, 0, 5])
    t, f = torch.randn(4, generator=gen), torch.rand(4, generator=gen)
    terms, [(name, rows, grads)] = model.pair_grads(i, j, t, f)
    dense = torch.zeros(6, 4).index_add_(0, rows, grads)
    w = model.tables["W"].clone().requires_grad_(True)
    loss = (0.5 * f * ((w[i] * w[j]).sum(1) - t) ** 2).sum()
    loss.backward()
    torch.testing.assert_close(terms.sum(), loss.detach())
    torch.testing.assert_close(dense, w.grad)


def test_training_fits_pmi_and_lowers_loss(tiny_cooc):
    cfg = SimplerGloveConfig(dim=16, epochs=40, batch_size=256, x_max=10, device="cpu")
    vectors, history = fit_simpler_glove(tiny_cooc, cfg, random_state=0)
    assert vectors.shape == (tiny_cooc.vocab_size, 16)
    assert history[-1]["loss"] < 0.2 * history[0]["loss"]
    off = tiny_cooc.off_diagonal()
    heavy = off.x >= 10  # fully weighted cells
    fitted = (vectors[off.i[heavy]] * vectors[off.j[heavy]]).sum(1)
    assert np.corrcoef(fitted, pmi_targets(off)[heavy])[0, 1] > 0.9


def test_pmi_shift_fits_pmi_minus_log_k(tiny_cooc):
    # SGNS with k negative samples factorises PMI − log k (Levy & Goldberg 2014); the key moves
    # every target by −log k and nothing else. k < 1 here: the tiny corpus is near-independent
    # (PMI ≈ 0), and one Gram matrix cannot fit mostly negative targets with small norms
    off = tiny_cooc.off_diagonal()
    heavy = off.x >= 10
    pmi = pmi_targets(off)[heavy]
    for k in (1.0, 0.5):
        cfg = SimplerGloveConfig(dim=16, epochs=40, x_max=10, device="cpu", pmi_shift=k)
        vectors, _ = fit_simpler_glove(tiny_cooc, cfg, random_state=0)
        fitted = (vectors[off.i[heavy]] * vectors[off.j[heavy]]).sum(1)
        assert abs(np.mean(fitted - (pmi - np.log(k)))) < 0.05
    with pytest.raises(ValueError, match="pmi_shift"):
        SimplerGloveConfig(pmi_shift=0)


def test_same_seed_same_vectors(tiny_cooc):
    cfg = SimplerGloveConfig(dim=4, epochs=2, batch_size=128, device="cpu")
    a, _ = fit_simpler_glove(tiny_cooc, cfg, random_state=3)
    b, _ = fit_simpler_glove(tiny_cooc, cfg, random_state=3)
    np.testing.assert_array_equal(a, b)


#: alpha 40 with x_max 1e-3: the weights overflow float32, so the first loss is inf.
DIVERGING = dict(dim=4, epochs=1, batch_size=64, x_max=1e-3, alpha=40, truncate=False, device="cpu")


def test_divergence_names_step_and_loss(tiny_cooc):
    cfg = SimplerGloveConfig(**DIVERGING, engine="torch")
    with pytest.raises(DivergenceError, match=r"step 1 \(epoch 1\): mini-batch loss (inf|nan)"):
        fit_simpler_glove(tiny_cooc, cfg)


def test_skip_policy_counts_nonfinite_pairs(tiny_cooc):
    cfg = SimplerGloveConfig(**DIVERGING, nan_policy="skip")
    vectors, history = fit_simpler_glove(tiny_cooc, cfg)
    assert history[0]["skipped"] > 0
    assert np.isfinite(vectors).all()


def test_bad_config_names_the_key():
    with pytest.raises(ValueError, match="x_max"):
        SimplerGloveConfig(x_max=0)
    with pytest.raises(ValueError, match="nan_policy"):
        SimplerGloveConfig(nan_policy="ignore").loop()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu_closely(tiny_cooc):
    cfg = SimplerGloveConfig(dim=8, epochs=3, batch_size=256)
    cpu, _ = fit_simpler_glove(
        tiny_cooc, SimplerGloveConfig(**{**cfg.__dict__, "device": "cpu"}), 0
    )
    gpu, _ = fit_simpler_glove(
        tiny_cooc, SimplerGloveConfig(**{**cfg.__dict__, "device": "cuda"}), 0
    )
    np.testing.assert_allclose(cpu, gpu, atol=1e-3)
