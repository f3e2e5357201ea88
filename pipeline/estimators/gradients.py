"""Single-sample gradient estimators of ``d/d theta E_{p_theta}[f]`` (posts.md §2.1).

Continuous: ``z ~ N(mu, sigma^2)``, gradient in ``mu``:

- score function (SF, REINFORCE): ``f(z) (z - mu) / sigma^2``;
- SF with a constant baseline ``b``: ``(f(z) - b) (z - mu) / sigma^2`` (unbiased for any b; the
  variance-optimal one is ``E[f s^2] / E[s^2]``, ``s`` the score);
- reparameterisation: ``f'(mu + sigma eps)``, ``eps ~ N(0, 1)``.

Discrete: ``y ~ Categorical(softmax(theta))`` as a one-hot in R^k, gradient in the logits theta:

- exact by enumeration: ``p * (F - p.F)`` with ``F_i = f(e_i)``;
- SF: ``f(y) (y - p)``; SF with baseline ``(f(y) - b)(y - p)``;
- Gumbel-softmax: the gradient of ``f(y~)``, ``y~ = softmax((theta + g)/tau)``:
  ``(1/tau) y~ * (grad f(y~) - y~ . grad f(y~))`` (biased: it differentiates E[f(y~)], not E[f(y)]);
- straight-through Gumbel: forward the hard one-hot ``y``, backward through y~: the same Jacobian
  applied to ``grad f(y)``.

Every estimator returns one gradient per sample (rows), so that means, biases and variances are
taken the same way for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.estimators.gumbel import check_tau, gumbel_noise, gumbel_softmax, one_hot


# ------------------------------------------------------------------ continuous (Gaussian) case
@dataclass(frozen=True)
class ScalarFunction:
    """``f`` and its derivative, vectorised, plus the exact ``d/d mu E[f(z)]`` for z ~ N(mu, s^2)."""

    name: str
    f: callable
    df: callable
    exact_grad_mu: callable  # (mu, sigma) -> float


def square(shift: float = 0.0) -> ScalarFunction:
    """``f(z) = (z - shift)^2``: ``d/d mu E f = 2 (mu - shift)``."""
    return ScalarFunction(
        f"(z-{shift:g})^2" if shift else "z^2",
        lambda z: (z - shift) ** 2,
        lambda z: 2.0 * (z - shift),
        lambda mu, sigma: 2.0 * (mu - shift),
    )


def sine(omega: float) -> ScalarFunction:
    """``f(z) = sin(omega z)``: ``d/d mu E f = omega cos(omega mu) exp(-omega^2 sigma^2 / 2)``."""
    return ScalarFunction(
        f"sin({omega:g}z)",
        lambda z: np.sin(omega * z),
        lambda z: omega * np.cos(omega * z),
        lambda mu, sigma: omega * np.cos(omega * mu) * np.exp(-0.5 * (omega * sigma) ** 2),
    )


def gaussian_gradients(
    fn: ScalarFunction, mu: float, sigma: float, n: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Per-sample gradient estimates in ``mu`` of the three estimators, each shape (n,).

    The SF baseline is the variance-optimal constant ``E[f s^2] / E[s^2]`` estimated from an
    independent pilot sample of the same size, so the estimator stays unbiased.
    """
    if sigma <= 0:
        raise ValueError(f"estimators.continuous.sigma: {sigma} must be > 0")
    eps, pilot = rng.standard_normal(n), rng.standard_normal(n)
    z = mu + sigma * eps
    score = eps / sigma  # (z - mu) / sigma^2
    pilot_score = pilot / sigma
    baseline = np.mean(fn.f(mu + sigma * pilot) * pilot_score**2) / np.mean(pilot_score**2)
    fz = fn.f(z)
    return {
        "score_function": fz * score,
        "score_function_baseline": (fz - baseline) * score,
        "reparameterization": fn.df(z),
    }


# ------------------------------------------------------------------ discrete (categorical) case
@dataclass(frozen=True)
class VectorFunction:
    """``f`` on R^k (rows) and its gradient; defined off the simplex's corners so relaxations apply."""

    name: str
    f: callable  # (n, k) -> (n,)
    grad: callable  # (n, k) -> (n, k)


