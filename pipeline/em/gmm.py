"""Gaussian mixtures by EM (posts.md §6): alternating minimisation of the joint KL (17).

The E-step (20) sets the responsibilities to the posterior, which makes the posterior KL zero, so
the joint KL (17) then equals the negative mean log-likelihood; the M-step (18) minimises (17) in
closed form. The kernels follow ``sklearn.mixture.GaussianMixture`` operation by operation (same
``reg_covar``, same ``10·eps`` on the component weights, precision Cholesky factors, the lower bound
computed in the E-step before the M-step, stop on ``|Δ mean log-likelihood| < tol``), so from the
same initialisation both reach the same log-likelihood in the same number of iterations.
Memory is O(N·K + N·D): components are looped over, never an N×K×D tensor. On the numpy backend in
float64 the full-covariance kernels are compiled (numba) row chunk by row chunk; see
:func:`_full_pass`.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numba
import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from pipeline.em.backend import (
    NumpyOps,
    check_backend_params,
    check_positive_int,
    compiled_threads,
    n_threads_default,
)
from pipeline.em.kmeans import KMeans, kmeans_plusplus

COVARIANCE_TYPES = ("full", "diag", "spherical")
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
SINGULAR_MESSAGE = (
    "Fitting the mixture model failed because some components have ill-defined empirical "
    "covariance (for instance caused by singleton or collapsed samples). Try to decrease the "
    "number of components, or increase reg_covar."
)


def estimate_parameters(ops, X, resp, reg_covar: float, covariance_type: str):
    """M-step (18): weights (unnormalised counts N_k), means (K, D) and covariances."""
    nk = resp.sum(axis=0) + 10 * np.finfo(np.float64).eps
    means = (resp.T @ X) / nk[:, None]
    n_components, n_features = means.shape
    if covariance_type == "full" and _compiled(ops, X):
        with compiled_threads(n_threads_default()):
            resp = np.ascontiguousarray(resp, dtype=np.float64)
            cov = _full_covariances(np.ascontiguousarray(X), resp, means, nk, reg_covar)
    elif covariance_type == "full":
        cov = ops.zeros((n_components, n_features, n_features))
        eye = ops.eye(n_features)
        for k in range(n_components):
            diff = X - means[k]
            cov[k] = (resp[:, k][:, None] * diff).T @ diff / nk[k] + reg_covar * eye
    else:
        avg_x2 = (resp.T @ (X * X)) / nk[:, None]
        cov = avg_x2 - 2 * means * (resp.T @ X) / nk[:, None] + means**2 + reg_covar
        if covariance_type == "spherical":
            cov = cov.mean(axis=1)
    return nk, means, cov


def rounding_eps(ops) -> float:
    """Machine epsilon of the backend's dtype (float32 or float64)."""
    return float(np.finfo(np.float32 if "32" in str(ops.dtype) else np.float64).eps)


def precision_cholesky(ops, covariances, covariance_type: str):
    """Cholesky factors of the precisions; a singular covariance raises ``ValueError``.

    Singularity is decided here, relative to each matrix's own scale, never by whether a LAPACK
    or torch build happens to fail at rounding level (which differs between Intel and AMD): a
    full covariance is singular when its Cholesky factorisation fails, is not finite, or a pivot
    L_ii² is at most 2(d + 1)·eps·Σ_ii (the Cholesky backward-error bound: an exactly singular
    PSD matrix leaves a pivot of that size; 1 − L_ii²/Σ_ii is the R² of feature i on the ones
    before it); a diagonal or spherical variance is singular when it is ≤ 0. See
    :func:`check_covariances` for variances lost in the rounding of the M-step itself.
    """
    if covariance_type == "full":
        n_features = covariances.shape[1]
        try:
            lower = ops.cholesky(covariances)
        except FloatingPointError as exc:
            raise ValueError(SINGULAR_MESSAGE) from exc
        pivots = ops.einsum("kii->ki", lower) ** 2
        floor = 2 * (n_features + 1) * rounding_eps(ops) * ops.einsum("kii->ki", covariances)
        if not ops.isfinite_all(lower) or bool(ops.to_numpy(pivots <= floor).any()):
            raise ValueError(SINGULAR_MESSAGE)
        out = ops.zeros(covariances.shape)
        eye = ops.eye(n_features)
        for k in range(covariances.shape[0]):
            out[k] = ops.solve_lower(lower[k], eye).T
        return out
    if not ops.isfinite_all(covariances) or bool(ops.to_numpy(covariances <= 0).any()):
        raise ValueError(SINGULAR_MESSAGE)
    return 1.0 / ops.sqrt(covariances)


