# The claims ledger (pipeline/ledger/): every checklist item and claim of posts.md beside our
# measured value and a verdict, built from every results table the other rule files declare
# (declare_results in common.smk) and every collected results folder (results/reference/*/).
# Included last, so RESULTS_TABLES is complete here.


include: "ledger_functions.smk"


import glob
import importlib.util

LEDGER = config["ledger"]
# The claims belong to the workflow, not to the working directory (--directory elsewhere).
LEDGER_CLAIMS = str(Path(workflow.basedir) / LEDGER["claims_dir"])
LEDGER_CODE = [
    "ledger/__init__.py",
    "ledger/cli.py",
    "ledger/claims.py",
    "ledger/verdicts.py",
    "ledger/sources.py",
    "ledger/ledger.py",
    "ledger/figures.py",
    "ledger/render.py",
]


# Before the DAG is built: a claims file with a duplicate id, a malformed threshold or a metric
# that no declared results table holds stops the workflow here, naming the entry.
_claims = _ledger_claims_module()
LEDGER_CLAIM_FILES = [str(p) for p in _claims.claim_files(LEDGER_CLAIMS)]
# A pass is stamped under .snakemake/ (by a hash of the claims files, the check's code and the
# declared tables), so an unchanged workflow is checked once, not at every start.
_claims.check_claims(LEDGER_CLAIMS, RESULTS_TABLES, ".snakemake/ledger-claims-checked")


rule ledger_build:
    input:
        results=RESULTS_IN_DAG,
        collected=get_ledger_collected,
        claims=LEDGER_CLAIM_FILES,
        schema=f"{LEDGER_CLAIMS}/schema.yaml",
        catalog=f"{LEDGER_CLAIMS}/catalog.yaml",
        code=pkg_files(*LEDGER_CODE),
    output:
        ledger="results/ledger/ledger.parquet",
        checks="results/ledger/checks.parquet",
        front="results/ledger/front.html",
        notes=directory("results/ledger/verdicts"),
        html=report(
            "results/ledger/ledger.html",
            caption="../report/ledger_table.rst",
            category="0. Claims ledger",
            subcategory="ledger",
            labels={"table": "the ledger, every column"},
        ),
        summary=report(
            "results/ledger/summary.png",
            caption="../report/ledger_summary.rst",
            category="0. Claims ledger",
            subcategory="ledger",
            labels={"figure": "verdicts per post"},
        ),
    log:
        "results/logs/ledger_build/ledger.log",
    benchmark:
        "results/benchmarks/ledger_build/ledger.tsv"
    conda:
        CONDA_ENV
    threads: 1
    params:
        cfg=canon({**LEDGER, "claims_dir": LEDGER_CLAIMS}),
        declared=canon(RESULTS_TABLES),
        versions=lib_versions("pandas", "pyarrow", "jsonschema", "matplotlib"),
    shell:
        "$PIPELINE_PYTHON -m pipeline ledger build --config {params.cfg:q} --declared {params.declared:q} "
        "--results {input.results} --output {output.ledger} --checks {output.checks} "
        "--html {output.html} --front {output.front} --summary-figure {output.summary} "
        "--notes {output.notes} "
        "> {log} 2>&1"


FINAL_OUTPUTS.append("results/ledger/ledger.parquet")
