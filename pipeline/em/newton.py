"""Newton's method against gradient descent (posts.md §8.1): two quadratic surrogates.

Newton minimises the osculating parabola f(x_n) + f'(x_n)(x − x_n) + ½f''(x_n)(x − x_n)²: second
order, quadratic convergence near a minimum, but it goes to a *maximum* when f'' < 0. Gradient
descent replaces f'' by a fixed 1/h: the surrogate is always convex, so a small h always descends.

Test functions are written once with arithmetic only, so the same code evaluates numpy arrays and
torch tensors; the numpy backend uses the hand-derived derivatives below and the torch backend
takes them from autograd (the tests check the two agree).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOL_GRAD = 1e-10


def quartic(x):
    """f(x) = x⁴ − 3x² + x: two minima and one maximum (1-D, x of shape (1,))."""
    return x[0] ** 4 - 3 * x[0] ** 2 + x[0]


def rosenbrock(x):
    """f(x, y) = (1 − x)² + 100 (y − x²)², minimum at (1, 1)."""
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def ill_quadratic(x):
    """f(x, y) = ½ (x² + 100 y²): condition number 100, minimum at 0."""
    return 0.5 * (x[0] ** 2 + 100 * x[1] ** 2)


def log_cosh(x):
    """f(x) = log cosh x, written as |x| + log(1 + e^{−2|x|}) − log 2 (no overflow): one minimum at
    0, f'' = sech² x > 0 everywhere, yet Newton diverges from |x0| above ≈ 1.089 (its step
    tanh x / sech² x = sinh x cosh x overshoots)."""
    a = abs(x[0])
    return a + _log1p(_exp(-2 * a)) - np.log(2.0)


def _exp(t):
    return t.exp() if hasattr(t, "exp") else np.exp(t)


def _log1p(t):
    return t.log1p() if hasattr(t, "log1p") else np.log1p(t)


def _log_cosh_derivatives(x):
    t = np.tanh(x[0])
    return np.array([t]), np.array([[1 - t * t]])


def _quartic_derivatives(x):
    return np.array([4 * x[0] ** 3 - 6 * x[0] + 1]), np.array([[12 * x[0] ** 2 - 6]])


def _rosenbrock_derivatives(x):
    gx = -2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2)
    gy = 200 * (x[1] - x[0] ** 2)
    hxx = 2 - 400 * (x[1] - 3 * x[0] ** 2)
    return np.array([gx, gy]), np.array([[hxx, -400 * x[0]], [-400 * x[0], 200.0]])


def _quadratic_derivatives(x):
    return np.array([x[0], 100 * x[1]]), np.diag([1.0, 100.0])


@dataclass(frozen=True)
class TestFunction:
    name: str
    fun: object
    derivatives: object  # numpy: x -> (gradient, Hessian)
    minimum: tuple[float, ...]

    __test__ = False  # not a pytest class


# Critical points of the quartic: roots of f'(x) = 4x³ − 6x + 1 (minima at the ends, maximum between).
QUARTIC_CRITICAL = tuple(sorted(np.roots([4.0, 0.0, -6.0, 1.0]).real))

FUNCTIONS = {
    "quartic": TestFunction("quartic", quartic, _quartic_derivatives, (QUARTIC_CRITICAL[0],)),
    "rosenbrock": TestFunction("rosenbrock", rosenbrock, _rosenbrock_derivatives, (1.0, 1.0)),
    "ill_quadratic": TestFunction(
        "ill_quadratic", ill_quadratic, _quadratic_derivatives, (0.0, 0.0)
    ),
    "log_cosh": TestFunction("log_cosh", log_cosh, _log_cosh_derivatives, (0.0,)),
}


def derivatives(fn: TestFunction, x: np.ndarray, backend: str = "numpy"):
    """(f, gradient, Hessian) at ``x``: by hand (numpy) or by torch autograd."""
    if backend == "numpy":
        grad, hess = fn.derivatives(x)
        return float(fn.fun(x)), grad, hess
    if backend != "torch":
        raise ValueError(f"backend={backend!r}: expected 'numpy' or 'torch'")
    import torch

    xt = torch.as_tensor(x, dtype=torch.float64)
    grad = torch.func.grad(fn.fun)(xt)
    hess = torch.func.hessian(fn.fun)(xt)
    return float(fn.fun(xt)), grad.numpy(), hess.numpy()


def newton(fn: TestFunction, x0, max_iter: int = 100, backend: str = "numpy") -> np.ndarray:
    """Newton iterates x_{n+1} = x_n − H⁻¹∇f until ‖∇f‖ < 1e-10; rows (x..., f, ‖∇f‖)."""
    return _iterate(fn, x0, max_iter, backend, _newton_step)


def _newton_step(g, h):
    """H⁻¹∇f; a Hessian that is singular relative to its scale (|λ|_min ≤ d·eps·|λ|_max, e.g. log
    cosh's sech² underflowing to 0 far out) gives an infinite step, recorded as divergence, rather
    than whatever LAPACK does with it."""
    eig = np.abs(np.linalg.eigvalsh(0.5 * (h + h.T)))
    if not np.isfinite(eig).all() or eig.min() <= len(eig) * np.finfo(np.float64).eps * eig.max():
        return np.full_like(g, np.inf)
    return np.linalg.solve(h, g)


def gradient_descent(
    fn: TestFunction, x0, step: float, max_iter: int = 10_000, backend: str = "numpy"
) -> np.ndarray:
    """Gradient descent x_{n+1} = x_n − h∇f until ‖∇f‖ < 1e-10; rows (x..., f, ‖∇f‖)."""
    if not step > 0:
        raise ValueError(f"step={step!r}: expected a number > 0")
    return _iterate(fn, x0, max_iter, backend, lambda g, h: step * g)


def _iterate(fn, x0, max_iter, backend, direction) -> np.ndarray:
    x = np.atleast_1d(np.asarray(x0, dtype=np.float64))
    rows = []
    for _ in range(max_iter + 1):
        with np.errstate(
            over="ignore", invalid="ignore"
        ):  # a too-large step diverges: recorded, not raised
            f, g, h = derivatives(fn, x, backend)
            rows.append([*x, f, float(np.linalg.norm(g))])
        if rows[-1][-1] < TOL_GRAD or not np.isfinite(f):
            break
        x = x - direction(g, h)
    return np.asarray(rows)


def tangent_parabolas(fn: TestFunction, x_n: float, step: float, grid: np.ndarray):
    """Newton's and gradient descent's 1-D surrogates around ``x_n`` on ``grid`` (for the figure)."""
    f, g, h = derivatives(fn, np.array([x_n]))
    dx = grid - x_n
    return f + g[0] * dx + 0.5 * h[0, 0] * dx**2, f + g[0] * dx + dx**2 / (2 * step)