def check_covariances(ops, means, covariances, covariance_type: str, n_samples: int) -> None:
    """``ValueError`` when an M-step variance is below the rounding error of its own formula.

    A length-N sum carries a relative rounding error of at most N·eps (the worst-case bound, used
    so that no summation order on any CPU or backend can cross it; measured errors on constant
    features reach 17·√N·eps with torch at N = 2e4), so the means are known to N·eps·|μ|. A full
    covariance is centred: a variance Σ_ii ≤ (N·eps·μ_i)² is the square of that error, the feature
    is constant within the component. Diagonal and spherical variances come from E[x²] − E[x]²,
    whose rounding error is up to N·eps·E[x²]: a variance (``reg_covar`` included) at most that is
    indistinguishable from zero. In float32 at large N the floor is coarse (N = 1e6: variances
    below 0.12·E[x²]); the project fits in float64.
    """
    rel = n_samples * rounding_eps(ops)
    if covariance_type == "full":
        var, floor = ops.einsum("kii->ki", covariances), (rel * means) ** 2
    elif covariance_type == "diag":
        var, floor = covariances, rel * (covariances + means**2)
    else:
        var, floor = covariances, rel * (covariances + (means**2).mean(axis=1))
    if bool(ops.to_numpy(var <= floor).any()):
        raise ValueError(SINGULAR_MESSAGE)


def log_gaussian_prob(ops, X, means, prec_chol, covariance_type: str):
    """log N(x_i | μ_k, Σ_k), shape (N, K)."""
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    if covariance_type == "full" and _compiled(ops, X):
        out = np.empty((n_samples, n_components))
        with compiled_threads(n_threads_default()):
            _full_log_prob(np.ascontiguousarray(X), means, prec_chol, None, out)
        return out
    if covariance_type == "full":
        log_prob = ops.zeros((n_samples, n_components))
        for k in range(n_components):
            y = X @ prec_chol[k] - means[k] @ prec_chol[k]
            log_prob[:, k] = (y * y).sum(axis=1)
        log_det = ops.log(ops.einsum("kii->ki", prec_chol)).sum(axis=1)
    elif covariance_type == "diag":
        prec = prec_chol**2
        log_prob = (means**2 * prec).sum(axis=1) - 2 * (X @ (means * prec).T) + (X * X) @ prec.T
        log_det = ops.log(prec_chol).sum(axis=1)
    else:
        prec = prec_chol**2
        log_prob = (
            (means**2).sum(axis=1) * prec
            - 2 * (X @ means.T) * prec
            + (X * X).sum(axis=1)[:, None] * prec[None, :]
        )
        log_det = n_features * ops.log(prec_chol)
    return -0.5 * (n_features * math.log(2 * math.pi) + log_prob) + log_det


def e_step(ops, X, weights, means, prec_chol, covariance_type: str):
    """E-step (20): (mean log-likelihood, log responsibilities (N, K))."""
    weighted = log_gaussian_prob(ops, X, means, prec_chol, covariance_type) + ops.log(weights)
    norm = ops.logsumexp(weighted, 1)
    return float(norm.mean()), weighted - norm[:, None]


