"""pLSA by EM and by constrained gradient descent (posts.md §8.1 "pLSA", §6 for the KL view).

Model: P(w|d) = Σ_z P(w|z) P(z|d) with Θ = P(z|d) (D, K) and Φ = P(w|z) (K, V). Objective per
token: S = −(1/N) Σ_{d,w} n_dw log P(w|d). Post 8 matches a surrogate's gradient to ∇S and gets
the EM weights C_dwz = P(w|z)P(z|d)/P(w|d); on the non-zeros, with R = n ⊘ (ΘΦ),

    Θ ← normalize_rows(Θ ⊙ (R Φᵀ)),    Φ ← normalize_rows(Φ ⊙ (Θᵀ R))

(a simultaneous multiplicative update; no (D, V, K) tensor, memory O(nnz·K)). The two gradient
alternatives of the post use the same gradient ∇_Θ S = −(R Φᵀ)/N, ∇_Φ S = −(Θᵀ R)/N: projected
gradient descent onto the simplex, and gradient descent on softmax logits.
"""

from __future__ import annotations

import warnings

import numba
import numpy as np
import scipy.sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, check_non_negative, validate_data

from pipeline.em.backend import (
    check_backend_params,
    check_positive_int,
    compiled_threads,
    n_threads_default,
)

SOLVERS = ("em", "projected_gradient", "softmax_gradient")


def to_coo(X):
    """(rows, cols, counts) of the non-zeros of a dense or sparse (D, V) count matrix."""
    coo = scipy.sparse.coo_matrix(X)
    coo.sum_duplicates()
    keep = coo.data != 0
    return coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64), coo.data[keep]


def normalize_rows(a):
    """Rows scaled to sum 1; an all-zero row becomes uniform (no 0/0)."""
    total = a.sum(axis=1)
    zero = total <= 0
    return a / (total + zero)[:, None] + zero[:, None] / a.shape[1]


def word_probability(theta, phi, rows, cols):
    """P(w|d) on the non-zeros (nnz,)."""
    return (theta[rows] * phi.T[cols]).sum(axis=1)  # row gather: far faster than phi[:, cols]


def objective(ops, theta, phi, rows, cols, counts) -> float:
    """S = −(1/N) Σ n_dw log P(w|d), the negative log-likelihood per token."""
    p = word_probability(theta, phi, rows, cols)
    return float(-(counts * ops.log(p)).sum() / counts.sum())


def gradients(ops, theta, phi, rows, cols, counts):
    """(∇_Θ S, ∇_Φ S) from R = n ⊘ (ΘΦ) on the non-zeros."""
    ratio = counts / word_probability(theta, phi, rows, cols) / counts.sum()
    g_theta = -ops.group_sum(rows, phi.T[cols], theta.shape[0], weights=ratio)
    g_phi = -ops.group_sum(cols, theta[rows], phi.shape[1], weights=ratio).T
    return g_theta, g_phi


def em_step(ops, theta, phi, rows, cols, counts):
    """One EM step (post 8's surrogate minimiser), both factors updated from the same iterate."""
    g_theta, g_phi = gradients(ops, theta, phi, rows, cols, counts)
    return normalize_rows(theta * -g_theta), normalize_rows(phi * -g_phi)


def project_simplex(ops, a):
    """Euclidean projection of every row onto the probability simplex (Duchi et al. 2008)."""
    u = ops.sort_desc(a)
    css = ops.cumsum(u, 1) - 1
    idx = ops.asarray(np.arange(1, a.shape[1] + 1))
    rho = ((u - css / idx) > 0).sum(axis=1)  # >= 1 always
    tau = css[ops.asindex(np.arange(a.shape[0])), rho - 1] / rho
    return ops.maximum(a - tau[:, None], 0.0)


def projected_gradient_step(ops, theta, phi, rows, cols, counts, lr: float, floor: float = 1e-12):
    """Gradient step on S then projection onto the simplex; a tiny floor keeps log P finite."""
    g_theta, g_phi = gradients(ops, theta, phi, rows, cols, counts)
    theta = normalize_rows(ops.maximum(project_simplex(ops, theta - lr * g_theta), floor))
    phi = normalize_rows(ops.maximum(project_simplex(ops, phi - lr * g_phi), floor))
    return theta, phi


def softmax_rows(ops, logits):
    return ops.exp(logits - ops.logsumexp(logits, 1)[:, None])


def softmax_gradient_step(ops, a, b, rows, cols, counts, lr: float):
    """Gradient step on the logits (a, b) of Θ = softmax(a), Φ = softmax(b)."""
    theta, phi = softmax_rows(ops, a), softmax_rows(ops, b)
    g_theta, g_phi = gradients(ops, theta, phi, rows, cols, counts)
    g_a = theta * (g_theta - (theta * g_theta).sum(axis=1)[:, None])
    g_b = phi * (g_phi - (phi * g_phi).sum(axis=1)[:, None])
    return a - lr * g_a, b - lr * g_b


