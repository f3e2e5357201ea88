"""Corpus stage: stream documents, tokenise, and write token-id shards plus the type table.

Ids here are provisional *type* ids (order of first occurrence); the vocabulary stage maps them
to frequency-ordered vocabulary ids. Document k goes to shard ``k % n_shards``, so shards stay
balanced without knowing the corpus size in advance, and each later stage runs one job per shard.

Outputs (all Parquet, provenance in the schema metadata):

- ``shard-{k}.parquet``: column ``tokens`` (list<int32>), one row per document;
- ``types.parquet``: ``id`` (int32), ``token`` (string), ``count`` (int64), every type seen;
- ``corpus_stats.json``: documents, tokens, types, replaced bytes, skipped documents.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.io import DataError, atomic_path, parquet_writer, write_table
from pipeline.text.sources import (
    FORMATS,
    MAX_BAD_BYTE_FRACTION,
    NO_DOCUMENTS,
    WIKI_ARTICLE_MIN_TOKENS,
    DecodeCounter,
    read_documents,
)
from pipeline.text.tokenize import make_tokenizer

log = logging.getLogger(__name__)

SHARD_SCHEMA = pa.schema([("tokens", pa.list_(pa.int32()))])
#: Documents buffered per shard before a row group is written.
BATCH_DOCUMENTS = 2048


@dataclasses.dataclass(frozen=True)
class CorpusConfig:
    """How one corpus of ``text.corpora`` is read and tokenised (workflow/schemas/text.schema.yaml).

    The source location keys (local_mirror, gensim_data, url, sha256) are resolved by the workflow
    and passed as paths; the vocab and cooccur sub-sections belong to the later stages.
    """

    language: str = "en"
    format: str = "plain"
    max_documents: int | None = None
    shards: int = 2
    tokenizer: str = "text8"
    opencc: str | None = None
    max_bad_byte_fraction: float = MAX_BAD_BYTE_FRACTION

    def __post_init__(self):
        if not 0 <= self.max_bad_byte_fraction <= 1:
            raise ValueError(
                f"max_bad_byte_fraction: expected a share in [0, 1], got {self.max_bad_byte_fraction}"
            )
        if self.format not in FORMATS:
            raise ValueError(f"format: expected one of {FORMATS}, got {self.format!r}")
        if self.shards < 1:
            raise ValueError(f"shards: expected an integer >= 1, got {self.shards}")
        if self.max_documents is not None and self.max_documents < 1:
            raise ValueError(f"max_documents: expected >= 1 or null, got {self.max_documents}")


class TypeIndex:
    """Token → provisional id, with counts; grows as documents stream in."""

    def __init__(self):
        self.index: dict[str, int] = {}
        self.counts = np.zeros(1 << 16, dtype=np.int64)

    def encode(self, tokens: list[str]) -> np.ndarray:
        """Ids of ``tokens``, adding unseen ones (counts are added by :meth:`add_counts`)."""
        index = self.index
        setdefault = index.setdefault
        return np.fromiter(
            (setdefault(t, len(index)) for t in tokens), dtype=np.int32, count=len(tokens)
        )

    def add_counts(self, ids: np.ndarray) -> None:
        counts = np.bincount(ids, minlength=len(self.index))
        if len(counts) > len(self.counts):
            grown = np.zeros(max(len(counts), 2 * len(self.counts)), dtype=np.int64)
            grown[: len(self.counts)] = self.counts
            self.counts = grown
        self.counts[: len(counts)] += counts

    def table(self) -> pa.Table:
        return pa.table(
            {
                "id": pa.array(np.arange(len(self.index), dtype=np.int32)),
                "token": pa.array(list(self.index), type=pa.string()),
                "count": pa.array(self.counts[: len(self.index)]),
            }
        )


def build_shards(
    documents: Iterable[str],
    tokenize: Callable[[str], list[str]],
    shard_paths: list[Path],
    provenance: dict[str, str],
    min_document_tokens: int = 1,
    max_documents: int | None = None,
) -> tuple[TypeIndex, dict]:
    """Tokenise ``documents`` into ``len(shard_paths)`` shards, written atomically.

    Returns the type index and statistics. Raises :class:`DataError` for an empty corpus.
    """
    types = TypeIndex()
    stats = {"documents": 0, "tokens": 0, "skipped_documents": 0, "replaced_bytes": 0}
    replaced_before = DecodeCounter.count
    buffers: list[list[np.ndarray]] = [[] for _ in shard_paths]
    started, last_log = time.monotonic(), time.monotonic()
    with contextlib.ExitStack() as stack:
        writers = [
            stack.enter_context(parquet_writer(p, SHARD_SCHEMA, provenance)) for p in shard_paths
        ]
        for text in documents:
            tokens = tokenize(text)
            if len(tokens) < min_document_tokens:
                stats["skipped_documents"] += 1
                continue
            k = stats["documents"] % len(shard_paths)
            buffers[k].append(types.encode(tokens))
            stats["documents"] += 1
            stats["tokens"] += len(tokens)
            if len(buffers[k]) >= BATCH_DOCUMENTS:
                _flush(writers[k], buffers[k], types)
            if time.monotonic() - last_log > 10:
                last_log = time.monotonic()
                log.info(
                    "%d documents, %d tokens, %.2f M tokens/s",
                    stats["documents"],
                    stats["tokens"],
                    stats["tokens"] / 1e6 / (last_log - started),
                )
            if max_documents and stats["documents"] >= max_documents:
                break
        if stats["tokens"] == 0:
            raise EmptyCorpusError(stats)
        for writer, buffer in zip(writers, buffers, strict=True):
            _flush(writer, buffer, types)
    stats["types"] = len(types.index)
    stats["replaced_bytes"] = DecodeCounter.count - replaced_before
    stats["seconds"] = round(time.monotonic() - started, 3)
    if stats["replaced_bytes"]:
        log.warning("%d undecodable byte(s) replaced by U+FFFD", stats["replaced_bytes"])
    log.info("corpus: %s", stats)
    return types, stats


class EmptyCorpusError(DataError):
    """No document of the corpus kept a token; ``stats`` tells whether any document was read."""

    def __init__(self, stats: dict):
        self.stats = stats
        why = (
            f"all {stats['skipped_documents']} document(s) were filtered out"
            if stats["skipped_documents"]
            else "no document was read"
        )
        super().__init__(f"the corpus produced no tokens: {why}")


def _flush(writer: pq.ParquetWriter, buffer: list[np.ndarray], types: TypeIndex) -> None:
    if not buffer:
        return
    lengths = np.fromiter((len(b) for b in buffer), dtype=np.int32, count=len(buffer))
    offsets = np.zeros(len(buffer) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.concatenate(buffer)
    types.add_counts(flat)
    values = pa.array(flat, type=pa.int32())
    column = pa.ListArray.from_arrays(pa.array(offsets), values)
    writer.write_table(pa.Table.from_arrays([column], schema=writer.schema))
    buffer.clear()


def prepare_corpus(
    cfg: CorpusConfig,
    source: Path,
    shards_dir: Path,
    types_path: Path,
    stats_path: Path,
    provenance: dict[str, str],
    processes: int = 1,
    name: str = "text.corpora.<corpus>",
) -> dict:
    """Read ``source`` per ``cfg``; write the shards, the type table and the statistics.

    ``name`` is the corpus's config path (``text.corpora.<name>``), used in error messages.
    """
    tokenize = make_tokenizer(cfg.language, cfg.tokenizer, cfg.opencc)
    key = f"{name}.max_bad_byte_fraction"
    documents = read_documents(source, cfg.format, processes, cfg.max_bad_byte_fraction, key)
    min_tokens = WIKI_ARTICLE_MIN_TOKENS if cfg.format == "wiki_xml" else 1
    shard_paths = [Path(shards_dir) / f"shard-{k}.parquet" for k in range(cfg.shards)]
    try:
        types, stats = build_shards(
            documents, tokenize, shard_paths, provenance, min_tokens, cfg.max_documents
        )
    except EmptyCorpusError as exc:
        raise DataError(
            f"{source}: {_empty_reason(cfg, exc.stats)} ({name}.format = {cfg.format})"
        ) from exc
    write_table(types.table(), types_path, provenance)
    with atomic_path(stats_path) as tmp:
        tmp.write_text(json.dumps(stats, indent=2, sort_keys=True))
    return stats


def _empty_reason(cfg: CorpusConfig, stats: dict) -> str:
    """Why a source produced no token: no document in its format, or every document emptied by
    the tokeniser."""
    if not stats["skipped_documents"]:
        return f"the corpus produced no tokens: {NO_DOCUMENTS[cfg.format]}"
    skipped = stats["skipped_documents"]
    if cfg.format == "wiki_xml":
        return f"the corpus produced no tokens: all {skipped} article(s) had fewer than {WIKI_ARTICLE_MIN_TOKENS} tokens"
    tokenizer = "jieba" if cfg.language == "zh" else cfg.tokenizer
    return (
        f"the corpus produced no tokens: all {skipped} document(s) were empty after the "
        f"{tokenizer} tokeniser (punctuation or symbols only?)"
    )
