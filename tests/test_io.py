import os
import stat

import pyarrow as pa
import pytest

from pipeline import io
from pipeline.io import DataError, atomic_path, read_provenance, verify_sha256, write_table


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_respects_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "out.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.txt").stat().st_mode) == 0o644


def test_provenance_round_trip(tmp_path):
    path = write_table(
        pa.table({"a": [1]}), tmp_path / "t.parquet", {"git_commit": "abc", "device": "cpu"}
    )
    assert read_provenance(path) == {"git_commit": "abc", "device": "cpu"}


def test_checksum_mismatch_names_file_and_key(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"data")
    with pytest.raises(DataError, match=r"f\.bin.*config key my.sha256 expects 0+"):
        verify_sha256(p, "0" * 64, key="my.sha256")


def test_empty_file_is_rejected(tmp_path):
    p = tmp_path / "empty.txt"
    p.touch()
    with pytest.raises(DataError, match="empty"):
        verify_sha256(p, None)


def test_html_table_for_the_report(tmp_path):
    from pipeline.io import write_html_table

    path = write_html_table(
        pa.table({"metric": ["psnr"], "value": [31.4812345]}), tmp_path / "t.html"
    )
    html = path.read_text()
    assert "<table" in html and "psnr" in html and "31.4812" in html


def test_check_bad_share_names_file_share_and_key():
    io.check_bad_share("f.txt", 1, 100, 0.01, "a.b.c", "1 bad byte")  # at the bound: fine
    with pytest.raises(
        io.DataError, match=r"f.txt: 2 bad bytes of 100 \(2.0%\) exceed a.b.c = 0.01"
    ):
        io.check_bad_share("f.txt", 2, 100, 0.01, "a.b.c", "2 bad bytes")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-16-le", "utf-32-be"])
def test_read_utf8_text_refuses_wide_encodings(tmp_path, encoding):
    p = tmp_path / "questions.txt"
    p.write_bytes(": capital\nathens greece berlin germany\n".encode(encoding))
    with pytest.raises(
        io.DataError, match=r"evaluation file '.*questions.txt': (starts with a UTF-|\d+ NUL byte)"
    ):
        io.read_utf8_text(p, "evaluation file")


def test_read_utf8_text_names_line_and_byte_of_other_encodings(tmp_path):
    p = tmp_path / "pairs.txt"
    p.write_bytes("tiger\tcat\t7.35\n老虎\t猫\t7.35\n".encode("gb18030"))
    with pytest.raises(
        io.DataError, match=r"'.*pairs.txt' is not UTF-8: byte 0x.. at offset 15 \(line 2\)"
    ):
        io.read_utf8_text(p, "evaluation file")
    p.write_bytes("\ufeff老虎\t猫\t7.35\r\n".encode("utf-8"))
    assert io.read_utf8_text(p).splitlines() == ["老虎\t猫\t7.35"]


def test_writers_say_what_they_wrote(tmp_path, caplog):
    """A rule's log is never empty: tables and figures name their file and headline numbers."""
    import logging

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pipeline import tables

    caplog.set_level(logging.INFO)
    frame = tables.results_frame(
        [{"metric": "psnr", "value": v, "seed": s} for s, v in ((0, 20.0), (1, 22.0), (2, 30.0))],
        experiment="E1.2",
        dataset="d",
        method="m",
        implementation="ours",
    )
    tables.write_results(frame, tmp_path / "r.parquet", {})
    fig, ax = plt.subplots()
    ax.set_title("a title")
    tables.save_figure(fig, tmp_path / "f.png")
    text = caplog.text
    assert f"wrote {tmp_path / 'r.parquet'} (3 rows" in text
    assert "3 rows of E1.2; E1.2 m psnr = 22" in text  # the median over seeds
    assert f"wrote figure {tmp_path / 'f.png'} (a title)" in text
