"""K-means as hard EM (Lloyd) and soft K-means with stiffness M (posts.md §8.1, "K-means").

Lloyd follows ``sklearn.cluster.KMeans(algorithm="lloyd")`` step for step (data centred, squared
distances as ``‖c‖² − 2x·c`` from a chunked GEMM, sklearn's two stopping rules, empty clusters moved
to the farthest points), so from the same initial centres it returns the same labels, inertia and
``n_iter_``. Memory is O(chunk·K + N·D): never an N×K×D tensor or a K×N one-hot matrix.

:class:`SoftKMeans` is post 8's derivation: smooth ``min_j d²_ij`` by ``−(1/M) log Σ_j e^{−M d²_ij}``;
matching a quadratic surrogate to its gradient gives responsibilities ``softmax_j(−M d²_ij)`` and
the update ``c_j = Σ_i C_ij x_i / Σ_i C_ij``; as M → ∞ this is Lloyd's step.
"""

from __future__ import annotations

import warnings

import numba
import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
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

CHUNK_SIZE = 32768
NUMPY = NumpyOps()


def kmeans_plusplus(X: np.ndarray, n_clusters: int, random_state) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii; sklearn's variant with 2 + ⌊ln k⌋ trials).

    Returns the (n_clusters, n_features) initial centres and their row indices in ``X``.
    """
    rng = check_random_state(random_state)
    n_samples = X.shape[0]
    n_trials = 2 + int(np.log(n_clusters))
    sq_norms = np.einsum("ij,ij->i", X, X)
    centers = np.empty((n_clusters, X.shape[1]), dtype=X.dtype)
    indices = np.empty(n_clusters, dtype=np.int64)
    # The same random draws as sklearn's kmeans_plusplus (choice with p, then uniform trials).
    indices[0] = rng.choice(n_samples, p=np.full(n_samples, 1.0 / n_samples))
    centers[0] = X[indices[0]]
    closest = np.maximum(sq_norms - 2 * X @ centers[0] + centers[0] @ centers[0], 0)
    potential = closest.sum()
    for c in range(1, n_clusters):
        targets = rng.uniform(size=n_trials) * potential
        ids = np.minimum(np.searchsorted(np.cumsum(closest), targets), n_samples - 1)
        cand = X[ids]
        d2 = sq_norms[None, :] - 2 * cand @ X.T + np.einsum("ij,ij->i", cand, cand)[:, None]
        d2 = np.minimum(closest[None, :], np.maximum(d2, 0))
        best = int(np.argmin(d2.sum(axis=1)))
        indices[c] = ids[best]
        centers[c], closest, potential = X[ids[best]], d2[best], d2[best].sum()
    return centers, indices


def initial_centers(X: np.ndarray, n_clusters: int, init, rng) -> np.ndarray:
    """Centres from ``init``: "k-means++", "random" (distinct rows) or an array."""
    if isinstance(init, str) and init == "k-means++":
        return kmeans_plusplus(X, n_clusters, rng)[0]
    if isinstance(init, str) and init == "random":
        n = X.shape[0]  # p given, as sklearn does, so that the draws match its "random" init
        return X[rng.choice(n, size=n_clusters, replace=False, p=np.full(n, 1.0 / n))].copy()
    if isinstance(init, str):
        raise ValueError(f"init={init!r}: expected 'k-means++', 'random' or an array")
    init = np.asarray(init, dtype=X.dtype)
    if init.shape != (n_clusters, X.shape[1]):
        raise ValueError(
            f"init has shape {init.shape}; expected (n_clusters, n_features) = "
            f"({n_clusters}, {X.shape[1]})"
        )
    return init.copy()


def assign_labels(ops, X, centers, chunk: int = CHUNK_SIZE):
    """Index of the nearest centre per row, by chunks of rows (O(chunk·K) memory)."""
    c_sq = (centers * centers).sum(axis=1)
    neg2_ct = -2 * centers.T  # x·(−2c) = −2(x·c) exactly: the distances of ‖c‖² − 2x·c
    labels = ops.empty_index(X.shape[0])
    for start in range(0, X.shape[0], chunk):
        block = X[start : start + chunk]
        labels[start : start + chunk] = ops.argmin(ops.addmm(c_sq, block, neg2_ct), 1)
    return labels


def lloyd(ops, X, centers, max_iter: int, tol: float):
    """Lloyd iterations with sklearn's stopping rules.

    Stops when the labels do not change (strict convergence) or when the summed squared centre
    shift is ``<= tol`` (already scaled by the mean feature variance). Returns
    ``(labels, centers, n_iter, converged)``; labels always match the returned centres.
    """
    if ops.name == "numpy":
        return _lloyd_numpy(X, centers, max_iter, tol)
    n_clusters = centers.shape[0]

    def step(centers):
        labels = assign_labels(ops, X, centers)
        return labels, update_centers(ops, X, centers, labels, n_clusters)

    return _lloyd_loop(step, lambda c: assign_labels(ops, X, c), centers, max_iter, tol, ops)


def _lloyd_loop(step, relabel, centers, max_iter: int, tol: float, ops):
    """sklearn's stopping rules over ``step(centers) -> (labels, new centres)``; ``relabel``
    labels the final centres when the loop did not stop on unchanged labels."""
    labels_old = None
    strict, converged, n_iter = False, False, 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is returned
        labels, new = step(centers)
        shift = float(((new - centers) ** 2).sum())
        centers = new
        if labels_old is not None and ops.array_equal(labels, labels_old):
            strict = converged = True
            break
        if shift <= tol:
            converged = True
            break
        labels_old = labels
    if not strict:
        labels = relabel(centers)
    return labels, centers, n_iter, converged


def update_centers(ops, X, centers, labels, n_clusters: int, counts=None, sums=None):
    """Means of the assigned points; an empty cluster takes the point farthest from its centre.

    ``counts`` and ``sums`` (per cluster) may be given when already accumulated with the labels.
    """
    if counts is None:
        counts = ops.bincount(labels, None, n_clusters)
    if sums is None:
        sums = ops.group_sum(labels, X, n_clusters)
    empty = np.flatnonzero(ops.to_numpy(counts) == 0)
    if len(empty):
        # As sklearn's _relocate_empty_clusters_dense: the farthest points seed the empty clusters.
        dist = ops.to_numpy(((X - centers[labels]) ** 2).sum(axis=1))
        far = np.argsort(-dist, kind="stable")[: len(empty)]
        labels_np = ops.to_numpy(labels)
        for j, idx in zip(empty, far, strict=True):
            old = int(labels_np[idx])
            sums[old] = sums[old] - X[int(idx)]
            counts[old] = counts[old] - 1
            sums[int(j)] = X[int(idx)]
            counts[int(j)] = 1
    return sums / counts[:, None]


# numpy Lloyd: sklearn's `_lloyd_iter_chunked_dense`, compiled by numba. Rows are cut into at most
# MAX_BLOCKS blocks of whole CHUNK_ROWS-row chunks, handed out dynamically to the numba threads
# (BLAS held to one thread inside, as sklearn does under OpenMP); per chunk, one GEMM with −2Cᵀ
# (numba's np.dot calls scipy's BLAS, the one sklearn's Cython calls) into a per-block tile, then per
# row ‖c‖² is added, the argmin taken and the row added to its block's centre sums; the blocks' sums
# are reduced in block order after the loop, so the result does not depend on the thread count.
# −2 scales exactly and ‖c‖² comes from numpy's einsum as sklearn's row_norms, so the distances are
# those of ‖c‖² − 2x·c and the labels sklearn's.
CHUNK_ROWS = 256
MAX_BLOCKS = 32


def mean_variance(Xc: np.ndarray) -> float:
    """``np.mean(np.var(X, axis=0))`` from the centred ``Xc``, bit for bit, without an N×D temporary.

    numpy sums ``(X − mean)²`` down axis 0 row after row; the running column sums are carried from
    chunk to chunk as the first row of each chunk's buffer, so the additions happen in the same order.
    """
    n, chunk = len(Xc), 4096
    buf = np.empty((min(chunk, n) + 1, Xc.shape[1]), dtype=Xc.dtype)
    acc = None
    for a in range(0, n, chunk):
        b = min(a + chunk, n)
        if acc is None:
            sq = buf[: b - a]
            np.multiply(Xc[a:b], Xc[a:b], out=sq)
        else:
            sq = buf[: b - a + 1]
            sq[0] = acc
            np.multiply(Xc[a:b], Xc[a:b], out=sq[1:])
        acc = np.add.reduce(sq, axis=0)
    return float(np.mean(acc / n))


def _block_rows(n: int) -> int:
    """Rows per block: whole chunks, at most MAX_BLOCKS blocks."""
    n_chunks = -(-n // CHUNK_ROWS)
    return -(-n_chunks // MAX_BLOCKS) * CHUNK_ROWS


@numba.njit(parallel=True, cache=True, nogil=True)
def _lloyd_pass(X, neg2_ct, c_sq, labels, block_sums, block_counts, block_rows, update):
    """Labels of every row (in place) and, if ``update``, each block's cluster sums and counts."""
    n, n_features = X.shape
    n_clusters = c_sq.shape[0]
    for block in numba.prange(-(-n // block_rows)):
        tile = np.empty((CHUNK_ROWS, n_clusters), X.dtype)
        sums, counts = block_sums[block], block_counts[block]
        sums[:] = 0
        counts[:] = 0
        stop = min(n, (block + 1) * block_rows)
        for a in range(block * block_rows, stop, CHUNK_ROWS):
            b = min(a + CHUNK_ROWS, stop)
            dist = tile[: b - a]
            np.dot(X[a:b], neg2_ct, dist)
            for i in range(b - a):
                label, best = 0, dist[i, 0] + c_sq[0]
                for j in range(1, n_clusters):
                    d2 = dist[i, j] + c_sq[j]
                    if d2 < best:
                        label, best = j, d2
                labels[a + i] = label
                if update:
                    counts[label] += 1
                    for f in range(n_features):
                        sums[label, f] += X[a + i, f]


@numba.njit(parallel=True, cache=True, nogil=True)
def _inertia_pass(X, centers, labels, block_rows):
    n, n_features = X.shape
    totals = np.empty(-(-n // block_rows))
    for block in numba.prange(len(totals)):
        total = 0.0  # a local sum: no cache line shared between threads
        for i in range(block * block_rows, min(n, (block + 1) * block_rows)):
            for f in range(n_features):
                diff = np.float64(X[i, f]) - np.float64(centers[labels[i], f])
                total += diff * diff
        totals[block] = total
    return totals.sum()


def _assign_numpy(X, centers, labels, update: bool = False):
    """One pass of :func:`_lloyd_pass`: fills ``labels``; returns the cluster sums and counts."""
    neg2_ct = np.ascontiguousarray(-2.0 * centers.T)
    c_sq = np.einsum("ij,ij->i", centers, centers)  # as sklearn's row_norms
    block_rows = _block_rows(len(X))
    n_blocks = -(-len(X) // block_rows)
    block_sums = np.empty((n_blocks, *centers.shape), dtype=X.dtype)
    block_counts = np.empty((n_blocks, len(centers)), dtype=np.int64)
    _lloyd_pass(X, neg2_ct, c_sq, labels, block_sums, block_counts, block_rows, update)
    return block_sums.sum(axis=0), block_counts.sum(axis=0)


def inertia_threaded(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> float:
    """:func:`inertia` by compiled row chunks on the worker threads (same value to rounding)."""
    with compiled_threads(n_threads_default()):
        return float(_inertia_pass(X, centers, labels, _block_rows(len(X))))


def _lloyd_numpy(X, centers, max_iter: int, tol: float):
    """:func:`lloyd` on the compiled passes; two label buffers, written in turn."""
    X = np.ascontiguousarray(X)  # row chunks for the GEMM, as sklearn's order="C"
    n_clusters = centers.shape[0]
    buffers = [np.empty(len(X), dtype=np.int64) for _ in range(2)]

    def next_buffer():
        buffers.reverse()
        return buffers[0]

    def step(centers):
        labels = next_buffer()
        sums, counts = _assign_numpy(X, centers, labels, update=True)
        weights = counts.astype(X.dtype)
        return labels, update_centers(NUMPY, X, centers, labels, n_clusters, weights, sums)

    def relabel(centers):
        labels = next_buffer()
        _assign_numpy(X, centers, labels)
        return labels

    with compiled_threads(n_threads_default()):
        return _lloyd_loop(step, relabel, centers, max_iter, tol, NUMPY)


def inertia(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared distances to the assigned centre, recomputed in float64."""
    diff = np.asarray(X, dtype=np.float64) - np.asarray(centers, dtype=np.float64)[labels]
    return float(np.einsum("ij,ij->", diff, diff))


class _CentroidEstimator(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator
):
    """Shared validation, prediction and distances of the two K-means estimators (the mixins in
    scikit-learn's own order for ``KMeans``)."""

    @property
    def _n_features_out(self):
        return self.cluster_centers_.shape[0]

    def _validate(self, X):
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=1)
        check_positive_int(self.n_clusters, "n_clusters")
        check_positive_int(self.max_iter, "max_iter")
        if X.shape[0] < self.n_clusters:
            raise ValueError(
                f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters} "
                f"(n_samples = {X.shape[0]})"
            )
        if not np.isscalar(self.tol) or self.tol < 0:
            raise ValueError(f"tol={self.tol!r}: expected a number >= 0")
        return X.astype(np.float64 if self.dtype == "float64" else np.float32, copy=False)

    def predict(self, X):
        """Index of the nearest centre for each row of ``X`` (n_samples,)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        ops = check_backend_params(self)
        labels = assign_labels(ops, ops.asarray(X), ops.asarray(self.cluster_centers_))
        return ops.to_numpy(labels)

    def transform(self, X):
        """Euclidean distances to every centre (n_samples, n_clusters), as scikit-learn's."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        X64, c64 = (
            np.asarray(X, dtype=np.float64),
            np.asarray(self.cluster_centers_, dtype=np.float64),
        )
        d2 = (X64 * X64).sum(1)[:, None] - 2 * X64 @ c64.T + (c64 * c64).sum(1)[None]
        return np.sqrt(np.maximum(d2, 0.0))

    def _warn_if_not_converged(self):
        if not self.converged_:
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter={self.max_iter} "
                f"iterations (n_iter_={self.n_iter_}); increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )


class KMeans(_CentroidEstimator):
    """K-means by Lloyd's algorithm (hard EM), numpy or torch backend.

    Parameters mirror ``sklearn.cluster.KMeans(algorithm="lloyd")``; ``n_init="auto"`` means 1 run
    for "k-means++" or an array and 10 for "random". Attributes: ``cluster_centers_`` (K, D),
    ``labels_`` (N,), ``inertia_`` (float64 recomputation), ``n_iter_``, ``converged_``.
    """

    def __init__(
        self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300, tol=1e-4,
        random_state=None, backend="numpy", device="auto", dtype="float64",
    ):  # fmt: skip
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.backend = backend
        self.device = device
        self.dtype = dtype

    def fit(self, X, y=None):
        """Run Lloyd ``n_init`` times and keep the run with the lowest inertia."""
        X = self._validate(X)
        ops = check_backend_params(self)
        rng = check_random_state(self.random_state)
        n_init = self._n_init()
        mean = X.mean(axis=0)
        Xc = X - mean  # centred as sklearn does: better conditioned ‖c‖² − 2x·c
        tol = mean_variance(Xc) * self.tol  # = np.mean(np.var(X, axis=0)), sklearn's scale
        Xb, best = ops.asarray(Xc), None
        for _ in range(n_init):
            start = initial_centers(X, self.n_clusters, self.init, rng) - mean
            labels, centers, n_iter, converged = lloyd(
                ops, Xb, ops.asarray(start), self.max_iter, tol
            )
            labels, centers = ops.to_numpy(labels), ops.to_numpy(centers)
            if Xc.dtype == np.float64:
                score = inertia_threaded(Xc, centers.astype(np.float64, copy=False), labels)
            else:
                score = inertia(Xc, centers, labels)
            if best is None or score < best[0]:
                best = (score, labels, centers, n_iter, converged)
        self.inertia_, self.labels_, centers, self.n_iter_, self.converged_ = best
        self.cluster_centers_ = centers + mean
        self._warn_if_not_converged()
        return self

    def _n_init(self) -> int:
        if self.n_init == "auto":
            return 10 if isinstance(self.init, str) and self.init == "random" else 1
        check_positive_int(self.n_init, "n_init")
        return 1 if not isinstance(self.init, str) else self.n_init

    def score(self, X, y=None):
        """Opposite of the inertia of ``X`` on the fitted centres."""
        labels = self.predict(X)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return -inertia(X, self.cluster_centers_, labels)


def soft_assign(ops, X, centers, stiffness: float):
    """Responsibilities softmax_j(−M d²_ij) (N, K) and the smoothed objective Σ_i −(1/M) lse."""
    d2 = (X * X).sum(axis=1)[:, None] - 2 * (X @ centers.T) + (centers * centers).sum(axis=1)[None]
    logits = -stiffness * d2
    lse = ops.logsumexp(logits, 1)
    return ops.exp(logits - lse[:, None]), float(-(lse.sum()) / stiffness)


def soft_update(ops, X, resp, centers):
    """The surrogate's minimiser c_j = Σ_i C_ij x_i / Σ_i C_ij; a centre with no weight stays."""
    weight = resp.sum(axis=0)
    new = (resp.T @ X) / weight[:, None]
    keep = ops.asarray(ops.to_numpy(weight) <= 0)[:, None]
    return new * (1 - keep) + centers * keep if bool(ops.to_numpy(keep).any()) else new


class SoftKMeans(_CentroidEstimator):
    """Soft K-means with stiffness M (posts.md §8.1): the EM family member whose M → ∞ limit is Lloyd.

    Minimises ``L_M(c) = Σ_i −(1/M) log Σ_j exp(−M ‖x_i − c_j‖²)`` by its quadratic surrogate;
    every step decreases ``L_M`` (majorise-minimise). Stops when the change of ``L_M / N`` is
    below ``tol``. Attributes: ``cluster_centers_``, ``labels_`` (argmax responsibility),
    ``objective_`` (final L_M), ``objective_history_`` (L_M before each update), ``n_iter_``,
    ``converged_``.
    """

    def __init__(
        self, n_clusters=8, *, stiffness=1.0, init="k-means++", max_iter=300, tol=1e-8,
        random_state=None, backend="numpy", device="auto", dtype="float64",
    ):  # fmt: skip
        self.n_clusters = n_clusters
        self.stiffness = stiffness
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.backend = backend
        self.device = device
        self.dtype = dtype

    def fit(self, X, y=None):
        X = self._validate(X)
        if not np.isscalar(self.stiffness) or not self.stiffness > 0:
            raise ValueError(f"stiffness={self.stiffness!r}: expected a number > 0")
        ops = check_backend_params(self)
        start = initial_centers(
            X, self.n_clusters, self.init, check_random_state(self.random_state)
        )
        Xb, centers = ops.asarray(X), ops.asarray(start)
        history, self.converged_ = [], False
        for _ in range(self.max_iter):
            resp, objective = soft_assign(ops, Xb, centers, float(self.stiffness))
            history.append(objective)
            centers = soft_update(ops, Xb, resp, centers)
            if len(history) > 1 and abs(history[-2] - history[-1]) / X.shape[0] < self.tol:
                self.converged_ = True
                break
        resp, self.objective_ = soft_assign(ops, Xb, centers, float(self.stiffness))
        self.objective_history_ = np.asarray(history)
        self.n_iter_ = len(history)
        self.cluster_centers_ = ops.to_numpy(centers)
        self.labels_ = ops.to_numpy(ops.argmax(resp, 1))
        self._warn_if_not_converged()
        return self

    def score(self, X, y=None):
        """Opposite of the smoothed objective ``L_M`` of ``X`` on the fitted centres (higher is
        better, as scikit-learn's scores; tends to ``KMeans.score`` as M → ∞)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        ops = check_backend_params(self)
        _, objective = soft_assign(
            ops, ops.asarray(X), ops.asarray(self.cluster_centers_), float(self.stiffness)
        )
        return -objective
