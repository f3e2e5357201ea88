import bz2
import gzip
import lzma

import numpy as np
import pytest

from pipeline.io import DataError
from pipeline.text.sources import DecodeCounter, read_documents


def test_plain_skips_blank_lines(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("one doc\n\n  \nsecond doc\n")
    assert [d.strip() for d in read_documents(p, "plain")] == ["one doc", "second doc"]


@pytest.mark.parametrize(
    "opener,suffix", [(bz2.open, ".bz2"), (gzip.open, ".gz"), (lzma.open, ".xz")]
)
def test_compressed_plain(tmp_path, opener, suffix):
    p = tmp_path / f"c.txt{suffix}"
    with opener(p, "wt", encoding="utf-8") as f:
        f.write("a b c\nd e\n")
    assert [d.split() for d in read_documents(p, "plain")] == [["a", "b", "c"], ["d", "e"]]


def test_tsv_counts_malformed_lines(tmp_path, caplog):
    p = tmp_path / "c.tsv"
    p.write_text("1\tfirst text\nno tab here\n2\tsecond\ttext\n")
    docs = list(read_documents(p, "tsv"))
    assert [d.rstrip("\n") for d in docs] == ["first text", "second\ttext"]
    assert "1 malformed TSV line(s) skipped" in caplog.text


def test_wikiextractor_directory(tmp_path):
    (tmp_path / "AA").mkdir()
    (tmp_path / "AA" / "wiki_00").write_text(
        '<doc id="1" url="u" title="T1">\nT1\n\nBody one.\n</doc>\n<doc id="2" url="u" title="T2">\nT2\nBody two.\n</doc>\n'
    )
    (tmp_path / "AA" / "wiki_01").write_text(
        '<doc id="3" url="u" title="T3">\nT3\nBody three.\n</doc>\n'
    )
    docs = [d.split() for d in read_documents(tmp_path, "wikiextractor")]
    assert docs == [["T1", "Body", "one."], ["T2", "Body", "two."], ["T3", "Body", "three."]]


def test_text8_is_cut_at_spaces(tmp_path, monkeypatch):
    monkeypatch.setattr("pipeline.text.sources.TEXT8_PIECE_CHARS", 10)
    p = tmp_path / "text8"
    words = [f"w{i}" for i in range(50)]
    p.write_text(" ".join(words))
    pieces = list(read_documents(p, "text8"))
    assert len(pieces) > 1
    assert [w for piece in pieces for w in piece.split()] == words


def test_non_utf8_bytes_are_replaced_and_counted(tmp_path):
    p = tmp_path / "c.txt"
    p.write_bytes(b"good line\nbad \xff\xfe bytes\n")
    before = DecodeCounter.count
    docs = list(read_documents(p, "plain", max_bad_byte_fraction=0.1))
    assert docs[1] == "bad \ufffd\ufffd bytes\n"
    assert DecodeCounter.count - before == 2


def test_too_many_undecodable_bytes_name_file_share_and_key(tmp_path):
    p = tmp_path / "c.txt"
    p.write_bytes(b"good line\nbad \xff\xfe bytes\n")  # 2 of 23 bytes: 8.7 %
    with pytest.raises(
        DataError,
        match=r"c.txt: 2 undecodable and 0 NUL bytes of 23 \(8.7%\) exceed "
        r"text.corpora.tiny.max_bad_byte_fraction = 0.01",
    ):
        list(read_documents(p, "plain", key="text.corpora.tiny.max_bad_byte_fraction"))


@pytest.mark.parametrize("fmt", ["plain", "tsv", "wikiextractor", "text8"])
def test_random_bytes_are_not_a_corpus(tmp_path, fmt):
    p = tmp_path / "random.bin"
    p.write_bytes(np.random.default_rng(0).integers(1, 256, 20_000, dtype=np.uint8).tobytes())
    with pytest.raises(
        DataError,
        match=r"random.bin: \d+ undecodable and \d+ NUL bytes of 20000 \(\d+\.\d%\) exceed",
    ):
        list(read_documents(p, fmt))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-16-le"])
def test_utf16_and_utf32_text_is_refused(tmp_path, encoding):
    p = tmp_path / "wide.txt.gz"
    p.write_bytes(gzip.compress("one document\nanother one\n".encode(encoding)))
    # With a byte-order mark the encoding is named; without one, the NUL bytes give it away.
    with pytest.raises(
        DataError,
        match=r"wide.txt.gz: (starts with a UTF-(16|32)(LE|BE) byte-order mark|\d+ NUL bytes)",
    ):
        list(read_documents(p, "plain"))


def test_utf8_bom_is_dropped(tmp_path):
    p = tmp_path / "bom.txt"
    p.write_bytes(b"\xef\xbb\xbfone doc\n")
    assert list(read_documents(p, "plain")) == ["one doc\n"]


@pytest.mark.parametrize("suffix", [".bz2", ".xz", ".gz"])
def test_corrupt_compressed_file_names_the_file(tmp_path, suffix):
    opener = {".bz2": bz2.compress, ".xz": lzma.compress, ".gz": gzip.compress}[suffix]
    data = opener(b"some text\n" * 1000)
    p = tmp_path / f"c.txt{suffix}"
    p.write_bytes(data[: len(data) // 2])  # truncated stream
    with pytest.raises(DataError, match=f"c.txt\\{suffix}: corrupt or truncated"):
        list(read_documents(p, "plain"))


def test_missing_source(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list(read_documents(tmp_path / "nope.txt", "plain"))


def test_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="format"):
        read_documents(tmp_path, "epub")


def test_wiki_xml_reads_gensim_bundled_dump():
    from gensim.test.utils import datapath

    docs = read_documents(
        datapath("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"), "wiki_xml"
    )
    first = next(iter(docs))
    assert isinstance(first, str) and first
