# Shared helpers for every rule file: config validation, params, code inputs, targets.
# Nothing here computes results; rules call `python -m pipeline <domain> <verb>`.
import importlib.metadata
import json
import sys
from pathlib import Path

from snakemake.utils import validate

DOMAINS = ["text", "vectors", "em", "images"]

# Validate before the DAG is built: the top level first (unknown sections rejected), then each
# domain against its own schema, which also fills in every default.
validate(config, "../schemas/config.schema.yaml")
for _domain in DOMAINS:
    validate(config[_domain], f"../schemas/{_domain}.schema.yaml")

# The interpreter running snakemake runs the package too (the .venv made by `make setup`).
PY = sys.executable
PKG = Path(workflow.basedir) / "pipeline"
# Core modules every verb imports; editing them reruns every rule.
CORE_CODE = ["__init__.py", "__main__.py", "cli.py", "io.py", "provenance.py"]


def canon(obj):
    """One canonical JSON string for params (Snakemake compares params by sorted repr, so
    dicts must be serialised with sorted keys, and never hold paths or timestamps)."""
    return json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))


def pkg_files(*modules):
    """The package files a rule depends on, declared as inputs so that editing one reruns
    exactly the rules that use it (Snakemake does not track modules a command imports).
    """
    return [
        str(PKG / m) for m in CORE_CODE + [m for m in modules if m not in CORE_CODE]
    ]


def lib_versions(*names):
    """Library versions as one params string: a pip upgrade of one of them reruns the rule."""
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "absent"
    return canon(out)


# Each rule file appends its domain's targets with `FINAL_OUTPUTS.extend(...)`.
FINAL_OUTPUTS = []


def get_final_outputs():
    return FINAL_OUTPUTS
