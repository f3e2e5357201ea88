"""``python -m pipeline vectors <verb>``: one verb per rule of workflow/rules/vectors.smk.

Every verb gets its config section as one JSON string (``--config``), builds the frozen
dataclass of the module that uses it, calls plain functions, and writes tidy Parquet tables
(experiment, dataset, method, implementation, seed, section, metric, value) with provenance.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import torch

from pipeline.cli import add_config_argument, load_section
from pipeline.io import atomic_path, write_table
from pipeline.provenance import collect
from pipeline.vectors import analysis, evaluation, figures
from pipeline.vectors import io as vio
from pipeline.vectors.keyed import to_keyed_vectors
from pipeline.vectors.training import resolve_device

log = logging.getLogger(__name__)

TORCH_METHODS = {"simpler_glove_trunc", "simpler_glove_notrunc", "glove"}
COLUMNS = [
    "experiment",
    "dataset",
    "method",
    "implementation",
    "seed",
    "section",
    "metric",
    "value",
]


def implementation_of(method: str) -> str:
    return "pipeline" if method in TORCH_METHODS else "gensim"


def tidy(rows: list[dict], **fixed) -> pa.Table:
    """Long-format table: one row per (…, metric); ``fixed`` fills the shared columns."""
    frame = pd.DataFrame([{**fixed, **r} for r in rows])
    for col in COLUMNS:
        if col not in frame:
            frame[col] = None
    frame["section"] = frame["section"].fillna("all")
    frame["value"] = frame["value"].astype("float64")
    frame["seed"] = frame["seed"].astype("int64")
    extra = [c for c in frame.columns if c not in COLUMNS]
    return pa.Table.from_pandas(frame[COLUMNS + extra], preserve_index=False)


def save_figure(fig, path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)


def _seed_everything(seed: int, threads: int) -> None:
    from pipeline.vectors.cellwise import set_threads

    log.info("seed %d, %d thread(s)", seed, threads)
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(max(1, threads))
    set_threads(threads)  # the numba engine's threads: the numbers do not depend on them


# --- training -------------------------------------------------------------------------------


def cmd_train_simpler_glove(args) -> None:
    from pipeline.vectors.simpler_glove import SimplerGloveConfig, train_simpler_glove

    cfg = load_section(SimplerGloveConfig, args.config, "vectors.simpler_glove")
    _seed_everything(args.seed, args.threads)
    vocab = vio.read_vocab(args.vocab)
    cooc = vio.read_cooccurrence(args.cooccur, vocab["count"].to_numpy())
    vectors, history = train_simpler_glove(cooc, cfg, random_state=args.seed)
    _write_training(args, vocab, vectors, history)


def cmd_train_glove(args) -> None:
    from pipeline.vectors.glove import GloveConfig, train_glove

    cfg = load_section(GloveConfig, args.config, "vectors.glove")
    _seed_everything(args.seed, args.threads)
    vocab = vio.read_vocab(args.vocab)
    cooc = vio.read_cooccurrence(args.cooccur, vocab["count"].to_numpy())
    vectors, history, tables = train_glove(cooc, cfg, random_state=args.seed)
    with atomic_path(args.params) as tmp:
        torch.save({"config": asdict(cfg), "epochs": len(history), "tables": tables}, tmp)
    _write_training(args, vocab, vectors, history)


def _write_training(args, vocab, vectors, history) -> None:
    vio.save_keyed(
        to_keyed_vectors(vocab["token"].tolist(), vocab["count"].to_numpy(), vectors), args.output
    )
    rows = [
        {"section": f"epoch{h['epoch']}", "metric": m, "value": h[m]}
        for h in history
        for m in ("loss", "skipped", "seconds")
    ]
    fixed = dict(
        experiment="training",
        dataset=args.corpus,
        method=args.method,
        implementation=implementation_of(args.method),
        seed=args.seed,
    )
    device = str(resolve_device(json.loads(args.config).get("device", "auto")))
    write_table(
        tidy(rows, **fixed), args.history, collect(args.config, [args.vocab, args.cooccur], device)
    )


def cmd_train_gensim(args) -> None:
    from pipeline.vectors.gensim_models import GensimConfig, train_gensim

    cfg = load_section(GensimConfig, args.config, "vectors.gensim")
    _seed_everything(args.seed, args.threads)
    vocab = vio.read_vocab(args.vocab)
    from pipeline.text.shards import ShardCorpus

    corpus = ShardCorpus(args.shards, args.types)
    kv = train_gensim(args.method, corpus, vocab, cfg, workers=args.threads, random_state=args.seed)
    vio.save_keyed(kv, args.output)


def cmd_export_word2vec(args) -> None:
    vio.save_word2vec_text(vio.load_keyed(args.vectors), args.output)


# --- evaluations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluateConfig:
    restrict_vocab: int = 30000
    similarity_restrict_vocab: int = 300000
    case_insensitive: bool = True
    analogies: list = field(default_factory=list)  # [{"name": ..., "path": ...}]
    similarity: list = field(default_factory=list)


def resolve_eval_path(path: str) -> str:
    """``gensim:<file>`` names a file of gensim's bundled test data."""
    if path.startswith("gensim:"):
        from gensim.test.utils import datapath

        return datapath(path.split(":", 1)[1])
    return path


