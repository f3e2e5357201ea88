"""Config validation for the workflow: JSON schema, defaults filled in, short errors.

``workflow/rules/common.smk`` calls :func:`validate_section` for the top level and for each
domain's section before the DAG is built. It does what ``snakemake.utils.validate(...,
set_default=True)`` does (every key left out takes its schema default, nested objects
included), but a violation is one line per problem naming the full dotted key
(``vectors.simpler_glove.dim``), the offending value and what the schema expects, instead of
the whole sub-schema.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

#: At most this many problems are listed (the first ones by key).
MAX_PROBLEMS = 5


class ConfigError(ValueError):
    """The config violates its schema; the message lists the problems, one per line."""


def _key(prefix: str, path: Iterable) -> str:
    out = prefix
    for part in path:
        out = f"{out}[{part}]" if isinstance(part, int) else (f"{out}.{part}" if out else str(part))
    return out or "config"


def _value(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _types(schema: dict) -> str:
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    return " or ".join(str(k) for k in kinds)


def _range(schema: dict) -> str:
    lo = schema.get("minimum", schema.get("exclusiveMinimum"))
    hi = schema.get("maximum", schema.get("exclusiveMaximum"))
    left = "(" if "exclusiveMinimum" in schema else "["
    right = ")" if "exclusiveMaximum" in schema else "]"
    if lo is not None and hi is not None:
        return f"a value in {left}{lo}, {hi}{right}"
    if lo is not None:
        return f"a value {'>' if left == '(' else '>='} {lo}"
    return f"a value {'<' if right == ')' else '<='} {hi}"


def describe(error, prefix: str) -> str:
    """One line for one ``jsonschema.ValidationError``: dotted key, value, expectation."""
    key, schema, value, kind = (
        _key(prefix, error.absolute_path),
        error.schema,
        error.instance,
        error.validator,
    )
    if kind == "additionalProperties" and isinstance(value, dict):
        known = set(schema.get("properties", {}))
        extra = sorted(k for k in value if k not in known)
        allowed = ", ".join(sorted(known)) or "none"
        if extra:
            where = ", ".join(_key(key if key != "config" else "", [k]) for k in extra)
            return f"{where}: unknown key (allowed at {key}: {allowed})"
    if kind == "type":
        return f"{key} = {_value(value)}: expected {_types(schema)}"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return f"{key} = {_value(value)}: expected {_range(schema)}"
    if kind == "enum":
        return f"{key} = {_value(value)}: expected one of {', '.join(map(str, schema['enum']))}"
    if kind == "const":
        return f"{key} = {_value(value)}: expected {schema['const']!r}"
    if kind == "required":
        missing = [k for k in schema["required"] if k not in value]
        return f"{key}: missing required key(s) {', '.join(missing)}"
    if kind == "pattern":
        return f"{key} = {_value(value)}: expected a string matching {schema['pattern']}"
    sizes = {
        "minItems": "at least {} item(s)",
        "maxItems": "at most {} item(s)",
        "minLength": "at least {} character(s)",
        "maxLength": "at most {} character(s)",
    }
    if kind in sizes:
        return f"{key} = {_value(value)}: expected {sizes[kind].format(error.validator_value)}"
    if kind == "uniqueItems":
        return f"{key} = {_value(value)}: expected no repeated items"
    message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
    return f"{key}: {message}"


def load_schema(path: Path) -> dict:
    """A YAML schema, parsed by libyaml where PyYAML has it (10x the pure-Python parser: the ten
    schemas are read at every snakemake start, dry runs included; same result either way)."""
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _validator(schema: dict, schema_path: Path):
    from jsonschema import Draft202012Validator, validators
    from referencing import Registry, Resource

    def retrieve(uri: str):
        from urllib.parse import urlparse
        from urllib.request import url2pathname

        return Resource.from_contents(load_schema(Path(url2pathname(urlparse(uri).path))))

    schema["$id"] = schema_path.resolve().as_uri()
    registry = Registry(retrieve=retrieve).with_resource(
        schema["$id"], Resource.from_contents(schema)
    )
    base = Draft202012Validator
    validate_properties = base.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, subschema):
        # The jsonschema FAQ's recipe, as snakemake's validate(set_default=True): fill, then check.
        if isinstance(instance, dict):
            for name, prop in properties.items():
                if "default" in prop:
                    instance.setdefault(name, copy.deepcopy(prop["default"]))
        yield from validate_properties(validator, properties, instance, subschema)

    return validators.extend(base, {"properties": set_defaults})(schema, registry=registry)


def validate_section(data, schema_path: str | os.PathLike, prefix: str = "") -> None:
    """Validate ``data`` in place against the YAML/JSON schema at ``schema_path``, filling
    defaults; raise :class:`ConfigError` listing each problem in one line (``prefix`` is the
    section's dotted key, e.g. ``"vectors"``)."""
    schema_path = Path(schema_path)
    schema = load_schema(schema_path)
    errors = sorted(
        _validator(schema, schema_path).iter_errors(data),
        key=lambda e: [str(p) for p in e.absolute_path],
    )
    if not errors:
        return
    lines = list(dict.fromkeys(describe(e, prefix) for e in errors))
    more = f"\n  ... and {len(lines) - MAX_PROBLEMS} more" if len(lines) > MAX_PROBLEMS else ""
    raise ConfigError(
        f"invalid config ({schema_path.name}):\n  " + "\n  ".join(lines[:MAX_PROBLEMS]) + more
    )


def unpinned_mirrors(config: dict) -> list[str]:
    """Warnings for local mirrors read without a sha256 to verify them against (the job log then
    prints the file's sha256 to pin; provenance records it either way)."""
    out = []
    for name, corpus in (config.get("text", {}).get("corpora") or {}).items():
        if isinstance(corpus, dict) and corpus.get("local_mirror") and not corpus.get("sha256"):
            out.append(
                f"text.corpora.{name}.local_mirror {corpus['local_mirror']!r} has no sha256: it is read "
                f"unverified; the job log results/logs/text_prepare_corpus/{name}.log prints the sha256 to pin"
            )
    for name, dataset in (config.get("images", {}).get("datasets") or {}).items():
        data = dataset.get("data") if isinstance(dataset, dict) else None
        if isinstance(data, dict) and data.get("local_mirror"):
            unpinned = sorted(
                f for f in (data.get("files") or {}).values() if f not in (data.get("sha256") or {})
            )
            if unpinned:
                out.append(
                    f"images.datasets.{name}.data.local_mirror {data['local_mirror']!r}: no sha256 for "
                    f"{', '.join(unpinned)}: read unverified; the job log "
                    f"results/logs/images_prepare_dataset/{name}.log prints the sha256 to pin"
                )
    return out
