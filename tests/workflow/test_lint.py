"""The workflow is lint-clean (`snakemake --lint`: a conda env per rule, no variables from
outside a rule in shell commands, no functions in rule files) and snakefmt-formatted."""

import subprocess
import sys

import pytest

from tests.workflow.conftest import REPO

pytestmark = pytest.mark.slow


def test_snakemake_lint_is_clean():
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert "Congratulations, your workflow is in a good condition!" in out, out[-4000:]