# Below this many multiply-adds per sweep (nnz·K) the compiled EM sweep runs on one thread: a
# parallel region costs more than it saves when the pass takes a few milliseconds on a busy machine.
PARALLEL_WORK = 1 << 22


@numba.njit(parallel=True, cache=True, nogil=True)
def _em_pass(theta, phi_t, indptr, cols, counts, n_blocks):
    """One sweep over the non-zeros, documents cut into ``n_blocks`` blocks on the numba threads.

    Returns (Σ n log P(w|d) per block, R Φᵀ (D, K), (Θᵀ R)ᵀ per block (n_blocks, V, K)) at (Θ, Φ),
    R = n ⊘ (ΘΦ) on the non-zeros: the iterate's objective and both EM numerators in one pass.
    """
    n_docs, n_topics = theta.shape
    g_theta = np.empty((n_docs, n_topics))
    g_phi = np.empty((n_blocks, phi_t.shape[0], n_topics))
    loglik = np.empty(n_blocks)
    per_block = -(-n_docs // n_blocks)
    for block in numba.prange(n_blocks):  # one parallel region: every buffer is zeroed in it
        acc_phi, total = g_phi[block], 0.0  # a local sum: no cache line shared between threads
        for w in range(acc_phi.shape[0]):
            for k in range(n_topics):
                acc_phi[w, k] = 0.0
        for d in range(block * per_block, min(n_docs, (block + 1) * per_block)):
            for k in range(n_topics):
                g_theta[d, k] = 0.0
            for idx in range(indptr[d], indptr[d + 1]):
                w, n = cols[idx], counts[idx]
                p = 0.0
                for k in range(n_topics):
                    p += theta[d, k] * phi_t[w, k]
                total += n * np.log(p)
                r = n / p
                for k in range(n_topics):
                    g_theta[d, k] += phi_t[w, k] * r
                    acc_phi[w, k] += theta[d, k] * r
        loglik[block] = total
    return loglik, g_theta, g_phi


def _run_em_numpy(theta, phi, rows, cols, counts, max_iter: int, tol: float):
    """:func:`run_solver`'s EM on the numpy backend: each compiled sweep gives S at the iterate
    and the next iterate (the same update as :func:`em_step`, to rounding)."""
    if np.any(rows[1:] < rows[:-1]):  # to_coo gives them sorted; other callers may not
        order = np.argsort(rows, kind="stable")
        rows, cols, counts = rows[order], cols[order], counts[order]
    indptr = np.searchsorted(rows, np.arange(theta.shape[0] + 1))
    cols, counts = np.ascontiguousarray(cols), np.ascontiguousarray(counts, dtype=np.float64)
    n_threads = n_threads_default() if len(counts) * theta.shape[1] >= PARALLEL_WORK else 1
    n_blocks, n_tokens = max(1, min(len(theta), n_threads)), counts.sum()

    def sweep(theta, phi):
        phi_t = np.ascontiguousarray(phi.T)
        loglik, g_theta, g_phi = _em_pass(theta, phi_t, indptr, cols, counts, n_blocks)
        step = normalize_rows(theta * g_theta), normalize_rows(phi * g_phi.sum(axis=0).T)
        return -loglik.sum() / n_tokens, step

    with compiled_threads(n_threads, dynamic=False):
        objective_now, step = sweep(theta, phi)
        history, converged = [objective_now], False
        for _ in range(max_iter):
            theta, phi = step
            objective_now, step = sweep(theta, phi)
            history.append(objective_now)
            if abs(history[-2] - history[-1]) <= tol * abs(history[-1]):
                converged = True
                break
    return theta, phi, history, converged


def random_factors(n_docs: int, n_words: int, n_topics: int, random_state):
    """Θ0 ~ Dir(1) per document and Φ0 ~ Dir(1) per topic (numpy float64)."""
    rng = check_random_state(random_state)
    return rng.dirichlet(np.ones(n_topics), n_docs), rng.dirichlet(np.ones(n_words), n_topics)


def run_solver(ops, solver, theta, phi, rows, cols, counts, max_iter, tol, lr=1.0):
    """Iterate ``solver`` from (Θ, Φ); stop when the relative change of S is below ``tol``.

    Returns (Θ, Φ, objective history with S before each step and after the last, converged).
    """
    if solver == "em" and ops.name == "numpy" and theta.dtype == np.float64:
        return _run_em_numpy(theta, phi, rows, cols, counts, max_iter, tol)
    history, converged = [objective(ops, theta, phi, rows, cols, counts)], False
    a, b = ops.log(theta), ops.log(phi)
    for _ in range(max_iter):
        if solver == "em":
            theta, phi = em_step(ops, theta, phi, rows, cols, counts)
        elif solver == "projected_gradient":
            theta, phi = projected_gradient_step(ops, theta, phi, rows, cols, counts, lr)
        else:
            a, b = softmax_gradient_step(ops, a, b, rows, cols, counts, lr)
            theta, phi = softmax_rows(ops, a), softmax_rows(ops, b)
        history.append(objective(ops, theta, phi, rows, cols, counts))
        if abs(history[-2] - history[-1]) <= tol * abs(history[-1]):
            converged = True
            break
    return theta, phi, history, converged


class PLSA(TransformerMixin, BaseEstimator):
    """Probabilistic latent semantic analysis (Hofmann 1999) on a document-term count matrix.

    ``solver="em"`` is the closed-form EM of posts.md §8; "projected_gradient" and
    "softmax_gradient" are the post's two gradient alternatives with step ``learning_rate`` on S
    (per token). Attributes: ``components_`` = P(w|z) (K, V), ``doc_topic_`` = P(z|d) of the training
    documents (D, K), ``objective_history_`` (S per iteration), ``n_iter_``, ``converged_``.
    ``transform`` folds new documents in by EM with P(w|z) fixed and returns P(z|d).
    """

    def __init__(
        self, n_components=10, *, solver="em", max_iter=200, tol=1e-6, learning_rate=1.0,
        transform_max_iter=100, random_state=None, backend="numpy", device="auto", dtype="float64",
    ):  # fmt: skip
        self.n_components = n_components
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.transform_max_iter = transform_max_iter
        self.random_state = random_state
        self.backend = backend
        self.device = device
        self.dtype = dtype

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.input_tags.sparse = True
        return tags

    def _counts(self, X, reset: bool):
        X = validate_data(
            self,
            X,
            accept_sparse=("csr", "csc", "coo"),
            dtype=[np.float64, np.float32],
            reset=reset,
        )
        check_non_negative(X, "PLSA (input X)")
        empty = np.flatnonzero(np.asarray(X.sum(axis=1)).ravel() == 0)
        if len(empty):
            warnings.warn(
                f"{len(empty)} document(s) have no words (first rows {empty[:5].tolist()}); "
                "their P(z|d) is uniform and they do not affect the topics.",
                UserWarning,
                stacklevel=3,
            )
        return X

    def fit(self, X, y=None, theta_init=None, phi_init=None):
        """Fit Θ and Φ; ``theta_init``/``phi_init`` (D, K)/(K, V) give an explicit start."""
        X = self._counts(X, reset=True)
        check_positive_int(self.n_components, "n_components")
        check_positive_int(self.max_iter, "max_iter")
        if self.solver not in SOLVERS:
            raise ValueError(f"solver={self.solver!r}: expected one of {SOLVERS}")
        if X.sum() == 0:
            raise ValueError("X has no counts: every document row is empty")
        ops = check_backend_params(self)
        theta0, phi0 = random_factors(X.shape[0], X.shape[1], self.n_components, self.random_state)
        theta0 = theta0 if theta_init is None else np.asarray(theta_init, dtype=np.float64)
        phi0 = phi0 if phi_init is None else np.asarray(phi_init, dtype=np.float64)
        rows, cols, counts = to_coo(X)
        rows, cols, counts = ops.asindex(rows), ops.asindex(cols), ops.asarray(counts)
        theta, phi, history, self.converged_ = run_solver(
            ops, self.solver, ops.asarray(theta0), ops.asarray(phi0), rows, cols, counts,
            self.max_iter, self.tol, self.learning_rate,
        )  # fmt: skip
        self.components_, self.doc_topic_ = ops.to_numpy(phi), ops.to_numpy(theta)
        self.objective_history_ = np.asarray(history)
        self.n_iter_ = len(history) - 1
        if not self.converged_:
            warnings.warn(
                f"PLSA did not converge in max_iter={self.max_iter} iterations "
                f"(n_iter_={self.n_iter_}); increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def transform(self, X):
        """P(z|d) of new documents (D, K), by EM fold-in with P(w|z) fixed, from uniform Θ."""
        check_is_fitted(self)
        X = self._counts(X, reset=False)
        ops = check_backend_params(self)
        rows, cols, counts = to_coo(X)
        rows, cols, counts = ops.asindex(rows), ops.asindex(cols), ops.asarray(counts)
        phi = ops.asarray(self.components_)
        theta = ops.asarray(np.full((X.shape[0], self.n_components), 1.0 / self.n_components))
        if counts.shape[0] == 0:
            return ops.to_numpy(theta)
        for _ in range(self.transform_max_iter):
            ratio = counts / word_probability(theta, phi, rows, cols)
            theta = normalize_rows(theta * ops.group_sum(rows, phi.T[cols], theta.shape[0], ratio))
        return ops.to_numpy(theta)

    def score(self, X, y=None):
        """Mean log-likelihood per token of ``X`` after fold-in (higher is better)."""
        theta = self.transform(X)
        ops = check_backend_params(self)
        rows, cols, counts = to_coo(self._counts(X, reset=False))
        args = (
            ops.asarray(theta),
            ops.asarray(self.components_),
            ops.asindex(rows),
            ops.asindex(cols),
        )
        return -objective(ops, *args, ops.asarray(counts))
