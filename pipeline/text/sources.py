"""Corpus sources: open compressed files, decode UTF-8 leniently, and yield documents as text.

Every reader yields one ``str`` per document and never holds the whole corpus in memory.
Undecodable bytes are replaced by U+FFFD and counted (:class:`DecodeCounter`); a file whose bad
bytes (undecodable, or NUL) exceed the share ``max_bad_byte_fraction``, or that starts with a
UTF-16/32 byte-order mark, and a corrupt or truncated bz2/gz/xz/zip stream become a
:class:`~pipeline.io.DataError` naming the file (the wiki_xml reader leaves decoding to gensim).
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import gzip
import io
import logging
import lzma
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from pipeline.io import TEXT_HEAD_BYTES, DataError, check_bad_share, check_text_head

log = logging.getLogger(__name__)

FORMATS = ("wiki_xml", "text8", "plain", "wikiextractor", "tsv")
#: WikiCorpus drops articles shorter than this many tokens (gensim's default).
WIKI_ARTICLE_MIN_TOKENS = 50
#: text8 is one 100 MB line; it is cut into pseudo-documents of about this many characters,
#: at spaces, so that windows cross at most one boundary per million characters.
TEXT8_PIECE_CHARS = 1 << 20
#: Default largest share of bad bytes (undecodable as UTF-8, or NUL) in one source file.
MAX_BAD_BYTE_FRACTION = 0.01
#: The config key that relaxes it, as named in errors (the CLI passes the corpus's full key).
BAD_BYTES_KEY = "text.corpora.<corpus>.max_bad_byte_fraction"
#: Why a source of each format can yield no document at all (for the empty-corpus error).
NO_DOCUMENTS = {
    "plain": "no non-blank line found",
    "tsv": "no id<TAB>text line found",
    "wikiextractor": "no <doc ...> ... </doc> block found (is it WikiExtractor output?)",
    "text8": "no word found",
    "wiki_xml": "no article found",
}


class DecodeCounter:
    """A codec error handler that replaces bad UTF-8 bytes with U+FFFD and counts them."""

    _registered = False
    count = 0

    @classmethod
    def handler(cls, exc: UnicodeDecodeError):
        cls.count += exc.end - exc.start
        return "\ufffd", exc.end

    @classmethod
    def name(cls) -> str:
        if not cls._registered:
            codecs.register_error("pipeline_count_replace", cls.handler)
            cls._registered = True
        return "pipeline_count_replace"


def _decompressed(path: Path) -> io.BufferedIOBase:
    suffix = path.suffix.lower()
    if suffix == ".bz2":
        return bz2.open(path, "rb")
    if suffix == ".gz":
        return gzip.open(path, "rb")
    if suffix == ".xz":
        return lzma.open(path, "rb")
    if suffix == ".zip":
        archive = zipfile.ZipFile(path)
        members = [m for m in archive.namelist() if not m.endswith("/")]
        if len(members) != 1:
            raise DataError(f"{path}: expected a zip with one file, found {len(members)}")
        return archive.open(members[0])
    return open(path, "rb")


_STREAM_ERRORS = (OSError, EOFError, lzma.LZMAError, zlib.error, zipfile.BadZipFile)


class _CountingReader(io.RawIOBase):
    """A decompressed byte stream that checks its head (byte-order mark, NUL bytes) on the first
    read and counts the bytes and NUL bytes passing through."""

    def __init__(self, raw, name: str, limit: float, key: str):
        self.raw, self.name, self.limit, self.key = raw, name, limit, key
        self.total = self.nul = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        if not self.total and data:
            check_text_head(data[:TEXT_HEAD_BYTES], self.name, self.limit, self.key)
        n = len(data)
        buffer[:n] = data
        self.total += n
        self.nul += data.count(0)
        return n


@contextlib.contextmanager
def _text(
    path: Path, limit: float, key: str, newline: str | None = None
) -> Iterator[io.TextIOWrapper]:
    """One (possibly compressed) file decoded as UTF-8 (a UTF-8 BOM dropped). After it is read
    to the end, bad bytes (undecodable or NUL) above the share ``limit`` raise DataError naming
    the file, the share and ``key``; so do corrupt streams and a UTF-16/32 byte-order mark."""
    replaced_before = DecodeCounter.count
    try:
        with _decompressed(path) as raw:
            counting = _CountingReader(raw, str(path), limit, key)
            buffered = io.BufferedReader(counting, buffer_size=TEXT_HEAD_BYTES)
            yield io.TextIOWrapper(
                buffered, encoding="utf-8-sig", errors=DecodeCounter.name(), newline=newline
            )
    except _STREAM_ERRORS as exc:
        raise DataError(f"{path}: corrupt or truncated file ({type(exc).__name__}: {exc})") from exc
    replaced = DecodeCounter.count - replaced_before
    check_bad_share(
        str(path),
        replaced + counting.nul,
        counting.total,
        limit,
        key,
        f"{replaced} undecodable and {counting.nul} NUL bytes",
    )


def _lines(
    path: Path, limit: float = MAX_BAD_BYTE_FRACTION, key: str = BAD_BYTES_KEY
) -> Iterator[str]:
    """Decoded lines of one (possibly compressed) file, checked as :func:`_text` does."""
    with _text(path, limit, key) as text:
        yield from text


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        if not files:
            raise DataError(f"{path}: directory holds no files")
        return files
    if not path.is_file():
        raise FileNotFoundError(f"corpus source {str(path)!r} does not exist")
    return [path]


def read_plain(
    path: Path, limit: float = MAX_BAD_BYTE_FRACTION, key: str = BAD_BYTES_KEY
) -> Iterator[str]:
    """One document per non-blank line."""
    for file in _files(path):
        for line in _lines(file, limit, key):
            if line.strip():
                yield line


def read_tsv(
    path: Path, limit: float = MAX_BAD_BYTE_FRACTION, key: str = BAD_BYTES_KEY
) -> Iterator[str]:
    """``id<TAB>text`` lines; lines without a tab are counted and skipped."""
    bad = 0
    for file in _files(path):
        for n, line in enumerate(_lines(file, limit, key), 1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t", 1)
            if len(parts) != 2:
                bad += 1
                if bad <= 5:
                    log.warning("%s:%d: no tab between id and text; line skipped", file, n)
                continue
            yield parts[1]
    if bad:
        log.warning("%s: %d malformed TSV line(s) skipped", path, bad)


def read_wikiextractor(
    path: Path, limit: float = MAX_BAD_BYTE_FRACTION, key: str = BAD_BYTES_KEY
) -> Iterator[str]:
    """WikiExtractor ``<doc ...>`` blocks, each joined into one document (title line included)."""
    for file in _files(path):
        buf: list[str] = []
        inside = False
        for line in _lines(file, limit, key):
            if line.startswith("<doc "):
                inside, buf = True, []
            elif line.startswith("</doc>"):
                if buf:
                    yield " ".join(buf)
                inside, buf = False, []
            elif inside:
                buf.append(line.rstrip("\n"))
        if inside and buf:
            log.warning("%s: last <doc> not closed; kept", file)
            yield " ".join(buf)


def read_text8(
    path: Path, limit: float = MAX_BAD_BYTE_FRACTION, key: str = BAD_BYTES_KEY
) -> Iterator[str]:
    """text8 (one line of space-separated words), cut at spaces into ~1 MB pieces."""
    for file in _files(path):
        with _text(file, limit, key) as text:
            rest = ""
            while block := text.read(TEXT8_PIECE_CHARS):
                block = rest + block
                cut = block.rfind(" ")
                if cut <= 0:
                    rest = block
                    continue
                yield block[:cut]
                rest = block[cut + 1 :]
            if rest.strip():
                yield rest


def _keep_text(text, token_min_len, token_max_len, lower):
    """WikiCorpus tokenizer hook: return the markup-free article as one item, so that the
    project's own tokeniser runs on it (WikiCorpus pickles this function into its workers)."""
    return [text]


