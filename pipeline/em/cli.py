"""``python -m pipeline em <verb>``: one verb per rule of workflow/rules/em.smk."""

from __future__ import annotations

import argparse
import logging

import pandas as pd
import pyarrow as pa

from pipeline import tables
from pipeline.cli import add_config_argument, load_section, resolve
from pipeline.devices import resolve_device
from pipeline.io import atomic_path, write_table
from pipeline.provenance import collect

log = logging.getLogger(__name__)

# verb -> (config dataclass, run function, seeding, help); "seed" runs one seed per job, "seeds"
# loops over all of them in one job (the cheap identity checks), None takes no seed. Named as
# "module:name" and imported by the verb that runs (pipeline.cli.resolve).
_X, _I = "pipeline.em.experiments", "pipeline.em.identities"
RUNS = {
    "gmm-synthetic": (f"{_X}:GmmConfig", f"{_X}:gmm_synthetic", "seed",
                      "post 6: GMM EM on a known mixture, parity with scikit-learn, best of n_init vs truth"),
    "kmeans-blobs": (f"{_X}:KMeansConfig", f"{_X}:kmeans_blobs", "seed",
                     "Lloyd against scikit-learn from the same k-means++ centres on labelled blobs"),
    "soft-kmeans": (f"{_X}:SoftKMeansConfig", f"{_X}:soft_kmeans", "seed",
                    "E8.4: soft K-means for growing M against Lloyd from the same centres"),
    "plsa-synthetic": (f"{_X}:PlsaConfig", f"{_X}:plsa_synthetic", "seed",
                       "E8.3: pLSA by EM against two gradient variants and NMF-KL, known topics"),
    "real-data": (f"{_X}:RealDataConfig", f"{_X}:real_data", "seed",
                  "ARI of GMM and K-means on datasets bundled with scikit-learn"),
    "plsa-corpus": (f"{_X}:CorpusConfig", f"{_X}:plsa_corpus", "seed",
                    "E8.3 on gensim's bundled corpora: EM, gradient variants, NMF-KL, LDA"),
    "newton-gd": (f"{_X}:NewtonConfig", f"{_X}:newton_gd", None,
                  "E8.1: Newton against gradient descent with the best fixed step"),
    "gmm-half-steps": (f"{_I}:HalfStepConfig", f"{_I}:gmm_half_steps", "seeds",
                       "E6.1: (17) never increases and equals the NLL after each E-step"),
    "cross-entropy-identity": (f"{_I}:CrossEntropyConfig", f"{_I}:cross_entropy_identity",
                               "seeds", "E6.3: the supervised objective as cross-entropy, four ways"),
    "plsa-surrogate": (f"{_I}:SurrogateConfig", f"{_I}:plsa_surrogate", "seeds",
                       "E8.5: pLSA's surrogate S' against (17) and S + H(C)"),
    "gmm-vs-soft-kmeans": (f"{_I}:GmmSoftConfig", f"{_I}:gmm_vs_soft_kmeans", "seeds",
                           "E8.5: soft K-means at M = 1/(2 sigma^2) beside GMM EM"),
}  # fmt: skip


def _set_threads(threads: int, backend: str) -> None:
    """Pin BLAS/OpenMP (and torch's pool, only when torch runs) to the rule's threads."""
    from threadpoolctl import threadpool_limits

    if threads < 1:
        raise ValueError(f"--threads {threads}: expected an integer >= 1")
    threadpool_limits(threads)
    if backend == "torch":
        import torch

        torch.set_num_threads(threads)


def _device(cfg) -> str:
    """The device our side runs on: the shared rule for ``em.device`` when torch runs, else CPU."""
    if getattr(cfg, "backend", "numpy") != "torch":
        return "cpu"
    return resolve_device(getattr(cfg, "device", "auto"), key="em.device")


def run_experiment(args: argparse.Namespace) -> None:
    cls, run, seeded, _ = RUNS[args.verb]
    cls, run = resolve(cls), resolve(run)
    cfg = load_section(cls, args.config, name=f"em {args.verb}")
    device = _device(cfg)  # cuda without a GPU fails here, naming the key, before any work
    _set_threads(args.threads, getattr(cfg, "backend", "numpy"))
    if seeded == "seed":
        log.info("%s seed=%d", args.verb, args.seed)
        table = run(cfg, args.seed)
    elif seeded == "seeds":
        log.info("%s seeds=%s", args.verb, args.seeds)
        table = pd.concat([run(cfg, seed) for seed in args.seeds], ignore_index=True)
    else:
        table = run(cfg)
    tables.write_results(table, args.output, collect(args.config, (), device))
    log.info("wrote %d rows to %s", len(table), args.output)


def summarize(args: argparse.Namespace) -> None:
    from pipeline.em import figures

    runs = tables.read_results(args.inputs)
    prov = collect(args.config, args.inputs)
    tables.write_results(runs, args.runs_output, prov)
    experiments = ", ".join(sorted(runs.experiment.unique()))
    log.info("wrote %s (%d rows from %d tables; experiments %s)",
             args.runs_output, len(runs), len(args.inputs), experiments)  # fmt: skip
    summary = figures.summarize(runs)
    write_table(pa.Table.from_pandas(summary, preserve_index=False), args.output, prov)
    n = summary[summary.stat == "n"].value
    log.info("wrote %s (%d seed bands of up to %d seeds, %d rows)",
             args.output, len(n), n.max() if len(n) else 0, len(summary))  # fmt: skip
    if args.html:
        bands = figures.band_table(summary)
        with atomic_path(args.html) as tmp:
            tmp.write_text(figures.band_html(bands))
        log.info("wrote %s (%d rows: one per experiment, dataset, method, metric; columns %s)",
                 args.html, len(bands), ", ".join(bands.columns[5:]))  # fmt: skip


def plot(args: argparse.Namespace) -> None:
    from pipeline.em import figures

    if args.figure not in figures.FIGURES:
        raise ValueError(f"--figure {args.figure!r}: expected one of {sorted(figures.FIGURES)}")
    runs = tables.read_results(args.input)
    tables.save_figure(figures.FIGURES[args.figure](runs), args.output)
    log.info("wrote %s (%s)", args.output, figures.headline(args.figure, runs))


def register(subparsers: argparse._SubParsersAction) -> None:
    for verb, (_, _, seeded, help_) in RUNS.items():
        p = subparsers.add_parser(verb, help=help_)
        add_config_argument(p)
        if seeded == "seed":
            p.add_argument("--seed", type=int, required=True)
        elif seeded == "seeds":
            p.add_argument("--seeds", type=int, nargs="+", required=True)
        p.add_argument("--threads", type=int, default=1)
        p.add_argument("--output", required=True)
        p.set_defaults(func=run_experiment, verb=verb)
    p = subparsers.add_parser("summarize", help="combine the runs tables and compute seed bands")
    add_config_argument(p)
    p.add_argument("--inputs", nargs="+", required=True)
    p.add_argument("--runs-output", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--html", help="also write the summary as an HTML table (for the report)")
    p.set_defaults(func=summarize)
    p = subparsers.add_parser("plot", help="one report figure from the combined runs table")
    p.add_argument("--figure", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.set_defaults(func=plot)