def squared_distance(target: np.ndarray) -> VectorFunction:
    """``f(y) = ||y - t||^2`` (posts.md E2.4)."""
    return VectorFunction("squared_distance",
                          lambda y: ((y - target) ** 2).sum(-1),
                          lambda y: 2.0 * (y - target))  # fmt: skip


def linear_quadratic(a: np.ndarray, b: np.ndarray) -> VectorFunction:
    """``f(y) = a.y + y^T B y`` with B symmetric (a random one in E2.4)."""
    b = 0.5 * (b + b.T)
    return VectorFunction("linear_quadratic",
                          lambda y: y @ a + np.einsum("ni,ij,nj->n", y, b, y),
                          lambda y: a + 2.0 * y @ b)  # fmt: skip


def softmax(theta: np.ndarray) -> np.ndarray:
    e = np.exp(theta - theta.max())
    return e / e.sum()


def exact_categorical_gradient(fn: VectorFunction, theta: np.ndarray) -> np.ndarray:
    """``d/d theta sum_i p_i f(e_i)`` by enumeration of the k outcomes."""
    p = softmax(theta)
    values = fn.f(np.eye(len(theta)))
    return p * (values - p @ values)


def optimal_baseline(fn: VectorFunction, theta: np.ndarray) -> float:
    """The constant ``b`` minimising the total SF variance, ``E[f ||s||^2] / E[||s||^2]``, exactly."""
    p, eye = softmax(theta), np.eye(len(theta))
    s2 = ((eye - p) ** 2).sum(-1)  # ||e_i - p||^2
    return float((p * fn.f(eye) * s2).sum() / (p * s2).sum())


def relaxed_jacobian_product(soft: np.ndarray, upstream: np.ndarray, tau: float) -> np.ndarray:
    """``(d y~ / d theta)^T upstream`` for ``y~ = softmax((theta + g)/tau)``, rows."""
    return soft * (upstream - (soft * upstream).sum(-1, keepdims=True)) / tau


def categorical_gradients(
    fn: VectorFunction, theta: np.ndarray, n: int, taus, st_tau: float, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Per-sample gradient estimates in ``theta`` (each (n, k)) of every discrete estimator.

    All estimators share the same Gumbel draws, so ``y`` (the Gumbel-max sample) is exact.
    """
    k = len(theta)
    p = softmax(theta)
    noise = gumbel_noise(rng, (n, k))
    hard = one_hot(np.argmax(theta + noise, axis=1), k)
    fy = fn.f(hard)[:, None]
    out = {
        "score_function": fy * (hard - p),
        "score_function_baseline": (fy - optimal_baseline(fn, theta)) * (hard - p),
    }
    for tau in taus:
        soft = gumbel_softmax(theta, check_tau(tau, "estimators.discrete.taus"), noise)
        out[f"gumbel_softmax_tau{tau:g}"] = relaxed_jacobian_product(soft, fn.grad(soft), tau)
    soft = gumbel_softmax(theta, check_tau(st_tau, "estimators.discrete.st_tau"), noise)
    out[f"straight_through_tau{st_tau:g}"] = relaxed_jacobian_product(soft, fn.grad(hard), st_tau)
    return out


def bias_variance(samples: np.ndarray, exact: np.ndarray | float) -> dict[str, float]:
    """Bias and variance of a single-sample estimator from its per-sample estimates.

    ``samples`` (n,) or (n, k). ``bias`` = ||mean - exact||; ``bias_z`` = the largest
    |mean_j - exact_j| in Monte Carlo standard errors (about 4 or less for an unbiased estimator);
    ``variance`` = the trace of the per-sample covariance.
    """
    x = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)
    exact = np.asarray(exact, dtype=np.float64).reshape(-1)
    mean, var = x.mean(0), x.var(0, ddof=1)
    se = np.sqrt(var / len(x))
    gap = mean - exact
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, np.abs(gap) / se, np.where(gap == 0, 0.0, np.inf))
    scale = float(exact @ exact)
    return {
        "bias": float(np.sqrt(gap @ gap)),
        "bias_z": float(z.max()),
        "variance": float(var.sum()),
        "relative_bias": float(np.sqrt(gap @ gap / scale)) if scale > 0 else float("nan"),
        "relative_variance": float(var.sum() / scale) if scale > 0 else float("nan"),
    }