# Full covariance on the numpy backend in float64 (sklearn's case): compiled row chunks. Rows are
# cut into at most MAX_BLOCKS blocks of whole chunks, handed out dynamically to the numba threads
# (BLAS held to one thread inside them, as for K-means). E-step: per chunk, one GEMM
# X_c [P_1 … P_K] (numba's np.dot calls scipy's BLAS) gives every component's X P_k at once; per row
# and component μ_k P_k is subtracted and the squares summed (sklearn's y = X P_k − μ_k P_k, Σ y²),
# and, fused, the log-sum-exp, the responsibilities and their sums Σ r, Σ r x follow while the row
# is in cache. M-step: per chunk and component, (r ⊙ (X_c − μ_k))ᵀ (X_c − μ_k) by one GEMM, as
# sklearn's. Blocks keep their own partial sums, reduced in block order after the loop, so the
# results do not depend on the thread count; they differ from sklearn's only by summation order.
TILE_ELEMENTS = 1 << 14  # a chunk's X_c [P_1 … P_K] tile: 128 KiB in float64, in L2
MAX_BLOCKS = 32
PARTIAL_ELEMENTS = 1 << 22  # all blocks' partial covariance sums together: 32 MiB
MAX_CHUNK_ROWS = 256


def _compiled(ops, X) -> bool:
    """Whether the compiled full-covariance kernels apply: numpy backend, float64 throughout."""
    return (
        isinstance(ops, NumpyOps)
        and ops.dtype == np.float64
        and isinstance(X, np.ndarray)
        and X.dtype == np.float64
    )


