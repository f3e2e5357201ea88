"""The identities of posts 6 and 8 as computed by pipeline/em/identities.py, on small data, and
the (experiment, metric) pairs of every em table against what workflow/rules/em.smk declares."""

import ast
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.em import experiments as E
from pipeline.em import identities as I
from pipeline.em.backend import get_ops
from pipeline.tables import COLUMNS

SMK = Path(__file__).resolve().parents[2] / "workflow" / "rules" / "em.smk"


def final(frame: pd.DataFrame) -> pd.Series:
    rows = frame[frame.step < 0]
    return rows.set_index(["method", "implementation", "metric"]).value


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_joint_kl_never_increases_and_equals_the_nll_after_each_e_step(backend):
    frame = I.gmm_half_steps(
        I.HalfStepConfig(n_samples=400, separation=1.5, max_iter=40, backend=backend), 0
    )
    v = final(frame)
    impl = f"ours-{backend}"
    assert v["em_half_steps", impl, "n_iter"] > 20  # a random start on overlapping components
    assert v["em_half_steps", impl, "max_objective_increase"] <= 1e-12
    assert v["em_half_steps", impl, "max_gap_after_e_step"] <= 1e-10
    assert v["em_half_steps", impl, "min_posterior_kl_after_m_step"] >= -1e-12
    assert v["em_half_steps", impl, "parameter_gap_to_sklearn"] <= 1e-6
    curve = frame[frame.metric == "objective_17"].value.to_numpy()
    nll = frame[frame.metric == "marginal_nll"].value.to_numpy()
    assert len(curve) == 2 * v["em_half_steps", impl, "n_iter"]
    np.testing.assert_allclose(curve[1::2], nll[1::2], rtol=0, atol=1e-10)


def test_half_steps_by_hand_on_one_point_per_component():
    # Two well-separated pairs of points: after the first E-step (17) is the NLL by definition.
    X = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.5]])
    resp = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.3, 0.7]])
    ops = get_ops("numpy")
    log, (weights, means, _) = I.em_half_steps(ops, X, resp, max_iter=1, tol=0.0)
    np.testing.assert_allclose(weights, [0.525, 0.475])
    np.testing.assert_allclose(means[0], (resp[:, 0] @ X) / resp[:, 0].sum())
    assert log.shape == (2, 2) and log[1, 0] <= log[0, 0]
    assert abs(log[1, 0] - log[1, 1]) < 1e-12


def test_cross_entropy_identity_holds_and_the_free_form_optimum_is_higher():
    v = final(
        I.cross_entropy_identity(I.CrossEntropyConfig(n_samples=500, n_values=6, n_classes=3), 1)
    )
    assert v["logistic_regression", "ours", "identity_gap"] < 1e-12
    assert v["logistic_regression", "sklearn", "log_likelihood_per_sample"] == pytest.approx(
        v["logistic_regression", "ours", "log_likelihood_per_sample"], abs=1e-12
    )
    assert v["logistic_regression", "ours", "gap_to_free_form_optimum"] >= 0


def test_plsa_surrogate_and_joint_kl_share_the_m_step():
    v = final(
        I.plsa_surrogate(
            I.SurrogateConfig(n_docs=20, n_words=30, n_topics=3, em_steps=3, random_points=5), 2
        )
    )
    assert v["plsa_em", "ours", "max_offset_minus_neg_entropy"] < 1e-12
    assert v["plsa_em", "ours", "max_tangency_gap"] < 1e-12
    assert v["plsa_em", "ours", "max_joint_kl_minus_s_at_iterate"] < 1e-12
    assert v["plsa_em", "ours", "min_surrogate_margin_of_m_step"] > 0
    assert v["plsa_em", "ours", "max_fd_gradient_gap"] < 1e-5  # E8.2: ∇S′ = ∇S at the iterate


