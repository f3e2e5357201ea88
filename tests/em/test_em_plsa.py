import warnings

import numpy as np
import pytest
import scipy.sparse
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.exceptions import ConvergenceWarning

from pipeline.em.backend import NumpyOps
from pipeline.em.plsa import PLSA, gradients, project_simplex, random_factors, to_coo

BACKENDS = ["numpy", "torch"]


def fit(X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return PLSA(**kw).fit(X)


@pytest.mark.parametrize("backend", BACKENDS)
def test_em_objective_never_increases_and_stays_on_simplex(lda_corpus, backend):
    X = scipy.sparse.csr_matrix(lda_corpus[0])
    model = fit(X, n_components=4, max_iter=80, tol=0, random_state=0, backend=backend)
    S = model.objective_history_
    assert len(S) == 81 and np.all(np.diff(S) <= 1e-12 * S[0])
    for factor in (model.components_, model.doc_topic_):
        assert factor.min() >= 0
        np.testing.assert_allclose(factor.sum(axis=1), 1.0, atol=1e-12)


def test_backends_agree(lda_corpus):
    a = fit(lda_corpus[0], n_components=4, max_iter=20, random_state=0, backend="numpy")
    b = fit(lda_corpus[0], n_components=4, max_iter=20, random_state=0, backend="torch")
    np.testing.assert_allclose(a.objective_history_, b.objective_history_, rtol=1e-12)


def test_one_topic_by_hand():
    # With one topic P(w|z) is the corpus word frequency after one step: (3+1, 0+2, 1+0)/7.
    X = np.array([[3.0, 0.0, 1.0], [1.0, 2.0, 0.0]])
    model = fit(X, n_components=1, max_iter=1, random_state=0)
    np.testing.assert_allclose(model.components_, [[4 / 7, 2 / 7, 1 / 7]])
    expected = -(4 * np.log(4 / 7) + 2 * np.log(2 / 7) + np.log(1 / 7)) / 7
    assert model.objective_history_[-1] == pytest.approx(expected)
    assert model.score(X) == pytest.approx(-expected)  # per-token log-likelihood after fold-in


def test_surrogate_gradient_equals_true_gradient(lda_corpus):
    # posts.md §8: S' = −(1/N) Σ n_dw Σ_z C_dwz log p(w|z)p(z|d), C frozen at the iterate,
    # has the same gradient as S at the iterate; `gradients` is that gradient.
    counts = lda_corpus[0][:40]
    rows, cols, n = to_coo(counts)
    theta0, phi0 = random_factors(*counts.shape, 4, 0)
    theta = torch.tensor(theta0, requires_grad=True)
    phi = torch.tensor(phi0, requires_grad=True)
    r, c, nt = torch.tensor(rows), torch.tensor(cols), torch.tensor(n)
    joint = theta[r] * phi.T[c]
    S = -(nt * torch.log(joint.sum(1))).sum() / nt.sum()
    C = (joint / joint.sum(1, keepdim=True)).detach()
    S_sur = -(nt[:, None] * C * torch.log(joint)).sum() / nt.sum()
    g_true = torch.autograd.grad(S, (theta, phi), retain_graph=True)
    g_sur = torch.autograd.grad(S_sur, (theta, phi))
    g_hand = gradients(NumpyOps(), theta0, phi0, rows, cols, n)
    for a, b, h in zip(g_true, g_sur, g_hand, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-13)
        np.testing.assert_allclose(h, a.numpy(), atol=1e-13)
    # anchors §2.3d: θ_EM = θ ⊙ ∇_θ LL / n_d (multiplicative form of the EM step).
    em_theta = fit(counts, n_components=4, max_iter=1, random_state=0)
    lengths = counts.sum(1, keepdims=True)
    np.testing.assert_allclose(
        theta0 * (-g_true[0].numpy() * n.sum()) / lengths, em_theta.doc_topic_, atol=1e-13
    )


def test_em_beats_gradient_variants_and_gradients_descend(lda_corpus):
    X = lda_corpus[0]
    em = fit(X, n_components=4, max_iter=50, tol=0, random_state=0)
    for solver, lr in [("projected_gradient", 1e-5), ("softmax_gradient", 1.0)]:
        gd = fit(
            X, n_components=4, solver=solver, learning_rate=lr, max_iter=50, tol=0, random_state=0
        )
        assert np.all(np.diff(gd.objective_history_) < 0), solver  # small steps descend
        assert em.objective_history_[-1] < gd.objective_history_[-1] - 0.05, solver


def test_topics_recovered_after_hungarian_matching(lda_corpus):
    X, theta, phi = lda_corpus
    best = min((fit(X, n_components=4, max_iter=300, random_state=s) for s in range(3)),
               key=lambda m: m.objective_history_[-1])  # fmt: skip
    tv = 0.5 * np.abs(best.components_[:, None, :] - phi[None]).sum(-1)
    rows, cols = linear_sum_assignment(tv)
    assert tv[rows, cols].mean() < 0.1


def test_project_simplex_by_hand():
    a = np.array([[0.5, 0.5, 0.0], [2.0, 0.0, 0.0], [0.2, 0.2, 0.2], [1.0, 0.5, -1.0]])
    expected = [[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.75, 0.25, 0.0]]
    np.testing.assert_allclose(project_simplex(NumpyOps(), a), expected, atol=1e-15)


def test_transform_is_a_distribution_and_fold_in_matches_training(lda_corpus):
    X = lda_corpus[0][:60]
    model = fit(X, n_components=4, max_iter=300, random_state=0)
    folded = model.transform(X)
    np.testing.assert_allclose(folded.sum(1), 1.0, atol=1e-12)
    # Fold-in with the trained topics lands close to the training P(z|d).
    assert np.abs(folded - model.doc_topic_).max() < 0.05


def test_all_zero_document_row():
    X = np.array([[3.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 2.0, 5.0]])
    with pytest.warns(UserWarning, match=r"1 document\(s\) have no words \(first rows \[1\]\)"):
        model = fit(X, n_components=2, max_iter=30, random_state=0)
    np.testing.assert_allclose(model.doc_topic_[1], [0.5, 0.5])
    assert np.isfinite(model.objective_history_).all()
    with pytest.raises(ValueError, match="every document row is empty"), pytest.warns(UserWarning):
        PLSA(2).fit(np.zeros((3, 4)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -1.0])
def test_rejects_nan_inf_and_negative_counts(bad):
    X = np.ones((4, 3))
    X[1, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity|Negative"):
        PLSA(2).fit(X)


def test_non_convergence_warns_and_sets_attributes(lda_corpus):
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        model = PLSA(4, max_iter=3, tol=0, random_state=0).fit(lda_corpus[0])
    assert model.n_iter_ == 3 and model.converged_ is False


@pytest.mark.parametrize("parallel", [False, True])
def test_compiled_em_sweep_is_the_em_step(lda_corpus, monkeypatch, parallel):
    # The numpy backend runs EM as one compiled sweep per iteration (objective and both numerators);
    # on one thread or on document blocks it must give em_step's iterates and objectives.
    from threadpoolctl import threadpool_limits

    from pipeline.em import plsa

    rows, cols, counts = to_coo(lda_corpus[0])
    theta0, phi0 = random_factors(*lda_corpus[0].shape, 4, 0)
    ops, theta, phi = NumpyOps(), theta0, phi0
    history = [plsa.objective(ops, theta, phi, rows, cols, counts)]
    for _ in range(10):
        theta, phi = plsa.em_step(ops, theta, phi, rows, cols, counts)
        history.append(plsa.objective(ops, theta, phi, rows, cols, counts))
    monkeypatch.setattr(plsa, "PARALLEL_WORK", 0 if parallel else 1 << 62)
    with threadpool_limits(2):
        out = plsa.run_solver(ops, "em", theta0, phi0, rows, cols, counts, 10, 0.0)
    np.testing.assert_allclose(out[2], history, rtol=1e-13)
    np.testing.assert_allclose(out[0], theta, rtol=0, atol=1e-13)
    np.testing.assert_allclose(out[1], phi, rtol=0, atol=1e-13)


def test_compiled_em_sweep_accepts_unsorted_non_zeros(lda_corpus):
    from pipeline.em import plsa

    rows, cols, counts = to_coo(lda_corpus[0])
    theta0, phi0 = random_factors(*lda_corpus[0].shape, 4, 0)
    shuffle = np.random.default_rng(0).permutation(len(rows))
    ops = NumpyOps()
    a = plsa.run_solver(ops, "em", theta0, phi0, rows, cols, counts, 5, 0.0)
    b = plsa.run_solver(
        ops, "em", theta0, phi0, rows[shuffle], cols[shuffle], counts[shuffle], 5, 0.0
    )
    np.testing.assert_allclose(b[2], a[2], rtol=1e-14)
    np.testing.assert_allclose(b[1], a[1], rtol=0, atol=1e-15)