def cmd_evaluate(args) -> None:
    cfg = load_section(EvaluateConfig, args.config, "vectors.evaluate")
    kv = vio.load_keyed(args.vectors)
    rows = []
    for spec in cfg.analogies:
        parsed = evaluation.parse_analogies(
            vio.read_lines(resolve_eval_path(spec["path"])), spec["name"]
        )
        rows.append(
            {
                "experiment": "analogy",
                "section": f"{spec['name']}/file",
                "metric": "malformed_lines",
                "value": len(parsed.malformed),
            }
        )
        for r in evaluation.evaluate_analogies(
            kv, parsed, cfg.restrict_vocab, cfg.case_insensitive
        ):
            rows += [
                {
                    "experiment": "analogy",
                    "section": f"{spec['name']}/{r['section']}",
                    "metric": m,
                    "value": r[m],
                }
                for m in ("accuracy", "correct", "seen", "questions")
            ]
    for spec in cfg.similarity:
        parsed = evaluation.parse_pairs(
            vio.read_lines(resolve_eval_path(spec["path"])), spec["name"]
        )
        result = evaluation.evaluate_pairs(
            kv, parsed, cfg.similarity_restrict_vocab, cfg.case_insensitive
        )
        result["malformed_lines"] = len(parsed.malformed)
        rows += [
            {"experiment": "similarity", "section": spec["name"], "metric": m, "value": v}
            for m, v in result.items()
        ]
    if not rows:
        raise ValueError("vectors.evaluate: no analogy or similarity sets configured")
    fixed = dict(
        dataset=args.corpus,
        method=args.method,
        implementation=implementation_of(args.method),
        seed=args.seed,
    )
    inputs = [args.vectors] + [resolve_eval_path(s["path"]) for s in cfg.analogies + cfg.similarity]
    write_table(tidy(rows, **fixed), args.output, collect(args.config, inputs))


@dataclass(frozen=True)
class NormsConfig:
    smallest: int = 50
    top_frequent: int = 100
    rank_range: list = field(default_factory=lambda: [1000, 10000])


