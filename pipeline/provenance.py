"""Provenance records: what produced a result, so that it can be reproduced and audited.

Each result table and checkpoint carries: the git commit and dirty flag of this repository,
the hash of the config section that produced it, the sha256 of every input, the versions of the
libraries that matter, and the device. Keys are flat strings so that they fit Arrow schema
metadata; :func:`collect` builds them.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from pipeline.io import sha256_file

LIBRARIES = (
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "gensim",
    "torch",
    "jieba",
    "snakemake",
)
REPO_ROOT = Path(__file__).resolve().parent.parent


def config_hash(section: Mapping | str) -> str:
    """sha256 of the canonical (sorted-key) JSON of a config section."""
    text = section if isinstance(section, str) else json.dumps(section, sort_keys=True, default=str)
    text = json.dumps(json.loads(text), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def git_state() -> tuple[str, bool]:
    """(commit, dirty) of the repository holding this package; ("unknown", False) outside git."""
    if env := os.environ.get("PIPELINE_GIT_COMMIT"):
        return env, os.environ.get("PIPELINE_GIT_DIRTY", "0") == "1"
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown", False
    return commit, bool(status.strip())


@functools.cache
def library_versions(names: tuple[str, ...] = LIBRARIES) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def collect(
    config: Mapping | str,
    inputs: Iterable[str | os.PathLike] = (),
    device: str = "cpu",
    input_hashes: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The provenance record of one result.

    ``input_hashes`` supplies checksums already computed (a large corpus is hashed once, while
    it is read); other inputs are hashed here.
    """
    commit, dirty = git_state()
    hashes = dict(input_hashes or {})
    for path in inputs:
        key = str(path)
        if key not in hashes:
            hashes[key] = sha256_file(path)
    return {
        "git_commit": commit,
        "git_dirty": str(dirty).lower(),
        "config_hash": config_hash(config),
        "config": config
        if isinstance(config, str)
        else json.dumps(config, sort_keys=True, default=str),
        "inputs_sha256": json.dumps(hashes, sort_keys=True),
        "library_versions": json.dumps(library_versions(), sort_keys=True),
        "device": device,
        "host": platform.node(),
    }
