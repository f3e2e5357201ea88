"""Bad input through the real CLI: a clear one-line error, exit status 2, no partial output."""

import bz2
import hashlib
import json

import pytest

from pipeline.__main__ import main

CFG = json.dumps({"language": "en", "format": "plain", "shards": 1, "tokenizer": "text8"})


def _prepare(tmp_path, source, config=CFG, sha256=""):
    out = tmp_path / "out"
    return main(
        [
            "text",
            "prepare-corpus",
            "--config",
            config,
            "--source",
            str(source),
            f"--sha256={sha256}",
            "--shards-dir",
            str(out / "shards"),
            "--types",
            str(out / "types.parquet"),
            "--stats",
            str(out / "stats.json"),
        ]
    ), out


def _outputs(out):
    return sorted(p.name for p in out.rglob("*") if p.is_file()) if out.exists() else []


def test_good_source_with_checksum(tmp_path):
    src = tmp_path / "c.txt"
    src.write_text("a b c\n")
    rc, out = _prepare(tmp_path, src, sha256=hashlib.sha256(src.read_bytes()).hexdigest())
    assert rc == 0
    assert _outputs(out) == ["shard-0.parquet", "stats.json", "types.parquet"]


def test_wrong_checksum(tmp_path, capfd):
    src = tmp_path / "c.txt"
    src.write_text("a b c\n")
    rc, out = _prepare(tmp_path, src, sha256="0" * 64)
    assert rc == 2
    err = capfd.readouterr().err
    assert "checksum mismatch" in err and "c.txt" in err
    assert _outputs(out) == []


def test_missing_source(tmp_path, capfd):
    rc, out = _prepare(tmp_path, tmp_path / "missing.txt")
    assert rc == 2 and "missing.txt" in capfd.readouterr().err
    assert _outputs(out) == []


def test_corrupt_bz2(tmp_path, capfd):
    src = tmp_path / "c.txt.bz2"
    data = bz2.compress(" ".join(str(i) for i in range(20000)).encode())
    src.write_bytes(data[: len(data) // 2])
    rc, out = _prepare(tmp_path, src)
    err = capfd.readouterr().err
    assert rc == 2 and "corrupt or truncated" in err and "c.txt.bz2" in err
    assert _outputs(out) == []


def test_empty_corpus(tmp_path, capfd):
    src = tmp_path / "c.txt"
    src.write_text("\n\n123 456\n".replace("123 456", "!!! ???"))
    rc, out = _prepare(tmp_path, src)
    assert rc == 2 and "no tokens" in capfd.readouterr().err
    assert _outputs(out) == []


@pytest.mark.parametrize(
    "config,message",
    [
        ("{not json", "not valid JSON"),
        ('{"windw": 3}', "unknown key(s) windw"),
        ("[1]", "expected a JSON object"),
    ],
)
def test_malformed_config(tmp_path, capfd, config, message):
    src = tmp_path / "c.txt"
    src.write_text("a b\n")
    rc, out = _prepare(tmp_path, src, config=config)
    assert rc == 2 and message in capfd.readouterr().err
    assert _outputs(out) == []


def test_window_below_one_via_cli(tmp_path, capfd):
    rc = main(
        [
            "text",
            "count-cooccurrences",
            "--config",
            '{"window": 0}',
            "--weighting",
            "unit",
            "--shard",
            "s",
            "--types",
            "t",
            "--vocab",
            "v",
            "--output",
            str(tmp_path / "o.parquet"),
        ]
    )
    assert rc == 2 and "cooccur.window" in capfd.readouterr().err
    assert not (tmp_path / "o.parquet").exists()


def test_unknown_domain():
    assert main(["nope"]) == 2
