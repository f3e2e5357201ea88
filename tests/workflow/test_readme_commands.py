"""The README's plain commands work as written (issue 17): ``snakemake`` with no flags finds the
default profile at ``profiles/default`` (Snakemake 9 looks there, beside the Snakefile or the
working directory), and a failed job's own one-line error reaches the console
(``show-failed-logs``), not only the log file."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.workflow.conftest import copy_workflow

pytestmark = pytest.mark.slow

SNAKEMAKE = str(
    Path(sys.executable).parent / "snakemake"
)  # the console script, as the README runs it


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SNAKEMAKE, *args], cwd=root, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("readme") / "wf")


@pytest.mark.parametrize(
    "args",
    [
        ["-n"],
        ["-n", "results/text/enwiki-sample/cooccur/unit.parquet"],
        ["-n", "--until", "text_merge_cooccurrences"],
    ],
    ids=["dry-run", "one-target", "until-rule"],
)
def test_plain_commands_use_the_default_profile(root, args):
    proc = _run(root, *args)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "Using workflow specific profile profiles/default" in out
    assert "cores have to be specified" not in out


def test_a_failed_job_shows_its_own_error_on_the_console(root):
    (root / "empty.txt").write_bytes(b"")
    cfg = {"text": {"corpora": {"bad": {"format": "plain", "local_mirror": "empty.txt"}}}}
    (root / "bad.yaml").write_text(yaml.safe_dump(cfg))
    proc = _run(root, "results/text/bad/types.parquet", "--configfile", "bad.yaml")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    # The package's one-line message, from the job's log, printed by show-failed-logs.
    assert "ERROR pipeline: DataError: input 'empty.txt' is empty" in out, out[-3000:]
    assert not (root / "results/text/bad/types.parquet").exists()
