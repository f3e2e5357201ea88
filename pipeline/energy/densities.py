"""Known densities q ∝ exp(−U) for checking Langevin samplers (E3.1) and the likelihood gradient
(E3.2), with exact references: samplers, CDFs of a 1-D statistic for the KS test, moments by
quadrature, and the exact stationary law of the *discrete* post-rule chain (its O(ε) bias).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import scipy.integrate
import scipy.stats
import torch


@dataclasses.dataclass(frozen=True)
class Quartic:
    """U(x) = θ₁x² + θ₂x⁴ on the real line (θ₂ > 0): x²/2 is (½, 0), the double well (x²−1)² is
    (−2, 1) up to the constant. Moments and CDF by quadrature on a fine grid."""

    theta1: float
    theta2: float
    dim: int = 1

    def __post_init__(self):
        if not (self.theta2 > 0 or (self.theta2 == 0 and self.theta1 > 0)):
            raise ValueError(f"U = {self.theta1} x^2 + {self.theta2} x^4 is not normalisable")

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, 0]
        return self.theta1 * x**2 + self.theta2 * x**4

    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        x = np.linspace(-8.0, 8.0, 64_001)
        u = self.theta1 * x**2 + self.theta2 * x**4
        w = np.exp(-(u - u.min()))
        return x, w / scipy.integrate.trapezoid(w, x)

    def moment(self, k: int) -> float:
        """E_q[x^k] (even k) by adaptive quadrature."""
        u0 = min(0.0, -(self.theta1**2) / (4 * self.theta2)) if self.theta2 > 0 else 0.0
        f = lambda x, p: x**p * math.exp(-(self.theta1 * x * x + self.theta2 * x**4 - u0))  # noqa: E731
        z = scipy.integrate.quad(f, -np.inf, np.inf, args=(0,), epsabs=0, epsrel=1e-12)[0]
        return scipy.integrate.quad(f, -np.inf, np.inf, args=(k,), epsabs=0, epsrel=1e-12)[0] / z

    def statistic(self, x: np.ndarray) -> np.ndarray:
        """The bias statistic: x² (its mean is the variance)."""
        return x[:, 0] ** 2

    def exact_statistic(self) -> float:
        return self.moment(2)

    def projection(self, x: np.ndarray) -> np.ndarray:
        return x[:, 0]

    def cdf(self, t: np.ndarray) -> np.ndarray:
        x, p = self._grid()
        c = scipy.integrate.cumulative_trapezoid(p, x, initial=0.0)
        return np.interp(t, x, c / c[-1])

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Exact draws by inverting the CDF on the quadrature grid."""
        x, p = self._grid()
        c = scipy.integrate.cumulative_trapezoid(p, x, initial=0.0)
        return np.interp(rng.random(n), c / c[-1], x)[:, None]

    def grad(self, x):
        """∇U for arrays or tensors of shape (n,) or (n, 1)."""
        return 2 * self.theta1 * x + 4 * self.theta2 * x**3


@dataclasses.dataclass(frozen=True)
class Mixture2D:
    """An unequally weighted mixture of isotropic 2-D Gaussians; the KS test uses the projection
    on a fixed direction (a 1-D Gaussian mixture with an exact CDF)."""

    weights: tuple[float, ...] = (0.4, 0.3, 0.2, 0.1)
    means: tuple[tuple[float, float], ...] = ((1.5, 0.0), (0.0, 1.5), (-1.5, 0.0), (0.0, -1.5))
    sigma: float = 0.5
    direction: float = 0.3  # angle of the projection used by the KS test
    dim: int = 2

    def _arrays(self):
        w = torch.tensor(self.weights, dtype=torch.float64)
        return w / w.sum(), torch.tensor(self.means, dtype=torch.float64)

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        w, mu = self._arrays()
        d2 = ((x[:, None, :] - mu.to(x)[None]) ** 2).sum(-1)
        return -torch.logsumexp(torch.log(w.to(x)) - d2 / (2 * self.sigma**2), dim=1)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        """∇U(x) = Σ_k r_k(x) (x − μ_k) / σ², r the component responsibilities."""
        w, mu = self._arrays()
        diff = x[:, None, :] - mu.to(x)[None]
        r = torch.softmax(torch.log(w.to(x)) - (diff**2).sum(-1) / (2 * self.sigma**2), dim=1)
        return (r[:, :, None] * diff).sum(1) / self.sigma**2

    def statistic(self, x: np.ndarray) -> np.ndarray:
        return (x**2).sum(1)

    def exact_statistic(self) -> float:
        w, mu = (a.numpy() for a in self._arrays())
        return float(w @ (mu**2).sum(1) + 2 * self.sigma**2)

    def projection(self, x: np.ndarray) -> np.ndarray:
        return x @ np.array([math.cos(self.direction), math.sin(self.direction)])

    def cdf(self, t: np.ndarray) -> np.ndarray:
        w, mu = (a.numpy() for a in self._arrays())
        m = mu @ np.array([math.cos(self.direction), math.sin(self.direction)])
        return sum(
            wk * scipy.stats.norm.cdf(t, mk, self.sigma) for wk, mk in zip(w, m, strict=True)
        )

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        w, mu = (a.numpy() for a in self._arrays())
        k = rng.choice(len(w), size=n, p=w)
        return mu[k] + self.sigma * rng.standard_normal((n, 2))


def known_density(name: str):
    """The three densities of E3.1 by name."""
    if name == "gaussian":
        return Quartic(0.5, 0.0)
    if name == "double_well":
        return Quartic(-2.0, 1.0)  # (x² − 1)² = x⁴ − 2x² + 1
    if name == "mixture2d":
        return Mixture2D()
    raise ValueError(
        f"energy.langevin_densities.densities: {name!r} is not one of "
        "['gaussian', 'double_well', 'mixture2d']"
    )


DENSITIES = ("gaussian", "double_well", "mixture2d")


@functools.lru_cache(maxsize=64)
def chain_stationary_statistic(density: Quartic, eps: float, tail: float = 40.0) -> float:
    """E[x²] under the exact stationary law of the discrete post-rule chain
    x' ~ N(x − ½ε U'(x), ε) on the line, from its transition matrix on a fine grid (the Gaussian
    kernel is resolved by ≥ 5 grid points per standard deviation, so the trapezoid rule is
    spectrally accurate; the grid ends where U has risen by ``tail`` above its minimum). Minus
    ``density.exact_statistic()`` this is the chain's O(ε) bias."""
    scan = np.linspace(0.0, 20.0, 20_001)
    u = density.theta1 * scan**2 + density.theta2 * scan**4
    half_width = scan[np.argmax(u - u.min() >= tail)]
    h = min(math.sqrt(eps) / 5.0, 0.02)
    x = np.arange(-half_width, half_width + h / 2, h)
    drift = x - 0.5 * eps * density.grad(x)
    logk = -((x[None, :] - drift[:, None]) ** 2) / (2 * eps)
    p = np.exp(logk - logk.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    a = p.T - np.eye(len(x))
    a[-1] = 1.0
    b = np.zeros(len(x))
    b[-1] = 1.0
    pi = np.linalg.solve(a, b)
    return float(pi @ x**2 / pi.sum())
