import os
import stat

import pyarrow as pa
import pytest

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
    path = write_table(pa.table({"a": [1]}), tmp_path / "t.parquet", {"git_commit": "abc", "device": "cpu"})
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

    path = write_html_table(pa.table({"metric": ["psnr"], "value": [31.4812345]}), tmp_path / "t.html")
    html = path.read_text()
    assert "<table" in html and "psnr" in html and "31.4812" in html
