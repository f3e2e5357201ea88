"""PMI additivity of word sets under the naive assumption (post 4669, eq. 7), on synthetic data.

Eq. 7 says PMI(Q, A) = Σ_i Σ_j PMI(q_i, a_j) for word sets Q = (q_1, q_2), A = (a_1, a_2)
when the words are independent apart from their pairwise associations. We generate data where
that holds exactly (the pairs (q_1, a_1) and (q_2, a_2) each follow a random joint table, the
two pairs independent, so the cross PMIs are zero) and a control where it fails (a_2 depends on
q_1 and a_1 jointly). Both are scored exactly, from the generating tables, and from a sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.tables import results_frame, write_results


@dataclass(frozen=True)
class PmiAdditivityConfig:
    """Vocabulary size of each word slot, sample size, and how many seeds."""

    vocab_size: int = 4
    samples: int = 200000
    seeds: int = 5

    def __post_init__(self):
        if self.vocab_size < 2:
            raise ValueError(
                f"vectors.pmi_additivity.vocab_size: must be at least 2, got {self.vocab_size}"
            )
        if self.samples < 100 or self.seeds < 1:
            raise ValueError(
                "vectors.pmi_additivity: samples must be at least 100 and seeds at least 1"
            )


def _pmi(joint: np.ndarray, axes_q: tuple, axes_a: tuple) -> np.ndarray:
    """log P(Q, A) / (P(Q) P(A)) of a joint table over (q1, q2, a1, a2), Q and A given by axes."""
    with np.errstate(divide="ignore"):
        p_q = joint.sum(axis=axes_a, keepdims=True)
        p_a = joint.sum(axis=axes_q, keepdims=True)
        return np.log(joint) - np.log(p_q) - np.log(p_a)


@np.errstate(invalid="ignore")  # cells of probability 0: nan, never read
def additivity_gap(joint: np.ndarray) -> np.ndarray:
    """PMI(Q, A) − Σ_ij PMI(q_i, a_j) for every cell of a joint table P(q1, q2, a1, a2)."""
    whole = _pmi(joint, (0, 1), (2, 3))
    total = np.zeros_like(whole)
    for qi in (0, 1):
        for aj in (2, 3):
            pair = joint.sum(axis=tuple(k for k in range(4) if k not in (qi, aj)), keepdims=True)
            total = total + _pmi(pair, (qi,), (aj,))
    return whole - total


def naive_joint(rng: np.random.Generator, v: int) -> np.ndarray:
    """P(q1, q2, a1, a2) = P1(q1, a1) · P2(q2, a2): two independent associated pairs."""
    p1, p2 = (rng.dirichlet(np.ones(v * v)).reshape(v, v) for _ in range(2))
    return np.einsum("ac,bd->abcd", p1, p2)


def control_joint(rng: np.random.Generator, v: int) -> np.ndarray:
    """P(q1, a1, a2) a random three-way table, q2 independent: eq. 7 does not hold."""
    p3 = rng.dirichlet(np.ones(v**3)).reshape(v, v, v)
    pq2 = rng.dirichlet(np.ones(v))
    return np.einsum("acd,b->abcd", p3, pq2)


def sample_table(rng: np.random.Generator, joint: np.ndarray, n: int) -> np.ndarray:
    """Empirical joint table of ``n`` draws (cells never drawn stay zero)."""
    counts = rng.multinomial(n, joint.ravel()).reshape(joint.shape)
    return counts / n


def additivity_rows(cfg: PmiAdditivityConfig) -> pd.DataFrame:
    """Per seed, the largest |gap| of eq. 7 over all cells,
    exactly on the naive and the control tables, and the mean |gap| over the draws of a sample
    of the naive table (it shrinks like 1/√n). Rows of the one results schema (E7.1)."""
    rows = []
    for seed in range(cfg.seeds):
        rng = np.random.default_rng(seed)
        naive, control = naive_joint(rng, cfg.vocab_size), control_joint(rng, cfg.vocab_size)
        sampled = sample_table(rng, naive, cfg.samples)
        seen = sampled > 0
        gap = additivity_gap(sampled)
        values = {
            ("naive", "exact", "max_abs_gap"): np.abs(additivity_gap(naive)).max(),
            ("control", "exact", "max_abs_gap"): np.abs(additivity_gap(control)).max(),
            ("naive", "ours", "mean_abs_gap_sampled"): (sampled[seen] * np.abs(gap[seen])).sum(),
        }
        rows += [
            {"method": m, "implementation": impl, "seed": seed, "metric": metric, "value": float(v)}
            for (m, impl, metric), v in values.items()
        ]
    return results_frame(rows, experiment="E7.1", dataset="synthetic")


def check_pmi_additivity(cfg: PmiAdditivityConfig, *, output, provenance) -> None:
    """``vectors_check_pmi_additivity``: :func:`additivity_rows` as a results table."""
    write_results(additivity_rows(cfg), output, provenance)
