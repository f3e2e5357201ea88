"""Verdicts computed by hand: reductions over seeds, comparisons, scales and not-run reasons."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pipeline.ledger import ledger, verdicts
from tests.ledger.conftest import check, entry, rows_frame


def _entry(checks, **extra):
    return {
        "author": None,
        "evidence": [],
        "scale": "default",
        "needs": None,
        "notes": "",
        "file": "claims/post2.yaml",
        **entry(checks=checks),
        **extra,
    }


@pytest.mark.parametrize(
    ("how", "value", "band"),
    [
        ("min", 1.0, [1.0, 4.0]),  # per seed: min(1, 2) = 1, min(4, 6) = 4; over seeds: 1
        ("max", 6.0, [2.0, 6.0]),
        ("mean", 3.25, [1.5, 5.0]),  # mean of the seeds' means
        ("median", 3.25, [1.5, 5.0]),
        ("last", 4.0, [2.0, 6.0]),  # each seed's row of the largest step, then their median
    ],
)
def test_reduce_within_then_over_seeds(how, value, band):
    frame = rows_frame(
        [
            {"seed": 0, "step": 1, "value": 1.0},
            {"seed": 0, "step": 2, "value": 2.0},
            {"seed": 1, "step": 1, "value": 4.0},
            {"seed": 1, "step": 3, "value": 6.0},
        ]
    )
    got, per_seed = verdicts.reduce_rows(frame, how)
    assert got == value
    assert per_seed.tolist() == band


@pytest.mark.parametrize(
    ("value", "op", "threshold", "tol", "expected"),
    [
        (1.0, ">", 0.5, 0, True),
        (0.5, ">", 0.5, 0, False),
        (0.5, ">=", 0.5, 0, True),
        (0.4, "<", 0.5, 0, True),
        (0.5, "<=", 0.5, 0, True),
        (0.0, "==", 0.0, 0, True),
        (1e-13, "==", 0.0, 0, False),
        (1e-13, "==", 0.0, 1e-12, True),
        (0.3, "between", [0.0, 0.3], 0, True),
        (0.31, "between", [0.0, 0.3], 0, False),
        (math.nan, "<", 1.0, 0, False),
        (math.nan, "between", [-1, 1], 0, False),
    ],
)
def test_compare(value, op, threshold, tol, expected):
    assert verdicts.compare(value, op, threshold, tol) is expected


def test_all_some_none_pass():
    frame = rows_frame([{"metric": "a", "value": 1.0}, {"metric": "b", "value": 2.0}])
    a = check("a", {"experiment": "E2.1", "metric": "a"}, op=">", value=0.5)
    b_pass = check("b", {"experiment": "E2.1", "metric": "b"}, op="<", value=3.0)
    b_fail = check("b", {"experiment": "E2.1", "metric": "b"}, op=">", value=3.0)
    a_fail = check("a", {"experiment": "E2.1", "metric": "a"}, op="<", value=0.5)
    assert verdicts.judge(_entry([a, b_pass]), frame, {"E2.1"})[0]["verdict"] == "reproduced"
    row, checks = verdicts.judge(_entry([a, b_fail]), frame, {"E2.1"})
    assert (row["verdict"], row["passed"], row["n_checks"]) == ("partly", 1, 2)
    assert row["value"] == "a: 1 > 0.5 ✓; b: 2 > 3 ✗"
    assert (
        verdicts.judge(_entry([a_fail, b_fail]), frame, {"E2.1"})[0]["verdict"] == "not reproduced"
    )


def test_threshold_from_another_selection():
    frame = rows_frame(
        [
            {"method": "ema", "metric": "acc", "value": 0.92},
            {"method": "none", "metric": "acc", "value": 0.89},
        ]
    )
    other = {
        "select": {"experiment": "E2.1", "method": "none", "metric": "acc"},
        "reduce": "max",
        "offset": 0.02,
    }
    c = check(
        "EMA at least 2 points above",
        {"experiment": "E2.1", "method": "ema", "metric": "acc"},
        reduce="max",
        op=">=",
        value=other,
    )
    row, checks = verdicts.judge(_entry([c]), frame, {"E2.1"})
    assert row["verdict"] == "reproduced"
    assert checks[0]["threshold"] == pytest.approx(0.91)


def test_seed_band_is_reported():
    frame = rows_frame([{"seed": s, "value": v} for s, v in enumerate([0.3, 0.1, 0.5, 0.2, 0.4])])
    row, checks = verdicts.judge(_entry([check()]), frame, {"E2.1"})
    default = checks[0]
    assert (
        default["value"],
        default["band_min"],
        default["band_median"],
        default["band_max"],
        default["n_seeds"],
    ) == (0.1, 0.1, 0.3, 0.5, 5)
    assert "[seeds 0.1 – 0.5]" in row["value"]


def test_reference_decides_and_both_are_shown():
    frame = pd.concat(
        [rows_frame([{"value": 0.5}], "default"), rows_frame([{"value": 0.001}], "reference")]
    )
    row, _ = verdicts.judge(_entry([check()]), frame, {"E2.1"})
    assert (row["verdict"], row["decided_by"]) == ("not reproduced", "reference")
    assert row["default_value"] == "p-value: 0.5 > 0.01 ✓"
    assert row["reference_value"] == "p-value: 0.001 > 0.01 ✗"
    assert row["sources"] == "default:t.parquet;reference:t.parquet"


@pytest.mark.parametrize(
    ("extra", "frame_rows", "declared", "reason"),
    [
        ({"needs": "gpu"}, [], {"E2.1"}, "needs a GPU"),
        (
            {"needs": "config/zh-reference.yaml"},
            [],
            {"E2.1"},
            "needs the reference config config/zh-reference.yaml",
        ),
        ({}, [], set(), "track not built"),
        ({"needs": "gpu"}, [], set(), "needs a GPU"),
        (
            {"needs": "config/zh-reference.yaml"},
            [],
            set(),
            "needs the reference config config/zh-reference.yaml",
        ),
        ({}, [], {"E2.1"}, "no rows in the results (run the track's rules)"),
        ({"scale": "reference", "needs": "gpu"}, [{"value": 0.5}], {"E2.1"}, "needs a GPU"),
        (
            {"scale": "reference"},
            [{"value": 0.5}],
            {"E2.1"},
            "needs a reference run (none collected)",
        ),
    ],
)
def test_not_run_reasons(extra, frame_rows, declared, reason):
    frame = rows_frame(frame_rows) if frame_rows else rows_frame([{"value": 1.0}]).iloc[:0]
    row, _ = verdicts.judge(_entry([check()], **extra), frame, declared)
    assert (row["verdict"], row["reason"]) == ("not run", reason)
    if frame_rows:  # the default value is still shown beside a reference-only verdict
        assert row["default_value"] == "p-value: 0.5 > 0.01 ✓"


def test_a_decided_entry_names_its_checks_without_rows():
    gpu_check = check(name="gpu part", select={"experiment": "E2.1", "metric": "on_gpu"})
    frame = rows_frame([{"value": 0.5}])
    row, _ = verdicts.judge(_entry([check(), gpu_check], needs="gpu"), frame, {"E2.1"})
    # the CPU check passes, the GPU check has no rows: partly, and the ledger says why
    assert (row["verdict"], row["passed"], row["n_checks"]) == ("partly", 1, 2)
    assert row["reason"] == "1 of 2 checks not run: needs a GPU"
    assert row["value"] == "p-value: 0.5 > 0.01 ✓; gpu part: no rows"
    row, _ = verdicts.judge(_entry([check()]), frame, {"E2.1"})
    assert (row["verdict"], row["reason"]) == ("reproduced", "")


def test_qualitative_entry_without_checks():
    row, checks = verdicts.judge(_entry([]), rows_frame([{"value": 1.0}]), {"E2.1"})
    assert (row["verdict"], checks) == ("not run", [])
    assert row["reason"].startswith("no computed check")


def test_ledger_lists_every_catalog_id_and_counts_per_post():
    catalog = [
        {"id": "E2.1", "post": 2, "statement": "s", "bar": "post", "needs": None},
        {"id": "E2.2", "post": 2, "statement": "t", "bar": "post", "needs": "gpu"},
        {"id": "C10", "post": [6, 8], "statement": "u", "bar": "post", "needs": None},
    ]
    table, checks = ledger.build(
        [_entry([check()])], catalog, rows_frame([{"value": 0.5}]), {"E2.1"}
    )
    assert table["id"].tolist() == ["E2.1", "E2.2", "C10"]
    assert table["verdict"].tolist() == ["reproduced", "not run", "not run"]
    assert table.loc[1, "reason"] == "no entry yet (claims/*.yaml)"
    assert table.loc[2, "post"] == "6, 8"
    assert table.loc[0, "commits"] == "abc"
    assert checks["passed"].tolist() == ["pass", "no rows"]  # default scale, reference scale
    counts = ledger.summary(table)
    assert counts.loc[2].tolist() == [1, 0, 0, 1]
    assert counts.loc[6, "not run"] == counts.loc[8, "not run"] == 1
    assert np.array_equal(counts.columns, verdicts.VERDICTS)


def test_front_page_shows_a_value_that_could_not_decide():
    from pipeline.ledger import render

    catalog = [{"id": "E2.1", "post": 2, "statement": "s <b>", "bar": "post", "needs": None}]
    entries = [
        _entry(
            [check()],
            scale="reference",
            needs="gpu",
            evidence=["results/x/a.png"],
            statement="s <b>",
        )
    ]
    table, _ = ledger.build(entries, catalog, rows_frame([{"value": 0.5}]), {"E2.1"})
    page = render.front_page(table, ledger.summary(table), b"\x89PNG")
    row = page[page.index('data-id="E2.1"') :]
    assert "not run: needs a GPU" in row
    assert "(default run, not deciding) p-value: 0.5 &gt; 0.01 ✓" in row
    assert "s &lt;b&gt;" in page and "results['results/x/a.png']" in row
