"""The verbs end to end (in-process), their bad-input exits, a real kill and resume, and the
real snakemake on a tiny config."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from pipeline import tables
from pipeline.__main__ import main
from pipeline.io import read_provenance

REPO = Path(__file__).resolve().parents[2]
TINY_TRAIN = {
    "steps": 12,
    "batch_size": 32,
    "log_every": 4,
    "checkpoint_every": 4,
    "device": "cpu",
    "ema_decay": 0.9,
}
TINY = {
    "classifier": {"model": {"width": 8, "feature_dim": 16}, "train": TINY_TRAIN},
    "vqvae": {
        "model": {
            "hidden": 8,
            "res_hidden": 4,
            "n_res": 1,
            "codebook_size": 16,
            "code_dim": 4,
            "dead_code_threshold": 0.5,
        },
        "train": TINY_TRAIN | {"capture": ["encoder", "decoder.0"]},
    },
    "prior": {"model": {"n_layer": 1, "n_head": 2, "n_embd": 16}, "train": TINY_TRAIN},
    "evaluate": {"n_samples": 64, "swd_projections": 20, "n_grid": 8, "device": "cpu"},
}


def run(*argv) -> int:
    return main(["images", *map(str, argv)])


def train_and_evaluate(d: Path, dataset: str, tiny: dict) -> None:
    """classifier, VQ-VAE, prior and evaluation through the CLI on ``d / "data.npz"``."""
    common = ["--dataset", dataset, "--data", d / "data.npz"]
    assert (
        run(
            "train-classifier",
            "--config",
            json.dumps(tiny["classifier"]),
            *common,
            "--output",
            d / "clf.pt",
            "--train-log",
            d / "clf.parquet",
        )
        == 0
    )
    assert (
        run(
            "train-vqvae",
            "--config",
            json.dumps(tiny["vqvae"]),
            *common,
            "--output",
            d / "vq.pt",
            "--train-log",
            d / "vq.parquet",
            "--activations",
            d / "act.npz",
        )
        == 0
    )
    assert (
        run(
            "train-prior",
            "--config",
            json.dumps(tiny["prior"]),
            *common,
            "--vqvae",
            d / "vq.pt",
            "--output",
            d / "prior.pt",
            "--train-log",
            d / "prior.parquet",
        )
        == 0
    )
    assert (
        run(
            "evaluate-vqvae",
            "--config",
            json.dumps(tiny["evaluate"]),
            *common,
            "--vqvae",
            d / "vq.pt",
            "--prior",
            d / "prior.pt",
            "--classifier",
            d / "clf.pt",
            "--output",
            d / "metrics.parquet",
            "--samples",
            d / "samples.npz",
        )
        == 0
    )


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    d = tmp_path_factory.mktemp("chain")
    data = {"format": "sklearn_digits", "max_train": 400, "max_test": 100}
    assert (
        run(
            "prepare-dataset",
            "--config",
            json.dumps(data),
            "--dataset",
            "digits",
            "--output",
            d / "data.npz",
            "--summary",
            d / "summary.parquet",
        )
        == 0
    )
    train_and_evaluate(d, "digits", TINY)
    figs = {
        k: d / f"{k}.png"
        for k in ("reconstructions", "samples-figure", "codebook", "losses", "activations-figure")
    }
    assert (
        run(
            "plot-vqvae",
            "--samples",
            d / "samples.npz",
            "--vqvae-log",
            d / "vq.parquet",
            "--prior-log",
            d / "prior.parquet",
            "--activations",
            d / "act.npz",
            *[a for k, p in figs.items() for a in (f"--{k}", p)],
        )
        == 0
    )
    return d


def test_chain_outputs_tables_checkpoints_figures(chain):
    summary = pd.read_parquet(chain / "summary.parquet")
    n = summary.set_index(["method", "metric"]).value
    assert n["train", "n_images"] == 400 and n["test", "n_images"] == 100
    table = pd.read_parquet(chain / "metrics.parquet")
    assert list(table.columns) == tables.COLUMNS
    assert set(table.implementation) == {"ours"}
    got = set(zip(table.method, table.metric, strict=True))
    for weights in ("ema", "raw"):
        for m in ("mse", "psnr", "psnr_continuous_z", "perplexity", "codes_used"):
            assert (f"vqvae_reconstruction_{weights}", m) in got
        for m in ("prior_bits_per_code", "bits_per_dim", "frechet_distance", "sliced_wasserstein"):
            assert (f"vqvae_prior_samples_{weights}", m) in got
    assert ("real_train_vs_test", "frechet_distance") in got
    psnr = table[(table.metric == "psnr")].value
    mse = table[(table.metric == "mse")].value
    np.testing.assert_allclose(psnr.values, 10 * np.log10(1 / mse.values))
    prov = read_provenance(chain / "metrics.parquet")
    assert (
        json.loads(prov["config"])["n_samples"] == 64
        and str(chain / "vq.pt") in prov["inputs_sha256"]
    )
    ckpt = torch.load(chain / "vq.pt")  # PyTorch's default: weights-only
    assert ckpt["step"] == 12 and "provenance" in ckpt and ckpt["config"]["codebook_size"] == 16
    assert not (chain / ".vq_checkpoints").exists()  # a finished run leaves nothing to resume
    with np.load(chain / "act.npz") as acts:
        assert acts["encoder"].shape == (16, 4, 4, 4) and acts["decoder.0"].shape == (16, 8, 4, 4)
    log = pd.read_parquet(chain / "vq.parquet")
    assert sorted(log.step.unique()) == [4, 8, 12] and {"mse_x", "mse_e", "mse_z"} <= set(
        log.metric
    )
    for k in ("reconstructions", "samples-figure", "codebook", "losses", "activations-figure"):
        assert (chain / f"{k}.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_input_exits_2(chain, tmp_path, capsys):
    # run_main re-configures logging onto stderr, so read the messages there
    common = [
        "--dataset",
        "digits",
        "--data",
        chain / "data.npz",
        "--output",
        tmp_path / "m.pt",
        "--train-log",
        tmp_path / "l.parquet",
        "--activations",
        tmp_path / "a.npz",
    ]
    if not torch.cuda.is_available():
        cfg = {"train": TINY_TRAIN | {"device": "cuda"}}
        assert run("train-vqvae", "--config", json.dumps(cfg), *common) == 2
        assert (
            "train.device: cuda requested but torch finds no CUDA device" in capsys.readouterr().err
        )
    cfg = {"train": TINY_TRAIN | {"batch_size": 1000}}
    assert run("train-vqvae", "--config", json.dumps(cfg), *common) == 2
    assert "fewer than train.batch_size 1000" in capsys.readouterr().err
    assert run("train-vqvae", "--config", json.dumps({"model": {"codebok_size": 3}}), *common) == 2
    assert "unknown key(s) codebok_size" in capsys.readouterr().err
    (tmp_path / "x.npz").write_bytes(b"not an npz")
    bad = {
        "format": "npz",
        "files": {"source": "x.npz"},
        "local_mirror": str(tmp_path),
        "sha256": {"x.npz": "a" * 64},
    }
    assert (
        run(
            "prepare-dataset",
            "--config",
            json.dumps(bad),
            "--output",
            tmp_path / "d.npz",
            "--summary",
            tmp_path / "s.parquet",
        )
        == 2
    )
    assert "checksum mismatch" in capsys.readouterr().err and not (tmp_path / "d.npz").exists()


def _train_cmd(d: Path, steps=200):
    cfg = {
        "model": TINY["vqvae"]["model"],
        "train": TINY_TRAIN | {"steps": steps, "checkpoint_every": 10, "log_every": 10},
    }
    return [
        sys.executable,
        "-m",
        "pipeline",
        "images",
        "train-vqvae",
        "--config",
        json.dumps(cfg),
        "--data",
        str(d / "data.npz"),
        "--output",
        str(d / "vq.pt"),
        "--train-log",
        str(d / "log.parquet"),
        "--activations",
        str(d / "act.npz"),
    ]


@pytest.mark.slow
def test_sigkill_then_rerun_ends_where_an_uninterrupted_run_ends(chain, tmp_path):
    env = os.environ | {"OMP_NUM_THREADS": "1", "PIPELINE_GIT_COMMIT": "test"}
    runs = {}
    for name in ("full", "killed"):
        (tmp_path / name).mkdir()
        shutil.copy(chain / "data.npz", tmp_path / name / "data.npz")
    subprocess.run(
        _train_cmd(tmp_path / "full"), check=True, env=env, capture_output=True, cwd=REPO
    )
    proc = subprocess.Popen(
        _train_cmd(tmp_path / "killed"),
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ckpt = tmp_path / "killed" / ".vq_checkpoints" / "last.pt"
    deadline = time.time() + 60
    while time.time() < deadline and not ckpt.exists():
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    step_at_kill = torch.load(ckpt, weights_only=False)["step"]
    assert step_at_kill < 200 and not (tmp_path / "killed" / "vq.pt").exists()
    subprocess.run(
        _train_cmd(tmp_path / "killed"), check=True, env=env, capture_output=True, cwd=REPO
    )
    for name in ("full", "killed"):
        runs[name] = torch.load(tmp_path / name / "vq.pt", weights_only=False)
    for part in ("model", "ema"):
        for k, v in runs["full"][part].items():
            assert torch.equal(v, runs["killed"][part][k]), (part, k)


@pytest.mark.slow
def test_snakemake_workflow_on_a_tiny_config(tmp_path):
    shutil.copytree(REPO / "config", tmp_path / "config")
    cfg = {
        "images": {
            "datasets": {
                "tiny": {
                    "data": {"format": "sklearn_digits", "max_train": 300, "max_test": 80},
                    **TINY,
                }
            }
        }
    }
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(cfg))
    # prepare -> vqvae (the chain test above covers every verb; this one the rules' wiring and
    # params, kept short for the 3-minute budget)
    targets = [
        "results/images/tiny/vqvae/train_log.parquet",
        "results/images/tiny/data_summary.parquet",
    ]
    cmd = [
        str(Path(sys.executable).parent / "snakemake"),
        "-s",
        str(REPO / "Snakefile"),
        "--directory",
        str(tmp_path),
        "--configfile",
        str(tmp_path / "tiny.yaml"),
        "--cores",
        "2",
        *targets,
    ]
    res = subprocess.run(
        cmd, capture_output=True, text=True, env=os.environ | {"OMP_NUM_THREADS": "1"}
    )
    assert res.returncode == 0, res.stderr[-3000:]
    table = pd.read_parquet(tmp_path / targets[0])
    assert set(table.dataset) == {"tiny"} and table.step.max() == 12
    prov = read_provenance(tmp_path / targets[0])
    sent = json.loads(prov["config"])  # the rule passed only its own section, defaults filled in
    assert (
        set(sent) == {"model", "train"}
        and sent["model"]["hidden"] == 8
        and sent["model"]["beta"] == 0.25
    )


@pytest.mark.slow
def test_ddp_two_cpu_processes_match_one_process_with_the_joint_batch(chain, tmp_path):
    """torchrun with 2 gloo processes of batch 16 = 1 process of batch 32: each rank takes every
    other index of the same epoch permutation, DDP averages gradients, and the EMA codebook
    all-reduces its counts and sums."""
    model = {
        "hidden": 8,
        "res_hidden": 4,
        "n_res": 1,
        "codebook_size": 16,
        "code_dim": 4,
        "ema_codebook": True,
    }
    base = {"steps": 8, "device": "cpu", "log_every": 4, "checkpoint_every": 4}
    env = os.environ | {"OMP_NUM_THREADS": "1", "PIPELINE_GIT_COMMIT": "test"}
    out = {}
    for name, batch, launcher in (
        ("one", 32, []),
        ("ddp", 16, ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]),
    ):
        d = tmp_path / name
        d.mkdir()
        cfg = json.dumps({"model": model, "train": base | {"batch_size": batch}})
        cmd = [
            sys.executable,
            *launcher,
            "-m",
            "pipeline",
            "images",
            "train-vqvae",
            "--config",
            cfg,
            "--data",
            str(chain / "data.npz"),
            "--output",
            str(d / "vq.pt"),
            "--train-log",
            str(d / "log.parquet"),
            "--activations",
            str(d / "act.npz"),
        ]
        res = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr[-2000:]
        out[name] = torch.load(d / "vq.pt", weights_only=False)
    for k, v in out["one"]["model"].items():
        torch.testing.assert_close(out["ddp"]["model"][k], v, rtol=1e-4, atol=1e-5, msg=k)
