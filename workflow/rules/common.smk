# Shared helpers of every domain: config validation, params, code inputs, targets.
# Nothing here computes results; rules call `python -m pipeline <domain> <verb>`.
import functools
import importlib.metadata
import importlib.util
import json
import os
import sys
from pathlib import Path
from urllib.parse import urlparse

from snakemake.exceptions import WorkflowError
from snakemake.settings.types import DeploymentMethod
from snakemake.logging import logger

from pipeline.validation import ConfigError, unpinned_mirrors, validate_section

DOMAINS = [
    "text",
    "vectors",
    "em",
    "images",
    "estimators",
    "energy",
    "dynamics",
    "transport",
    "ledger",
]

# Validate before the DAG is built: the top level first (unknown sections rejected), then each
# domain against its own schema, which also fills in every default (as snakemake's
# validate(set_default=True)); a violation is one line per problem naming the full dotted key,
# the value and what is expected (pipeline/validation.py).
_SCHEMAS = Path(workflow.basedir) / "workflow" / "schemas"
try:
    validate_section(config, _SCHEMAS / "config.schema.yaml")
    for _domain in DOMAINS:
        validate_section(config[_domain], _SCHEMAS / f"{_domain}.schema.yaml", _domain)
except ConfigError as _exc:
    raise WorkflowError(str(_exc)) from None
for _warning in unpinned_mirrors(config):
    logger.warning(_warning)

# The interpreter running snakemake runs the package too (the .venv made by `make setup`). Rules
# read it from the environment (PIPELINE_PYTHON, passed on to SLURM jobs by `envvars`); with
# --sdm conda, each rule's conda env (workflow/envs/pipeline.yaml, CONDA_ENV) provides `python` instead.
PY = sys.executable
CONDA_ENV = "../envs/pipeline.yaml"
_CONDA = DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
os.environ.update(PIPELINE_PYTHON="python" if _CONDA else PY)


envvars:
    "PIPELINE_PYTHON",


PKG = Path(workflow.basedir) / "pipeline"
# Core modules every verb imports; editing them reruns every rule.
CORE_CODE = [
    "__init__.py",
    "__main__.py",
    "cli.py",
    "devices.py",
    "io.py",
    "provenance.py",
    "tables.py",
]


# The shared training engine: every rule that trains or loads a checkpoint lists it.
ENGINE_CODE = [
    "engine/__init__.py",
    "engine/activations.py",
    "engine/checkpoints.py",
    "engine/data.py",
    "engine/ema.py",
    "engine/loop.py",
    "engine/run.py",
]


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


@functools.lru_cache(maxsize=None)
def lib_version(name):
    """One library's installed version, looked up once per snakemake start (each lookup scans
    the environment's distributions: 24 uncached calls cost 0.2-0.4 s of every dry run).
    """
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def lib_versions(*names):
    """Library versions as one params string: a pip upgrade of one of them reruns the rule."""
    return canon({name: lib_version(name) for name in names})


# Each rule file appends its domain's targets with `FINAL_OUTPUTS.extend(...)`.
FINAL_OUTPUTS = []


def get_final_outputs():
    return FINAL_OUTPUTS


# Each rule file declares the results tables it writes (concrete paths, in the one schema of
# pipeline/tables.py) and the metrics each experiment id holds there, with
# `declare_results(path, {experiment: [metric, ...]})`; the ledger reads every declared table
# and refuses, before the DAG is built, a claim that points at a metric no table holds.
# A table only a GPU or reference configuration writes is declared with in_dag=False: its
# metrics are known to the claims check, but the ledger does not ask this run to build it.
RESULTS_TABLES = {}
RESULTS_IN_DAG = []


def declare_results(path, produces, in_dag=True):
    if path in RESULTS_TABLES:
        raise ValueError(f"results table {path} declared twice")
    RESULTS_TABLES[path] = {k: list(v) for k, v in produces.items()}
    if in_dag:
        RESULTS_IN_DAG.append(path)
    return path


# ---- text track -------------------------------------------------------------------


# Keys of a corpus entry that change how it is tokenised (the source itself is an input file).
CORPUS_KEYS = [
    "language",
    "format",
    "max_documents",
    "shards",
    "tokenizer",
    "opencc",
    "max_bad_byte_fraction",
]


def get_corpus(wildcards):
    return config["text"]["corpora"][wildcards.corpus]


def gensim_datapath(name):
    """A file in gensim's bundled test data, found without importing gensim."""
    spec = importlib.util.find_spec("gensim")
    return str(Path(spec.submodule_search_locations[0]) / "test" / "test_data" / name)


def get_corpus_source(wildcards):
    c = get_corpus(wildcards)
    if c["local_mirror"]:
        return c["local_mirror"]
    if c["gensim_data"]:
        # ancient: a rebuilt venv gives the file a new mtime, not new content (its sha256 is
        # pinned in the config and checked by the rule), so it must not rerun the DAG
        return ancient(gensim_datapath(c["gensim_data"]))
    return f"resources/text/{wildcards.corpus}/{Path(urlparse(c['url']).path).name}"


def get_corpus_params(wildcards):
    c = get_corpus(wildcards)
    return canon({k: c[k] for k in CORPUS_KEYS})


def get_cooccur_params(wildcards):
    # The weightings list only selects targets; the weighting is a wildcard of its own.
    c = get_corpus(wildcards)["cooccur"]
    return canon({k: v for k, v in c.items() if k != "weightings"})


def get_cooccur_parts(wildcards):
    n = get_corpus(wildcards)["shards"]
    return [
        f"results/text/{wildcards.corpus}/cooccur/{wildcards.weighting}/part-{k}.csr"
        for k in range(n)
    ]


def get_cooccur_stats(wildcards):
    return [
        f"results/text/{wildcards.corpus}/cooccur/{w}.stats.json"
        for w in get_corpus(wildcards)["cooccur"]["weightings"]
    ]


for _name, _c in config["text"]["corpora"].items():
    if not (_c["local_mirror"] or _c["gensim_data"] or _c["url"]):
        raise ValueError(
            f"text.corpora.{_name}: set one of local_mirror, gensim_data or url"
        )
