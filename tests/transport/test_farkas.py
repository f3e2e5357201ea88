"""Farkas' lemma on the transport constraints: exactly one alternative, with a checked witness."""

import numpy as np
import pytest

from pipeline.transport.farkas import farkas
from pipeline.transport.lp import marginal_matrix


def test_equal_mass_has_a_plan_and_no_certificate():
    res = farkas([0.2, 0.8], [0.5, 0.25, 0.25])
    assert res.feasible and res.certificate is None and res.exactly_one
    np.testing.assert_allclose(res.plan.sum(1), [0.2, 0.8], atol=1e-12)
    np.testing.assert_allclose(res.plan.sum(0), [0.5, 0.25, 0.25], atol=1e-12)
    assert res.certificate_value == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("ratio", [1.2, 0.7])
def test_unequal_mass_has_a_certificate(ratio):
    p, q = np.array([0.2, 0.3, 0.5]) * ratio, np.array([0.6, 0.4])
    res = farkas(p, q)
    assert not res.feasible and res.plan is None and res.exactly_one
    y = res.certificate
    a = marginal_matrix(3, 2)
    assert (a.T @ y).max() <= 1e-9  # A^T y <= 0
    assert np.concatenate([p, q]) @ y > 0.5  # b^T y > 0 (the LP caps it at 1)


def test_farkas_rejects_negative_masses_and_empty_supports():
    with pytest.raises(ValueError, match=">= 0"):
        farkas([1.2, -0.2], [1.0])
    with pytest.raises(ValueError, match="empty"):
        farkas([], [1.0])
