"""The claims loader: the real claims folder, and each bad input named by file and entry."""

from __future__ import annotations

import re

import pytest
import yaml

from pipeline import tables
from pipeline.ledger import claims
from pipeline.ledger.ledger import CONFIG_SECTIONS, LedgerConfig
from tests.ledger.conftest import REPO, check, entry, write_claims


def test_catalog_lists_every_checklist_item_and_claim_once():
    catalog = claims.load_catalog(REPO / "claims")
    ids = [c["id"] for c in catalog]
    per_post = {1: 5, 2: 5, 3: 5, 4: 5, 5: 5, 6: 3, 7: 9, 8: 5}  # posts.md's checklists: 42 items
    expected = [f"E{p}.{k}" for p, n in per_post.items() for k in range(1, n + 1)]
    assert ids == expected + [f"C{k}" for k in range(1, 12)]
    assert {c["bar"] for c in catalog} <= set(claims.BARS)
    for c in catalog:
        assert c["id"].startswith("C") or str(c["post"]) == c["id"][1]


def test_the_repository_claims_load_and_refer_to_results_columns():
    entries = claims.load_claims(REPO / "claims")
    assert {e["id"] for e in entries} >= {"E1.1", "E1.2", "E1.3", "E1.4", "E1.5", "C3"}
    claims.check_selects(entries, {})  # columns are checked even with no declared table


def test_result_columns_are_the_one_results_schema():
    assert list(claims.RESULT_COLUMNS) == tables.COLUMNS


def test_schema_defaults_equal_the_config_dataclass():
    schema = yaml.safe_load((REPO / "workflow/schemas/ledger.schema.yaml").read_text())
    assert CONFIG_SECTIONS == {"": LedgerConfig}
    defaults = {k: v["default"] for k, v in schema["properties"].items()}
    assert defaults == LedgerConfig().__dict__


def test_optional_keys_are_filled(claims_dir):
    write_claims(claims_dir, [entry()])
    (e,) = claims.load_claims(claims_dir)
    assert (e["author"], e["evidence"], e["scale"], e["needs"]) == (None, [], "default", None)
    assert e["file"].endswith("post2.yaml")


def test_duplicate_id_within_a_file(claims_dir):
    write_claims(claims_dir, [entry(), entry()])
    with pytest.raises(claims.ClaimsError, match=r"post2\.yaml: entry E2\.1: duplicate id"):
        claims.load_claims(claims_dir)


def test_duplicate_id_across_files_names_both(claims_dir):
    write_claims(claims_dir, [entry()], "post2.yaml")
    write_claims(claims_dir, [entry()], "key_claims.yaml")
    with pytest.raises(
        claims.ClaimsError, match=r"post2\.yaml: entry E2\.1: duplicate id \(also in .*key_claims"
    ):
        claims.load_claims(claims_dir)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"op": "between", "value": 0.5}, r"check 1 \('p-value'\).*between"),
        ({"op": "between", "value": [2.0, 1.0]}, r"between \[2.0, 1.0\] needs finite lo <= hi"),
        ({"op": ">", "value": [0.0, 1.0]}, r"op '>' needs one number"),
        ({"op": "=>", "value": 1.0}, r"entry E2\.1 checks\.0\.op"),
        ({"value": "high"}, r"entry E2\.1 checks\.0\.value"),
        ({"reduce": "sum"}, r"entry E2\.1 checks\.0\.reduce"),
        ({"op": ">", "tolerance": 0.1}, r"tolerance applies to op '==' only"),
    ],
)
def test_malformed_threshold_names_the_entry(claims_dir, bad, message):
    write_claims(claims_dir, [entry(checks=[check(**bad)])])
    with pytest.raises(claims.ClaimsError, match=message):
        claims.load_claims(claims_dir)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"bar": "folklore"}, r"entry E2\.1 bar: 'folklore' is not one of"),
        ({"id": "E2.9"}, r"entry E2\.9: id not in .*catalog"),
        ({"post": 3}, r"entry E2\.1: post 3 but posts.md puts it in post 2"),
        ({"needs": "a big machine"}, r"entry E2\.1 needs"),
        ({"colour": "red"}, r"entry E2\.1 \(entry\): Additional properties"),
        # the catalog's line for E2.1 says bar post, needs null: an entry may not drift from it
        ({"bar": "paper"}, r"entry E2\.1: bar 'paper' but .*catalog\.yaml says 'post'"),
        ({"needs": "gpu"}, r"entry E2\.1: needs 'gpu' but .*catalog\.yaml says None"),
    ],
)
def test_bad_entry_names_the_entry(claims_dir, bad, message):
    write_claims(claims_dir, [{**entry(), **bad}])
    with pytest.raises(claims.ClaimsError, match=message):
        claims.load_claims(claims_dir)


