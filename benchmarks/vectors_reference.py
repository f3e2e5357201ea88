"""Benchmark word-vector training and evaluation on the English reference corpus.

Trains one method with the same functions the workflow's verbs call, on the text stages'
outputs (vocab.parquet, cooccur/{unit,harmonic}.parquet, shards/), times it, and evaluates the
vectors by the protocol of anchors.md §1.2 (Google analogies restricted to the 30k most frequent
words, WS353, SimLex-999). Compare with anchors.md §1.3 (measured on this machine class):
simpler_glove C 22.7–23.6 % / WS353 0.45–0.46 in 230–250 s; GloVe C 32.2 % / 0.457 in ≈10.5 min;
gensim skip-gram 36.5–37.9 % / 0.65–0.66 in 140–300 s.

    flock /tmp/bench.lock .venv/bin/python benchmarks/vectors_reference.py \\
        --text-dir results/text/enwiki2015 --method simpler_glove_notrunc --epochs 15 --dim 100

``--engine`` picks the training engine (auto: the per-cell numba engine on the CPU).
``--peer`` (gensim methods only) also trains gensim itself in this process, reading the same tokens
from a plain corpus file (``corpus_file``, its fastest mode, as anchors.md §1.3 ran it) with the same
settings and vocabulary, and reports ours / peer wall time. The C tools (GloVe, simpler_glove) are
not installed here, so the GloVe methods have no runnable peer. ``--no-evaluate`` skips the
analogy/similarity evaluation (a synthetic corpus has no English words); ``--json`` writes the
record to a file as well.

Prints one JSON record (figures, settings, commit, machine) for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from gensim.test.utils import datapath  # noqa: E402

from pipeline.cli import setup_logging  # noqa: E402
from pipeline.provenance import git_state  # noqa: E402
from pipeline.vectors import analysis, cellwise, evaluation  # noqa: E402
from pipeline.vectors import io as vio  # noqa: E402
from pipeline.vectors.keyed import to_keyed_vectors  # noqa: E402


def train(args, vocab):
    """(KeyedVectors, settings, per-epoch history) for ``args.method``."""
    text = Path(args.text_dir)
    if args.method.startswith("simpler_glove"):
        from pipeline.vectors.simpler_glove import SimplerGloveConfig, fit_simpler_glove

        cfg = SimplerGloveConfig(truncate=args.method == "simpler_glove_trunc", device=args.device)
        cfg = replace(cfg, **_overrides(args, cfg))
        cooc = vio.read_cooccurrence(
            text / f"cooccur/{cfg.weighting}.parquet", vocab["count"].to_numpy()
        )
        vectors, history = fit_simpler_glove(cooc, cfg, args.seed)
    elif args.method == "glove":
        from pipeline.vectors.glove import GloveConfig, fit_glove

        cfg = GloveConfig(device=args.device)
        cfg = replace(cfg, **_overrides(args, cfg))
        cooc = vio.read_cooccurrence(
            text / f"cooccur/{cfg.weighting}.parquet", vocab["count"].to_numpy()
        )
        vectors, history, _ = fit_glove(cooc, cfg, args.seed)
    else:
        from pipeline.text.shards import ShardCorpus
        from pipeline.vectors.gensim_models import GensimConfig, fit_gensim

        cfg = GensimConfig()
        cfg = replace(cfg, **_overrides(args, cfg))
        corpus = ShardCorpus(
            sorted((text / "shards").glob("shard-*.parquet")), text / "types.parquet"
        )
        kv = fit_gensim(
            args.method, corpus, vocab, cfg, workers=args.threads, random_state=args.seed
        )
        return kv, asdict(cfg), []
    kv = to_keyed_vectors(vocab["token"].tolist(), vocab["count"].to_numpy(), vectors)
    return kv, asdict(cfg), history


def gensim_peer_seconds(args, vocab, settings: dict) -> float:
    """Wall seconds of gensim training ``args.method`` from a plain corpus file holding the shards'
    documents (lines cut at LineSentence's 10,000 tokens), same settings and vocabulary as ours."""
    from gensim.models import FastText, Word2Vec

    from pipeline.text.shards import ShardCorpus

    text = Path(args.text_dir)
    corpus = ShardCorpus(sorted((text / "shards").glob("shard-*.parquet")), text / "types.parquet")
    common = dict(
        vector_size=settings["dim"],
        window=settings["window"],
        negative=settings["negative"],
        sample=settings["sample"],
        alpha=settings["alpha"],
        min_count=1,
        workers=max(1, args.threads),
        seed=args.seed,
        sg=int(args.method != "cbow"),
    )
    if args.method == "fasttext":
        model = FastText(
            min_n=settings["min_n"], max_n=settings["max_n"], bucket=settings["bucket"], **common
        )
    else:
        model = Word2Vec(**common)
    model.build_vocab_from_freq(dict(zip(vocab["token"], vocab["count"].astype(int), strict=True)))
    with tempfile.TemporaryDirectory(prefix="bench-vectors-") as tmp:
        path = Path(tmp) / "corpus.txt"
        with path.open("w", encoding="utf-8") as f:
            for doc in corpus:
                for k in range(0, len(doc), 10_000):
                    f.write(" ".join(doc[k : k + 10_000]) + "\n")
        start = time.perf_counter()
        model.train(
            corpus_file=str(path),
            total_words=int(vocab["count"].sum()),
            epochs=settings["epochs"],
        )
        return time.perf_counter() - start


def _overrides(args, cfg) -> dict:
    wanted = {
        "dim": args.dim,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "x_max": args.x_max,
        "eta": args.eta,
        "alpha": args.alpha,
        "engine": args.engine,
        "groups": args.groups,
        "interleave": args.interleave,
        "context_smoothing": args.context_smoothing,
        "pmi_shift": args.pmi_shift,
        "adagrad": args.adagrad,
        "nan_policy": args.nan_policy,
        "weighting": args.weighting,
        "subsample": args.subsample,
        "precision": args.precision,
    }
    return {k: v for k, v in wanted.items() if v is not None and hasattr(cfg, k)}


def evaluate(kv) -> dict:
    out = {}
    lines = vio.read_lines(datapath("questions-words.txt"))
    for row in evaluation.evaluate_analogies(
        kv, evaluation.parse_analogies(lines, "google"), 30000
    ):
        if row["section"] in ("total", "semantic", "syntactic"):
            out[f"analogy_{row['section']}"] = round(100 * row["accuracy"], 2)
            if row["section"] == "total":
                out["questions_seen"] = row["seen"]
    for name, file in (("ws353", "wordsim353.tsv"), ("simlex", "simlex999.txt")):
        pairs = evaluation.parse_pairs(vio.read_lines(datapath(file)), name)
        out[f"{name}_spearman"] = round(evaluation.evaluate_pairs(kv, pairs)["spearman"], 3)
    out["norm_importance_spearman"] = round(analysis.norm_importance(kv), 3)
    out["stopword_norm_ratio"] = round(analysis.stopword_norm_ratio(kv, 100, (1000, 10000)), 3)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--text-dir", required=True, help="results/text/<corpus> of the text stages")
    p.add_argument(
        "--method",
        default="simpler_glove_notrunc",
        choices=["simpler_glove_trunc", "simpler_glove_notrunc", "glove", "sg", "cbow", "fasttext"],
    )
    for name, kind in (
        ("--dim", int),
        ("--epochs", int),
        ("--batch-size", int),
        ("--x-max", float),
        ("--eta", float),
        ("--alpha", float),
        ("--engine", str),
        ("--groups", int),
        ("--interleave", int),
        ("--context-smoothing", float),
        ("--pmi-shift", float),
        ("--adagrad", str),
        ("--nan-policy", str),
        ("--weighting", str),
        ("--subsample", float),
        ("--precision", str),
    ):
        p.add_argument(name, type=kind, default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", default=None, help="write the KeyedVectors here")
    p.add_argument("--peer", action="store_true", help="also time gensim on a corpus file")
    p.add_argument("--no-evaluate", action="store_true", help="skip the evaluation")
    p.add_argument("--json", default=None, help="also write the record here")
    args = p.parse_args()
    if args.peer and args.method not in ("sg", "cbow", "fasttext"):
        p.error(f"--peer: no runnable peer for {args.method} (the C tools are not installed)")
    setup_logging()
    torch.set_num_threads(args.threads)
    cellwise.set_threads(args.threads)
    load_before = os.getloadavg()
    vocab = vio.read_vocab(Path(args.text_dir) / "vocab.parquet")
    start, cpu0 = time.perf_counter(), os.times()
    kv, settings, history = train(args, vocab)
    wall, cpu1 = time.perf_counter() - start, os.times()
    if args.save:
        vio.save_keyed(kv, args.save)
    record = {
        "method": args.method,
        "settings": settings,
        "vocab_size": len(vocab),
        "threads": args.threads,
        "seed": args.seed,
        "train_wall_s": round(wall, 1),
        "train_cpu_s": round(cpu1.user + cpu1.system - cpu0.user - cpu0.system, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "final_loss": history[-1]["loss"] if history else None,
        "cells_skipped": sum(h["skipped"] for h in history),
        "nonfinite_entries": int((~np.isfinite(kv.vectors)).sum()),
        **({} if args.no_evaluate else evaluate(kv)),
        "commit": git_state()[0],
        "machine": f"{platform.node()} {os.cpu_count()} cpu",
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "epoch_seconds": [round(h["seconds"], 1) for h in history],
        "device": "cuda" if args.device != "cpu" and torch.cuda.is_available() else "cpu",
    }
    if args.peer:
        record["peer"] = "gensim corpus_file"
        record["peer_train_wall_s"] = round(gensim_peer_seconds(args, vocab, settings), 2)
        record["ours_over_peer"] = wall / record["peer_train_wall_s"]
        record["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(record, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
