"""The GPU check script cannot rot: its tiny CPU run executes every slot, and without CUDA the
real run refuses at once."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pipeline import tables

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks/gpu_check.py"


@pytest.mark.slow
def test_tiny_cpu_run_fills_every_slot(tmp_path):
    out = tmp_path / "gpu_check.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", "--device", "cpu", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    sys.path.insert(0, str(REPO / "benchmarks"))
    import gpu_check

    assert report["errors"] == {} and set(report["slots"]) == set(gpu_check.SLOTS)
    assert report["slots"]["cooccur"]["max_abs_count_diff"] == 0.0  # GPU path = compiled path
    rows = tables.read_results(out.with_suffix(".parquet"))
    assert set(rows.experiment) >= {f"gpu_{s}" for s in gpu_check.SLOTS}
    assert "E3.5" in set(rows.experiment)  # a track slot's own checklist rows reach the ledger


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal without CUDA")
def test_without_cuda_it_refuses_at_once(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path / "x.json")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 1 and "no CUDA device" in proc.stderr
    assert not (tmp_path / "x.json").exists()