def read_wiki_xml(path: Path, processes: int = 1) -> Iterator[str]:
    """Articles of a MediaWiki XML dump, markup removed by gensim's WikiCorpus."""
    from gensim.corpora.wikicorpus import WikiCorpus

    file = _files(path)[0]
    wiki = WikiCorpus(
        str(file),
        dictionary={},
        processes=max(1, processes),
        tokenizer_func=_keep_text,
        article_min_tokens=0,
        lower=False,
    )
    try:
        for (text,) in wiki.get_texts():
            yield text
    except _STREAM_ERRORS as exc:
        raise DataError(f"{file}: corrupt or truncated file ({type(exc).__name__}: {exc})") from exc


def read_documents(
    path: str | Path,
    fmt: str,
    processes: int = 1,
    max_bad_byte_fraction: float = MAX_BAD_BYTE_FRACTION,
    key: str = BAD_BYTES_KEY,
) -> Iterator[str]:
    """Documents of ``path`` in format ``fmt`` (one of :data:`FORMATS`); a file with more than
    ``max_bad_byte_fraction`` bad bytes is a DataError naming the config ``key``."""
    path = Path(path)
    if fmt == "wiki_xml":
        return read_wiki_xml(path, processes)
    readers = {
        "text8": read_text8,
        "plain": read_plain,
        "wikiextractor": read_wikiextractor,
        "tsv": read_tsv,
    }
    if fmt not in readers:
        raise ValueError(f"format: expected one of {FORMATS}, got {fmt!r}")
    return readers[fmt](path, max_bad_byte_fraction, key)
