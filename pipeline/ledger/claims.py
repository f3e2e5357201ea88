"""Claims as data: the entries of ``claims/*.yaml``, validated, and the catalog of every id.

A claims file is a list of entries (format: ``claims/schema.yaml``; one per checklist item
``E1.1`` ... ``E8.5`` or claim ``C1`` ... ``C11`` of posts.md). Each entry names the results rows
its checks read (``select``: columns of the one results table, :mod:`pipeline.tables`), how the
rows reduce to one value and the threshold the value must pass. ``claims/catalog.yaml`` lists
every id the ledger must show, so an id without an entry still gets a ``not run`` row.

This module needs only PyYAML and jsonschema (no pandas): the workflow loads it while the DAG is
built, to refuse an entry that points at a metric no declared results table holds
(:func:`check_selects`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import jsonschema
import yaml

#: The columns of the one results table (pipeline/tables.py COLUMNS; a test keeps them equal).
RESULT_COLUMNS = (
    "experiment",
    "dataset",
    "method",
    "implementation",
    "seed",
    "step",
    "metric",
    "value",
)
SCHEMA_FILE = "schema.yaml"
CATALOG_FILE = "catalog.yaml"
#: Files of the claims folder that are not claims files.
NOT_CLAIMS = {SCHEMA_FILE, CATALOG_FILE}
REDUCTIONS = ("min", "max", "median", "mean", "last")
BARS = ("post", "author's code", "paper", "project-defined")


class ClaimsError(ValueError):
    """A claims file that cannot be used: the message names the file and the entry."""


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """PyYAML's safe loader with YAML 1.2's floats: ``1e-7`` is a number, not a string. libyaml's
    parser where PyYAML has it (10x the pure-Python one; the claims are read at every snakemake
    start, dry runs included); the resolvers, and so the values, are the same."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _read_yaml(path: Path):
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        raise ClaimsError(f"{path}: not valid YAML ({exc})") from exc


def claim_files(claims_dir: str | Path) -> list[Path]:
    """The claims files of a folder: every ``*.yaml`` but the schema and the catalog."""
    folder = Path(claims_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"claims folder {str(folder)!r} does not exist")
    return sorted(p for p in folder.glob("*.yaml") if p.name not in NOT_CLAIMS)


def load_catalog(claims_dir: str | Path) -> list[dict]:
    """The catalog: every id the ledger lists, with post, statement, bar and needs."""
    path = Path(claims_dir) / CATALOG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"claims catalog {str(path)!r} does not exist")
    rows = _read_yaml(path) or []
    ids = [r["id"] for r in rows]
    if len(set(ids)) != len(ids):
        raise ClaimsError(f"{path}: duplicate ids {sorted({i for i in ids if ids.count(i) > 1})}")
    return [{"needs": None, **r} for r in rows]


def load_claims(claims_dir: str | Path) -> list[dict]:
    """Every entry of every claims file, validated and with optional keys filled in.

    Raises :class:`ClaimsError` naming the file and entry for a schema violation, a duplicate id
    (within or across files), an id or post the catalog does not know, a bar or needs that differs
    from the catalog's line, or a malformed threshold.
    """
    folder = Path(claims_dir)
    files = claim_files(folder)
    if not (folder / SCHEMA_FILE).is_file():
        raise FileNotFoundError(f"claims schema {str(folder / SCHEMA_FILE)!r} does not exist")
    schema = _read_yaml(folder / SCHEMA_FILE)
    catalog = {c["id"]: c for c in load_catalog(folder)}
    seen: dict[str, Path] = {}
    entries = []
    for path in files:
        data = _read_yaml(path)
        if data is None:
            continue
        _validate_schema(data, schema, path)
        for entry in data:
            where = f"{path}: entry {entry['id']}"
            if entry["id"] in seen:
                raise ClaimsError(f"{where}: duplicate id (also in {seen[entry['id']]})")
            seen[entry["id"]] = path
            if entry["id"] not in catalog:
                raise ClaimsError(
                    f"{where}: id not in {folder / CATALOG_FILE} (posts.md numbering)"
                )
            if not set(_posts(entry["post"])) <= set(_posts(catalog[entry["id"]]["post"])):
                raise ClaimsError(
                    f"{where}: post {entry['post']} but posts.md puts it in post "
                    f"{catalog[entry['id']]['post']}"
                )
            for key in ("bar", "needs"):  # one truth: the catalog line repeats the entry's
                listed, own = catalog[entry["id"]].get(key), entry.get(key)
                if key in catalog[entry["id"]] and listed != own:
                    raise ClaimsError(
                        f"{where}: {key} {own!r} but {folder / CATALOG_FILE} says {listed!r}; "
                        "make them agree"
                    )
            for k, check in enumerate(entry["checks"]):
                _validate_threshold(check, f"{where}, check {k + 1} ({check['name']!r})")
            entries.append(
                {
                    "author": None,
                    "evidence": [],
                    "scale": "default",
                    "needs": None,
                    "notes": "",
                    **entry,
                    "file": str(path),
                }
            )
    return entries


def _posts(post) -> tuple[int, ...]:
    return tuple(post) if isinstance(post, list) else (post,)


