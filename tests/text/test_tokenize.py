from gensim.corpora.wikicorpus import tokenize as gensim_wiki_tokenize

from pipeline.text.tokenize import make_tokenizer, segment_zh, tokenize_en, tokenize_text8


def test_text8_cleaning_by_hand():
    text = "Anarchism (from Greek: ἀναρχία) began in 1840, Café-au-lait!"
    assert tokenize_text8(text) == [
        "anarchism",
        "from",
        "greek",
        "began",
        "in",
        "one",
        "eight",
        "four",
        "zero",
        "caf",
        "au",
        "lait",
    ]


def test_gensim_tokenizer_matches_wikicorpus_tokenize():
    text = "The _hidden word, x, Naïve café and 1984's supercalifragilisticexpialidocious C3PO."
    assert tokenize_en(text, "gensim") == gensim_wiki_tokenize(text, 2, 15, True)


def test_whitespace_tokenizer():
    assert tokenize_en(" a  b\tc\n", "whitespace") == ["a", "b", "c"]


def test_segment_zh_splits_digits_and_latin_letters():
    tokens = segment_zh("我爱北京天安门 iPhone12发布了")
    assert tokens[:4] == ["我", "爱", "北京", "天安门"]
    assert tokens[4:12] == list("iPhone12")
    assert "发布" in tokens
    assert " " not in tokens


def test_opencc_traditional_to_simplified():
    assert make_tokenizer("zh", opencc="t2s")("軟體發展") == ["软体", "发展"]


def test_unknown_tokenizer_names_the_key():
    import pytest

    with pytest.raises(ValueError, match="tokenizer"):
        make_tokenizer("en", "spacy")
    with pytest.raises(ValueError, match="language"):
        make_tokenizer("fr")
