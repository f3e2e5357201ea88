"""The vectors rules under the real snakemake, on a tiny synthetic corpus (text rules included)."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.workflow.conftest import copy_workflow


@pytest.mark.slow
def test_vectors_rules_end_to_end(tmp_path):
    copy_workflow(tmp_path)
    rng = np.random.default_rng(0)
    words = np.array([f"w{k}" for k in range(300)])
    p = 1.0 / np.arange(1, 301)
    p /= p.sum()
    with open(tmp_path / "corpus.txt", "w") as f:
        for _ in range(300):
            f.write(" ".join(words[rng.choice(300, size=40, p=p)]) + "\n")
    (tmp_path / "analogies.txt").write_text(
        ": s\r\nw0 w1 w2 w3\r\nw4 w5 w6 w7\r\nnot a question\r\n"
    )
    small = {"dim": 8, "epochs": 2, "batch_size": 1024, "device": "cpu"}
    cfg = {
        "text": {
            "corpora": {
                "tiny": {
                    "language": "en",
                    "format": "plain",
                    "tokenizer": "whitespace",
                    "local_mirror": "corpus.txt",
                    "shards": 2,
                    "vocab": {"min_count": 2},
                    "cooccur": {"window": 3, "weightings": ["unit", "harmonic"]},
                }
            }
        },
        "vectors": {
            "corpus": "tiny",
            "methods": ["simpler_glove_trunc", "glove"],
            "threads": 1,
            "simpler_glove": small,
            "glove": small,
            "gensim": {"dim": 8, "epochs": 1},
            "evaluate": {
                "analogies": [{"name": "mine", "path": "analogies.txt"}],
                "similarity": [{"name": "pairs", "path": "gensim:wordsim353.tsv"}],
                "similarity_restrict_vocab": 300000,
            },
            "norms": {"top_frequent": 5, "rank_range": [20, 100]},
            "ill_posedness": {"top_words": 50, "max_pairs": 1000},
            "examples": {
                "keyword_sentences": ["w0 w10 w50"],
                "similar_queries": ["w3"],
                "context_sizes": [50, 10],
                "analogy_queries": [["w0", "w1", "w2"]],
                "tokenizer": "whitespace",
            },
            "adagrad_comparison": {"enabled": False},  # covered by test_cli
        },
    }
    (tmp_path / "test-config.yaml").write_text(yaml.safe_dump(cfg))
    targets = [
        "results/vectors/tiny/summary.tsv",
        "results/vectors/tiny/examples/examples.tsv",
        "results/vectors/tiny/norms/norms.png",
        "results/vectors/tiny/norms/smallest.html",
        "results/vectors/tiny/ill_posedness/cosine.png",
    ]
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        *targets,
        "--cores",
        "2",
        "--configfile",
        "test-config.yaml",
        # Every evaluation must run (and fail) whichever fails first; without this, snakemake stops
        # scheduling after the first failure and the order of the two jobs is a race.
        "--keep-going",
    ]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    # WS353 has no overlap with the synthetic words: the evaluation must fail with a clear error
    assert proc.returncode != 0
    log = (tmp_path / "results/logs/vectors_evaluate/tiny/glove.log").read_text()
    assert "pairs: 0 of 353 pairs have both words in the vocabulary" in log
    cfg["vectors"]["evaluate"]["similarity"] = []
    (tmp_path / "test-config.yaml").write_text(yaml.safe_dump(cfg))
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = pd.read_parquet(tmp_path / "results/vectors/tiny/summary.parquet")
    malformed = summary[
        (summary["metric"] == "malformed_lines") & (summary["section"] == "mine/file")
    ]
    assert malformed["value"].tolist() == [1.0, 1.0]  # one per method
    assert {"analogy", "norms", "ill_posedness"} <= set(summary["experiment"])
    for table in ("summary", "examples/examples", "norms/smallest"):  # shown inline in the report
        html = (tmp_path / f"results/vectors/tiny/{table}.html").read_text()
        assert "<table" in html and (tmp_path / f"results/vectors/tiny/{table}.tsv").stat().st_size

    dry = subprocess.run([*cmd, "-n"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert "Nothing to be done" in dry.stdout + dry.stderr
