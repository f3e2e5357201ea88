"""The dynamics rules that need no data, end to end: real snakemake on a tiny config."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline import tables

REPO = Path(__file__).resolve().parents[2]
TINY = {
    "dynamics": {
        "dirac_gan": {
            "variants": ["wgan", "wgan_gp0"],
            "t_end": 20.0,
            "n_eval": 201,
            "step_size": 0.01,
        },
        "loader_safety": {"n_items": 8, "num_workers": 2, "batch_size": 2},
    }
}


@pytest.mark.slow
def test_dynamics_rules_end_to_end(tmp_path):
    (tmp_path / "config").mkdir()
    shutil.copy(REPO / "config" / "config.yaml", tmp_path / "config" / "config.yaml")
    shutil.copytree(
        REPO / "claims", tmp_path / "claims"
    )  # the ledger checks them as the DAG is built
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    targets = [
        "results/dynamics/dirac_gan/results.parquet",
        "results/dynamics/loader_safety.parquet",
    ]
    snakemake = Path(sys.executable).with_name("snakemake")
    proc = subprocess.run(
        [str(snakemake), *targets, "-s", str(REPO / "Snakefile"), "--directory", str(tmp_path),
         "--cores", "2", "--configfile", str(tmp_path / "tiny.yaml")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    frame = tables.read_results([tmp_path / t for t in targets])
    assert set(frame.experiment) == {"E4.4", "E4.5"}
    assert (tmp_path / "results/dynamics/dirac_gan/phase.png").read_bytes()[:4] == b"\x89PNG"
