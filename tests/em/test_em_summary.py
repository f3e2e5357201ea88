"""The report's view of the seed bands (one row per experiment, dataset, method, metric) and the
summarize / plot verbs' logs (each names what it wrote, with its headline numbers)."""

import json
import re
from pathlib import Path

import pandas as pd

from pipeline.__main__ import main
from pipeline.em import figures
from pipeline.tables import results_frame


def _runs():
    """Three seeds of one metric for ours and sklearn, a point band, an exact row and a curve row."""
    rows = [
        # ours: 4, 1, 2 over seeds 0..2 -> median 2, band [1, 4]; sklearn 3 on every seed -> a point.
        *({"method": "a", "implementation": "ours", "seed": s, "metric": "ll", "value": v}
          for s, v in enumerate([4.0, 1.0, 2.0])),
        *({"method": "a", "implementation": "sklearn", "seed": s, "metric": "ll", "value": 3.0}
          for s in range(3)),
        # seeds 0, 1: 0.5 and 0.25 -> median 0.375.
        {"method": "a", "implementation": "ours", "seed": 0, "metric": "n_iter", "value": 0.5},
        {"method": "a", "implementation": "ours", "seed": 1, "metric": "n_iter", "value": 0.25},
        {"method": "truth", "implementation": "exact", "seed": -1, "metric": "ll", "value": -1.5e-9},
        # a curve row (step >= 0) is no end-of-run figure: it must not enter the bands.
        {"method": "a", "implementation": "ours", "seed": 0, "step": 3, "metric": "ll", "value": 99.0},
    ]  # fmt: skip
    frame = pd.DataFrame(rows)
    frame["step"] = frame.get("step").fillna(-1)
    return results_frame(frame, experiment="E6.1", dataset="toy")


def test_band_table_pivots_the_seed_bands_by_hand():
    table = figures.band_table(figures.summarize(_runs()))
    assert list(table.columns) == [
        "experiment",
        "dataset",
        "method",
        "metric",
        "seeds",
        "exact",
        "ours",
        "sklearn",
    ]
    got = table.set_index(["method", "metric"])[["seeds", "exact", "ours", "sklearn"]]
    assert got.loc[("a", "ll")].tolist() == [3, "", "2 [1, 4]", "3"]
    assert got.loc[("a", "n_iter")].tolist() == [2, "", "0.375 [0.25, 0.5]", ""]
    assert got.loc[("truth", "ll")].tolist() == [1, "-1.5e-09", "", ""]
    assert len(table) == 3  # one row per (experiment, dataset, method, metric)


def test_band_cell_formats():
    assert figures.band_cell(5, 1.0, 2.0, 4.0) == "2 [1, 4]"
    assert figures.band_cell(5, 0.5, 0.5, 0.5) == "0.5"  # a point band: one value
    assert figures.band_cell(1, 7.0, 7.0, 7.0) == "7"
    assert figures.band_cell(3, 1.23456e-9, 2.5e-9, 3e-9) == "2.5e-09 [1.235e-09, 3e-09]"
    assert figures.band_cell(0, *[float("nan")] * 3) == "no finite value"  # NaN on every seed


def test_band_html_has_one_section_per_experiment():
    runs = _runs()
    other = runs[runs.implementation == "ours"].assign(experiment="E8.1")
    html = figures.band_html(figures.band_table(figures.summarize(pd.concat([runs, other]))))
    head, e61, e81 = html.split("<h3")
    assert (
        '<a href="#E6.1">E6.1</a> (3 rows)' in head and '<a href="#E8.1">E8.1</a> (2 rows)' in head
    )
    assert e61.count("<tr") == 5  # two header rows, three bands
    assert 'rowspan="3"' in e61 and "2 [1, 4]" in e61  # dataset toy written once for three rows
    assert "sklearn" in e61 and "sklearn" not in e81  # E8.1 has no sklearn figure: no column
    assert e81.count("<tr") == 4 and "0.375 [0.25, 0.5]" in e81


def test_summarize_and_plot_log_what_they_wrote(tmp_path, capfd):
    newton = tmp_path / "newton.parquet"
    cfg = {"starts": {"quartic": [[0.3]]}, "gd_steps": [0.01], "max_iter": 2000}
    assert main(["em", "newton-gd", "--config", json.dumps(cfg), "--output", str(newton)]) == 0
    hand = tmp_path / "hand.parquet"
    _runs().to_parquet(hand)
    out = {
        k: tmp_path / f"{k}"
        for k in ("runs.parquet", "summary.parquet", "summary.html", "newton.png")
    }
    capfd.readouterr()
    assert main(["em", "summarize", "--config", "{}", "--inputs", str(newton), str(hand),
                 "--runs-output", str(out["runs.parquet"]), "--output", str(out["summary.parquet"]),
                 "--html", str(out["summary.html"])]) == 0  # fmt: skip
    log = capfd.readouterr().err
    for path in ("runs.parquet", "summary.parquet", "summary.html"):
        assert f"wrote {out[path]}" in log
    assert "experiments E6.1, E8.1" in log and re.search(
        r"wrote \S+summary.parquet \(\d+ seed bands of up to 3 seeds", log
    )
    assert main(["em", "plot", "--figure", "newton_gd", "--input", str(out["runs.parquet"]),
                 "--output", str(out["newton.png"])]) == 0  # fmt: skip
    log = capfd.readouterr().err
    assert f"wrote {out['newton.png']} (deterministic; median Newton convergence order" in log
    html = out["summary.html"].read_text()
    assert "2 [1, 4]" in html and "E8.1" in html


def test_headline_numbers_by_hand():
    runs = _runs()
    assert figures.headline("half_steps", runs) == "3 seeds; (17) max increase no rows"
    runs.loc[runs.metric == "ll", "metric"] = "max_objective_increase"
    runs.loc[runs.method == "a", "method"] = "em_half_steps"
    # end-of-run rows of em_half_steps only: max of 4, 1, 2, 3, 3, 3 (the curve row's 99 and the
    # truth row are left out)
    assert figures.headline("half_steps", runs) == "3 seeds; (17) max increase 4"
    # timings: ours over sklearn seed by seed: 2 / 1 and 6 / 2 -> median of 2 and 3 = 2.5
    cells = [
        ("ours-numpy", 0, 2.0),
        ("sklearn", 0, 1.0),
        ("ours-numpy", 1, 6.0),
        ("sklearn", 1, 2.0),
    ]
    times = results_frame(
        [{"implementation": i, "seed": s, "value": v} for i, s, v in cells],
        experiment="E6.1", dataset="synthetic_gmm", method="em_init0", metric="fit_seconds",
    )  # fmt: skip
    assert figures.headline("timings", times) == "2 seeds; median fit seconds ours / sklearn 2.5"


def test_the_report_shows_every_em_table_inline():
    """Snakemake's report shows HTML and PNG inline; a TSV or Parquet would be a download only."""
    smk = (Path(__file__).resolve().parents[2] / "workflow/rules/em.smk").read_text()
    shown = re.findall(r'report\(\s*"([^"]+)"', smk)
    assert "results/em/summary.html" in shown
    assert all(path.endswith((".html", ".png")) for path in shown), shown
