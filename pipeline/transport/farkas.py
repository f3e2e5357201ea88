"""Farkas' lemma for the OT constraints, with a checked certificate for either alternative.

Post 5: exactly one of (1) some x >= 0 with A x = b, or (2) some y with A^T y <= 0 and b^T y > 0
holds. For the marginal matrix A of :mod:`pipeline.transport.lp` and b = (p, q), (1) is a
transport plan; when the totals differ (sum p != sum q) no plan exists and (2) holds, e.g.
y = (1, ..., 1, -1, ..., -1) up to sign. Both searches are LPs: a phase-one feasibility
problem for (1), and max b^T y s.t. A^T y <= 0, b^T y <= 1 for (2) (the cap makes it bounded;
its optimum is 0 exactly when no certificate exists).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.optimize

from pipeline.transport.lp import check_problem, marginal_matrix

#: Tolerances relative to the scale of b (never rely on an exact zero from a solver).
FEAS_TOL = 1e-9


@dataclasses.dataclass(frozen=True)
class FarkasResult:
    """Which alternative holds, its witness, and the residuals of both checks."""

    feasible: bool  # alternative (1): a plan x >= 0 with A x = b exists
    plan: np.ndarray | None  # x as an (n, m) plan, when feasible
    certificate: np.ndarray | None  # y with A^T y <= 0, b^T y > 0, when infeasible
    plan_residual: float  # max |A x - b| (NaN when no plan)
    certificate_violation: float  # max(A^T y)+ (NaN when no certificate)
    certificate_value: float  # b^T y, the best over the capped set (0 when none exists)

    @property
    def exactly_one(self) -> bool:
        """True when exactly one alternative was found and its witness checks out."""
        return bool(self.feasible) != bool(self.certificate_value > FEAS_TOL)


def farkas(p, q) -> FarkasResult:
    """Decide the transport constraints for masses ``p`` (n,) and ``q`` (m,) of any totals.

    Masses must be non-negative and finite (:func:`pipeline.transport.lp.check_problem`); they
    need not sum to one, nor to the same total: unequal totals give the certificate (2).
    """
    p, q, _ = check_problem(p, q, np.zeros((np.size(p), np.size(q))), normalized=False)
    n, m = p.size, q.size
    a = marginal_matrix(n, m)
    b = np.concatenate([p, q])
    scale = max(float(np.abs(b).max()), 1e-300)

    phase1 = scipy.optimize.linprog(
        np.zeros(n * m), A_eq=a, b_eq=b, bounds=(0, None), method="highs"
    )
    plan, residual = None, float("nan")
    if phase1.status == 0:
        residual = float(np.abs(a @ phase1.x - b).max())
        plan = phase1.x.reshape(n, m)
    feasible = (
        plan is not None and residual <= FEAS_TOL * scale and phase1.x.min() >= -FEAS_TOL * scale
    )

    # (2): max b^T y subject to A^T y <= 0 and b^T y <= 1 (a bounded LP; its optimum is 0 or 1).
    a_ub = scipy.sparse.vstack([a.T, scipy.sparse.csr_matrix(b[None])]).tocsr()
    b_ub = np.concatenate([np.zeros(n * m), [1.0]])
    alt = scipy.optimize.linprog(-b, A_ub=a_ub, b_ub=b_ub, bounds=(None, None), method="highs")
    if alt.status != 0:
        raise RuntimeError(f"Farkas alternative LP: HiGHS status {alt.status} ({alt.message})")
    y = alt.x
    value = float(b @ y)
    violation = float(max((a.T @ y).max(), 0.0))
    certificate = (
        y if value > FEAS_TOL and violation <= FEAS_TOL * max(1.0, np.abs(y).max()) else None
    )
    return FarkasResult(
        bool(feasible),
        plan if feasible else None,
        certificate,
        residual,
        violation if certificate is not None else float("nan"),
        value,
    )