def cmd_analyse_norms(args) -> None:
    cfg = load_section(NormsConfig, args.config, "vectors.norms")
    rows, smallest, points = [], [], {}
    for method, path in zip(args.methods, args.vectors, strict=True):
        kv = vio.load_keyed(path)
        counts = kv.expandos["count"].astype(np.float64)
        points[method] = (
            -np.log(counts / counts.sum()),
            (kv.vectors.astype(np.float64) ** 2).sum(axis=1),
        )
        rows.append(
            {
                "method": method,
                "metric": "spearman_sqnorm_vs_neglogp",
                "value": analysis.norm_importance(kv),
            }
        )
        ratio = analysis.stopword_norm_ratio(kv, cfg.top_frequent, tuple(cfg.rank_range))
        rows.append({"method": method, "metric": "stopword_norm_ratio", "value": ratio})
        smallest += [
            {"method": method, "rank": r, "token": t, "norm": n}
            for r, t, n in analysis.smallest_norms(kv, cfg.smallest)
        ]
    for r in rows:
        r["implementation"] = implementation_of(r["method"])
    prov = collect(args.config, args.vectors)
    write_table(
        tidy(rows, experiment="norms", dataset=args.corpus, seed=args.seed), args.output, prov
    )
    write_table(pa.Table.from_pylist(smallest), args.smallest, prov)
    with atomic_path(args.smallest_tsv) as tmp:
        pd.DataFrame(smallest).pivot(index="rank", columns="method", values="token").to_csv(
            tmp, sep="\t"
        )
    save_figure(figures.norm_scatter(points), args.figure)


@dataclass(frozen=True)
class IllPosednessConfig:
    shift_norms: list = field(default_factory=lambda: [0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0])
    top_words: int = 1000
    max_pairs: int = 1000000


def cmd_check_ill_posedness(args) -> None:
    from pipeline.vectors.cooccurrence import glove_weights
    from pipeline.vectors.glove import glove_loss, mean_pairwise_cosine, shift_parameters

    cfg = load_section(IllPosednessConfig, args.config, "vectors.ill_posedness")
    state = torch.load(args.params, weights_only=False)
    tables, gcfg = state["tables"], state["config"]
    vocab = vio.read_vocab(args.vocab)
    cooc = vio.read_cooccurrence(args.cooccur, vocab["count"].to_numpy())
    gen = np.random.default_rng(args.seed)
    pick = gen.choice(len(cooc.x), size=min(cfg.max_pairs, len(cooc.x)), replace=False)
    i, j = (
        torch.as_tensor(cooc.i[pick].astype(np.int64)),
        torch.as_tensor(cooc.j[pick].astype(np.int64)),
    )
    log_x = torch.as_tensor(np.log(cooc.x[pick]))
    weight = torch.as_tensor(
        glove_weights(cooc.x[pick], gcfg["x_max"], gcfg["alpha"], truncate=True)
    )
    direction = torch.as_tensor(gen.normal(size=tables["W"].shape[1]))
    direction /= direction.norm()
    base = float(glove_loss(tables, i, j, log_x, weight))
    rows = []
    for norm in cfg.shift_norms:
        shifted = shift_parameters({k: v.double() for k, v in tables.items()}, direction * norm)
        loss = float(glove_loss(shifted, i, j, log_x, weight))
        top = shifted["W"][: cfg.top_words]
        rows += [
            {"shift_norm": norm, "metric": "loss", "value": loss},
            {
                "shift_norm": norm,
                "metric": "relative_loss_change",
                "value": abs(loss - base) / base,
            },
            {
                "shift_norm": norm,
                "metric": "mean_pairwise_cosine",
                "value": mean_pairwise_cosine(top),
            },
        ]
    for r in rows:
        r["section"] = f"shift={r['shift_norm']:g}"
    table = tidy(
        rows,
        experiment="ill_posedness",
        dataset=args.corpus,
        method="glove",
        implementation="pipeline",
        seed=args.seed,
    )
    write_table(table, args.output, collect(args.config, [args.params, args.cooccur]))
    save_figure(figures.cosine_vs_shift(table.to_pandas()), args.figure)


