"""The discrete optimal-transport linear programme exactly as post 5 builds it, and its dual.

Post 5 (从Wasserstein距离、对偶理论到WGAN) discretises a coupling gamma(x, y) on n x m points,
vectorises it row-major into Gamma (length n*m), stacks the cost likewise into C, and writes

    primal:  min { <Gamma, C> : A Gamma = b, Gamma >= 0 }
    dual:    max { b^T F : A^T F <= C }

with A the (n + m) x (n*m) 0/1 marginal matrix (row i sums Gamma over y giving p(x_i), row
n + j sums over x giving q(y_j)) and b = (p, q). Both are solved separately with HiGHS
(``scipy.optimize.linprog(method="highs")``); F = (f, g) splits into the two potentials of
the continuous dual, f(x_i) + g(y_j) <= c(x_i, y_j).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.optimize
import scipy.sparse

#: Relative tolerance on |sum p - sum q| and on sum p = 1.
MASS_TOL = 1e-9


@dataclasses.dataclass(frozen=True)
class LPSolution:
    """One solved LP: its optimal value, the primal plan or the dual potentials, HiGHS's status."""

    value: float
    x: np.ndarray  # Gamma as an (n, m) plan, or F = (f, g) of length n + m
    status: int
    message: str


def check_problem(
    p, q, cost, *, normalized: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate two mass vectors and a cost matrix; return them as float64 arrays.

    Raises ``ValueError`` for an empty support, mismatched shapes, negative or non-finite
    masses, a non-finite cost, and (with ``normalized``) masses that do not each sum to one.
    Unequal totals with ``normalized=False`` are allowed: that is the Farkas case, where the
    primal is infeasible and :mod:`pipeline.transport.farkas` returns the certificate.
    """
    p, q, cost = (np.asarray(v, dtype=np.float64) for v in (p, q, cost))
    if p.ndim != 1 or q.ndim != 1:
        raise ValueError(f"masses p, q must be 1-D vectors; got shapes {p.shape} and {q.shape}")
    if p.size == 0 or q.size == 0:
        raise ValueError(f"empty support: p has {p.size} points, q has {q.size}")
    if cost.shape != (p.size, q.size):
        raise ValueError(
            f"cost matrix has shape {cost.shape}; expected (len(p), len(q)) = {(p.size, q.size)}"
        )
    for name, v in (("p", p), ("q", q)):
        if not np.isfinite(v).all():
            raise ValueError(f"masses {name} contain NaN or Inf")
        if (v < 0).any():
            raise ValueError(f"masses {name} must be >= 0; smallest is {v.min()}")
        if normalized and abs(v.sum() - 1.0) > MASS_TOL * v.size:
            raise ValueError(f"masses {name} sum to {v.sum()!r}; expected 1")
    if not np.isfinite(cost).all():
        raise ValueError(f"cost matrix has {int((~np.isfinite(cost)).sum())} NaN/Inf entries")
    return p, q, cost


def marginal_matrix(n: int, m: int, dense: bool = False):
    """The post's A: (n + m) x (n*m) with A[i, i*m + j] = 1 and A[n + j, i*m + j] = 1.

    Row-major vectorisation, Gamma[i, j] -> Gamma[i*m + j]: the first n rows sum each row of
    the plan (the x-marginal p), the last m rows each column (the y-marginal q).
    """
    rows = scipy.sparse.vstack(
        [
            scipy.sparse.kron(scipy.sparse.identity(n), np.ones((1, m))),
            scipy.sparse.kron(np.ones((1, n)), scipy.sparse.identity(m)),
        ]
    ).tocsr()
    return rows.toarray() if dense else rows


def _solved(res, what: str) -> None:
    if res.status != 0:
        raise RuntimeError(f"{what}: HiGHS status {res.status} ({res.message})")


def primal(p, q, cost, dense: bool = False) -> LPSolution:
    """min <Gamma, C> s.t. A Gamma = (p, q), Gamma >= 0; ``dense`` passes A as a dense array."""
    p, q, cost = check_problem(p, q, cost)
    a = marginal_matrix(p.size, q.size, dense=dense)
    res = scipy.optimize.linprog(
        cost.ravel(), A_eq=a, b_eq=np.concatenate([p, q]), bounds=(0, None), method="highs"
    )
    _solved(res, "primal OT LP")
    return LPSolution(float(res.fun), res.x.reshape(p.size, q.size), res.status, res.message)


def dual(p, q, cost, dense: bool = False) -> LPSolution:
    """max b^T F s.t. A^T F <= C with F free: the potentials (f, g), f_i + g_j <= C_ij."""
    p, q, cost = check_problem(p, q, cost)
    a = marginal_matrix(p.size, q.size, dense=dense)
    b = np.concatenate([p, q])
    res = scipy.optimize.linprog(
        -b, A_ub=a.T, b_ub=cost.ravel(), bounds=(None, None), method="highs"
    )
    _solved(res, "dual OT LP")
    return LPSolution(float(-res.fun), res.x, res.status, res.message)


def restricted_dual(p, q, cost) -> LPSolution:
    """The g = -f restriction on a common support: max sum_i (p_i - q_i) f_i s.t. f_i - f_j <= C_ij.

    ``p`` and ``q`` live on the same n points (C is n x n). For a metric cost this equals the
    full dual (Kantorovich-Rubinstein); for a non-metric cost such as |x - y|^2 it can be
    strictly smaller (post 5's caveat).
    """
    p, q, cost = check_problem(p, q, cost)
    n = p.size
    if q.size != n:
        raise ValueError(
            f"the g = -f restriction needs a common support; got {n} and {q.size} points"
        )
    a = marginal_matrix(n, n)
    # the dual's constraint rows f_i + g_j with g = -f: column j of the g-block is subtracted.
    a_ub = (a[:n].T - a[n:].T).tocsr()
    res = scipy.optimize.linprog(
        -(p - q), A_ub=a_ub, b_ub=cost.ravel(), bounds=(None, None), method="highs"
    )
    _solved(res, "restricted dual LP")
    return LPSolution(float(-res.fun), res.x, res.status, res.message)


def project_feasible(f: np.ndarray, g: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Make (f, g) dual-feasible by lowering g only where needed: g_j <- min(g_j, min_i C_ij - f_i).

    The smallest change of g that satisfies every constraint f_i + g_j <= C_ij (each g_j is
    clipped to its own bound), so the result is the nearest feasible point with f held fixed.
    """
    bound = (np.asarray(cost) - np.asarray(f)[:, None]).min(axis=0)
    return np.concatenate([f, np.minimum(g, bound)])


def lipschitz_constant(f: np.ndarray, points: np.ndarray, rho: float = 1.0) -> float:
    """max_{i != j} |f_i - f_j| / |z_i - z_j|^rho on the support points (N, d)."""
    points = np.asarray(points, dtype=np.float64).reshape(len(f), -1)
    dist = np.linalg.norm(points[:, None] - points[None], axis=-1) ** rho
    diff = np.abs(np.asarray(f)[:, None] - np.asarray(f)[None])
    off = ~np.eye(len(f), dtype=bool) & (dist > 0)
    return float((diff[off] / dist[off]).max())
