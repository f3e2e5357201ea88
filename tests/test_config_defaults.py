"""One source of truth for config defaults: every schema default equals the dataclass default.

Each domain exposes ``CONFIG_SECTIONS: dict[str, type]`` (in any module of ``pipeline/<domain>/``)
mapping a sub-section of its schema, dotted and relative to the domain's section (``""`` for the
section itself, ``*`` for every entry of a mapping such as ``text.corpora.<name>``), to the frozen
dataclass the CLI builds from it. For every key of a mapped schema section: the schema's default
equals the dataclass field's default (a nested object whose field holds a dataclass is compared
key by key). A dataclass field absent from its section but present at the domain's top level (a
shared ``backend`` or ``device``) is compared with that default.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import pytest
import yaml

from pipeline.__main__ import DOMAINS

REPO = Path(__file__).resolve().parents[1]

#: Domains that do not provide CONFIG_SECTIONS yet; the lead empties this set at integration.
PENDING: set[str] = set()  # every domain provides CONFIG_SECTIONS

#: Schema keys with no dataclass field, on purpose: the workflow consumes them, not the CLI.
WORKFLOW_ONLY = {
    "text.corpora.*.gensim_data": "source location, resolved to an input file by the workflow",
    "text.corpora.*.local_mirror": "source location, resolved to an input file by the workflow",
    "text.corpora.*.url": "source location, downloaded by text_fetch_source",
    "text.corpora.*.sha256": "passed as --sha256 and checked on the input file",
    "text.corpora.*.cooccur.weightings": "selects the co-occurrence targets; the weighting is a wildcard",
}


def config_sections(domain: str) -> dict[str, type]:
    """CONFIG_SECTIONS of every module of pipeline/<domain>/ that defines one, merged."""
    out: dict[str, type] = {}
    for path in sorted((REPO / "pipeline" / domain).glob("*.py")):
        if "CONFIG_SECTIONS" not in path.read_text(encoding="utf-8"):
            continue
        name = f"pipeline.{domain}" if path.stem == "__init__" else f"pipeline.{domain}.{path.stem}"
        sections = getattr(importlib.import_module(name), "CONFIG_SECTIONS", None)
        for key, cls in (sections or {}).items():
            assert out.get(key, cls) is cls, f"{domain}: section {key!r} mapped twice"
            out[key] = cls
    return out


def resolve(schema: dict, node: dict) -> dict:
    """``node`` with a local ``$ref`` followed; the node's own keys (a default) take precedence."""
    while "$ref" in node:
        assert node["$ref"].startswith("#/"), node["$ref"]
        target = schema
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def schema_node(schema: dict, dotted: str) -> dict:
    node = schema
    for part in [p for p in dotted.split(".") if p]:
        if part == "*":
            node = node["additionalProperties"]
        else:  # a property, or a key of the schema document itself ("$defs.dvae_model")
            node = node["properties"][part] if part in node.get("properties", {}) else node[part]
        node = resolve(schema, node)
    return resolve(schema, node)


def plain(value):
    """Tuples as lists, recursively, so a dataclass tuple equals a YAML list."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def field_default(field: dataclasses.Field):
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def mismatches(schema, node, cls, dotted, root, mapped) -> list[str]:
    """Dotted keys whose schema default differs from the dataclass default (with both values)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    found = []
    for key, prop in node.get("properties", {}).items():
        prop, name = resolve(schema, prop), f"{dotted}.{key}"
        if name in mapped or name in WORKFLOW_ONLY:
            continue
        if key not in fields:
            found.append(f"{name}: in the schema, no field {key!r} in {cls.__name__}")
            continue
        default = field_default(fields[key])
        if dataclasses.is_dataclass(default) and "properties" in prop:
            found += mismatches(schema, prop, type(default), name, root, mapped)
        elif "default" not in prop:
            found.append(f"{name}: no default in the schema")
        elif plain(prop["default"]) != plain(default):
            found.append(
                f"{name}: schema default {prop['default']!r} != {cls.__name__} default {default!r}"
            )
    shared = root.get("properties", {})
    for key, field in fields.items():
        if key not in node.get("properties", {}) and key in shared and "default" in shared[key]:
            if plain(shared[key]["default"]) != plain(field_default(field)):
                found.append(f"{dotted}.{key}: {cls.__name__} default {field_default(field)!r} != "
                             f"the domain's {key} default {shared[key]['default']!r}")  # fmt: skip
    return found


SCHEMA_DOMAINS = [
    d for d in DOMAINS if (REPO / "workflow" / "schemas" / f"{d}.schema.yaml").exists()
]


@pytest.mark.parametrize("domain", SCHEMA_DOMAINS)
def test_schema_defaults_equal_dataclass_defaults(domain):
    sections = config_sections(domain)
    if not sections:
        if domain in PENDING:
            pytest.skip(
                f"{domain}: CONFIG_SECTIONS pending (tests/test_config_defaults.py PENDING)"
            )
        pytest.fail(f"pipeline/{domain}/ defines no CONFIG_SECTIONS (see CONTRIBUTING.md)")
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / f"{domain}.schema.yaml").read_text())
    mapped = {f"{domain}.{k}".rstrip(".") for k in sections}
    found = []
    for section, cls in sections.items():
        dotted = f"{domain}.{section}".rstrip(".")
        found += mismatches(schema, schema_node(schema, section), cls, dotted, schema, mapped)
    if found and domain in PENDING:  # reported while the domain is being built, strict after
        pytest.skip(
            f"{domain} (pending): schema and dataclass defaults differ: " + "; ".join(found)
        )
    assert not found, "schema and dataclass defaults differ:\n" + "\n".join(found)


def test_pending_domains_are_real_domains():
    assert PENDING <= set(DOMAINS)


def test_a_mismatch_names_the_dotted_key():
    @dataclasses.dataclass(frozen=True)
    class Inner:
        rate: float = 0.1

    @dataclasses.dataclass(frozen=True)
    class Outer:
        steps: tuple[int, ...] = (1, 2)
        inner: Inner = dataclasses.field(default_factory=Inner)
        device: str = "cpu"

    schema = {"properties": {"device": {"default": "auto"}, "run": {"properties": {
        "steps": {"default": [1, 2]}, "extra": {"default": 3},
        "inner": {"type": "object", "properties": {"rate": {"default": 0.2}}}}}}}  # fmt: skip
    found = mismatches(schema, schema_node(schema, "run"), Outer, "x.run", schema, set())
    assert found == [
        "x.run.extra: in the schema, no field 'extra' in Outer",
        "x.run.inner.rate: schema default 0.2 != Inner default 0.1",
        "x.run.device: Outer default 'cpu' != the domain's device default 'auto'",
    ]
