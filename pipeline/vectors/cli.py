"""``python -m pipeline vectors <verb>``: one verb per rule of workflow/rules/vectors.smk.

Each verb builds its config section (``--config``, one JSON string) into the frozen dataclass
of the module that does the work, and calls ONE function of that module, named like the verb
and the rule (``vectors_train_glove`` ↔ ``train-glove`` ↔ ``glove.train_glove``). The function
reads its inputs and writes its outputs through :mod:`pipeline.vectors.io`; this module only
parses, seeds, and computes the provenance record every output carries.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import logging
from dataclasses import dataclass

import numpy as np

from pipeline.cli import add_config_argument, load_section
from pipeline.devices import resolve_device
from pipeline.provenance import collect

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verb:
    """``run`` and ``config`` as ``"module.name"`` of :mod:`pipeline.vectors` (imported when the
    verb runs); ``inputs``/``outputs`` name path arguments (``+``: one or more, ``*``: any)."""

    run: str
    help: str
    config: str | None = None
    section: str = ""
    inputs: tuple = ()
    outputs: tuple = ("output",)
    options: tuple = ()  # of corpus, method, methods, seed, threads
    model_config: str | None = None  # a second section (--model-config), e.g. the model's


TRAIN = ("corpus", "method", "seed", "threads")
VERBS = {
    "train-simpler-glove": Verb(
        "simpler_glove.train_simpler_glove",
        "simpler GloVe on the co-occurrence counts",
        "simpler_glove.SimplerGloveConfig",
        "vectors.simpler_glove",
        ("vocab", "cooccur"),
        ("output", "history"),
        TRAIN,
    ),
    "train-glove": Verb(
        "glove.train_glove",
        "the GloVe baseline on the co-occurrence counts",
        "glove.GloveConfig",
        "vectors.glove",
        ("vocab", "cooccur"),
        ("output", "history", "params"),
        TRAIN,
    ),
    "train-gensim": Verb(
        "gensim_models.train_gensim",
        "Word2Vec SG/CBOW or FastText on the token shards",
        "gensim_models.GensimConfig",
        "vectors.gensim",
        ("vocab", "types", "shards+"),
        ("output",),
        ("method", "seed", "threads"),
    ),
    "export-word2vec": Verb("io.export_word2vec", "vectors -> word2vec text", inputs=("vectors",)),
    "evaluate": Verb(
        "evaluation.evaluate",
        "analogies and word similarity",
        "evaluation.EvaluateConfig",
        "vectors.evaluate",
        ("vectors", "files*"),
        ("output",),
        ("corpus", "method", "seed"),
    ),
    "analyse-norms": Verb(
        "analysis.analyse_norms",
        "norm ≈ importance, stop-word norms, smallest norms",
        "analysis.NormsConfig",
        "vectors.norms",
        ("vectors+",),
        ("output", "smallest", "smallest_tsv", "figure"),
        ("corpus", "methods", "seed"),
    ),
    "check-ill-posedness": Verb(
        "glove.check_ill_posedness",
        "GloVe's invariance under v -> v + c",
        "glove.IllPosednessConfig",
        "vectors.ill_posedness",
        ("params", "vocab", "cooccur"),
        ("output", "figure"),
        ("corpus", "seed"),
    ),
    "find-examples": Verb(
        "analysis.find_examples",
        "keywords, Pearson similar words, analogy examples",
        "analysis.ExamplesConfig",
        "vectors.examples",
        ("vectors+",),
        ("output", "tsv", "scores"),
        ("corpus", "methods", "seed"),
    ),
    "compare-adagrad": Verb(
        "simpler_glove.compare_adagrad",
        "lagged vs standard Adagrad on simpler GloVe",
        "simpler_glove.AdagradComparisonConfig",
        "vectors.adagrad_comparison",
        ("vocab", "cooccur"),
        ("output", "figure"),
        ("corpus", "seed", "threads"),
        model_config="simpler_glove.SimplerGloveConfig",
    ),
    "classify-sentiment": Verb(
        "sentiment.classify_sentiment",
        "sentence vectors -> sentiment",
        "sentiment.SentimentConfig",
        "vectors.sentiment",
        ("vectors+", "pos", "neg"),
        ("output",),
        ("corpus", "methods", "seed", "threads"),
    ),
    "check-pmi-additivity": Verb(
        "pmi.check_pmi_additivity",
        "E7.1: PMI additivity on synthetic tables",
        "pmi.PmiAdditivityConfig",
        "vectors.pmi_additivity",
    ),
    "summarize": Verb(
        "results.summarize",
        "one table of all run tables, headline TSV, loss curves",
        inputs=("tables+", "histories*", "checks*"),
        outputs=("output", "tsv", "figure", "results", "html"),
        options=("corpus", "seed"),
    ),
}


def _resolve(dotted: str):
    module, name = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(f"pipeline.vectors.{module}"), name)


def _seed_everything(seed: int, threads: int) -> None:
    import torch

    from pipeline.vectors.cellwise import set_threads

    log.info("seed %d, %d thread(s)", seed, threads)
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(max(1, threads))
    set_threads(threads)  # the numba engine's threads: the numbers do not depend on them


def run_verb(args: argparse.Namespace) -> None:
    verb = VERBS[args.verb]
    run = _resolve(verb.run)
    accepted = inspect.signature(run).parameters
    positional, device = [], "cpu"
    if verb.config:
        cfg = load_section(_resolve(verb.config), args.config, verb.section)
        device = resolve_device(getattr(cfg, "device", "cpu"), key=f"{verb.section}.device")
        positional.append(cfg)
    if verb.model_config:
        positional.append(
            load_section(_resolve(verb.model_config), args.model_config, "vectors.simpler_glove")
        )
    if "threads" in verb.options:
        _seed_everything(args.seed, args.threads)
    names = [n.rstrip("+*") for n in verb.inputs + verb.outputs] + list(verb.options)
    kwargs = {n: getattr(args, n) for n in names if n in accepted}
    inputs = [p for n in verb.inputs for p in _as_list(getattr(args, n.rstrip("+*")))]
    if "provenance" in accepted:
        config = (
            args.config
            if not verb.model_config
            else json.dumps(
                {"section": json.loads(args.config), "model": json.loads(args.model_config)}
            )
        )
        kwargs["provenance"] = collect(config, inputs, device)
    run(*positional, **kwargs)


def _as_list(value) -> list:
    return list(value) if isinstance(value, list) else [value]


def register(subparsers: argparse._SubParsersAction) -> None:
    for name, verb in VERBS.items():
        p = subparsers.add_parser(name, help=verb.help)
        add_config_argument(p)
        if verb.model_config:
            p.add_argument("--model-config", default="{}", help="the model's section (JSON)")
        for arg in verb.inputs + verb.outputs:
            flag = "--" + arg.rstrip("+*").replace("_", "-")
            if arg.endswith("+"):
                p.add_argument(flag, nargs="+", required=True)
            elif arg.endswith("*"):
                p.add_argument(flag, nargs="*", default=[])
            else:
                p.add_argument(flag, required=True)
        for opt in verb.options:
            if opt in ("seed", "threads"):
                p.add_argument(f"--{opt}", type=int, default=0 if opt == "seed" else 1)
            else:
                p.add_argument(f"--{opt}", nargs="+" if opt == "methods" else None, required=True)
        p.set_defaults(func=run_verb, verb=name)