def _chunking(n_samples: int, width: int, partial: int) -> tuple[int, int]:
    """(rows per chunk, rows per block): a chunk's tile is ``width`` wide, a block's partial sums
    ``partial`` elements."""
    chunk = max(1, min(MAX_CHUNK_ROWS, TILE_ELEMENTS // max(1, width)))
    n_chunks = -(-n_samples // chunk)
    n_blocks = max(1, min(MAX_BLOCKS, n_chunks, PARTIAL_ELEMENTS // max(1, partial)))
    return chunk, -(-n_chunks // n_blocks) * chunk


@numba.njit(parallel=True, cache=True, nogil=True)
def _full_pass(X, pc_all, mu_pc, log_det, log_w, out, fused, chunk_rows, block_rows, totals,
               nk_part, sums_part):  # fmt: skip
    """log N(x_i | μ_k, Σ_k) + log π_k into ``out`` (N, K); if ``fused``, the responsibilities
    instead, each block's Σ log p(x_i) in ``totals``, Σ r_ik in ``nk_part``, Σ r_ik x_i in
    ``sums_part``."""
    n, d = X.shape
    n_components = log_det.shape[0]
    const = d * np.log(2 * np.pi)
    for block in numba.prange(len(totals)):
        tile = np.empty((chunk_rows, n_components * d))
        lp = np.empty(n_components)
        nk, sums, total = nk_part[block], sums_part[block], 0.0
        nk[:] = 0.0
        sums[:] = 0.0
        stop = min(n, (block + 1) * block_rows)
        for a in range(block * block_rows, stop, chunk_rows):
            b = min(a + chunk_rows, stop)
            y = tile[: b - a]
            np.dot(X[a:b], pc_all, y)
            for i in range(b - a):
                top = -np.inf
                for k in range(n_components):
                    sq = 0.0
                    for j in range(d):
                        v = y[i, k * d + j] - mu_pc[k, j]
                        sq += v * v
                    lp[k] = (-0.5 * (const + sq) + log_det[k]) + log_w[k]
                    top = max(top, lp[k])
                if not fused:
                    for k in range(n_components):
                        out[a + i, k] = lp[k]
                    continue
                acc = 0.0
                for k in range(n_components):
                    acc += np.exp(lp[k] - top)
                norm = top + np.log(acc)
                total += norm
                for k in range(n_components):
                    r = np.exp(lp[k] - norm)
                    out[a + i, k] = r
                    nk[k] += r
                    for j in range(d):
                        sums[k, j] += r * X[a + i, j]
        totals[block] = total


def _full_log_prob(X, means, prec_chol, log_weights, out):
    """:func:`_full_pass` over ``X`` (C-contiguous float64) on the numba threads in force.

    ``log_weights`` None: ``out`` gets log N(x_i | μ_k, Σ_k). Otherwise ``out`` gets the
    responsibilities and the result is (mean log-likelihood, Σ_i r_ik, Σ_i r_ik x_i).
    """
    n, d = X.shape
    n_components = means.shape[0]
    fused = log_weights is not None
    log_w = np.zeros(n_components) if log_weights is None else np.asarray(log_weights, np.float64)
    prec_chol, means = np.asarray(prec_chol, np.float64), np.asarray(means, np.float64)
    pc_all = np.ascontiguousarray(prec_chol.transpose(1, 0, 2).reshape(d, n_components * d))
    mu_pc = (means[:, None, :] @ prec_chol)[:, 0]  # μ_k P_k, sklearn's np.dot(mu, prec_chol)
    log_det = np.log(np.einsum("kii->ki", prec_chol)).sum(axis=1)
    chunk, block_rows = _chunking(n, n_components * d, n_components * (d + 1) if fused else 1)
    n_blocks = -(-n // block_rows)
    totals = np.empty(n_blocks)
    nk_part = np.empty((n_blocks, n_components) if fused else (n_blocks, 0))
    sums_part = np.empty((n_blocks, n_components, d) if fused else (n_blocks, 0, 0))
    _full_pass(X, pc_all, np.ascontiguousarray(mu_pc), log_det, log_w, out, fused, chunk,
               block_rows, totals, nk_part, sums_part)  # fmt: skip
    if fused:
        return totals.sum() / n, nk_part.sum(axis=0), sums_part.sum(axis=0)
    return None


@numba.njit(parallel=True, cache=True, nogil=True)
def _covariance_pass(X, resp, means, chunk_rows, block_rows, part):
    """Each block's Σ_i r_ik (x_i − μ_k)(x_i − μ_k)ᵀ into ``part`` (n_blocks, K, D, D)."""
    n, d = X.shape
    n_components = means.shape[0]
    for block in numba.prange(part.shape[0]):
        acc = part[block]
        acc[:] = 0.0
        diff = np.empty((chunk_rows, d))
        weighted = np.empty((chunk_rows, d))
        prod = np.empty((d, d))
        stop = min(n, (block + 1) * block_rows)
        for a in range(block * block_rows, stop, chunk_rows):
            m = min(a + chunk_rows, stop) - a
            for k in range(n_components):
                for i in range(m):
                    r = resp[a + i, k]
                    for j in range(d):
                        v = X[a + i, j] - means[k, j]
                        diff[i, j] = v
                        weighted[i, j] = r * v
                np.dot(weighted[:m].T, diff[:m], prod)
                for j in range(d):
                    for f in range(d):
                        acc[k, j, f] += prod[j, f]


def _full_covariances(X, resp, means, nk, reg_covar: float):
    """M-step full covariances Σ_i r_ik (x_i − μ_k)(x_i − μ_k)ᵀ / N_k + reg_covar·I by
    :func:`_covariance_pass` on the numba threads in force (``X``, ``resp`` C-contiguous)."""
    n, d = X.shape
    n_components = means.shape[0]
    chunk, block_rows = _chunking(n, d, n_components * d * d)
    part = np.empty((-(-n // block_rows), n_components, d, d))
    _covariance_pass(X, resp, np.ascontiguousarray(means), chunk, block_rows, part)
    return part.sum(axis=0) / nk[:, None, None] + reg_covar * np.eye(d)


def _em_step_compiled(X, weights, means, prec_chol, reg_covar: float):
    """:func:`e_step` then :func:`estimate_parameters` (full, numpy float64) in two compiled passes:
    (mean log-likelihood, N_k, means, covariances). The caller sets the threads."""
    resp = np.empty((X.shape[0], means.shape[0]))
    lower, nk, sums = _full_log_prob(X, means, prec_chol, np.log(weights), resp)
    nk = nk + 10 * np.finfo(np.float64).eps
    means = sums / nk[:, None]
    return float(lower), nk, means, _full_covariances(X, resp, means, nk, reg_covar)


def joint_kl(ops, X, resp, weights, means, prec_chol, covariance_type: str) -> float:
    """Objective (17) without its constant: (1/N) Σ_i Σ_k r_ik log(r_ik / (π_k N(x_i|θ_k)))."""
    weighted = log_gaussian_prob(ops, X, means, prec_chol, covariance_type) + ops.log(weights)
    safe = resp > 0
    log_r = ops.log(resp * safe + (~safe))  # 0·log 0 = 0
    return float((resp * (log_r - weighted)).sum() / X.shape[0])


def precisions_from_cholesky(prec_chol: np.ndarray, covariance_type: str) -> np.ndarray:
    if covariance_type == "full":
        return np.einsum("kij,klj->kil", prec_chol, prec_chol)
    return prec_chol**2


def cholesky_from_precisions(precisions: np.ndarray, covariance_type: str) -> np.ndarray:
    """Upper factor U with Λ = U Uᵀ (sklearn's convention), via the flipped Cholesky (#26415)."""
    precisions = np.asarray(precisions, dtype=np.float64)
    if covariance_type == "full":
        flip = precisions[:, ::-1, ::-1]
        return np.linalg.cholesky(flip)[:, ::-1, ::-1].copy()
    return np.sqrt(precisions)


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture fitted by EM, numpy or torch backend (posts.md §6).

    Parameters follow ``sklearn.mixture.GaussianMixture`` (``covariance_type`` in full/diag/spherical;
    ``init_params`` in kmeans/k-means++/random/random_from_data; ``weights_init``, ``means_init``,
    ``precisions_init`` override the initialisation), plus ``backend`` ("numpy" or "torch"),
    ``device`` ("auto", "cpu", "cuda") and ``dtype``. Attributes: ``weights_``, ``means_``,
    ``covariances_``, ``precisions_``, ``precisions_cholesky_``, ``converged_``, ``n_iter_``,
    ``lower_bound_`` (best mean log-likelihood) and ``lower_bounds_`` (its curve).
    """

    def __init__(
        self, n_components=1, *, covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=100,
        n_init=1, init_params="kmeans", weights_init=None, means_init=None, precisions_init=None,
        random_state=None, backend="numpy", device="auto", dtype="float64",
    ):  # fmt: skip
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.backend = backend
        self.device = device
        self.dtype = dtype

    def _check(self, X):
        check_positive_int(self.n_components, "n_components")
        check_positive_int(self.n_init, "n_init")
        check_positive_int(self.max_iter, "max_iter", minimum=0)
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type={self.covariance_type!r}: expected one of {COVARIANCE_TYPES}"
            )
        if self.init_params not in INIT_PARAMS:
            raise ValueError(f"init_params={self.init_params!r}: expected one of {INIT_PARAMS}")
        if not np.isscalar(self.tol) or self.tol < 0:
            raise ValueError(f"tol={self.tol!r}: expected a number >= 0")
        if not np.isscalar(self.reg_covar) or self.reg_covar < 0:
            raise ValueError(f"reg_covar={self.reg_covar!r}: expected a number >= 0")
        if X.shape[0] < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {X.shape[0]}"
            )

    def _initial_resp(self, X: np.ndarray, rng) -> np.ndarray:
        n, k = X.shape[0], self.n_components
        resp = np.zeros((n, k))
        if self.init_params == "kmeans":
            km = KMeans(k, n_init=1, random_state=rng, backend=self.backend, device=self.device)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                resp[np.arange(n), km.fit(X).labels_] = 1
        elif self.init_params == "k-means++":
            resp[kmeans_plusplus(X, k, rng)[1], np.arange(k)] = 1
        elif self.init_params == "random":
            resp = rng.uniform(size=(n, k))
            resp /= resp.sum(axis=1)[:, None]
        else:
            resp[rng.choice(n, size=k, replace=False), np.arange(k)] = 1
        return resp

    def _initialize(self, ops, X, Xb, rng):
        """(weights, means, precision Cholesky) on the backend, from init_params or *_init."""
        user = (self.weights_init, self.means_init, self.precisions_init)
        if all(v is not None for v in user):
            weights, means, pc = (
                user[0],
                user[1],
                cholesky_from_precisions(user[2], self.covariance_type),
            )
            return ops.asarray(weights), ops.asarray(means), ops.asarray(pc)
        resp = ops.asarray(self._initial_resp(X, rng))
        nk, means, cov = estimate_parameters(ops, Xb, resp, self.reg_covar, self.covariance_type)
        check_covariances(ops, means, cov, self.covariance_type, X.shape[0])
        weights = nk / X.shape[0] if user[0] is None else ops.asarray(user[0])
        means = means if user[1] is None else ops.asarray(user[1])
        if user[2] is None:
            return weights, means, precision_cholesky(ops, cov, self.covariance_type)
        return weights, means, ops.asarray(cholesky_from_precisions(user[2], self.covariance_type))

    def _em(self, ops, Xb, params):
        """One EM run from ``params``: (lower bounds, converged, n_iter, final params, covariances)."""
        weights, means, pc = params
        cov, lower, bounds, converged = None, -np.inf, [], False
        compiled = self.covariance_type == "full" and _compiled(ops, Xb)
        if compiled:
            Xb = np.ascontiguousarray(Xb)
        threads = compiled_threads(n_threads_default()) if compiled else contextlib.nullcontext()
        with threads:
            for _ in range(self.max_iter):
                previous = lower
                if compiled:
                    lower, nk, means, cov = _em_step_compiled(
                        Xb, weights, means, pc, self.reg_covar
                    )
                else:
                    lower, log_resp = e_step(ops, Xb, weights, means, pc, self.covariance_type)
                    nk, means, cov = estimate_parameters(
                        ops, Xb, ops.exp(log_resp), self.reg_covar, self.covariance_type
                    )
                check_covariances(ops, means, cov, self.covariance_type, Xb.shape[0])
                weights, pc = nk / nk.sum(), precision_cholesky(ops, cov, self.covariance_type)
                bounds.append(lower)
                if not np.isfinite(lower):
                    raise ValueError("the log-likelihood is not finite; check X for extreme values")
                if abs(lower - previous) < self.tol:
                    converged = True
                    break
        return bounds, converged, len(bounds), (weights, means, pc), cov

    def fit_predict(self, X, y=None):
        """Fit by EM (best of ``n_init`` runs by final lower bound) and return the labels."""
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        self._check(X)
        ops = check_backend_params(self)
        X = X.astype(np.float64 if self.dtype == "float64" else np.float32, copy=False)
        Xb, rng, best = ops.asarray(X), check_random_state(self.random_state), None
        for _ in range(self.n_init):
            params = self._initialize(ops, X, Xb, rng)
            bounds, converged, n_iter, params, cov = self._em(ops, Xb, params)
            if best is None or (bounds and bounds[-1] > best[0][-1]) or not best[0]:
                best = (bounds, converged, n_iter, params, cov)
        bounds, self.converged_, self.n_iter_, params, cov = best
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init parameters, "
                "or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self._store(ops, params, cov)
        self.lower_bounds_ = bounds
        self.lower_bound_ = bounds[-1] if bounds else -np.inf
        return self.predict(X)

    def _store(self, ops, params, cov):
        self.weights_, self.means_, self.precisions_cholesky_ = (ops.to_numpy(p) for p in params)
        self.precisions_ = precisions_from_cholesky(self.precisions_cholesky_, self.covariance_type)
        if cov is None:  # max_iter == 0: covariances from the initial precisions
            cov = (
                np.linalg.inv(self.precisions_)
                if self.covariance_type == "full"
                else 1 / self.precisions_
            )
        self.covariances_ = ops.to_numpy(cov)

    def fit(self, X, y=None):
        """Fit by EM; returns ``self``."""
        self.fit_predict(X, y)
        return self

    def _log_resp(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        ops = check_backend_params(self)
        means, prec_chol = ops.asarray(self.means_), ops.asarray(self.precisions_cholesky_)
        weighted = log_gaussian_prob(ops, ops.asarray(X), means, prec_chol, self.covariance_type)
        weighted = weighted + ops.log(ops.asarray(self.weights_))
        norm = ops.logsumexp(weighted, 1)
        return ops, norm, weighted - norm[:, None]

    def score_samples(self, X):
        """log p(x) per row (n_samples,)."""
        ops, norm, _ = self._log_resp(X)
        return ops.to_numpy(norm)

    def score(self, X, y=None):
        """Mean log-likelihood of ``X``."""
        return float(self.score_samples(X).mean())

    def predict_proba(self, X):
        """Posterior responsibilities (n_samples, n_components)."""
        ops, _, log_resp = self._log_resp(X)
        return np.exp(ops.to_numpy(log_resp))

    def predict(self, X):
        """Most probable component per row (n_samples,)."""
        return self.predict_proba(X).argmax(axis=1)

    def sample(self, n_samples=1):
        """Draw ``n_samples`` from the fitted mixture: (X (n, d), component labels (n,)), the
        same draws as scikit-learn's ``GaussianMixture.sample`` with the same ``random_state``."""
        check_is_fitted(self)
        check_positive_int(n_samples, "n_samples")
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        d = self.means_.shape[1]
        if self.covariance_type == "full":
            parts = [
                rng.multivariate_normal(m, c, int(k))
                for m, c, k in zip(self.means_, self.covariances_, counts, strict=True)
            ]
        else:
            scale = (
                self.covariances_ if self.covariance_type == "diag" else self.covariances_[:, None]
            )
            parts = [
                m + rng.standard_normal((int(k), d)) * np.sqrt(c)
                for m, c, k in zip(
                    self.means_, np.broadcast_to(scale, self.means_.shape), counts, strict=True
                )
            ]
        labels = np.concatenate([np.full(k, j, dtype=int) for j, k in enumerate(counts)])
        return np.vstack(parts), labels

    def _n_parameters(self) -> int:
        k, d = self.means_.shape
        cov = {"full": k * d * (d + 1) / 2, "diag": k * d, "spherical": k}[self.covariance_type]
        return int(cov + k * d + k - 1)

    def bic(self, X):
        """Bayesian information criterion of ``X`` (lower is better), as scikit-learn's."""
        n = np.asarray(X).shape[0]
        return -2 * self.score(X) * n + self._n_parameters() * np.log(n)

    def aic(self, X):
        """Akaike information criterion of ``X`` (lower is better), as scikit-learn's."""
        return -2 * self.score(X) * np.asarray(X).shape[0] + 2 * self._n_parameters()


def mean_log_likelihood(X, weights, means, covariances, covariance_type: str = "full") -> float:
    """Mean log-likelihood of ``X`` under given parameters (e.g. the true ones), numpy float64."""
    ops = NumpyOps()
    X = np.asarray(X, dtype=np.float64)
    pc = precision_cholesky(ops, np.asarray(covariances, dtype=np.float64), covariance_type)
    return e_step(
        ops, X, np.asarray(weights, dtype=np.float64), np.asarray(means), pc, covariance_type
    )[0]
