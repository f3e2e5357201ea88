"""benchmarks/bench.py (make bench): the tiny size runs every benchmark and writes the report.

No timed asserts: the figures depend on the machine and its load; the test checks that every
benchmark ran, its ratio is finite and positive, and the machine, commit and versions are there.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "bench.py"
sys.path.insert(0, str(REPO / "benchmarks"))

import bench  # noqa: E402


def test_tiny_runs_every_benchmark(tmp_path):
    # A finished workspace for the dry-run row: one rule whose output exists.
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "done.txt").write_text("x")
    (ws / "Snakefile").write_text(
        'rule all:\n    output: "done.txt"\n    shell: "touch {output}"\n'
    )
    out = tmp_path / "out"
    cmd = [sys.executable, str(SCRIPT), "--size", "tiny", "--out-dir", str(out), "--lock", ""]
    proc = subprocess.run(
        [*cmd, "--workspace", str(ws)], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "bench-tiny.json").read_text())
    assert [e["benchmark"] for e in report["benchmarks"]] == [b.name for b in bench.BENCHMARKS]
    for entry in report["benchmarks"]:
        assert entry["status"] == "ok", entry
        assert entry["rows"], entry["benchmark"]
        assert len(entry["load_before"]) == 3 and len(entry["load_after"]) == 3
        for row in entry["rows"]:
            assert math.isfinite(row["ratio"]) and row["ratio"] > 0, row
            assert row["ours"] > 0 and row["peer"] > 0, row
            assert row["met"] is None  # targets are checked at reference size only
    m = report["machine"]
    assert m["cpu_model"] and m["cores"] >= 1 and m["cores_usable"] >= 1
    assert len(report["commit"]) == 40 and report["date_utc"]
    assert {"numpy", "scikit-learn", "torch", "gensim", "pot"} <= set(report["versions"])
    assert len(report["load_before"]) == 3 and len(report["load_after"]) == 3
    md = (out / "bench-tiny.md").read_text()
    assert m["cpu_model"] in md and report["commit"][:10] in md
    for entry in report["benchmarks"]:
        for row in entry["rows"]:
            assert row["case"] in md


def test_reference_without_the_corpus_is_a_clear_error(tmp_path):
    code = bench.main(
        [
            "--size", "reference", "--only", "counting", "vectors", "--lock", "",
            "--shared", str(tmp_path / "nowhere"), "--out-dir", str(tmp_path),
        ]
    )  # fmt: skip
    assert code == 1
    entries = json.loads((tmp_path / "bench-reference.json").read_text())["benchmarks"]
    assert entries[0]["status"] == "failed"
    assert str(tmp_path / "nowhere" / bench.ENWIKI) in entries[0]["reason"]
    assert entries[1]["status"] == "skipped"  # word vectors need the counting run's corpus
    assert "failed" in (tmp_path / "bench-reference.md").read_text()


def test_dry_run_of_an_unfinished_workspace_is_skipped_with_why(tmp_path):
    (tmp_path / "Snakefile").write_text(
        'rule all:\n    output: "a.txt"\n    shell: "touch {output}"\n'
    )
    rec = bench.time_dry_run(tmp_path, 1)
    assert rec["complete"] is False and "1 jobs would run" in rec["reason"]
    ctx = bench.Context("tiny", sys.executable, tmp_path, tmp_path, tmp_path)
    assert "not complete" in bench.dry_run_rows(rec, ctx)


@pytest.mark.parametrize(
    ("better", "ratio_ok", "ratio_bad"), [("lower", 0.9, 1.1), ("higher", 1.0, 0.9)]
)
def test_targets_apply_at_reference_size_only(better, ratio_ok, ratio_bad):
    target = 1.0 if better == "lower" else 0.95
    ok = bench.Row("b", "c", "o", "p", ratio_ok, 1.0, "s", better, target)
    bad = bench.Row("b", "c", "o", "p", ratio_bad, 1.0, "s", better, target)
    assert ok.met("reference") is True and bad.met("reference") is False
    assert ok.met("quick") is None and bad.met("tiny") is None
    assert bench.Row("b", "c", "o", "p", 2.0, 1.0, "s", better, None).met("reference") is None


def test_zipf_corpus_is_deterministic_and_heavy_headed(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    bench.zipf_corpus(a, 20_000, 2_000)
    bench.zipf_corpus(b, 20_000, 2_000)
    assert a.read_bytes() == b.read_bytes()
    words = a.read_text().split()
    assert len(words) == 20_000 and all(w.isalpha() and w.islower() for w in words)
    top = max(words.count(w) for w in ("a", "b", "c"))
    assert top > 20 * words.count("zz")  # rank 1 vs rank ~700: Zipf's head
