"""Evaluation files in a wrong encoding are errors naming the file (issue 17), not a bare
UnicodeDecodeError."""

import pytest

from pipeline.io import DataError
from pipeline.vectors import evaluation
from pipeline.vectors import io as vio


def test_analogy_file_in_gb18030_names_the_file(tmp_path):
    p = tmp_path / "analogy.txt"
    p.write_bytes(": 省会\n北京 中国 东京 日本\n".encode("gb18030"))
    with pytest.raises(
        DataError, match=r"evaluation file '.*analogy.txt' is not UTF-8: .*\(line 1\)"
    ):
        vio.read_lines(p)


def test_similarity_file_in_utf16_names_the_file_and_encoding(tmp_path):
    p = tmp_path / "sim.txt"
    p.write_bytes("tiger\tcat\t7.35\n".encode("utf-16"))
    with pytest.raises(
        DataError, match=r"evaluation file '.*sim.txt': starts with a UTF-16LE byte-order mark"
    ):
        vio.read_lines(p)


def test_utf8_with_bom_and_crlf_still_parses(tmp_path):
    p = tmp_path / "sim.txt"
    p.write_bytes("\ufefftiger\tcat\t7.35\r\n".encode())
    assert evaluation.parse_pairs(vio.read_lines(p), "sim").pairs == [("tiger", "cat", 7.35)]
