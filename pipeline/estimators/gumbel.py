"""Gumbel-max, Gumbel-softmax and straight-through Gumbel (posts.md §2.1; Jang, Gu & Poole 2016).

Gumbel-max: ``argmax_i(log p_i - log(-log eps_i))`` with ``eps_i ~ U(0, 1)`` is an exact sample
of ``Categorical(p)``; the post's proof reduces ``P(argmax = i)`` to ``int_0^1 eps^{1/p_i - 1}
d eps = p_i``. Gumbel-softmax replaces the argmax by ``softmax((log p + g) / tau)``: a point of
the simplex, differentiable in ``log p``, whose argmax is still the Gumbel-max sample.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate

#: Relative tolerance on sum(p) = 1 (rounding of a float64 probability vector, never a fudge).
SUM_RTOL = 1e-9


def check_probabilities(p, key: str) -> np.ndarray:
    """``p`` as a float64 vector, or ``ValueError`` naming ``key`` if it is not a distribution."""
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or len(p) < 2:
        raise ValueError(
            f"{key}: expected a vector of at least 2 probabilities, got shape {p.shape}"
        )
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError(f"{key}: probabilities must be finite and >= 0, got min {p.min()!r}")
    if abs(p.sum() - 1.0) > SUM_RTOL * len(p):
        raise ValueError(f"{key}: probabilities must sum to 1, got {p.sum()!r}")
    return p


def check_tau(tau: float, key: str) -> float:
    if not np.isfinite(tau) or tau <= 0:
        raise ValueError(f"{key}: temperature {tau!r} must be > 0")
    return float(tau)


def check_count(n: int, key: str) -> int:
    if int(n) != n or n < 1:
        raise ValueError(f"{key}: sample count {n!r} must be an integer >= 1")
    return int(n)


def gumbel_noise(rng: np.random.Generator, shape) -> np.ndarray:
    """``-log(-log eps)``, ``eps ~ U(0, 1)``, as the post writes it (not ``rng.gumbel``)."""
    eps = rng.random(shape)
    # random() is in [0, 1): eps = 0 has probability 2^-53 per draw; map it to the smallest float
    return -np.log(-np.log(np.maximum(eps, np.finfo(np.float64).tiny)))


def gumbel_max(p, n: int, rng: np.random.Generator, chunk: int = 100_000) -> np.ndarray:
    """``n`` category indices drawn by Gumbel-max from the distribution ``p``; shape (n,)."""
    p = check_probabilities(p, "p")
    n = check_count(n, "n_samples")
    with np.errstate(divide="ignore"):  # p_i = 0: log p_i = -inf, never the argmax
        logp = np.log(p)
    out = np.empty(n, dtype=np.int64)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        out[start:stop] = np.argmax(logp + gumbel_noise(rng, (stop - start, len(p))), axis=1)
    return out


def gumbel_softmax(logits: np.ndarray, tau: float, noise: np.ndarray) -> np.ndarray:
    """``softmax((logits + noise) / tau)`` over the last axis; ``noise`` (..., k) Gumbel draws."""
    tau = check_tau(tau, "tau")
    z = (logits + noise) / tau
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def one_hot(index: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[index]


def max_probability_integral(p_i: float) -> tuple[float, float]:
    """``int_0^1 eps^{1/p_i - 1} d eps`` by adaptive quadrature (the post's step 3; equals p_i).

    Returns the integral and quad's error estimate.
    """
    if not 0.0 < p_i <= 1.0:
        raise ValueError(f"p_i: {p_i!r} must be in (0, 1]")
    # For small p_i the integrand is a spike of width ~p_i at eps = 1: split the interval there
    # (below 1 - 50 p_i the integrand is < e^-50), else quad samples past it and returns 0.
    cut = 1.0 - 50.0 * p_i
    pieces = [(0.0, cut), (cut, 1.0)] if cut > 0 else [(0.0, 1.0)]
    value = err = 0.0
    for lo, hi in pieces:
        v, e = integrate.quad(lambda x: x ** (1.0 / p_i - 1.0), lo, hi, limit=200)
        value, err = value + v, err + e
    return float(value), float(err)


def relaxed_mean_two_classes(p_1: float, tau: float) -> float:
    """``E[y~_1]`` for k = 2 by quadrature: ``y~_1 = sigmoid((log(p_1/p_2) + x) / tau)`` with
    ``x = g_1 - g_2`` standard logistic. Equals ``p_1`` only in the limit tau -> 0."""
    from scipy.special import expit

    tau = check_tau(tau, "tau")
    if not 0.0 < p_1 < 1.0:
        raise ValueError(f"p_1: {p_1!r} must be in (0, 1)")
    delta = np.log(p_1 / (1.0 - p_1))

    def integrand(x):
        return expit((delta + x) / tau) * expit(x) * expit(-x)  # logistic density

    # the step of the sigmoid sits at x = -delta: a breakpoint keeps small tau accurate
    return float(
        sum(
            integrate.quad(integrand, lo, hi, limit=400)[0]
            for lo, hi in ((-np.inf, -delta), (-delta, np.inf))
        )
    )


def reference_distributions(sizes, peak: float, ratio: float = 0.8) -> dict[str, np.ndarray]:
    """The E2.1 test vectors: for each k a flat (uniform) and a peaked distribution.

    The peaked one puts ``peak`` on category 0 and spreads the rest geometrically (``ratio``), so
    its smallest entries are far below 1/k: the regime where a biased sampler shows first.
    """
    if not 0.0 < peak < 1.0:
        raise ValueError(f"estimators.gumbel_max.peak: {peak} must be in (0, 1)")
    out = {}
    for k in sizes:
        if k < 2:
            raise ValueError(f"estimators.gumbel_max.sizes: {k} must be >= 2")
        out[f"flat_k{k}"] = np.full(k, 1.0 / k)
        tail = ratio ** np.arange(k - 1)
        out[f"peaked_k{k}"] = np.concatenate([[peak], (1.0 - peak) * tail / tail.sum()])
    return out
