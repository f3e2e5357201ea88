import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.io import DataError, read_provenance
from pipeline.text.corpus import CorpusConfig, build_shards, prepare_corpus
from pipeline.text.shards import iter_token_lists, read_shard
from pipeline.text.vocab import VocabConfig, build_vocabulary, type_to_vocab_map

PROV = {"git_commit": "abc", "config_hash": "h"}


def test_round_robin_shards_and_type_counts(tmp_path):
    docs = ["a b a", "c", "b b", "a c d"]
    paths = [tmp_path / "s0.parquet", tmp_path / "s1.parquet"]
    types, stats = build_shards(iter(docs), str.split, paths, PROV)
    assert stats["documents"] == 4 and stats["tokens"] == 9
    assert list(types.index) == ["a", "b", "c", "d"]
    assert types.table().column("count").to_pylist() == [3, 3, 2, 1]
    ids0, off0 = read_shard(paths[0])
    assert ids0.tolist() == [0, 1, 0, 1, 1] and off0.tolist() == [0, 3, 5]
    ids1, off1 = read_shard(paths[1])
    assert ids1.tolist() == [2, 0, 2, 3] and off1.tolist() == [0, 1, 4]
    assert read_provenance(paths[0])["git_commit"] == "abc"


def test_empty_corpus_raises_and_writes_nothing(tmp_path):
    paths = [tmp_path / "s0.parquet"]
    with pytest.raises(DataError, match="no tokens"):
        build_shards(iter(["   ", ""]), str.split, paths, PROV)
    assert list(tmp_path.iterdir()) == []


def test_prepare_corpus_round_trip(tmp_path):
    src = tmp_path / "c.txt"
    src.write_text("The cat sat.\nThe dog, 2 dogs!\n")
    cfg = CorpusConfig(language="en", format="plain", shards=1, tokenizer="text8")
    out = tmp_path / "out"
    stats = prepare_corpus(
        cfg, src, out / "shards", out / "types.parquet", out / "stats.json", PROV
    )
    assert stats["tokens"] == 7
    docs = list(iter_token_lists([out / "shards" / "shard-0.parquet"], out / "types.parquet"))
    assert docs == [["the", "cat", "sat"], ["the", "dog", "two", "dogs"]]


def _types(tokens_counts):
    return pa.table(
        {
            "id": pa.array(np.arange(len(tokens_counts), dtype=np.int32)),
            "token": [t for t, _ in tokens_counts],
            "count": pa.array([c for _, c in tokens_counts], type=pa.int64()),
        }
    )


def test_vocabulary_order_ties_and_cut():
    types = _types([("b", 5), ("a", 5), ("z", 9), ("rare", 1), ("c", 2)])
    vocab = build_vocabulary(types, VocabConfig(min_count=2))
    assert vocab.column("token").to_pylist() == ["z", "a", "b", "c"]
    assert vocab.column("id").to_pylist() == [0, 1, 2, 3]
    assert vocab.column("type_id").to_pylist() == [2, 1, 0, 4]
    assert type_to_vocab_map(vocab, 5).tolist() == [2, 1, 0, -1, 3]
    assert build_vocabulary(types, VocabConfig(min_count=1, max_size=2)).column(
        "token"
    ).to_pylist() == ["z", "a"]


def test_vocabulary_emptied_by_min_count_names_the_key():
    with pytest.raises(DataError, match="vocab.min_count=10"):
        build_vocabulary(_types([("a", 3)]), VocabConfig(min_count=10))


def test_shard_is_readable_by_arrow(tmp_path):
    paths = [tmp_path / "s0.parquet"]
    build_shards(iter(["x y", "y"]), str.split, paths, PROV)
    assert pq.read_table(paths[0]).column("tokens").to_pylist() == [[0, 1], [1]]


@pytest.mark.parametrize(
    "fmt,content,why",
    [
        (
            "wikiextractor",
            "just some text\nwithout doc blocks\n",
            r"no <doc \.\.\.> \.\.\. </doc> block",
        ),
        ("tsv", "no tab here\nnor here\n", r"no id<TAB>text line"),
        ("plain", "\n\n   \n", r"no non-blank line"),
        ("plain", "!!! ???\n-- ..\n", r"all 2 document\(s\) were empty after the text8 tokeniser"),
    ],
)
def test_empty_corpus_names_the_file_and_why(tmp_path, fmt, content, why):
    src = tmp_path / "c.txt"
    src.write_text(content)
    cfg = CorpusConfig(format=fmt, shards=1)
    out = tmp_path / "out"
    with pytest.raises(
        DataError,
        match=rf"c.txt: the corpus produced no tokens: {why}.*text.corpora.tiny.format = {fmt}",
    ):
        prepare_corpus(
            cfg,
            src,
            out / "shards",
            out / "types.parquet",
            out / "stats.json",
            PROV,
            name="text.corpora.tiny",
        )
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))


def test_bad_byte_share_key_and_config_range(tmp_path):
    src = tmp_path / "c.txt"
    src.write_bytes(b"good words here\nbad \xff\xfe\n")
    cfg = CorpusConfig(format="plain", shards=1)
    out = tmp_path / "out"
    with pytest.raises(
        DataError,
        match=r"c.txt: 2 undecodable .* exceed text.corpora.tiny.max_bad_byte_fraction = 0.01",
    ):
        prepare_corpus(
            cfg,
            src,
            out / "shards",
            out / "types.parquet",
            out / "stats.json",
            PROV,
            name="text.corpora.tiny",
        )
    relaxed = CorpusConfig(format="plain", shards=1, max_bad_byte_fraction=0.2)
    stats = prepare_corpus(
        relaxed, src, out / "shards", out / "types.parquet", out / "stats.json", PROV
    )
    assert stats["replaced_bytes"] == 2
    with pytest.raises(ValueError, match="max_bad_byte_fraction"):
        CorpusConfig(max_bad_byte_fraction=1.5)