@dataclass(frozen=True)
class ExamplesConfig:
    topn: int = 10
    keyword_sentences: list = field(default_factory=list)
    similar_queries: list = field(default_factory=list)
    context_sizes: list = field(default_factory=lambda: [10000, 500])
    analogy_queries: list = field(default_factory=list)  # [a, b, c]: a + b − c
    language: str = "en"
    tokenizer: str = "text8"


def tokenize(text: str, language: str, tokenizer: str) -> list[str]:
    """The text domain's tokenisers (the corpus's own), so sentences match the vocabulary."""
    from pipeline.text import tokenize as text_tokenize

    if language == "zh":
        return text_tokenize.segment_zh(text)
    return text_tokenize.tokenize_en(text, tokenizer)


def cmd_find_examples(args) -> None:
    cfg = load_section(ExamplesConfig, args.config, "vectors.examples")
    rows = []
    for method, path in zip(args.methods, args.vectors, strict=True):
        kv = vio.load_keyed(path)
        for sentence in cfg.keyword_sentences:
            for k, (w, s) in enumerate(
                analysis.keywords(kv, tokenize(sentence, cfg.language, cfg.tokenizer), cfg.topn)
            ):
                rows.append(
                    {
                        "method": method,
                        "kind": "keywords",
                        "query": sentence[:60],
                        "rank": k + 1,
                        "word": w,
                        "score": s,
                    }
                )
        for word in cfg.similar_queries:
            for n in cfg.context_sizes:
                for k, (w, s) in enumerate(analysis.similar_words(kv, word, n, cfg.topn)):
                    rows.append(
                        {
                            "method": method,
                            "kind": f"similar_N{n}",
                            "query": word,
                            "rank": k + 1,
                            "word": w,
                            "score": s,
                        }
                    )
        for a, b, c in cfg.analogy_queries:
            for k, (w, s) in enumerate(analysis.analogy_top(kv, a, b, c, topn=6)):
                rows.append(
                    {
                        "method": method,
                        "kind": "analogy",
                        "query": f"{a}+{b}-{c}",
                        "rank": k + 1,
                        "word": w,
                        "score": s,
                    }
                )
    frame = pd.DataFrame(rows, columns=["method", "kind", "query", "rank", "word", "score"])
    write_table(
        pa.Table.from_pandas(frame, preserve_index=False),
        args.output,
        collect(args.config, args.vectors),
    )
    with atomic_path(args.tsv) as tmp:
        wide = frame.groupby(["kind", "query", "method"])["word"].apply(" ".join).reset_index()
        wide.to_csv(tmp, sep="\t", index=False)


def cmd_compare_adagrad(args) -> None:
    from dataclasses import replace

    from pipeline.vectors.simpler_glove import SimplerGloveConfig, train_simpler_glove

    cfg = load_section(SimplerGloveConfig, args.config, "vectors.adagrad_comparison")
    _seed_everything(args.seed, args.threads)
    vocab = vio.read_vocab(args.vocab)
    cooc = vio.read_cooccurrence(args.cooccur, vocab["count"].to_numpy())
    rows, histories = [], {}
    for variant in ("standard", "lagged"):
        vectors, history = train_simpler_glove(
            cooc, replace(cfg, adagrad=variant, nan_policy="skip"), args.seed
        )
        histories[variant] = pd.DataFrame(history)
        rows += [
            {
                "method": f"simpler_glove_{variant}",
                "section": f"epoch{h['epoch']}",
                "metric": "loss",
                "value": h["loss"],
            }
            for h in history
        ]
        rows += [
            {
                "method": f"simpler_glove_{variant}",
                "metric": "final_loss",
                "value": history[-1]["loss"],
            },
            {
                "method": f"simpler_glove_{variant}",
                "metric": "nonfinite_pairs_skipped",
                "value": sum(h["skipped"] for h in history),
            },
            {
                "method": f"simpler_glove_{variant}",
                "metric": "nonfinite_vector_entries",
                "value": int((~np.isfinite(vectors)).sum()),
            },
        ]
    table = tidy(
        rows,
        experiment="adagrad_variants",
        dataset=args.corpus,
        implementation="pipeline",
        seed=args.seed,
    )
    write_table(table, args.output, collect(args.config, [args.vocab, args.cooccur]))
    save_figure(figures.loss_curves(histories), args.figure)


