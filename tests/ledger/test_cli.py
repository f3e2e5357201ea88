"""The ledger verbs end to end in-process: build, diff, collect, and bad input (exit 2, no
partial ledger)."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.__main__ import main
from pipeline.io import read_provenance
from pipeline.ledger.ledger import LEDGER_SCHEMA_VERSION
from tests.ledger.conftest import check, entry, results_table, write_claims

DECLARED = {"results/est/gumbel.parquet": {"E2.1": ["p_value"]}}
OUTPUTS = ("ledger.parquet", "checks.parquet", "ledger.html", "front.html", "summary.png")


def build(out, claims_dir, tables, collected=None, scale="default", declared=DECLARED):
    cfg = {
        "claims_dir": str(claims_dir),
        "scale": scale,
        "collected_dir": str(collected or out / "no-collected"),
    }
    return main(
        [
            "ledger",
            "build",
            "--config",
            json.dumps(cfg),
            "--declared",
            json.dumps(declared),
            "--results",
            *map(str, tables),
            "--output",
            str(out / "ledger.parquet"),
            "--checks",
            str(out / "checks.parquet"),
            "--html",
            str(out / "ledger.html"),
            "--front",
            str(out / "front.html"),
            "--summary-figure",
            str(out / "summary.png"),
        ]
    )


@pytest.fixture
def gumbel(claims_dir, tmp_path):
    write_claims(claims_dir, [entry(evidence=["results/est/e2_1.png"], author="exact")])
    return results_table(
        tmp_path / "gumbel.parquet",
        [
            {"experiment": "E2.1", "seed": s, "metric": "p_value", "value": v}
            for s, v in enumerate([0.3, 0.2, 0.6])
        ],
    )


def test_build_writes_every_id_with_provenance(tmp_path, claims_dir, gumbel):
    out = tmp_path / "out"
    assert build(out, claims_dir, [gumbel]) == 0
    table = pd.read_parquet(out / "ledger.parquet")
    assert len(table) == 53
    row = table.set_index("id").loc["E2.1"]
    assert (row["verdict"], row["author"], row["decided_by"]) == ("reproduced", "exact", "default")
    assert row["value"] == "p-value: 0.2 [seeds 0.2 – 0.6] > 0.01 ✓"
    assert row["sources"] == f"this run:{gumbel}"
    prov = read_provenance(out / "ledger.parquet")
    assert prov["ledger_schema_version"] == LEDGER_SCHEMA_VERSION
    assert str(gumbel) in json.loads(prov["inputs_sha256"])
    front = (out / "front.html").read_text()
    assert front.count('class="ledger-row"') == 53
    assert "results['results/est/e2_1.png']" in front
    assert (out / "summary.png").read_bytes()[:4] == b"\x89PNG"


def _assert_nothing_written(out):
    assert not any((out / name).exists() for name in OUTPUTS)


def test_results_table_missing_a_column(tmp_path, claims_dir, gumbel, capsys):
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"experiment": ["E2.1"], "metric": ["p_value"], "value": [0.5]}), bad)
    out = tmp_path / "out"
    assert build(out, claims_dir, [gumbel, bad]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: columns" in err and "missing ['dataset'" in err
    _assert_nothing_written(out)


def test_unknown_metric_exits_2_naming_the_entry(tmp_path, claims_dir, gumbel, capsys):
    write_claims(
        claims_dir, [entry(checks=[check(select={"experiment": "E2.1", "metric": "pvalue"})])]
    )
    out = tmp_path / "out"
    assert build(out, claims_dir, [gumbel]) == 2
    err = capsys.readouterr().err
    assert "entry E2.1, check 1 ('p-value'): metric ['pvalue'] of experiment E2.1" in err
    _assert_nothing_written(out)


def test_duplicate_id_exits_2(tmp_path, claims_dir, gumbel, capsys):
    write_claims(claims_dir, [entry()], "key_claims.yaml")
    assert build(tmp_path / "out", claims_dir, [gumbel]) == 2
    err = capsys.readouterr().err
    assert "entry E2.1: duplicate id" in err
    _assert_nothing_written(tmp_path / "out")


def test_diff_reports_moves_against_the_seed_band(tmp_path, claims_dir, gumbel, capsys):
    assert build(tmp_path / "old", claims_dir, [gumbel]) == 0
    moved = results_table(
        tmp_path / "moved.parquet",
        [
            {"experiment": "E2.1", "seed": s, "metric": "p_value", "value": v}
            for s, v in enumerate([0.005, 0.2, 0.6])
        ],
    )
    assert build(tmp_path / "new", claims_dir, [moved]) == 0
    capsys.readouterr()
    out = tmp_path / "diff.parquet"
    assert (
        main(
            [
                "ledger",
                "diff",
                str(tmp_path / "old/ledger.parquet"),
                str(tmp_path / "new/ledger.parquet"),
                "--output",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "2 rows moved" in printed and "E2.1" in printed
    diff = pd.read_parquet(out)
    verdict = diff[diff["check"] == ""].iloc[0]
    assert (verdict["old_verdict"], verdict["new_verdict"]) == ("reproduced", "not reproduced")
    value = diff[diff["check"] == "p-value"].iloc[0]
    assert (value["old_value"], value["new_value"]) == (0.2, 0.005)
    assert value["band_width"] == pytest.approx(0.6 - 0.005)  # the wider band: the new one
    assert value["delta_in_bands"] == pytest.approx(0.195 / 0.595)
    assert (
        main(
            [
                "ledger",
                "diff",
                str(tmp_path / "old/ledger.parquet"),
                str(tmp_path / "old/ledger.parquet"),
            ]
        )
        == 0
    )
    assert "0 rows moved" in capsys.readouterr().out


def test_diff_refuses_an_older_ledger(tmp_path, claims_dir, gumbel, capsys):
    assert build(tmp_path / "new", claims_dir, [gumbel]) == 0
    old = tmp_path / "old"
    old.mkdir()
    for name in ("ledger.parquet", "checks.parquet"):  # a ledger written before the version key
        table = pq.read_table(tmp_path / "new" / name)
        meta = {k: v for k, v in table.schema.metadata.items() if b"ledger_schema_version" not in k}
        pq.write_table(table.replace_schema_metadata(meta), old / name)
    assert (
        main(["ledger", "diff", str(old / "ledger.parquet"), str(tmp_path / "new/ledger.parquet")])
        == 2
    )
    err = capsys.readouterr().err
    assert f"{old / 'ledger.parquet'}: ledger schema version missing (an older ledger)" in err


def test_collect_keeps_provenance_and_reference_decides(tmp_path, claims_dir, gumbel):
    elsewhere = tmp_path / "gpu-box" / "results"
    ref = results_table(
        elsewhere / "est" / "gumbel.parquet",
        [{"experiment": "E2.1", "metric": "p_value", "value": 0.001}],
    )
    pq.write_table(pa.table({"step": [1], "loss": [0.5]}), elsewhere / "est" / "train_log.parquet")
    collected = tmp_path / "reference"
    assert (
        main(
            [
                "ledger",
                "collect",
                str(elsewhere),
                "--into",
                str(collected / "gpu-box"),
                "--label",
                "gpu-box",
                "--scale",
                "reference",
            ]
        )
        == 0
    )
    manifest = json.loads((collected / "gpu-box" / "manifest.json").read_text())
    assert (manifest["label"], manifest["scale"], manifest["tables"]) == (
        "gpu-box",
        "reference",
        ["est/gumbel.parquet"],
    )
    copied = collected / "gpu-box" / "est" / "gumbel.parquet"
    assert read_provenance(copied) == read_provenance(ref)
    # collecting the folder that holds the collected one does not take its tables twice
    results_table(
        elsewhere / "other.parquet", [{"experiment": "E2.1", "metric": "p_value", "value": 1.0}]
    )
    shutil.copytree(collected, elsewhere / "reference")
    assert (
        main(
            [
                "ledger",
                "collect",
                str(elsewhere),
                "--into",
                str(tmp_path / "again"),
                "--label",
                "again",
            ]
        )
        == 0
    )
    again = json.loads((tmp_path / "again" / "manifest.json").read_text())["tables"]
    assert again == ["est/gumbel.parquet", "other.parquet"]
    out = tmp_path / "out"
    assert build(out, claims_dir, [gumbel], collected=collected) == 0
    row = pd.read_parquet(out / "ledger.parquet").set_index("id").loc["E2.1"]
    assert (row["verdict"], row["decided_by"]) == ("not reproduced", "reference")
    assert row["default_value"].startswith("p-value: 0.2")
    assert f"gpu-box:{copied}" in row["sources"]


def test_collect_with_nothing_to_collect(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert (
        main(
            [
                "ledger",
                "collect",
                str(tmp_path / "empty"),
                "--into",
                str(tmp_path / "x"),
                "--label",
                "x",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "no results tables under" in err
    assert not (tmp_path / "x").exists()


def test_diff_across_scales_compares_the_deciding_values(tmp_path, claims_dir, gumbel, capsys):
    assert build(tmp_path / "default", claims_dir, [gumbel]) == 0
    ref = results_table(
        tmp_path / "ref.parquet", [{"experiment": "E2.1", "metric": "p_value", "value": 0.5}]
    )
    assert build(tmp_path / "reference", claims_dir, [ref], scale="reference") == 0
    capsys.readouterr()
    out = tmp_path / "diff.parquet"
    assert (
        main(
            [
                "ledger",
                "diff",
                str(tmp_path / "default/ledger.parquet"),
                str(tmp_path / "reference/ledger.parquet"),
                "--decided",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    diff = pd.read_parquet(out)
    assert diff[["scale", "old_value", "new_value"]].values.tolist() == [["decided", 0.2, 0.5]]
    assert diff["band_width"].iloc[0] == pytest.approx(0.4)  # the default run's 3 seeds


def test_malformed_threshold_exits_2_naming_the_entry(tmp_path, claims_dir, gumbel, capsys):
    write_claims(claims_dir, [entry(checks=[check(op="between", value=[1.0, 0.0])])])
    assert build(tmp_path / "out", claims_dir, [gumbel]) == 2
    assert (
        "post2.yaml: entry E2.1, check 1 ('p-value'): between [1.0, 0.0] needs finite lo <= hi"
        in capsys.readouterr().err
    )
    _assert_nothing_written(tmp_path / "out")
