"""workflow/envs/pipeline.yaml (conda users, and every rule's conda env) and pyproject.toml (pip users) declare the same dependencies."""

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _split(spec: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]+\])?\s*(.*)$", spec.strip())
    return m.group(1).lower().replace("_", "-"), m.group(3).replace(" ", "")


def test_environment_yml_matches_pyproject():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    declared = dict(_split(s) for s in pyproject["project"]["dependencies"])
    env = yaml.safe_load((REPO / "workflow/envs/pipeline.yaml").read_text())
    conda, pip = {}, {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip.update(_split(s) for s in dep["pip"] if not s.startswith("-"))
        elif not dep.startswith(("python", "pip")):
            conda.update([_split(dep)])
    assert not set(conda) & set(pip), "a package is listed for both conda and pip"
    assert {**conda, **pip} == declared


def test_constraints_pin_every_dependency():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    for spec in (
        pyproject["project"]["dependencies"] + pyproject["project"]["optional-dependencies"]["dev"]
    ):
        name, _ = _split(spec)
        assert name in pins, f"{name} is not pinned in constraints.txt"
    assert pins["torch"] == "2.13.0"