def test_unknown_metric_of_a_declared_experiment_is_refused(claims_dir):
    write_claims(
        claims_dir, [entry(checks=[check(select={"experiment": "E2.1", "metric": "p_valu"})])]
    )
    entries = claims.load_claims(claims_dir)
    declared = {"results/estimators/gumbel.parquet": {"E2.1": ["p_value", "max_abs_error"]}}
    with pytest.raises(
        claims.ClaimsError,
        match=re.escape(
            "entry E2.1, check 1 ('p-value'): metric ['p_valu'] of experiment E2.1 is in no declared"
        ),
    ):
        claims.check_selects(entries, declared)
    claims.check_selects(entries, {"results/x.parquet": {"E9": ["m"]}})  # track not built: allowed


def test_threshold_selection_is_checked_too(claims_dir):
    other = {"select": {"experiment": "E2.1", "metric": "nope"}, "reduce": "min"}
    write_claims(claims_dir, [entry(checks=[check(value=other)])])
    with pytest.raises(
        claims.ClaimsError, match=r"check 1 \('p-value'\), threshold: metric \['nope'\]"
    ):
        claims.check_selects(claims.load_claims(claims_dir), {"t.parquet": {"E2.1": ["p_value"]}})


@pytest.mark.parametrize(
    ("select", "message"),
    [
        (
            {"experiment": "E2.1", "metric": "p_value", "colour": "red"},
            r"select names \['colour'\]",
        ),
        ({"experiment": "E2.1", "metric": "p_value", "value": 1}, r"select names \['value'\]"),
        ({"metric": "p_value"}, r"must fix 'experiment'"),
        ({"experiment": "E2.1"}, r"must fix 'metric'"),
    ],
)
def test_selection_columns(claims_dir, select, message):
    write_claims(claims_dir, [entry(checks=[check(select=select)])])
    with pytest.raises(claims.ClaimsError, match=message):
        claims.check_selects(claims.load_claims(claims_dir), {})


def test_invalid_yaml_and_missing_folder(claims_dir, tmp_path):
    (claims_dir / "post2.yaml").write_text("- id: [E2.1\n")
    with pytest.raises(claims.ClaimsError, match=r"post2\.yaml: not valid YAML"):
        claims.load_claims(claims_dir)
    with pytest.raises(FileNotFoundError, match="claims folder"):
        claims.load_claims(tmp_path / "nowhere")


def test_exponent_floats_are_numbers(claims_dir):
    (claims_dir / "post2.yaml").write_text(
        "- id: E2.1\n  post: 2\n  statement: s\n  bar: post\n  checks:\n"
        "    - {name: n, select: {experiment: E2.1, metric: m}, reduce: max, op: '<', value: 1e-7}\n"
    )
    (e,) = claims.load_claims(claims_dir)
    assert e["checks"][0]["value"] == 1e-7


def test_a_claim_spanning_posts_may_name_one_of_them(claims_dir):
    write_claims(claims_dir, [entry("C10", post=6, checks=[])], "key_claims.yaml")
    (e,) = claims.load_claims(claims_dir)
    assert e["post"] == 6


def test_check_claims_stamps_a_pass_and_rechecks_after_any_edit(claims_dir, tmp_path, monkeypatch):
    stamps = tmp_path / "stamps"
    declared = {"results/estimators/gumbel.parquet": {"E2.1": ["p_value"]}}
    path = write_claims(claims_dir, [entry()])
    calls = []
    real = claims.load_claims
    monkeypatch.setattr(claims, "load_claims", lambda d: calls.append(d) or real(d))
    claims.check_claims(claims_dir, declared, stamps)
    claims.check_claims(claims_dir, declared, stamps)  # unchanged: the stamp answers
    assert len(calls) == 1 and len(list(stamps.iterdir())) == 1
    # an edited claims file, other declared tables, or no stamp folder: checked again
    bad = entry(checks=[check(select={"experiment": "E2.1", "metric": "p_valu"})])
    path.write_text(yaml.safe_dump([bad], sort_keys=False))
    with pytest.raises(claims.ClaimsError, match=r"metric \['p_valu'\]"):
        claims.check_claims(claims_dir, declared, stamps)
    assert len(calls) == 2 and len(list(stamps.iterdir())) == 1  # a failure stamps nothing
    write_claims(claims_dir, [entry()])
    claims.check_claims(claims_dir, {**declared, "other.parquet": {"E2.2": ["bias"]}}, stamps)
    claims.check_claims(claims_dir, declared, None)
    assert len(calls) == 4


def test_check_claims_refuses_a_bad_file_even_when_a_pass_was_stamped_before(claims_dir, tmp_path):
    stamps = tmp_path / "stamps"
    write_claims(claims_dir, [entry()])
    claims.check_claims(claims_dir, {}, stamps)
    write_claims(claims_dir, [entry(), entry()])
    with pytest.raises(claims.ClaimsError, match="duplicate id"):
        claims.check_claims(claims_dir, {}, stamps)
