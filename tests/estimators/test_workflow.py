"""The E2.1-E2.4 rules end to end: real snakemake on a tiny config in a scratch directory."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline import tables
from pipeline.io import read_provenance

REPO = Path(__file__).resolve().parents[2]
TINY = {
    "estimators": {
        "seeds": [0],
        "gumbel_max": {"sizes": [2, 5], "n_samples": 2000},
        "gumbel_softmax": {"n_samples": 2000},
        "continuous": {"n_samples": 2000, "omegas": [2.0, 8.0]},
        "discrete": {"n_samples": 2000},
    }
}


@pytest.mark.slow
def test_estimator_study_rules_end_to_end(tmp_path):
    (tmp_path / "config").mkdir()
    shutil.copy(REPO / "config" / "config.yaml", tmp_path / "config" / "config.yaml")
    shutil.copytree(REPO / "claims", tmp_path / "claims")
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    targets = ["results/estimators/results.parquet", "results/estimators/figures/e2_3.png"]
    snakemake = Path(sys.executable).with_name("snakemake")
    proc = subprocess.run(
        [str(snakemake), *targets, "-s", str(REPO / "Snakefile"), "--directory", str(tmp_path),
         "--cores", "2", "--configfile", str(tmp_path / "tiny.yaml")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    frame = tables.read_results(tmp_path / targets[0])
    assert set(frame.experiment) == {"E2.1", "E2.2", "E2.3", "E2.4"}
    assert set(frame.seed) == {-1, 0}  # the KS rows pool the seeds
    assert "config_hash" in read_provenance(
        tmp_path / "results/estimators/gumbel_max/seed0.parquet"
    )
    assert (tmp_path / targets[1]).read_bytes()[:4] == b"\x89PNG"
