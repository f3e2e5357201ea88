"""File I/O at the edge: atomic writes, checksums, downloads, Parquet with provenance.

Every output goes through :func:`atomic_path`: it is written under a temporary name in the
same directory and renamed into place only when complete, so a killed job never leaves a
truncated file that looks finished.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

log = logging.getLogger(__name__)


class DataError(ValueError):
    """Bad input data: a missing, corrupt or empty file, or one of the wrong shape."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    # mkstemp creates 0600; results should be readable as any file the user creates.
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; it replaces ``path`` as a whole only on success
    (a reader sees the old folder or the new one, never a half-written one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    os.chmod(staging, 0o777 & ~_umask())
    try:
        yield staging
        if path.exists():
            shutil.rmtree(path)
        os.replace(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def require_file(path: str | os.PathLike, what: str = "input") -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist or is not a file")
    if path.stat().st_size == 0:
        raise DataError(f"{what} {str(path)!r} is empty")
    return path


#: Byte-order marks of encodings other than UTF-8 (UTF-32LE first: it starts like UTF-16LE).
FOREIGN_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32LE"),
    (codecs.BOM_UTF32_BE, "UTF-32BE"),
    (codecs.BOM_UTF16_LE, "UTF-16LE"),
    (codecs.BOM_UTF16_BE, "UTF-16BE"),
)
#: Bytes of a file's head that :func:`check_text_head` looks at.
TEXT_HEAD_BYTES = 1 << 16


def check_bad_share(name: str, bad: int, total: int, limit: float, key: str, what: str) -> None:
    """Raise :class:`DataError` when ``bad`` of ``total`` items of ``name`` exceed the share
    ``limit``; the message names the file, the share found and the config ``key`` that relaxes
    it. ``what`` describes the bad items (``"3 undecodable bytes"``)."""
    if bad and bad > limit * total:
        raise DataError(
            f"{name}: {what} of {total} ({bad / max(total, 1):.1%}) exceed {key} = {limit}"
        )


def check_text_head(head: bytes, name: str, limit: float = 0.0, key: str | None = None) -> None:
    """Signs that a file meant to be UTF-8 is not: a UTF-16/32 byte-order mark (always an
    error), or NUL bytes, which UTF-8 text does not hold but UTF-16/32 text without a mark and
    binary files do (an error above the share ``limit`` of the head, relaxed by ``key``)."""
    for bom, encoding in FOREIGN_BOMS:
        if head.startswith(bom):
            raise DataError(
                f"{name}: starts with a {encoding} byte-order mark; expected UTF-8 "
                f"(convert it first, e.g. iconv -f {encoding} -t UTF-8)"
            )
    nul = head.count(0)
    if nul and key is None:
        raise DataError(
            f"{name}: {nul} NUL byte(s) in the first {len(head)} bytes; expected UTF-8 text "
            "(UTF-16/32 without a byte-order mark, or a binary file?)"
        )
    if key is not None:
        check_bad_share(
            name,
            nul,
            len(head),
            limit,
            key,
            f"{nul} NUL bytes (UTF-16/32 without a byte-order mark, or binary?)",
        )


def read_utf8_text(path: str | os.PathLike, what: str = "input") -> str:
    """The whole of a small UTF-8 text file (a UTF-8 BOM dropped, line ends kept), decoded
    strictly: another encoding is a :class:`DataError` naming the file, line and byte."""
    path = require_file(path, what)
    data = path.read_bytes()
    name = f"{what} {str(path)!r}"
    check_text_head(data[:TEXT_HEAD_BYTES], name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{name} is not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line}) "
            "cannot be decoded; convert the file to UTF-8 (e.g. iconv -f GB18030 -t UTF-8)"
        ) from exc


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify_sha256(path: str | os.PathLike, expected: str | None, key: str = "sha256") -> str:
    """Return the file's sha256; raise :class:`DataError` if ``expected`` is given and differs."""
    actual = sha256_file(require_file(path))
    if expected and actual.lower() != expected.lower():
        raise DataError(
            f"checksum mismatch for {str(path)!r}: config key {key} expects {expected}, "
            f"the file has {actual}"
        )
    return actual


def download(url: str, dest: str | os.PathLike, sha256: str | None) -> Path:
    """Fetch ``url`` to ``dest`` atomically, verifying ``sha256`` before the file appears."""
    dest = Path(dest)
    log.info("downloading %s -> %s", url, dest)
    with atomic_path(dest) as tmp:
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
            shutil.copyfileobj(response, out, length=1 << 20)
        actual = verify_sha256(tmp, sha256, key=f"sha256 of {url}")
    if not sha256:
        log.warning("%s has sha256 %s; set it in the config to pin the download", url, actual)
    return dest


def write_table(
    table: pa.Table, path: str | os.PathLike, provenance: Mapping[str, str], **kwargs
) -> Path:
    """Write ``table`` as Parquet with ``provenance`` in its Arrow schema metadata, atomically."""
    meta = dict(table.schema.metadata or {})
    meta.update({f"provenance.{k}".encode(): str(v).encode() for k, v in provenance.items()})
    table = table.replace_schema_metadata(meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, **kwargs)
    log.info("wrote %s (%d rows, columns %s)", path, table.num_rows, ", ".join(table.column_names))
    return Path(path)


def write_html_table(table, path: str | os.PathLike) -> Path:
    """An HTML rendering of a table (pandas DataFrame or Arrow table) for the Snakemake report,
    written atomically; the Parquet table beside it stays the source of truth."""
    frame = table.to_pandas() if isinstance(table, pa.Table) else table
    with atomic_path(path) as tmp:
        tmp.write_text(frame.to_html(index=False, float_format=lambda v: f"{v:,.6g}", na_rep=""))
    log.info("wrote %s (%d rows)", path, len(frame))
    return Path(path)


def read_provenance(path: str | os.PathLike) -> dict[str, str]:
    """The ``provenance.*`` entries of a Parquet file's schema metadata, prefix stripped."""
    meta = pq.read_schema(path).metadata or {}
    prefix = b"provenance."
    return {k[len(prefix) :].decode(): v.decode() for k, v in meta.items() if k.startswith(prefix)}


@contextlib.contextmanager
def parquet_writer(
    path: str | os.PathLike, schema: pa.Schema, provenance: Mapping[str, str], **kwargs
) -> Iterator[pq.ParquetWriter]:
    """A streaming Parquet writer (row group by row group) with provenance, renamed into place
    only after it closes without error."""
    meta = dict(schema.metadata or {})
    meta.update({f"provenance.{k}".encode(): str(v).encode() for k, v in provenance.items()})
    with (
        atomic_path(path) as tmp,
        pq.ParquetWriter(tmp, schema.with_metadata(meta), **kwargs) as writer,
    ):
        yield writer
