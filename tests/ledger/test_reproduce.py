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


def _fake_bin(folder, fail_on: str = "") -> str:
    """A BIN whose snakemake and python append their arguments to calls.txt; the call whose
    arguments contain ``fail_on`` exits 1."""
    folder.mkdir()
    for name in ("snakemake", "python"):
        exe = folder / name
        exe.write_text(
            "#!/bin/sh\n"
            f'echo "{name} $*" >> {folder}/calls.txt\n'
            f'case "$*" in *"{fail_on or "@never@"}"*) echo "boom: $*"; exit 1;; esac\n'
        )
        exe.chmod(0o755)
    return str(folder)


@pytest.mark.parametrize("lane", ["images", "text-em"])
def test_a_lane_runs_then_collects_each_config_in_order_and_logs(tmp_path, lane):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    fake = _fake_bin(tmp_path / "bin")
    run = subprocess.run(
        ["make", "-f", str(REPO / "Makefile"), f"reproduce-lane-{lane}", "STAMP=", f"BIN={fake}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    log = tmp_path / f"results/logs/reproduce-{lane}.log"  # the lane runs where make is called
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"reproduce: lane {lane} done" in run.stdout and log.is_file()
    calls = (tmp_path / "bin/calls.txt").read_text().splitlines()
    assert len(calls) % 2 == 0 and calls
    for run_call, collect_call in zip(calls[::2], calls[1::2], strict=True):
        config = re.search(r"--configfile config/(\S+)-reference\.yaml", run_call).group(1)
        assert f"--label {config}-reference --scale reference" in collect_call


def test_a_failed_run_stops_its_lane_and_make(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    fake = _fake_bin(tmp_path / "bin", fail_on="config/en-reference.yaml")
    run = subprocess.run(
        ["make", "-f", str(REPO / "Makefile"), "reproduce-lane-text-em", "STAMP=", f"BIN={fake}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert run.returncode != 0
    assert "boom:" in run.stdout and "reproduce: lane text-em failed" in run.stdout
    calls = (tmp_path / "bin/calls.txt").read_text()
    assert "en-reference.yaml" in calls and "zh-reference" not in calls  # nothing after it ran
    assert "--label en-reference" not in calls  # a failed run is not collected
