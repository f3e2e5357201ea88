"""Interrupting a run in the middle of a job, and recovering with the README's commands."""

import os
import signal
import time

import pyarrow.parquet as pq
import pytest

from tests.workflow.conftest import TARGETS, Workflow, copy_workflow, text_config, write_corpus

pytestmark = pytest.mark.slow

SLOW_JOB_LOG = "results/logs/text_prepare_corpus/tiny.log"


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory):
    # Large enough that preparing it takes seconds, so a signal lands mid-job.
    return write_corpus(tmp_path_factory.mktemp("corpus") / "corpus.txt", n_docs=2000, words_per_doc=1500)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, big_corpus):
    wf = _workflow(tmp_path_factory.mktemp("ref"), big_corpus)
    wf.run()
    return {t: pq.read_table(wf.root / t) for t in TARGETS if t.endswith(".parquet")}


def _workflow(tmp, corpus):
    root = copy_workflow(tmp / "wf")
    os.symlink(corpus, root / "corpus.txt")
    wf = Workflow(root)
    wf.write_config(text_config("corpus.txt"))
    return wf


def _start_and_wait_for_job(wf):
    proc = wf.popen()
    deadline = time.monotonic() + 120
    while not (wf.root / SLOW_JOB_LOG).exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    time.sleep(0.5)  # inside the job now: python started, reading the corpus
    assert not (wf.root / "results/text/tiny/types.parquet").exists(), "job finished too fast for this test"
    return proc


def _assert_outputs_valid_or_absent(wf):
    """No declared output is a truncated file: each is absent or a readable Parquet file."""
    for path in (wf.root / "results/text/tiny").rglob("*.parquet"):
        pq.read_metadata(path)


def _assert_equal_to_reference(wf, reference):
    for target, table in reference.items():
        assert pq.read_table(wf.root / target).equals(table), target


def test_sigkill_mid_job_recovers_with_unlock_and_rerun_incomplete(tmp_path, big_corpus, reference):
    wf = _workflow(tmp_path, big_corpus)
    proc = _start_and_wait_for_job(wf)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    _assert_outputs_valid_or_absent(wf)
    # A killed job's outputs are never taken as complete: snakemake refuses until told.
    refused = wf.run(check=False)
    assert refused.returncode != 0
    assert "locked" in refused.stdout + refused.stderr or "incomplete" in refused.stdout + refused.stderr
    wf.run("--unlock")
    wf.run("--rerun-incomplete")
    _assert_equal_to_reference(wf, reference)
    assert wf.planned_jobs() == {}


def test_sigterm_mid_job_finishes_the_job_then_resumes(tmp_path, big_corpus, reference):
    wf = _workflow(tmp_path, big_corpus)
    proc = _start_and_wait_for_job(wf)
    os.kill(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode != 0, out
    # The running job was allowed to finish, and what it wrote is complete.
    assert pq.read_table(wf.root / "results/text/tiny/types.parquet").num_rows > 0
    _assert_outputs_valid_or_absent(wf)
    wf.run()
    _assert_equal_to_reference(wf, reference)
    assert wf.planned_jobs() == {}
