# Functions of workflow/rules/ledger.smk (kept apart: snakemake --lint wants rule files without functions).


def _ledger_claims_module():
    """pipeline/ledger/claims.py of this workflow's copy (needs only yaml and jsonschema)."""
    spec = importlib.util.spec_from_file_location(
        "ledger_claims", PKG / "ledger" / "claims.py"
    )
    claims = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(claims)
    return claims


def get_ledger_collected(wildcards):
    """Manifests and tables of the collected results folders (results/reference/<label>/)."""
    root = LEDGER["collected_dir"]
    return sorted(
        glob.glob(f"{root}/*/manifest.json")
        + glob.glob(f"{root}/*/**/*.parquet", recursive=True)
    )
