"""The transport rules through the real snakemake, on a tiny config (slow)."""

import subprocess
import sys

import pytest
import yaml

from pipeline import tables
from pipeline.io import read_provenance
from tests.workflow.conftest import copy_workflow

pytestmark = pytest.mark.slow

TINY = {
    "transport": {
        "seeds": [0],
        "lp": {"sizes": [5], "dims": [1], "rhos": [1], "instances": 1},
        "critics": {"n_samples": 100, "steps": 5, "width": 8, "batch_size": 32},
        "wgan_toy": {
            "datasets": ["8gaussians"],
            "variants": ["gp"],
            "steps": 2,
            "eval_every": 1,
            "eval_samples": 32,
            "width": 8,
            "depth": 1,
            "batch_size": 16,
        },
    }
}


def test_lp_critics_and_toy_wgan_rules(tmp_path):
    root = copy_workflow(tmp_path / "wf")
    (root / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    targets = [
        "results/transport/lp_duality.parquet",
        "results/transport/critics/seed0.parquet",
        "results/transport/wgan_toy/8gaussians/gp/seed0.parquet",
    ]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--cores",
            "1",
            "--configfile",
            "tiny.yaml",
            "--",
            *targets,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    frame = tables.read_results([root / t for t in targets])
    assert set(frame["experiment"]) == {"E5.1", "E5.4", "E5.5"}
    prov = read_provenance(root / targets[0])
    assert '"sizes":[5]' in prov["config"]
    assert (root / "results/transport/wgan_toy/8gaussians/gp/seed0_samples.npz").exists()
