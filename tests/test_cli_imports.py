"""A domain's parser stays light: its verbs name their run functions as ``"module:name"``
(pipeline.cli.resolve) and import them when they run, so that the figure, summary and combine
jobs of the DAG do not pay for importing torch, POT or scikit-learn."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from pipeline.cli import resolve

HEAVY = ("torch", "ot", "sklearn")
LIGHT_DOMAINS = ("em", "energy", "transport")


def test_light_domains_parse_without_heavy_imports():
    code = (
        "import importlib, json, sys\n"
        f"for d in {LIGHT_DOMAINS!r}:\n"
        "    importlib.import_module(f'pipeline.{d}.cli')\n"
        "import pipeline.em.figures, pipeline.energy.figures, pipeline.transport.figures\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout) == []


def _registries():
    from pipeline.em import cli as em
    from pipeline.energy import cli as energy
    from pipeline.transport import cli as transport

    yield from (("em", verb, spec) for verb, spec in em.RUNS.items())
    yield from (("energy", verb, spec) for verb, spec in energy.RUNS.items())
    yield from (("transport", verb, spec) for verb, spec in transport.STUDIES.items())


@pytest.mark.parametrize("domain,verb,spec", list(_registries()), ids=lambda v: str(v)[:30])
def test_every_named_verb_resolves_to_a_config_and_a_function(domain, verb, spec):
    cls, run = resolve(spec[0]), resolve(spec[1])
    assert dataclasses.is_dataclass(cls) and callable(run)
    assert isinstance(spec[-1], str) and spec[-1]  # the verb's help line


def test_resolve_names_what_is_missing():
    with pytest.raises(AttributeError, match="no_such_name"):
        resolve("pipeline.cli:no_such_name")
    with pytest.raises(ModuleNotFoundError, match="pipeline.no_such_module"):
        resolve("pipeline.no_such_module:x")


def test_lazy_package_exports_still_import():
    from pipeline.em import PLSA, GaussianMixture, KMeans, SoftKMeans

    assert {c.__name__ for c in (PLSA, GaussianMixture, KMeans, SoftKMeans)} == {
        "PLSA",
        "GaussianMixture",
        "KMeans",
        "SoftKMeans",
    }
    import pipeline.em

    with pytest.raises(AttributeError, match="nope"):
        pipeline.em.nope  # noqa: B018
