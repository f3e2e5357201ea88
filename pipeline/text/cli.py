"""``python -m pipeline text <verb>``: one verb per rule of workflow/rules/text.smk."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import pyarrow.parquet as pq

from pipeline import io, provenance
from pipeline.cli import add_config_argument, load_section
from pipeline.devices import resolve_device
from pipeline.text import cooccur, corpus, shards, vocab

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("fetch-source", help="download a corpus source with a checksum")
    p.add_argument("--url", required=True)
    p.add_argument("--sha256")
    p.add_argument("--output", required=True, type=Path)
    p.set_defaults(func=fetch_source)

    p = subparsers.add_parser("prepare-corpus", help="tokenise a source into token-id shards")
    add_config_argument(p)
    p.add_argument("--source", required=True, type=Path)
    p.add_argument("--sha256", help="expected sha256 of the source file")
    p.add_argument("--shards-dir", required=True, type=Path)
    p.add_argument("--types", required=True, type=Path)
    p.add_argument("--stats", required=True, type=Path)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--corpus",
        default="<corpus>",
        help="the corpus's name in text.corpora (for error messages)",
    )
    p.set_defaults(func=prepare_corpus)

    p = subparsers.add_parser(
        "build-vocabulary", help="min_count / max_size cut in frequency order"
    )
    add_config_argument(p)
    p.add_argument("--types", required=True, type=Path)
    p.add_argument("--output", required=True, type=Path)
    p.set_defaults(func=build_vocabulary)

    p = subparsers.add_parser("count-cooccurrences", help="count one shard's co-occurrences")
    add_config_argument(p)
    p.add_argument("--weighting", required=True, choices=cooccur.WEIGHTINGS)
    p.add_argument("--shard", required=True, type=Path)
    p.add_argument("--types", required=True, type=Path)
    p.add_argument("--vocab", required=True, type=Path)
    p.add_argument("--output", required=True, type=Path)
    p.set_defaults(func=count_cooccurrences)

    p = subparsers.add_parser("merge-cooccurrences", help="sum the shards' counts into one table")
    add_config_argument(p)
    p.add_argument("--vocab", required=True, type=Path)
    p.add_argument("--parts", required=True, nargs="+", type=Path)
    p.add_argument("--output", required=True, type=Path)
    p.add_argument("--stats", required=True, type=Path)
    p.set_defaults(func=merge_cooccurrences)

    p = subparsers.add_parser("report-corpus", help="statistics tables and the Zipf figure")
    p.add_argument("--corpus", required=True)
    p.add_argument("--corpus-stats", required=True, type=Path)
    p.add_argument("--types", required=True, type=Path)
    p.add_argument("--vocab", required=True, type=Path)
    p.add_argument("--cooccur-stats", nargs="+", required=True, type=Path)
    p.add_argument("--table", required=True, type=Path, help="tidy Parquet of every statistic")
    p.add_argument("--html", required=True, type=Path)
    p.add_argument("--zipf", required=True, type=Path)
    p.set_defaults(func=report_corpus)


def fetch_source(args: argparse.Namespace) -> None:
    io.download(args.url, args.output, args.sha256)


def prepare_corpus(args: argparse.Namespace) -> None:
    name = f"text.corpora.{args.corpus}"
    cfg = load_section(corpus.CorpusConfig, args.config, name)
    source = args.source
    if source.is_dir():
        if args.sha256:
            raise ValueError(
                f"sha256: set for {str(source)!r}, which is a directory; checksums apply to files"
            )
        hashes = {str(p): io.sha256_file(p) for p in sorted(source.rglob("*")) if p.is_file()}
    else:
        hashes = {
            str(source): io.verify_sha256(source, args.sha256, key="sha256 of the corpus source")
        }
        if not args.sha256:
            log.warning(
                "%s has sha256 %s; set it as the corpus's sha256 key to pin it",
                source,
                hashes[str(source)],
            )
    record = provenance.collect(args.config, input_hashes=hashes)
    corpus.prepare_corpus(
        cfg, source, args.shards_dir, args.types, args.stats, record, args.threads, name
    )


def build_vocabulary(args: argparse.Namespace) -> None:
    cfg = load_section(vocab.VocabConfig, args.config, "vocab")
    table = vocab.build_vocabulary(pq.read_table(io.require_file(args.types, "type table")), cfg)
    log.info("vocabulary: %d words (min_count %d)", table.num_rows, cfg.min_count)
    io.write_table(table, args.output, provenance.collect(args.config, [args.types]))


def _vocab_map(types_path: Path, vocab_path: Path):
    table = pq.read_table(io.require_file(vocab_path, "vocabulary"), columns=["id", "type_id"])
    n_types = pq.ParquetFile(io.require_file(types_path, "type table")).metadata.num_rows
    return vocab.type_to_vocab_map(table, n_types), table.num_rows


def count_cooccurrences(args: argparse.Namespace) -> None:
    cfg = load_section(cooccur.CooccurConfig, args.config, "cooccur")
    device = resolve_device(cfg.device, "cooccur.device")
    mapping, size = _vocab_map(args.types, args.vocab)
    ids, offsets = shards.read_shard(io.require_file(args.shard, "shard"))
    ids, doc = cooccur.in_vocabulary_stream(ids, offsets, mapping)
    log.info("%s: %d in-vocabulary tokens in %d documents", args.shard, len(ids), len(offsets) - 1)
    record = provenance.collect(
        {"cooccur": json.loads(args.config), "weighting": args.weighting},
        [args.shard, args.types, args.vocab],
        device=device,
    )
    result = cooccur.count_shard(ids, doc, size, cfg, args.weighting, args.output, record, device)
    log.info("part %s: %s", args.output, result)


def merge_cooccurrences(args: argparse.Namespace) -> None:
    cfg = load_section(cooccur.CooccurConfig, args.config, "cooccur")
    size = pq.ParquetFile(io.require_file(args.vocab, "vocabulary")).metadata.num_rows
    parts = [Path(p) for p in args.parts]
    for p in parts:
        if not p.is_file():
            raise FileNotFoundError(f"co-occurrence part {str(p)!r} does not exist")
    record = provenance.collect(args.config, parts + [args.vocab])
    result = cooccur.merge_shards(parts, size, args.output, record, cfg.budget_bytes)
    result["window"] = cfg.window
    log.info("co-occurrences: %s", result)
    with io.atomic_path(args.stats) as tmp:
        tmp.write_text(json.dumps(result, indent=2, sort_keys=True))


def report_corpus(args: argparse.Namespace) -> None:
    import numpy as np
    import pandas as pd

    from pipeline import tables
    from pipeline.text import stats  # matplotlib and pandas: imported only by the verb that plots

    corpus_stats = json.loads(io.require_file(args.corpus_stats, "corpus statistics").read_text())
    vocab_counts = pq.read_table(args.vocab, columns=["count"]).column("count").to_numpy()
    frames = [stats.corpus_table(args.corpus, corpus_stats, vocab_counts)]
    for path in args.cooccur_stats:
        weighting = Path(path).name.split(".")[0]
        cstats = json.loads(Path(path).read_text())
        frames.append(stats.cooccurrence_table(args.corpus, weighting, cstats["window"], cstats))
    inputs = [args.corpus_stats, args.types, args.vocab, *args.cooccur_stats]
    table = pd.concat(frames, ignore_index=True)
    tables.write_results(table, args.table, provenance.collect({}, inputs))
    io.write_html_table(stats.wide_table(table), args.html)
    log.info("wrote %s and %s (%s: %d tokens, %d documents, vocabulary %d words)",
             args.table, args.html, args.corpus, corpus_stats["tokens"],
             corpus_stats["documents"], len(vocab_counts))  # fmt: skip
    for frame in frames[1:]:
        nnz = frame.loc[frame.metric == "non-zeros", "value"].item()
        density = frame.loc[frame.metric == "density", "value"].item()
        log.info("  %s: %d non-zeros (density %.3g)", frame.method.iloc[0], nnz, density)
    counts = pq.read_table(args.types, columns=["count"]).column("count").to_numpy()
    fig = stats.zipf_figure(np.asarray(counts), title=f"{args.corpus}: Zipf plot")
    tables.save_figure(fig, args.zipf)
    largest = int(np.max(counts, initial=0))
    log.info("wrote %s (%d types, largest count %d)", args.zipf, len(counts), largest)
