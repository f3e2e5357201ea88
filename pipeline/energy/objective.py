"""The EBM training objective and its divergence guard.

Contrastive divergence ``mean U(x+) − mean U(x−)`` (official objective ``'cd'``) plus an L2
energy term with weight α (official ``l2_coeff = 1``):

- ``l2="sum"``: α (mean U(x+)² + mean U(x−)²), the paper's Algorithm 1 and the official code;
- ``l2="post"``: α (mean U(x+)² − mean U(x−)²), the post's λ[U²(x_r) − U²(x_f)] (it treats
  U + λU² as the energy); posts.md §3.2 (a).

Divergence is expected (anchors.md: IGEBM runs diverge within a few hundred steps): the guard
stops a run whose energies are NaN/Inf or whose energy gap |mean U(x+) − mean U(x−)| passes a
bound, with a message naming the step.
"""

from __future__ import annotations

import torch

L2_FORMS = ("sum", "post")


class EnergyDivergenceError(ValueError):
    """Energies became non-finite or the energy gap exceeded the guard: the run diverged."""

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step


def check_l2(l2: str, key: str) -> str:
    if l2 not in L2_FORMS:
        raise ValueError(f"{key}: {l2!r} is not one of {list(L2_FORMS)}")
    return l2


def contrastive_loss(
    e_pos: torch.Tensor, e_neg: torch.Tensor, alpha: float, l2: str = "sum"
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The loss on a batch of data energies ``e_pos`` (B,) and sample energies ``e_neg`` (B,).

    Returns the loss and its detached parts (``cd``, ``l2``, energy means and magnitudes).
    """
    cd = e_pos.mean() - e_neg.mean()
    sq_pos, sq_neg = e_pos.pow(2).mean(), e_neg.pow(2).mean()
    reg = alpha * (sq_pos + sq_neg if l2 == "sum" else sq_pos - sq_neg)
    parts = {
        "cd": cd,
        "l2": reg,
        "energy_pos": e_pos.mean(),
        "energy_neg": e_neg.mean(),
        "abs_energy": 0.5 * (e_pos.abs().mean() + e_neg.abs().mean()),
    }
    return cd + reg, {k: v.detach() for k, v in parts.items()}


def guard(e_pos: torch.Tensor, e_neg: torch.Tensor, step: int, max_gap: float | None) -> None:
    """Raise :class:`EnergyDivergenceError` naming ``step`` on non-finite energies or a gap over
    ``max_gap`` (None: only the finiteness check)."""
    e_pos, e_neg = e_pos.detach(), e_neg.detach()
    if not (torch.isfinite(e_pos).all() and torch.isfinite(e_neg).all()):
        raise EnergyDivergenceError(
            f"non-finite energies at training step {step}: the run diverged", step
        )
    gap = float(e_pos.mean() - e_neg.mean())
    if max_gap is not None and abs(gap) > max_gap:
        raise EnergyDivergenceError(
            f"energy gap mean U(data) - mean U(samples) = {gap:.4g} at training step {step} exceeds "
            f"the guard {max_gap:g}: the run diverged",
            step,
        )
