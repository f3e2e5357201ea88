"""benchmarks/compare_results.py: same tables pass, a changed value or row fails, timings are skipped."""

import importlib.util
from pathlib import Path

import pandas as pd

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_results.py"
spec = importlib.util.spec_from_file_location("compare_results", SCRIPT)
compare_results = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_results)


def write(root: Path, rows: list[dict], name: str = "em/runs.parquet") -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(path)
    return root


ROWS = [
    {"experiment": "E6.1", "method": "em", "seed": 0, "metric": "n_iter", "value": 12.0},
    {"experiment": "E6.1", "method": "em", "seed": 0, "metric": "fit_seconds", "value": 0.5},
    {"experiment": "E6.1", "method": "em", "seed": 1, "metric": "n_iter", "value": 9.0},
]


def test_same_tables_in_another_order_and_other_timings_pass(tmp_path, capsys):
    before = write(tmp_path / "a", ROWS)
    after = write(tmp_path / "b", [{**ROWS[1], "value": 3.0}, ROWS[2], ROWS[0]])
    assert compare_results.main([str(before), str(after)]) == 0
    assert "1 tables compared, 0 differ" in capsys.readouterr().out


def test_a_changed_value_a_missing_row_or_table_fails(tmp_path, capsys):
    before = write(tmp_path / "a", ROWS)
    changed = write(tmp_path / "b", [ROWS[0], ROWS[1], {**ROWS[2], "value": 9.0 + 1e-6}])
    assert compare_results.main([str(before), str(changed)]) == 1
    assert "1 of 2 rows differ" in capsys.readouterr().out
    fewer = write(tmp_path / "c", ROWS[:2])
    assert compare_results.main([str(before), str(fewer)]) == 1
    write(tmp_path / "c", ROWS, "text/stats.parquet")
    assert compare_results.main([str(before), str(tmp_path / "c")]) == 1
    assert "text/stats.parquet: only after" in capsys.readouterr().out


def test_renames_and_label_maps_apply_to_the_before_side(tmp_path):
    old = [{**r, "experiment": "gmm_synthetic"} for r in ROWS]
    old = [{("iteration" if k == "seed" else k): v for k, v in r.items()} for r in old]
    before = write(tmp_path / "a", old)
    after = write(tmp_path / "b", ROWS)
    assert compare_results.main([str(before), str(after)]) == 1
    argv = [
        str(before),
        str(after),
        "--rename-column",
        "iteration=seed",
        "--map",
        "experiment:gmm_synthetic=E6.1",
    ]
    assert compare_results.main(argv) == 0


def test_values_kept_ignores_labels_and_new_rows(tmp_path):
    main = compare_results.main
    for side, rows in (
        ("before", [("a", 1.0), ("b", 2.0)]),
        ("after", [("x", 2.0), ("y", 1.0), ("z", 9.0)]),
    ):
        (tmp_path / side).mkdir()
        pd.DataFrame(rows, columns=["metric", "value"]).to_parquet(tmp_path / side / "t.parquet")
    assert main([str(tmp_path / "before"), str(tmp_path / "after"), "--values-kept"]) == 0
    pd.DataFrame([("x", 2.5)], columns=["metric", "value"]).to_parquet(
        tmp_path / "after" / "t.parquet"
    )
    assert main([str(tmp_path / "before"), str(tmp_path / "after"), "--values-kept"]) == 1
