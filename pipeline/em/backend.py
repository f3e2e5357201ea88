"""Array backends: one EM kernel runs on numpy or on torch (CPU or CUDA).

The estimators validate input with scikit-learn (numpy), move it to the backend once, run the
kernels through the small namespace below, and store fitted attributes as numpy arrays, so a
fitted estimator looks the same whichever backend produced it.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import numba
import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.special
from threadpoolctl import ThreadpoolController

BACKENDS = ("numpy", "torch")


def resolve_device(device: str) -> str:
    """``auto`` is CUDA when torch sees a GPU, else CPU; anything else is passed through."""
    if device != "auto":
        return device
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def n_threads_default() -> int:
    """Worker threads: the BLAS thread limit in force (``threadpoolctl``), at most the CPUs."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    info = _controller().select(user_api="blas").info()
    blas = max((lib["num_threads"] for lib in info), default=cpus)
    return max(1, min(cpus, blas, numba.config.NUMBA_NUM_THREADS))


_CONTROLLER: list = []


def _controller() -> ThreadpoolController:
    """One ``ThreadpoolController`` per process (building one scans the loaded libraries)."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


@contextmanager
def compiled_threads(n_threads: int, dynamic: bool = True):
    """numba on ``n_threads`` threads, BLAS held to one thread inside them; both restored after.

    The compiled kernels (K-means' Lloyd, pLSA's EM sweep) call BLAS from the numba threads, as
    sklearn's OpenMP loops do. ``dynamic``: a prange's iterations go out one at a time (for a few
    coarse blocks; never for a kernel with array expressions, which would go element by element).
    """
    before = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        with _controller().limit(limits=1, user_api="blas"):
            with numba.parallel_chunksize(1 if dynamic else 0):
                yield
    finally:
        numba.set_num_threads(before)


def get_ops(backend: str, device: str = "auto", dtype: str = "float64"):
    """The array namespace for ``backend`` ("numpy" or "torch") on ``device``."""
    if backend == "numpy":
        if device not in ("auto", "cpu"):
            raise ValueError(f"device={device!r}: the numpy backend runs on the CPU only")
        return NumpyOps(dtype)
    if backend == "torch":
        return TorchOps(resolve_device(device), dtype)
    raise ValueError(f"backend={backend!r}: expected one of {BACKENDS}")


class NumpyOps:
    name = "numpy"
    device = "cpu"

    def __init__(self, dtype: str = "float64"):
        self.dtype = np.dtype(dtype)

    def asarray(self, x):
        return np.asarray(x, dtype=self.dtype)

    def asindex(self, x):
        return np.asarray(x, dtype=np.int64)

    def to_numpy(self, x):
        return np.asarray(x)

    def zeros(self, shape):
        return np.zeros(shape, dtype=self.dtype)

    def eye(self, n):
        return np.eye(n, dtype=self.dtype)

    @staticmethod
    def empty_index(n):
        return np.empty(n, dtype=np.int64)

    @staticmethod
    def array_equal(a, b):
        return bool(np.array_equal(a, b))

    exp, log, sqrt, einsum = np.exp, np.log, np.sqrt, staticmethod(np.einsum)

    @staticmethod
    def logsumexp(a, axis):
        return scipy.special.logsumexp(a, axis=axis)

    @staticmethod
    def amin(a, axis):
        return np.min(a, axis=axis)

    @staticmethod
    def argmin(a, axis):
        return np.argmin(a, axis=axis)

    @staticmethod
    def argmax(a, axis):
        return np.argmax(a, axis=axis)

    @staticmethod
    def cholesky(a):
        try:
            return np.linalg.cholesky(a)
        except np.linalg.LinAlgError as exc:
            raise FloatingPointError(str(exc)) from exc

    @staticmethod
    def solve_lower(lower, rhs):
        return scipy.linalg.solve_triangular(lower, rhs, lower=True)

    @staticmethod
    def addmm(row, a, b):
        """``row + a @ b`` (row broadcast over the rows), the product's buffer reused."""
        out = a @ b
        out += row
        return out

    def bincount(self, index, weights, minlength):
        return np.bincount(index, weights=weights, minlength=minlength).astype(self.dtype)

    def group_sum(self, index, values, n_groups, weights=None):
        """Row sums of ``values`` grouped by ``index`` (a sparse one-hot product, O(N))."""
        n = len(index)
        w = np.ones(n, dtype=self.dtype) if weights is None else weights
        # CSC with one entry per column: built without sorting, applied in O(N·D).
        onehot = scipy.sparse.csc_matrix((w, index, np.arange(n + 1)), shape=(n_groups, n))
        return np.asarray(onehot @ values)

    @staticmethod
    def isfinite_all(a):
        return bool(np.all(np.isfinite(a)))

    @staticmethod
    def sort_desc(a):
        return -np.sort(-a, axis=1)

    @staticmethod
    def cumsum(a, axis):
        return np.cumsum(a, axis=axis)

    @staticmethod
    def maximum(a, value):
        return np.maximum(a, value)


