"""Chinese corpora: TSV news and a traditional-Chinese MediaWiki dump through OpenCC and jieba."""

import bz2
import lzma

from pipeline.text.corpus import CorpusConfig, prepare_corpus
from pipeline.text.shards import iter_token_lists

PROV = {"git_commit": "test"}

WIKI_XML = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" version="0.10" xml:lang="zh">
  <page>
    <title>軟體</title>
    <ns>0</ns>
    <id>1</id>
    <revision>
      <id>11</id>
      <text xml:space="preserve">{body}</text>
    </revision>
  </page>
  <page>
    <title>重定向</title>
    <ns>0</ns>
    <id>2</id>
    <revision>
      <id>12</id>
      <text xml:space="preserve">#REDIRECT [[軟體]]</text>
    </revision>
  </page>
</mediawiki>
"""


def _prepare(tmp_path, cfg, source):
    out = tmp_path / "out"
    stats = prepare_corpus(
        cfg, source, out / "shards", out / "types.parquet", out / "stats.json", PROV
    )
    docs = list(iter_token_lists(sorted((out / "shards").glob("*.parquet")), out / "types.parquet"))
    return stats, docs


def test_tsv_news_corpus_in_xz(tmp_path):
    src = tmp_path / "news.tsv.xz"
    with lzma.open(src, "wt", encoding="utf-8") as f:
        f.write("20120702-01\t我爱北京天安门。\n20120702-02\tiPhone12发布了\n")
    stats, docs = _prepare(tmp_path, CorpusConfig(language="zh", format="tsv", shards=1), src)
    assert docs[0] == ["我", "爱", "北京", "天安门", "。"]
    assert docs[1][:8] == list("iPhone12") and docs[1][8:] == ["发布", "了"]
    assert stats["documents"] == 2


def test_traditional_wiki_dump_is_converted_then_segmented(tmp_path):
    body = "軟體發展需要時間。" * 12  # well over the 50-token article minimum
    src = tmp_path / "zhwiki.xml.bz2"
    src.write_bytes(bz2.compress(WIKI_XML.format(body=body).encode("utf-8")))
    cfg = CorpusConfig(language="zh", format="wiki_xml", opencc="t2s", shards=1)
    stats, docs = _prepare(tmp_path, cfg, src)
    assert len(docs) == 1  # the redirect is dropped (under 50 tokens), as WikiCorpus would
    assert docs[0][:5] == ["软体", "发展", "需要", "时间", "。"]
    assert stats["skipped_documents"] == 1