def _validate_schema(data, schema: Mapping, path: Path) -> None:
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.path)
    )
    if not errors:
        return
    err = errors[0]
    loc = list(err.path)
    entry = ""
    if (
        loc
        and isinstance(loc[0], int)
        and isinstance(data, list)
        and isinstance(data[loc[0]], dict)
    ):
        entry = f" entry {data[loc[0]].get('id', f'#{loc[0] + 1}')}"
    field = ".".join(str(p) for p in loc[1:]) or "(entry)"
    raise ClaimsError(f"{path}:{entry} {field}: {err.message}")


def _validate_threshold(check: Mapping, where: str) -> None:
    op, value = check["op"], check["value"]
    if op == "between":
        if not (isinstance(value, list) and len(value) == 2):
            raise ClaimsError(f"{where}: op 'between' needs value [lo, hi], got {value!r}")
        lo, hi = value
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise ClaimsError(f"{where}: between [{lo}, {hi}] needs finite lo <= hi")
    elif isinstance(value, list):
        raise ClaimsError(
            f"{where}: op {op!r} needs one number or a selection, got the list {value!r}"
        )
    elif isinstance(value, (int, float)) and not math.isfinite(value):
        raise ClaimsError(f"{where}: threshold {value} is not finite")
    if "tolerance" in check and op != "==":
        raise ClaimsError(f"{where}: tolerance applies to op '==' only (op is {op!r})")


def selections(entry: Mapping) -> Iterable[tuple[str, Mapping]]:
    """(where, selection) of every selection an entry makes: each check's and its threshold's."""
    for k, check in enumerate(entry["checks"]):
        where = f"{entry['file']}: entry {entry['id']}, check {k + 1} ({check['name']!r})"
        yield where, check["select"]
        if isinstance(check["value"], dict):
            yield f"{where}, threshold", check["value"]["select"]


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def check_selects(entries: list[dict], declared: Mapping[str, Mapping[str, list[str]]]) -> None:
    """Refuse selections that no declared results table can satisfy.

    ``declared`` is the workflow's ``RESULTS_TABLES``: {table path: {experiment: [metric, ...]}}.
    A selection must name only results columns and must fix ``experiment``; where its experiment
    is declared, every metric it names must be declared for that experiment. An experiment that
    no table declares is allowed: its track is not built yet (the ledger says so).
    """
    metrics: dict[str, set[str]] = {}
    for produces in declared.values():
        for experiment, names in produces.items():
            metrics.setdefault(str(experiment), set()).update(map(str, names))
    for entry in entries:
        for where, select in selections(entry):
            unknown = sorted(set(select) - set(RESULT_COLUMNS) - {"value"})
            if unknown or "value" in select:
                raise ClaimsError(
                    f"{where}: select names {unknown or ['value']}, which are not "
                    f"results columns {list(RESULT_COLUMNS[:-1])}"
                )
            if "experiment" not in select:
                raise ClaimsError(f"{where}: select must fix 'experiment' (the checklist id)")
            if "metric" not in select:
                raise ClaimsError(f"{where}: select must fix 'metric'")
            for experiment in map(str, _as_list(select["experiment"])):
                if experiment not in metrics:
                    continue
                missing = sorted(set(map(str, _as_list(select["metric"]))) - metrics[experiment])
                if missing:
                    raise ClaimsError(
                        f"{where}: metric {missing} of experiment {experiment} is in no declared "
                        f"results table (declared: {sorted(metrics[experiment])})"
                    )


def check_claims(
    claims_dir: str | Path,
    declared: Mapping[str, Mapping[str, list[str]]],
    stamp_dir: str | Path | None = None,
) -> None:
    """:func:`load_claims` then :func:`check_selects`, the check the workflow runs before it
    builds the DAG. With ``stamp_dir``, a pass is recorded there as an empty file named by the
    SHA-256 of everything the check reads (every ``*.yaml`` of the claims folder, schema and
    catalog included, this module's source, PyYAML's and jsonschema's versions and ``declared``),
    and a later call with the same inputs returns at once: the schema validation costs 0.2-0.3 s
    of every ``snakemake`` start, dry runs included (issue 19 item 4). Any edit to a claims file or
    to the declared tables changes the name, so the check runs again; a failed check records
    nothing."""
    folder = Path(claims_dir)
    stamp = None
    if stamp_dir is not None and folder.is_dir():
        digest = hashlib.sha256()
        for path in [Path(__file__), *sorted(folder.glob("*.yaml"))]:
            digest.update(f"{path.name}\0{path.stat().st_size}\0".encode())
            digest.update(path.read_bytes())
        versions = (yaml.__version__, importlib.metadata.version("jsonschema"))
        digest.update(json.dumps([versions, declared], sort_keys=True, default=str).encode())
        stamp = Path(stamp_dir) / f"{digest.hexdigest()}.ok"
        if stamp.is_file():
            return
    check_selects(load_claims(folder), declared)
    if stamp is not None:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.touch()


def declared_experiments(declared: Mapping[str, Mapping[str, list[str]]]) -> set[str]:
    return {str(e) for produces in declared.values() for e in produces}
