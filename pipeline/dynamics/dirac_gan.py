"""The Dirac-GAN as an ODE (companion post 6583 of post 6575; Mescheder et al. 2018, arXiv:1801.04406).

The real distribution is a point mass at 0, the generator a point mass at ``theta`` in R^2, the
discriminator linear, ``D(x) = phi . x`` (so ``grad_x D = phi`` everywhere, and a gradient penalty
is a penalty on ``phi`` alone). With ``u = phi . theta`` and simultaneous gradient flow (critic
ascends its objective, generator descends its loss, one time scale):

=================  ==================================================  ======================
variant            d phi / dt                                          d theta / dt
=================  ==================================================  ======================
``ns_gan``         ``-sigmoid(u) theta``                               ``sigmoid(-u) phi``
``wgan``           ``-theta``                                          ``phi``
``gan_qp``         ``-theta (1 + u / (lambda |theta|))``               ``phi``
``wgan_gp0``       ``-theta - 2 w phi``                                ``phi``
``wgan_gp1``       ``-theta - 2 w (|phi| - 1) phi / |phi|``            ``phi``
=================  ==================================================  ======================

(non-saturating generator loss ``-log sigmoid(D(theta))``; GAN-QP's quadratic penalty
``(D(x_r) - D(x_f))^2 / (2 lambda |x_r - x_f|)``; WGAN-GP's ``w (|grad D| - c)^2`` with c = 0 or 1.)
The equilibrium is ``phi = theta = 0``. In two dimensions every variant also has circular orbits
with ``phi`` perpendicular to ``theta`` (``u = 0``), which is where the non-converging ones end.

The post integrates these with ``scipy.integrate.solve_ivp`` (``bojone/gan/gan_numeric.py``);
:func:`simulate` is the discrete-time check (simultaneous gradient steps of a small size).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
from scipy.integrate import solve_ivp
from scipy.special import expit

VARIANTS = ("ns_gan", "wgan", "gan_qp", "wgan_gp0", "wgan_gp1")

Field = Callable[[float, np.ndarray], np.ndarray]


class DivergenceError(ValueError):
    """A trajectory left the ball ``|state| <= max_norm`` (or became NaN): no figure is drawn."""


def vector_field(variant: str, gp_weight: float = 1.0, qp_lambda: float = 1.0) -> Field:
    """``f(t, state)`` for ``state = (phi_1, phi_2, theta_1, theta_2)`` (any even length)."""
    if variant not in VARIANTS:
        raise ValueError(f"dirac_gan.variants: {variant!r} is not one of {VARIANTS}")

    def field(_t: float, state: np.ndarray) -> np.ndarray:
        d = len(state) // 2
        phi, theta = state[:d], state[d:]
        u = float(phi @ theta)
        dtheta = phi
        if variant == "ns_gan":
            dphi, dtheta = -expit(u) * theta, expit(-u) * phi
        elif variant == "wgan":
            dphi = -theta
        elif variant == "gan_qp":
            norm = math.sqrt(float(theta @ theta))
            dphi = -theta * (1.0 + u / (qp_lambda * norm)) if norm > 0 else -theta
        elif variant == "wgan_gp0":
            dphi = -theta - 2.0 * gp_weight * phi
        else:  # wgan_gp1
            norm = math.sqrt(float(phi @ phi))
            dphi = -theta - (2.0 * gp_weight * (norm - 1.0) / norm) * phi if norm > 0 else -theta
        return np.concatenate([dphi, dtheta])

    return field


def _check_finite(states: np.ndarray, times: np.ndarray, max_norm: float, what: str) -> None:
    norms = np.linalg.norm(states, axis=1)
    bad = ~np.isfinite(norms) | (norms > max_norm)
    if bad.any():
        k = int(np.argmax(bad))
        raise DivergenceError(
            f"{what} diverged: |(phi, theta)| = {norms[k]:.3g} > max_norm {max_norm:g} at t = "
            f"{times[k]:.4g}; lower the step size or the penalty, or raise max_norm"
        )


def integrate(
    field: Field,
    state0: np.ndarray,
    t_end: float,
    n_eval: int,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    max_norm: float = 1e3,
    what: str = "ODE",
) -> tuple[np.ndarray, np.ndarray]:
    """Integrate with ``solve_ivp`` (RK45) on ``[0, t_end]``; returns ``(t (n,), states (n, 2d))``.

    Leaving the ball of radius ``max_norm`` stops the solver (a terminal event) and raises
    :class:`DivergenceError`, so a blown-up trajectory never reaches a table or a figure.
    """

    def escape(_t, y):
        return max_norm - float(np.linalg.norm(y)) if np.all(np.isfinite(y)) else -1.0

    escape.terminal = True
    times = np.linspace(0.0, t_end, n_eval)
    sol = solve_ivp(
        field,
        (0.0, t_end),
        np.asarray(state0, float),
        t_eval=times,
        rtol=rtol,
        atol=atol,
        events=escape,
    )
    if sol.status == 1 or (sol.t_events[0].size and sol.t_events[0][0] < t_end):
        t = float(sol.t_events[0][0])
        raise DivergenceError(
            f"{what} diverged: |(phi, theta)| reached max_norm {max_norm:g} at "
            f"t = {t:.4g}; lower the penalty weights or raise max_norm"
        )
    if sol.status != 0:
        raise DivergenceError(f"{what}: solve_ivp failed ({sol.message})")
    states = sol.y.T
    _check_finite(states, sol.t, max_norm, what)
    return sol.t, states


def simulate(
    field: Field,
    state0: np.ndarray,
    t_end: float,
    step_size: float,
    n_eval: int,
    max_norm: float = 1e3,
    what: str = "simulated gradient",
) -> tuple[np.ndarray, np.ndarray]:
    """Simultaneous gradient steps ``s <- s + h f(s)`` (explicit Euler, what training does) up to
    ``t_end``; returns the states at ``n_eval`` evenly spaced steps as ``(t, states)``."""
    n_steps = max(1, int(round(t_end / step_size)))
    keep = np.unique(np.linspace(0, n_steps, n_eval).round().astype(int))
    out = np.empty((len(keep), len(state0)))
    s, j = np.asarray(state0, float).copy(), 0
    for k in range(n_steps + 1):
        if k == keep[j]:
            out[j] = s
            j += 1
        if k == n_steps:
            break
        s = s + step_size * field(k * step_size, s)
        if not (math.isfinite(s[0]) and float(np.abs(s).max()) <= max_norm):
            raise DivergenceError(
                f"{what} diverged: |(phi, theta)| = {float(np.linalg.norm(s)):.3g} after {k + 1} "
                f"steps of size {step_size:g} (t = {(k + 1) * step_size:.4g}); lower the step size"
            )
    return keep * step_size, out


def ema_path(values: np.ndarray, decay: float) -> np.ndarray:
    """Bias-corrected EMA along axis 0 (the engine's rule, applied to a trajectory)."""
    acc = np.zeros_like(values[0], dtype=float)
    out = np.empty_like(values, dtype=float)
    for k, v in enumerate(values, start=1):
        acc = decay * acc + (1.0 - decay) * v
        out[k - 1] = acc / (1.0 - decay**k)
    return out


@dataclasses.dataclass(frozen=True)
class Trajectory:
    """One variant's path: times (n,), phi and theta (n, 2), and the EMA of theta (n, 2)."""

    variant: str
    method: str  # "ode" (solve_ivp) | "discrete" (simultaneous gradient steps)
    t: np.ndarray
    phi: np.ndarray
    theta: np.ndarray
    theta_ema: np.ndarray

    def summary(self, tail_fraction: float) -> dict[str, float]:
        """``|theta|`` at the end and over the tail of the run, and the EMA's distance to 0."""
        norms = np.linalg.norm(self.theta, axis=1)
        tail = norms[self.t >= self.t[-1] * (1.0 - tail_fraction)]
        final, ema = float(norms[-1]), float(np.linalg.norm(self.theta_ema[-1]))
        return {
            "theta_norm_initial": float(norms[0]),
            "theta_norm_final": final,
            "theta_norm_tail_min": float(tail.min()),
            "theta_norm_tail_max": float(tail.max()),
            "theta_norm_tail_mean": float(tail.mean()),
            "ema_theta_norm_final": ema,
            "ema_to_final_ratio": ema / final if final > 0 else math.inf,
        }
