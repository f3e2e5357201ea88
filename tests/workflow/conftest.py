"""Helpers for end-to-end tests that run the real ``snakemake`` on a copy of the workflow."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def copy_workflow(dest: Path) -> Path:
    """A copy of the workflow and package, so tests can edit code and config freely.

    ``__pycache__`` folders come along with their timestamps: numba validates its on-disk cache by
    the source file's mtime and size, so the copy reuses the kernels compiled by earlier tests
    instead of compiling them again in every copy.
    """
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "Snakefile", dest / "Snakefile")
    for folder in ("workflow", "config", "pipeline", "profiles", "claims"):
        if (REPO / folder).is_dir():
            shutil.copytree(REPO / folder, dest / folder)
    return dest


def write_corpus(path: Path, n_docs: int, words_per_doc: int, seed: int = 0) -> Path:
    """A Zipf-distributed synthetic corpus, one document per line."""
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{k}" for k in range(3000)])
    p = 1.0 / np.arange(1, len(vocab) + 1)
    p /= p.sum()
    with open(path, "w") as f:
        for _ in range(n_docs):
            f.write(" ".join(vocab[rng.choice(len(vocab), size=words_per_doc, p=p)]) + "\n")
    return path


def text_config(corpus_file: str, window: int = 3, shards: int = 2) -> dict:
    return {
        "text": {
            "corpora": {
                "tiny": {
                    "language": "en",
                    "format": "plain",
                    "tokenizer": "whitespace",
                    "local_mirror": corpus_file,
                    "shards": shards,
                    "vocab": {"min_count": 2},
                    "cooccur": {"window": window, "weightings": ["unit", "harmonic"]},
                }
            }
        }
    }


TARGETS = [
    "results/text/tiny/cooccur/unit.parquet",
    "results/text/tiny/cooccur/harmonic.parquet",
    "results/text/tiny/stats/statistics.html",
    "results/text/tiny/stats/zipf.png",
]


class Workflow:
    def __init__(self, root: Path):
        self.root = root

    def write_config(self, cfg: dict) -> None:
        (self.root / "test-config.yaml").write_text(yaml.safe_dump(cfg))

    def run(self, *args: str, check: bool = True, targets=TARGETS) -> subprocess.CompletedProcess:
        cmd = [*SNAKEMAKE, *targets, "--cores", "2", *args, "--configfile", "test-config.yaml"]
        proc = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, timeout=600)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"snakemake failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def popen(self, *args: str) -> subprocess.Popen:
        cmd = [*SNAKEMAKE, *TARGETS, "--cores", "2", *args, "--configfile", "test-config.yaml"]
        return subprocess.Popen(
            cmd,
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def planned_jobs(self) -> dict[str, int]:
        """Jobs a dry run would execute, by rule (empty when nothing is to be done)."""
        proc = self.run("--dry-run")
        return parse_job_stats(proc.stdout + proc.stderr)


def parse_job_stats(output: str) -> dict[str, int]:
    if "Nothing to be done" in output:
        return {}
    block = output.split("Job stats:", 1)[1]
    jobs = {}
    for line in block.splitlines()[3:]:
        m = re.match(r"^(\w+)\s+(\d+)\s*$", line.strip())
        if not m:
            break
        jobs[m.group(1)] = int(m.group(2))
    jobs.pop("total", None)
    return jobs


@pytest.fixture
def workflow(tmp_path) -> Workflow:
    root = copy_workflow(tmp_path / "wf")
    write_corpus(root / "corpus.txt", n_docs=200, words_per_doc=100)
    wf = Workflow(root)
    wf.write_config(text_config("corpus.txt"))
    return wf
