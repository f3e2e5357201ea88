"""`make reproduce`: every reference run it names exists and is collected at reference scale
before the final default run builds the ledger and the report."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.ledger.conftest import REPO


def test_make_reproduce_runs_each_reference_config_then_collects_it():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(
        ["make", "-n", "reproduce", "STAMP="],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    # a lane chains its runs with && on one shell line: one command per element
    commands = [c.strip(" ()") for ln in out.splitlines() for c in ln.split("&&")]
    lines = [c for c in commands if "bin/snakemake" in c or "ledger collect" in c]
    configs = re.findall(r"--configfile config/(\S+)", out)
    assert configs and all((REPO / "config" / c).is_file() for c in configs)
    # every reference configuration is one of its runs (their GPU parts sit behind targets the
    # recipe does not name), so a new track's reference config cannot be left out of the ledger
    assert sorted(configs) == sorted(p.name for p in (REPO / "config").glob("*-reference.yaml"))
    for config in configs:
        run = next(i for i, ln in enumerate(lines) if f"config/{config}" in ln)
        assert "ledger collect results" in lines[run + 1] and "--scale reference" in lines[run + 1]
    assert (
        re.search(r"snakemake --cores \d+$", lines[-2])
        and "--report results/report.html" in lines[-1]
    )