@dataclass(frozen=True)
class SentimentConfig:
    enabled: bool = False
    pos: str | None = None
    neg: str | None = None
    language: str = "zh"
    tokenizer: str = "text8"
    methods: list = field(default_factory=lambda: ["simpler_glove_notrunc", "simpler_glove_trunc"])
    classifier: dict = field(default_factory=dict)


def cmd_classify_sentiment(args) -> None:
    from pipeline.vectors import sentiment

    cfg = load_section(SentimentConfig, args.config, "vectors.sentiment")
    ccfg = load_section(
        sentiment.ClassifierConfig, json.dumps(cfg.classifier), "vectors.sentiment.classifier"
    )
    _seed_everything(args.seed, args.threads)
    texts, rows = [], []
    for label, path in ((1, args.pos), (0, args.neg)):
        kept, counts = sentiment.clean_texts(
            vio.read_sentiment_sheet(path), path, ccfg.max_bad_fraction
        )
        texts += [(t, label) for t in kept]
        rows += [
            {"method": "input", "section": "pos" if label else "neg", "metric": m, "value": v}
            for m, v in counts.items()
        ]
    labels = np.array([lab for _, lab in texts])
    tokens = [tokenize(t, cfg.language, cfg.tokenizer) for t, _ in texts]
    split_sets = sentiment.splits([t for t, _ in texts], labels, ccfg.train_size, args.seed)
    for method, path in zip(args.methods, args.vectors, strict=True):
        x, coverage = sentiment.sentence_vectors(tokens, vio.load_keyed(path))
        rows.append({"method": method, "metric": "token_coverage", "value": coverage})
        for split, (tr, va) in split_sets.items():
            result = {
                "lr_val_accuracy": sentiment.fit_logistic(
                    x[tr], labels[tr], x[va], labels[va], args.seed
                ),
                **sentiment.fit_mlp(x[tr], labels[tr], x[va], labels[va], ccfg, args.seed),
                "train_rows": len(tr),
                "val_rows": len(va),
            }
            rows += [
                {"method": method, "section": split, "metric": m, "value": v}
                for m, v in result.items()
            ]
    for r in rows:
        r["implementation"] = (
            "pipeline" if r["method"] == "input" else implementation_of(r["method"])
        )
    table = tidy(rows, experiment="sentiment", dataset=args.corpus, seed=args.seed)
    write_table(table, args.output, collect(args.config, [args.pos, args.neg, *args.vectors]))


def cmd_summarize(args) -> None:
    frames = [pd.read_parquet(p) for p in args.tables]
    frame = pd.concat(frames, ignore_index=True)
    write_table(
        pa.Table.from_pandas(frame, preserve_index=False), args.output, collect("{}", args.tables)
    )
    histories = {}
    for p in args.histories:
        h = pd.read_parquet(p)
        h = h[h["metric"] == "loss"]
        histories[h["method"].iloc[0]] = pd.DataFrame(
            {"epoch": h["section"].str.removeprefix("epoch").astype(int), "loss": h["value"]}
        )
    save_figure(figures.loss_curves(histories), args.figure)
    headline = frame[
        frame["metric"].isin(["accuracy", "spearman"])
        & (
            (frame["experiment"] == "similarity")
            | frame["section"].str.endswith(("/total", "/semantic", "/syntactic"))
        )
    ]
    with atomic_path(args.tsv) as tmp:
        headline.pivot_table(index=["section", "metric"], columns="method", values="value").to_csv(
            tmp, sep="\t"
        )


# --- registration ---------------------------------------------------------------------------


