"""The verbs end to end on tiny tables that follow the text domain's contract."""

import json

import numpy as np
import pandas as pd
import pytest

from pipeline.__main__ import main
from pipeline.io import read_provenance
from pipeline.tables import read_results
from pipeline.vectors import io as vio
from tests.vectors.declared import DECLARED


@pytest.fixture(scope="module")
def text_dir(tmp_path_factory, tiny_corpus, text_tables):
    docs, vocab = tiny_corpus
    return text_tables(tmp_path_factory.mktemp("text"), docs, vocab)


@pytest.fixture(scope="module")
def trained(text_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("vectors")
    for method, trunc in (("simpler_glove_trunc", True), ("simpler_glove_notrunc", False)):
        cfg = json.dumps(
            {"dim": 8, "epochs": 3, "batch_size": 256, "truncate": trunc, "device": "cpu"}
        )
        assert (
            main(
                [
                    "vectors",
                    "train-simpler-glove",
                    "--config",
                    cfg,
                    "--corpus",
                    "tiny",
                    "--method",
                    method,
                    "--vocab",
                    str(text_dir / "vocab.parquet"),
                    "--cooccur",
                    str(text_dir / "cooccur/unit.parquet"),
                    "--output",
                    str(out / f"{method}.kv"),
                    "--history",
                    str(out / f"{method}.history.parquet"),
                ]
            )
            == 0
        )
    cfg = json.dumps({"dim": 8, "epochs": 3, "batch_size": 256, "device": "cpu"})
    assert (
        main(
            [
                "vectors",
                "train-glove",
                "--config",
                cfg,
                "--corpus",
                "tiny",
                "--method",
                "glove",
                "--vocab",
                str(text_dir / "vocab.parquet"),
                "--cooccur",
                str(text_dir / "cooccur/harmonic.parquet"),
                "--output",
                str(out / "glove.kv"),
                "--history",
                str(out / "glove.history.parquet"),
                "--params",
                str(out / "glove.pt"),
            ]
        )
        == 0
    )
    return out


def test_training_writes_exchange_format_and_history(trained, tiny_corpus):
    _, vocab = tiny_corpus
    kv = vio.load_keyed(trained / "simpler_glove_trunc.kv")
    assert kv.index_to_key == vocab["token"].tolist()
    assert kv.expandos["count"].tolist() == vocab["count"].tolist()
    history = pd.read_parquet(trained / "glove.history.parquet")
    assert (
        set(history["metric"]) == {"loss", "skipped", "seconds"}
        and (history["method"] == "glove").all()
    )
    prov = read_provenance(trained / "glove.history.parquet")
    assert json.loads(prov["config"])["dim"] == 8 and "vocab.parquet" in prov["inputs_sha256"]


def test_gensim_trains_on_shards_with_the_same_vocabulary(text_dir, tiny_corpus, tmp_path):
    _, vocab = tiny_corpus
    cfg = json.dumps({"dim": 8, "epochs": 1, "bucket": 1000})
    for method in ("sg", "fasttext"):
        assert (
            main(
                [
                    "vectors",
                    "train-gensim",
                    "--config",
                    cfg,
                    "--method",
                    method,
                    "--threads",
                    "1",
                    "--vocab",
                    str(text_dir / "vocab.parquet"),
                    "--types",
                    str(text_dir / "types.parquet"),
                    "--shards",
                    str(text_dir / "shards/shard-0.parquet"),
                    "--output",
                    str(tmp_path / f"{method}.kv"),
                ]
            )
            == 0
        )
        kv = vio.load_keyed(tmp_path / f"{method}.kv")
        assert kv.index_to_key == vocab["token"].tolist() and kv.vector_size == 8
    # FastText keeps its subword model: an out-of-vocabulary word gets a vector, as in gensim
    ft = vio.load_keyed(tmp_path / "fasttext.kv")
    assert type(ft).__name__ == "FastTextKeyedVectors"
    unseen = vocab["token"].iloc[0] + "zq"
    assert unseen not in ft.key_to_index and ft[unseen].shape == (8,)
    np.testing.assert_array_equal(ft[vocab["token"].iloc[3]], ft.vectors[3])


def test_evaluate_counts_malformed_lines(trained, tiny_corpus, tmp_path):
    _, vocab = tiny_corpus
    t = vocab["token"].tolist()
    (tmp_path / "a.txt").write_text(
        f": s1\r\n{t[0]} {t[1]} {t[2]} {t[3]}\r\nbroken line\r\n{t[4]} {t[5]} {t[6]} {t[7]}\r\n"
    )
    (tmp_path / "p.tsv").write_text(
        f"# c\n{t[0]}\t{t[1]}\t1\n{t[2]}\t{t[3]}\t2\n{t[4]}\t{t[5]}\tx\n{t[6]}\t{t[8]}\t3\n"
    )
    cfg = json.dumps(
        {
            "analogies": [{"name": "mine", "path": str(tmp_path / "a.txt")}],
            "similarity": [{"name": "pairs", "path": str(tmp_path / "p.tsv")}],
        }
    )
    out = tmp_path / "intrinsic.parquet"
    assert (
        main(
            [
                "vectors",
                "evaluate",
                "--config",
                cfg,
                "--corpus",
                "tiny",
                "--method",
                "simpler_glove_trunc",
                "--vectors",
                str(trained / "simpler_glove_trunc.kv"),
                "--output",
                str(out),
            ]
        )
        == 0
    )
    table = pd.read_parquet(out).set_index(["section", "metric"])["value"]
    assert table[("mine/file", "malformed_lines")] == 1
    assert table[("mine/total", "seen")] == 2
    assert table[("pairs", "malformed_lines")] == 1 and table[("pairs", "seen")] == 3


def test_evaluate_without_overlap_exits_2(trained, tmp_path, capsys):
    (tmp_path / "a.txt").write_text(": s\nfoo bar baz qux\n")
    cfg = json.dumps({"analogies": [{"name": "foreign", "path": str(tmp_path / "a.txt")}]})
    code = main(
        [
            "vectors",
            "evaluate",
            "--config",
            cfg,
            "--corpus",
            "tiny",
            "--method",
            "glove",
            "--vectors",
            str(trained / "glove.kv"),
            "--output",
            str(tmp_path / "o.parquet"),
        ]
    )
    assert code == 2 and "foreign: none of 1 questions" in capsys.readouterr().err
    assert not (tmp_path / "o.parquet").exists()


def test_diverging_training_exits_2_naming_the_step(text_dir, tmp_path, capsys):
    cfg = json.dumps(
        {"dim": 4, "epochs": 1, "x_max": 0.001, "alpha": 40, "truncate": False, "device": "cpu"}
    )
    code = main(
        [
            "vectors",
            "train-simpler-glove",
            "--config",
            cfg,
            "--corpus",
            "tiny",
            "--method",
            "simpler_glove_notrunc",
            "--vocab",
            str(text_dir / "vocab.parquet"),
            "--cooccur",
            str(text_dir / "cooccur/unit.parquet"),
            "--output",
            str(tmp_path / "v.kv"),
            "--history",
            str(tmp_path / "h.parquet"),
        ]
    )
    assert code == 2 and "training diverged at step 1 (epoch 1): " in capsys.readouterr().err
    assert not (tmp_path / "v.kv").exists()


def test_unknown_config_key_exits_2(text_dir, tmp_path, capsys):
    code = main(
        [
            "vectors",
            "train-glove",
            "--config",
            '{"dims": 3}',
            "--corpus",
            "tiny",
            "--method",
            "glove",
            "--vocab",
            str(text_dir / "vocab.parquet"),
            "--cooccur",
            str(text_dir / "cooccur/harmonic.parquet"),
            "--output",
            str(tmp_path / "v.kv"),
            "--history",
            str(tmp_path / "h.parquet"),
            "--params",
            str(tmp_path / "p.pt"),
        ]
    )
    assert code == 2 and "unknown key(s) dims" in capsys.readouterr().err


def vectors(verb, config=None, **args):
    """Run ``python -m pipeline vectors <verb>``: keyword arguments become ``--flags``."""
    argv = ["vectors", verb] + (["--config", json.dumps(config)] if config is not None else [])
    for key, value in args.items():
        flag = "--" + key.replace("_", "-")
        argv += [flag, *map(str, value)] if isinstance(value, list) else [flag, str(value)]
    return main(argv)


def test_analyses_and_summary(trained, text_dir, tmp_path):
    methods = ["simpler_glove_trunc", "simpler_glove_notrunc", "glove"]
    kvs = [str(trained / f"{m}.kv") for m in methods]
    assert (
        vectors(
            "analyse-norms",
            {"rank_range": [10, 40], "top_frequent": 5},
            corpus="tiny",
            methods=methods,
            vectors=kvs,
            output=tmp_path / "norms.parquet",
            smallest=tmp_path / "s.parquet",
            smallest_tsv=tmp_path / "s.tsv",
            figure=tmp_path / "n.png",
        )
        == 0
    )
    norms = pd.read_parquet(tmp_path / "norms.parquet")
    assert (
        set(norms["metric"])
        == {
            "spearman_sqnorm_vs_neglogp",
            "stopword_norm_ratio",
            "function_word_share_smallest",
            "norm_rank_top2_frequent",
        }
        and len(norms) == 12
    )
    assert (
        vectors(
            "check-ill-posedness",
            {"top_words": 20},
            corpus="tiny",
            params=trained / "glove.pt",
            vocab=text_dir / "vocab.parquet",
            cooccur=text_dir / "cooccur/harmonic.parquet",
            output=tmp_path / "ill.parquet",
            figure=tmp_path / "ill.png",
        )
        == 0
    )
    ill = pd.read_parquet(tmp_path / "ill.parquet")
    assert ill.loc[ill["metric"] == "relative_loss_change", "value"].max() < 1e-9
    cos = ill[ill["metric"] == "mean_pairwise_cosine"].sort_values("shift_norm")["value"].to_numpy()
    assert cos[-1] > 0.99 and cos[-1] > cos[0]
    cfg = {
        "keyword_sentences": ["w00 w05 w07 w30", "zz yy"],
        "similar_queries": ["w03"],
        "context_sizes": [20, 5],
        "analogy_queries": [["w00", "w01", "w02"]],
        "tokenizer": "whitespace",
        "topn": 3,
    }
    assert (
        vectors(
            "find-examples",
            cfg,
            corpus="tiny",
            methods=methods,
            vectors=kvs,
            output=tmp_path / "ex.parquet",
            tsv=tmp_path / "ex.tsv",
            scores=tmp_path / "scores.parquet",
        )
        == 0
    )
    ex = pd.read_parquet(tmp_path / "ex.parquet")
    assert set(ex["kind"]) == {
        "keywords",
        "keywords_lowest",
        "similar_N20",
        "similar_N5",
        "analogy",
    }
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    # "zz yy" has no word of the vocabulary: counted, not a crash
    assert scores.loc[scores["metric"] == "keyword_sentences_empty", "value"].tolist() == [1] * 3
    assert (
        vectors(
            "compare-adagrad",
            {"epochs": 2, "scale_words": 20},
            model_config='{"dim": 4, "batch_size": 256, "device": "cpu"}',
            corpus="tiny",
            vocab=text_dir / "vocab.parquet",
            cooccur=text_dir / "cooccur/unit.parquet",
            output=tmp_path / "ada.parquet",
            figure=tmp_path / "ada.png",
        )
        == 0
    )
    ada = pd.read_parquet(tmp_path / "ada.parquet")
    assert set(ada["method"]) == {
        "simpler_glove_standard",
        "simpler_glove_lagged",
        "simpler_glove_adagrad_g1",
        "simpler_glove_adagrad_g0",
        "simpler_glove_sgd",
    }
    assert (
        vectors(
            "check-pmi-additivity", {"seeds": 2, "samples": 1000}, output=tmp_path / "pmi.parquet"
        )
        == 0
    )
    histories = [trained / f"{m}.history.parquet" for m in methods]
    tables = [
        tmp_path / n for n in ("norms.parquet", "ada.parquet", "ill.parquet", "scores.parquet")
    ]
    assert (
        vectors(
            "summarize",
            corpus="tiny",
            tables=tables,
            histories=histories,
            checks=[tmp_path / "pmi.parquet"],
            output=tmp_path / "sum.parquet",
            tsv=tmp_path / "sum.tsv",
            figure=tmp_path / "loss.png",
            results=tmp_path / "results.parquet",
            html=tmp_path / "results.html",
        )
        == 0
    )
    assert len(pd.read_parquet(tmp_path / "sum.parquet")) == len(norms) + len(ada) + len(ill) + len(
        scores
    )
    results = read_results(tmp_path / "results.parquet")
    assert DECLARED >= set(zip(results["experiment"], results["metric"], strict=True))
    assert {"E7.1", "E7.2", "E7.3", "E7.4", "E7.6", "E7.9", "C4"} <= set(results["experiment"])
    gain = results[results["metric"] == "top2_norm_rank_gain_truncation"]
    assert len(gain) == 1 and (tmp_path / "results.html").exists()
