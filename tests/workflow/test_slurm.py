"""The workflow through a real single-node SLURM (``.ci/setup-slurm.sh``) and the SLURM
executor plugin: jobs are really submitted (job ids in the log, known to ``scontrol``), a
``gpu`` resource maps to a GRES request, and the outputs equal a local run's.

The plugin is installed beside the environment (``make slurm-plugin``: ``.slurm-plugin/`` on
``PYTHONPATH``), never into it: with SLURM client tools but no controller it slows every
``snakemake`` call by about 10 s. The test sets SLURM up itself where it can (root); it is
skipped only where it cannot (not root and no SLURM running), and never in CI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.workflow.conftest import REPO, copy_workflow, text_config, write_corpus

pytestmark = [pytest.mark.slow, pytest.mark.slurm]

PLUGIN_DIR = REPO / ".slurm-plugin"
TARGETS = [
    "results/text/tiny/cooccur/unit.parquet",
    "results/text/tiny/cooccur/harmonic.parquet",
    "results/em/newton_gd/runs.parquet",
    "results/images/tiny/data_summary.parquet",
]
TINY = {
    "images": {
        "datasets": {
            "tiny": {"data": {"format": "sklearn_digits", "max_train": 100, "max_test": 20}}
        }
    }
}


def slurm_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    proc = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    return proc.returncode == 0 and "idle" in proc.stdout.split()


@pytest.fixture(scope="module")
def slurm():
    if not slurm_up():
        if os.geteuid() != 0:
            if os.environ.get("CI"):
                pytest.fail("CI must run the SLURM test: run it as root (see .ci/run)")
            pytest.skip("SLURM is not running and setting it up needs root")
        subprocess.run(["bash", str(REPO / ".ci/setup-slurm.sh")], check=True, timeout=600)
    if not (PLUGIN_DIR / "snakemake_executor_plugin_slurm").is_dir():
        subprocess.run(["make", "-C", str(REPO), "slurm-plugin"], check=True, timeout=600)
    assert slurm_up(), "SLURM did not come up"


def snakemake(root: Path, *args: str, slurm: bool) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "snakemake", *TARGETS, "--configfile", "test-config.yaml", *args]
    if slurm:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGIN_DIR), env.get("PYTHONPATH")]))
        cmd += [
            "--profile",
            str(REPO / "profiles/slurm"),
            "--slurm-keep-successful-logs",
            "--slurm-init-seconds-before-status-checks",
            "1",
            "--slurm-no-account",
            "--latency-wait",
            "5",
            "--set-resources",
            "images_prepare_dataset:gpu=1",
        ]
    else:
        cmd += ["--cores", "2"]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, f"snakemake failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc


def workflow_copy(root: Path) -> Path:
    copy_workflow(root)
    write_corpus(root / "corpus.txt", n_docs=100, words_per_doc=50)
    cfg = text_config("corpus.txt") | TINY
    (root / "test-config.yaml").write_text(yaml.safe_dump(cfg))
    return root


def test_workflow_runs_on_slurm_and_equals_a_local_run(slurm, tmp_path):
    local = workflow_copy(tmp_path / "local")
    remote = workflow_copy(tmp_path / "slurm")
    snakemake(local, slurm=False)
    proc = snakemake(remote, slurm=True)
    log = proc.stdout + proc.stderr
    job_ids = sorted(set(re.findall(r"SLURM jobid (\d+)", log)))
    assert len(job_ids) >= len(TARGETS) + 2, log[-3000:]  # every job went through sbatch
    shown = {}
    for job in job_ids:  # finished jobs stay known to the controller for MinJobAge (300 s)
        out = subprocess.run(
            ["scontrol", "show", "job", job], capture_output=True, text=True
        ).stdout
        assert "JobState=COMPLETED" in out, out
        shown[job] = out
    gres = [o for o in shown.values() if "images_prepare_dataset" in o or "gpu" in o.lower()]
    assert any(re.search(r"TresPerJob=gres[:/]gpu[:=]1", o) for o in gres), "no job asked for a GPU"
    for target in TARGETS:
        a = pd.read_parquet(local / target)
        b = pd.read_parquet(remote / target)
        timing = [c for c in a.columns if c in ("seconds", "time_s")]
        if "metric" in a.columns:
            keep = ~a["metric"].astype(str).str.contains("second|_per_s|time")
            a, b = (
                a[keep].reset_index(drop=True),
                b[~b["metric"].astype(str).str.contains("second|_per_s|time")].reset_index(
                    drop=True
                ),
            )
        pd.testing.assert_frame_equal(a.drop(columns=timing), b.drop(columns=timing), obj=target)