def test_soft_kmeans_responsibilities_are_a_gmm_e_step():
    v = final(I.gmm_vs_soft_kmeans(I.GmmSoftConfig(n_samples=300, n_clusters=3), 0))
    assert v["soft_kmeans_vs_gmm_e_step", "ours-numpy", "responsibility_gap"] < 1e-12
    assert v["gmm_full", "ours-numpy", "centre_gap_to_gmm_full"] == 0
    assert v["soft_kmeans", "ours-numpy", "max_fd_gradient_gap"] < 1e-5  # E8.2 for soft K-means
    ari = v.xs("ari", level="metric")
    assert len(ari) == 4 and ((ari >= -1) & (ari <= 1)).all()


def test_newton_log_cosh_converges_near_zero_and_diverges_from_far():
    frame = E.newton_gd(E.NewtonConfig(starts={"log_cosh": [[0.5], [1.5]], "quartic": [[0.3]]},
                                       gd_steps=(0.1, 1.0), max_iter=2000))  # fmt: skip
    v = frame[frame.step < 0].set_index(["dataset", "method", "metric"]).value
    assert (
        v["log_cosh@0.5", "newton", "converged"] == 1
        and v["log_cosh@0.5", "newton", "iterations"] <= 4
    )
    assert v["log_cosh@1.5", "newton", "converged"] == 0
    assert v["log_cosh@1.5", "gradient_descent", "converged"] == 1
    assert v["quartic@0.3", "newton", "final_min_curvature"] < 0  # Newton climbed to the maximum
    assert v["quartic@0.3", "newton", "convergence_order"] == pytest.approx(2, abs=0.2)


def declared() -> set[tuple[str, str]]:
    block = re.search(r"EM_PRODUCES = (\{.*?\n\})", SMK.read_text(), flags=re.S).group(1)
    return {(e, m) for e, metrics in ast.literal_eval(block).items() for m in metrics}


def test_tables_hold_only_declared_metrics():
    runs = [
        E.gmm_synthetic(E.GmmConfig(n_samples=200, n_features=2, n_components=2, n_init=1), 0),
        E.kmeans_blobs(E.KMeansConfig(n_samples=200, n_features=2, n_clusters=3), 0),
        E.soft_kmeans(E.SoftKMeansConfig(n_samples=100, n_clusters=2, stiffnesses=(1.0,)), 0),
        E.plsa_synthetic(E.PlsaConfig(n_docs=20, n_words=30, n_topics=2, doc_length=20, max_iter=3,
                                      projected_gradient_rates=(1e-4,), softmax_gradient_rates=(10.0,)), 0),
        E.real_data(E.RealDataConfig(gmm_datasets=("iris",), kmeans_datasets=("iris",), covariance_types=("diag",)), 0),
        E.plsa_corpus(E.CorpusConfig(corpora={"mini_newsgroup": 2}, max_iter=2, lda_max_iter=1,
                                     projected_gradient_rates=(1e-4,), softmax_gradient_rates=(10.0,)), 0),
        E.newton_gd(E.NewtonConfig(starts={"quartic": [[0.3]]}, gd_steps=(0.01,), max_iter=50)),
        I.gmm_half_steps(I.HalfStepConfig(n_samples=200, max_iter=5), 0),
        I.cross_entropy_identity(I.CrossEntropyConfig(n_samples=100), 0),
        I.plsa_surrogate(I.SurrogateConfig(n_docs=10, n_words=20, em_steps=1, random_points=2), 0),
        I.gmm_vs_soft_kmeans(I.GmmSoftConfig(n_samples=200), 0),
    ]  # fmt: skip
    frame = pd.concat(runs, ignore_index=True)
    assert list(frame.columns) == COLUMNS
    found = set(zip(frame.experiment, frame.metric, strict=True))
    assert found <= declared(), sorted(found - declared())
    assert {e for e, _ in found} == {
        "E6.1",
        "E6.3",
        "E8.1",
        "E8.2",
        "E8.3",
        "E8.4",
        "E8.5",
        "real_data",
    }