class TorchOps:
    name = "torch"

    def __init__(self, device: str = "cpu", dtype: str = "float64"):
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.dtype = getattr(torch, str(np.dtype(dtype)))
        self.exp, self.log, self.sqrt, self.einsum = torch.exp, torch.log, torch.sqrt, torch.einsum

    def asarray(self, x):
        if isinstance(x, self.torch.Tensor):
            return x.to(self.device, self.dtype)
        return self.torch.as_tensor(np.asarray(x), dtype=self.dtype, device=self.device)

    def asindex(self, x):
        if isinstance(x, self.torch.Tensor):
            return x.to(self.device, self.torch.int64)
        return self.torch.as_tensor(np.asarray(x), dtype=self.torch.int64, device=self.device)

    def to_numpy(self, x):
        return x.detach().cpu().numpy() if isinstance(x, self.torch.Tensor) else np.asarray(x)

    def zeros(self, shape):
        return self.torch.zeros(shape, dtype=self.dtype, device=self.device)

    def eye(self, n):
        return self.torch.eye(n, dtype=self.dtype, device=self.device)

    def empty_index(self, n):
        return self.torch.empty(n, dtype=self.torch.int64, device=self.device)

    def array_equal(self, a, b):
        return bool(self.torch.equal(a, b))

    def logsumexp(self, a, axis):
        return self.torch.logsumexp(a, dim=axis)

    def amin(self, a, axis):
        return self.torch.amin(a, dim=axis)

    def argmin(self, a, axis):
        return self.torch.argmin(a, dim=axis)

    def argmax(self, a, axis):
        return self.torch.argmax(a, dim=axis)

    def cholesky(self, a):
        lower, info = self.torch.linalg.cholesky_ex(a)
        if bool((info != 0).any()):
            raise FloatingPointError("matrix is not positive definite")
        return lower

    def solve_lower(self, lower, rhs):
        return self.torch.linalg.solve_triangular(lower, rhs, upper=False)

    def addmm(self, row, a, b):
        """``row + a @ b`` in one BLAS call (beta = 1): no product temporary."""
        return self.torch.addmm(row, a, b)

    def bincount(self, index, weights, minlength):
        return self.torch.bincount(index, weights=weights, minlength=minlength).to(self.dtype)

    def group_sum(self, index, values, n_groups, weights=None):
        out = self.torch.zeros(
            (n_groups, values.shape[1]), dtype=values.dtype, device=values.device
        )
        src = values if weights is None else values * weights[:, None]
        return out.index_add_(0, index, src)

    def isfinite_all(self, a):
        return bool(self.torch.isfinite(a).all())

    def sort_desc(self, a):
        return self.torch.sort(a, dim=1, descending=True).values

    def cumsum(self, a, axis):
        return self.torch.cumsum(a, dim=axis)

    def maximum(self, a, value):
        return self.torch.clamp(a, min=value)


def check_backend_params(estimator) -> NumpyOps | TorchOps:
    """Validate ``backend``/``device``/``dtype`` of an estimator and return its namespace."""
    if estimator.dtype not in ("float64", "float32"):
        raise ValueError(f"dtype={estimator.dtype!r}: expected 'float64' or 'float32'")
    return get_ops(estimator.backend, estimator.device, estimator.dtype)


def check_positive_int(value, name: str, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name}={value!r}: expected an integer >= {minimum}")
