import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from pipeline.__main__ import main
from pipeline.io import read_provenance
from pipeline.tables import COLUMNS

TINY_GMM = {"n_samples": 300, "n_features": 2, "n_components": 2, "n_init": 2}


def test_gmm_synthetic_verb_writes_a_tidy_table_with_provenance(tmp_path):
    out = tmp_path / "gmm.parquet"
    rc = main(
        [
            "em",
            "gmm-synthetic",
            "--config",
            json.dumps(TINY_GMM),
            "--seed",
            "3",
            "--output",
            str(out),
        ]
    )
    assert rc == 0
    table = pd.read_parquet(out)
    assert list(table.columns) == COLUMNS and (table.seed == 3).all()
    prov = read_provenance(out)
    assert json.loads(prov["config"]) == TINY_GMM and prov["device"] == "cpu"
    # Same start, same stopping rule: ours and sklearn agree run by run.
    ll = table[(table.metric == "mean_log_likelihood") & table.method.str.startswith("em_init")]
    pivot = ll.pivot(index="method", columns="implementation", values="value")
    assert len(pivot) == 2
    np.testing.assert_allclose(pivot["ours-numpy"], pivot["sklearn"], atol=1e-9)
    best = table[(table.method == "em_best_of_inits") & (table.metric == "mean_log_likelihood")]
    truth = table[(table.method == "truth") & (table.metric == "mean_log_likelihood")].value.item()
    assert (best.value >= truth - 1e-3).all()


@pytest.mark.parametrize(
    "config, message",
    [
        ('{"n_components": 2, "bogus": 1}', "unknown key(s) bogus"),
        ('{"n_samples": 3, "n_components": 5}', "n_samples=3 must be >= n_components=5"),
        ('{"backend": "jax"}', "backend='jax'"),
    ],
)
def test_bad_config_exits_2_naming_the_key(tmp_path, config, message):
    out = tmp_path / "x.parquet"
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "em", "gmm-synthetic", "--config", config, "--seed", "0",
         "--output", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and message in proc.stderr
    assert not out.exists()


def test_summarize_rejects_a_foreign_table(tmp_path):
    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(bad)
    rc = main(["em", "summarize", "--inputs", str(bad), "--runs-output", str(tmp_path / "r.parquet"),
               "--output", str(tmp_path / "s.parquet")])  # fmt: skip
    assert rc == 2 and not (tmp_path / "s.parquet").exists()


def test_cuda_without_a_gpu_exits_2_naming_the_key(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    out = tmp_path / "x.parquet"
    config = json.dumps({**TINY_GMM, "backend": "torch", "device": "cuda"})
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "em", "gmm-synthetic", "--config", config, "--seed", "0",
         "--output", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "em.device: cuda requested" in proc.stderr
    assert not out.exists()
