"""pipeline.validation: schema errors in one line each with the full dotted key, the value and
what is expected; defaults filled as snakemake's validate(set_default=True) does."""

import copy
from pathlib import Path

import pytest
import yaml

from pipeline.validation import ConfigError, unpinned_mirrors, validate_section

SCHEMAS = Path(__file__).resolve().parents[1] / "workflow" / "schemas"


def test_defaults_are_filled_as_snakemake_does():
    from snakemake.utils import validate

    raw = {"corpora": {"tiny": {"local_mirror": "c.txt", "vocab": {"min_count": 2}}}}
    ours, theirs = copy.deepcopy(raw), copy.deepcopy(raw)
    validate_section(ours, SCHEMAS / "text.schema.yaml", "text")
    validate(theirs, str(SCHEMAS / "text.schema.yaml"))
    assert ours == theirs
    assert (
        ours["corpora"]["tiny"]["cooccur"]["window"] == 10
        and ours["corpora"]["tiny"]["vocab"]["min_count"] == 2
    )


@pytest.mark.parametrize(
    "section,expected",
    [
        (
            {"corpora": {"t": {"cooccur": {"window": 0}}}},
            r"text\.corpora\.t\.cooccur\.window = 0: expected a value in \[1, 65535\]",
        ),
        (
            {"corpora": {"t": {"vocab": {"min_cont": 1}}}},
            r"text\.corpora\.t\.vocab\.min_cont: unknown key \(allowed at text\.corpora\.t\.vocab: max_size, min_count\)",
        ),
        (
            {"corpora": {"t": {"shards": "two"}}},
            r"text\.corpora\.t\.shards = 'two': expected integer",
        ),
        (
            {"corpora": {"t": {"format": "epub"}}},
            r"text\.corpora\.t\.format = 'epub': expected one of wiki_xml, text8",
        ),
        (
            {"corpora": {"t": {"cooccur": {"weightings": ["unit", "unit"]}}}},
            r"weightings = \['unit', 'unit'\]: expected no repeated items",
        ),
        (
            {"corpora": {"t": {"max_bad_byte_fraction": 2}}},
            r"text\.corpora\.t\.max_bad_byte_fraction = 2: expected a value in \[0, 1\]",
        ),
    ],
)
def test_errors_are_one_short_line(section, expected):
    with pytest.raises(ConfigError, match=expected) as info:
        validate_section(section, SCHEMAS / "text.schema.yaml", "text")
    lines = str(info.value).splitlines()
    assert len(lines) == 2 and "description" not in str(
        info.value
    )  # header + one problem, no sub-schema


def test_every_problem_listed_capped():
    section = {
        "corpora": {
            "t": {
                "shards": 0,
                "max_documents": 0,
                "cooccur": {"window": 0},
                "vocab": {"min_count": 0},
            }
        }
    }
    with pytest.raises(ConfigError) as info:
        validate_section(section, SCHEMAS / "text.schema.yaml", "text")
    assert len(str(info.value).splitlines()) == 5


def test_top_level_unknown_section():
    with pytest.raises(ConfigError, match=r"txet: unknown key \(allowed at config: .*text"):
        validate_section({"txet": {}}, SCHEMAS / "config.schema.yaml")


def test_default_config_validates():
    config = yaml.safe_load((SCHEMAS.parents[1] / "config" / "config.yaml").read_text()) or {}
    validate_section(config, SCHEMAS / "config.schema.yaml")
    for domain in ("text", "vectors", "em", "images"):
        validate_section(config[domain], SCHEMAS / f"{domain}.schema.yaml", domain)


def test_unpinned_mirrors_are_named():
    config = {
        "text": {
            "corpora": {
                "a": {"local_mirror": "a.txt", "sha256": None},
                "b": {"local_mirror": "b.txt", "sha256": "0" * 64},
            }
        },
        "images": {
            "datasets": {
                "d": {"data": {"local_mirror": "m", "files": {"source": "x.npz"}, "sha256": {}}}
            }
        },
    }
    warnings = unpinned_mirrors(config)
    assert len(warnings) == 2
    assert warnings[0].startswith("text.corpora.a.local_mirror 'a.txt' has no sha256")
    assert "images.datasets.d.data.local_mirror 'm': no sha256 for x.npz" in warnings[1]
