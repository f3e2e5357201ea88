"""The em rules end to end: real snakemake on a tiny config in a scratch directory."""

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline.io import read_provenance

REPO = Path(__file__).resolve().parents[2]
TINY = {
    "em": {
        "seeds": [0],
        "gmm": {"n_samples": 300, "n_features": 2, "n_components": 2, "n_init": 2},
        "kmeans": {"n_samples": 500, "n_features": 3, "n_clusters": 3},
        "soft_kmeans": {"n_samples": 200, "n_clusters": 3, "stiffnesses": [1.0, 100.0]},
        "plsa": {"n_docs": 30, "n_words": 40, "n_topics": 2, "doc_length": 50, "max_iter": 10,
                 "projected_gradient_rates": [0.0001], "softmax_gradient_rates": [10.0]},
        "real_data": {"gmm_datasets": ["iris"], "kmeans_datasets": ["iris"], "covariance_types": ["diag"]},
        "corpora": {"corpora": {"mini_newsgroup": 2}, "max_iter": 5, "lda_max_iter": 2},
        "newton": {"starts": {"quartic": [[0.3]]}, "gd_steps": [0.01], "max_iter": 2000},
        "half_steps": {"n_samples": 200, "max_iter": 30},
        "cross_entropy": {"n_samples": 200},
        "plsa_surrogate": {"n_docs": 10, "n_words": 20, "em_steps": 2, "random_points": 3},
        "gmm_soft_kmeans": {"n_samples": 200, "n_clusters": 3},
    }
}  # fmt: skip


@pytest.mark.slow
def test_em_rules_end_to_end(tmp_path):
    (tmp_path / "config").mkdir()
    shutil.copy(REPO / "config" / "config.yaml", tmp_path / "config" / "config.yaml")
    shutil.copytree(
        REPO / "claims", tmp_path / "claims"
    )  # the ledger checks them as the DAG is built
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    figures = ("newton_gd", "ari", "half_steps", "gmm_soft_kmeans")
    targets = ["results/em/summary.parquet"] + [f"results/em/figures/{f}.png" for f in figures]
    snakemake = Path(sys.executable).with_name("snakemake")
    proc = subprocess.run(
        [str(snakemake), *targets, "-s", str(REPO / "Snakefile"), "--directory", str(tmp_path),
         "--cores", "2", "--configfile", str(tmp_path / "tiny.yaml")],  # targets first: --configfile is nargs="+"
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = pd.read_parquet(tmp_path / "results/em/summary.parquet")
    assert set(summary.experiment) == {
        "E6.1",
        "E6.3",
        "E8.1",
        "E8.2",
        "E8.3",
        "E8.4",
        "E8.5",
        "real_data",
    }
    labels = summary[(summary.metric == "labels_equal") & (summary.stat == "min")]
    assert labels.value.item() == 1.0  # Lloyd: ours and sklearn agree on every label
    assert "config_hash" in read_provenance(tmp_path / "results/em/gmm_synthetic/seed0.parquet")
    for png in targets[1:]:
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"
    # No empty logs: each summarize / plot job names what it wrote, with its headline numbers.
    log = (tmp_path / "results/logs/em_summarize/summarize.log").read_text()
    assert "wrote results/em/summary.parquet" in log and "wrote results/em/summary.html" in log
    for figure in figures:
        plot_log = (tmp_path / f"results/logs/em_plot/{figure}.log").read_text()
        assert f"wrote results/em/figures/{figure}.png (" in plot_log
