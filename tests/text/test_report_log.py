"""The text report verb through the real CLI: its log names every file it wrote with the headline
numbers, and its HTML is the statistics table pivoted (one row per statistic, a column per method)."""

import json
import re
from pathlib import Path

from pipeline.__main__ import main


def test_report_corpus_logs_what_it_wrote(tmp_path, capfd):
    src = tmp_path / "c.txt"
    src.write_text("the cat sat on the mat\nthe dog sat on the log\n")
    d = tmp_path / "out"
    cfg = json.dumps({"language": "en", "format": "plain", "shards": 1, "tokenizer": "text8"})
    assert main(["text", "prepare-corpus", "--config", cfg, "--source", str(src), "--sha256=",
                 "--shards-dir", str(d / "shards"), "--types", str(d / "types.parquet"),
                 "--stats", str(d / "stats.json")]) == 0  # fmt: skip
    assert main(["text", "build-vocabulary", "--config", '{"min_count": 1}', "--types", str(d / "types.parquet"),
                 "--output", str(d / "vocab.parquet")]) == 0  # fmt: skip
    common = ["--config", '{"window": 2}', "--vocab", str(d / "vocab.parquet")]
    assert main(["text", "count-cooccurrences", *common, "--weighting", "unit",
                 "--shard", str(d / "shards" / "shard-0.parquet"), "--types", str(d / "types.parquet"),
                 "--output", str(d / "part-0.csr")]) == 0  # fmt: skip
    assert main(["text", "merge-cooccurrences", *common, "--parts", str(d / "part-0.csr"),
                 "--output", str(d / "unit.parquet"), "--stats", str(d / "unit.stats.json")]) == 0  # fmt: skip
    capfd.readouterr()
    out = {k: d / "stats" / k for k in ("statistics.parquet", "statistics.html", "zipf.png")}
    assert main(["text", "report-corpus", "--corpus", "tiny", "--corpus-stats", str(d / "stats.json"),
                 "--types", str(d / "types.parquet"), "--vocab", str(d / "vocab.parquet"),
                 "--cooccur-stats", str(d / "unit.stats.json"), "--table", str(out["statistics.parquet"]),
                 "--html", str(out["statistics.html"]), "--zipf", str(out["zipf.png"])]) == 0  # fmt: skip
    log = capfd.readouterr().err
    # 12 tokens, 2 documents, 7 words: the (4 times), cat, sat, on, mat, dog, log.
    assert f"wrote {out['statistics.parquet']} and {out['statistics.html']}" in log
    assert "tiny: 12 tokens, 2 documents, vocabulary 7 words" in log
    assert "cooccur_unit:" in log and "non-zeros (density" in log
    assert f"wrote {out['zipf.png']} (7 types, largest count 4)" in log
    html = out["statistics.html"].read_text()
    assert re.findall(r"<th>(.*?)</th>", html) == ["statistic", "corpus", "cooccur_unit"]
    rows = {
        cells[0]: cells[1:]
        for cells in (re.findall(r"<td>(.*?)</td>", r) for r in html.split("<tr>"))
        if cells
    }
    assert rows["tokens"] == ["12", ""] and rows["window"] == ["", "2"]


def test_the_report_shows_every_text_table_inline():
    """Snakemake's report shows HTML and PNG inline; a TSV or Parquet would be a download only."""
    smk = (Path(__file__).resolve().parents[2] / "workflow/rules/text.smk").read_text()
    shown = re.findall(r'report\(\s*"([^"]+)"', smk)
    assert "results/text/{corpus}/stats/statistics.html" in shown
    assert all(path.endswith((".html", ".png")) for path in shown), shown