def _common(p, *, corpus=True, seed=True, threads=False):
    add_config_argument(p)
    if corpus:
        p.add_argument("--corpus", required=True, help="corpus name (the {corpus} wildcard)")
    if seed:
        p.add_argument("--seed", type=int, default=0)
    if threads:
        p.add_argument("--threads", type=int, default=1, help="torch threads / gensim workers")


def register(subparsers) -> None:
    def verb(name, func, help_, **kw):
        p = subparsers.add_parser(name, help=help_)
        _common(p, **kw)
        p.set_defaults(func=func)
        return p

    for name, func in (
        ("train-simpler-glove", cmd_train_simpler_glove),
        ("train-glove", cmd_train_glove),
    ):
        p = verb(name, func, "train on the co-occurrence table", threads=True)
        p.add_argument("--method", required=True)
        p.add_argument("--vocab", required=True)
        p.add_argument("--cooccur", required=True)
        p.add_argument("--output", required=True, help="KeyedVectors file")
        p.add_argument("--history", required=True, help="loss per epoch (Parquet)")
        if name == "train-glove":
            p.add_argument("--params", required=True, help="W, W̃, b, b̃ (torch file)")
    p = verb(
        "train-gensim",
        cmd_train_gensim,
        "Word2Vec SG/CBOW or FastText on the token shards",
        threads=True,
    )
    p.add_argument("--method", required=True, choices=["sg", "cbow", "fasttext"])
    p.add_argument("--vocab", required=True)
    p.add_argument("--types", required=True)
    p.add_argument("--shards", nargs="+", required=True)
    p.add_argument("--output", required=True)
    p = verb(
        "export-word2vec",
        cmd_export_word2vec,
        "KeyedVectors → word2vec text",
        corpus=False,
        seed=False,
    )
    p.add_argument("--vectors", required=True)
    p.add_argument("--output", required=True)
    p = verb("evaluate", cmd_evaluate, "analogies and word similarity")
    p.add_argument("--method", required=True)
    p.add_argument("--vectors", required=True)
    p.add_argument("--output", required=True)
    p = verb(
        "analyse-norms", cmd_analyse_norms, "norm ≈ importance, stop-word norms, smallest norms"
    )
    for a in ("--methods", "--vectors"):
        p.add_argument(a, nargs="+", required=True)
    for a in ("--output", "--smallest", "--smallest-tsv", "--figure"):
        p.add_argument(a, required=True)
    p = verb("check-ill-posedness", cmd_check_ill_posedness, "GloVe's invariance under v → v + c")
    for a in ("--params", "--vocab", "--cooccur", "--output", "--figure"):
        p.add_argument(a, required=True)
    p = verb(
        "find-examples",
        cmd_find_examples,
        "keywords, Pearson similar words, analogy examples",
        seed=False,
    )
    for a in ("--methods", "--vectors"):
        p.add_argument(a, nargs="+", required=True)
    for a in ("--output", "--tsv"):
        p.add_argument(a, required=True)
    p = verb(
        "compare-adagrad",
        cmd_compare_adagrad,
        "lagged vs standard Adagrad on simpler GloVe",
        threads=True,
    )
    for a in ("--vocab", "--cooccur", "--output", "--figure"):
        p.add_argument(a, required=True)
    p = verb(
        "classify-sentiment", cmd_classify_sentiment, "sentence vectors → sentiment", threads=True
    )
    for a in ("--methods", "--vectors"):
        p.add_argument(a, nargs="+", required=True)
    for a in ("--pos", "--neg", "--output"):
        p.add_argument(a, required=True)
    p = verb(
        "summarize",
        cmd_summarize,
        "one table of all evaluations, loss curves",
        corpus=False,
        seed=False,
    )
    p.add_argument("--tables", nargs="+", required=True)
    p.add_argument("--histories", nargs="*", default=[])
    for a in ("--output", "--tsv", "--figure"):
        p.add_argument(a, required=True)
