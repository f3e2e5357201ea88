import numpy as np

from pipeline.tables import COLUMNS
from pipeline.text.stats import cooccurrence_table, corpus_table, zipf_figure


def test_zipf_slope_of_an_exact_zipf_law_is_minus_one():
    counts = np.round(1e6 / np.arange(1, 2001))
    fig = zipf_figure(counts)
    label = fig.axes[0].get_legend().get_texts()[1].get_text()
    assert label == "fit: slope -1.00"


def test_tables_are_tidy():
    stats = {"documents": 2, "tokens": 10, "types": 4, "skipped_documents": 1, "replaced_bytes": 0}
    t = corpus_table("c", stats, np.array([4, 3]))
    values = dict(zip(t["metric"], t["value"], strict=True))
    assert values["vocabulary size"] == 2 and values["in-vocabulary tokens"] == 7
    assert values["in-vocabulary share of tokens"] == 0.7
    c = cooccurrence_table(
        "c",
        "unit",
        2,
        {
            "vocab_size": 3,
            "nnz": 7,
            "density": 7 / 9,
            "total": 10.0,
            "offdiagonal_total": 8.0,
            "diagonal_total": 2.0,
        },
    )
    assert (
        list(c.columns) == COLUMNS
        and set(c.method) == {"cooccur_unit"}
        and (t.method == "corpus").all()
    )
    assert dict(zip(c["metric"], c["value"], strict=True))["non-zeros"] == 7
