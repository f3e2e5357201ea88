"""Tokenisers: text8-style English cleaning, gensim-style English words, jieba for Chinese.

English ``text8`` follows Mahoney's ``wikifil.pl`` as described in anchors.md §1.1: lowercase,
each digit spelled out as an English word, every character outside ``[a-z]`` becomes a space.
Chinese follows the author's preprocessing in the simpler-GloVe series: jieba with ``HMM=False``
and every token holding ASCII digits or Latin letters split into single characters.
"""

from __future__ import annotations

import functools
import re

DIGIT_WORDS = "zero one two three four five six seven eight nine".split()
# After str.lower(), every byte of the UTF-8 encoding outside a-z and 0-9 becomes a space (bytes
# of non-ASCII characters are all >= 0x80), which is the text8 rule applied in one C-level pass.
_TEXT8_BYTES = bytes(c if (97 <= c <= 122 or 48 <= c <= 57) else 32 for c in range(256))
_DIGIT_BYTES = [(str(d).encode(), f" {w} ".encode()) for d, w in enumerate(DIGIT_WORDS)]
# gensim.utils.PAT_ALPHABETIC: runs of word characters that are not digits.
_ALPHABETIC = re.compile(r"(((?![\d])\w)+)", re.UNICODE)
_ASCII_ALNUM = re.compile(r"[0-9A-Za-z]")
EN_TOKENIZERS = ("text8", "gensim", "whitespace")


def tokenize_text8(text: str) -> list[str]:
    """Mahoney's text8 cleaning of one document."""
    cleaned = text.lower().encode("utf-8").translate(_TEXT8_BYTES)
    for digit, word in _DIGIT_BYTES:
        if digit in cleaned:
            cleaned = cleaned.replace(digit, word)
    return cleaned.decode("ascii").split()


def tokenize_gensim(text: str, min_len: int = 2, max_len: int = 15) -> list[str]:
    """Lowercase alphabetic words of ``min_len``..``max_len`` characters not starting with ``_``,
    as ``gensim.corpora.wikicorpus.tokenize`` does."""
    words = (m.group() for m in _ALPHABETIC.finditer(text.lower()))
    return [w for w in words if min_len <= len(w) <= max_len and not w.startswith("_")]


def tokenize_en(text: str, tokenizer: str = "text8") -> list[str]:
    """Tokenise English ``text`` with one of :data:`EN_TOKENIZERS`."""
    if tokenizer == "text8":
        return tokenize_text8(text)
    if tokenizer == "gensim":
        return tokenize_gensim(text)
    if tokenizer == "whitespace":
        return text.split()
    raise ValueError(f"tokenizer: expected one of {EN_TOKENIZERS}, got {tokenizer!r}")


@functools.cache
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def segment_zh(text: str) -> list[str]:
    """jieba segmentation with HMM off; digits and Latin letters split into single characters;
    whitespace tokens dropped."""
    out: list[str] = []
    for token in _jieba().lcut(text, HMM=False):
        token = token.strip()
        if not token:
            continue
        if _ASCII_ALNUM.search(token):
            out.extend(ch for ch in token if not ch.isspace())
        else:
            out.append(token)
    return out


@functools.cache
def opencc_converter(conversion: str):
    """An OpenCC converter (``t2s`` turns traditional into simplified characters)."""
    try:
        import opencc
    except ImportError as exc:  # pragma: no cover - opencc is a declared dependency
        raise ValueError("opencc: the OpenCC package is needed for the opencc config key") from exc
    name = conversion if conversion.endswith(".json") else f"{conversion}.json"
    try:
        return opencc.OpenCC(name)
    except Exception as exc:  # OpenCC raises a bare Exception for an unknown config
        raise ValueError(f"opencc: unknown conversion {conversion!r} ({exc})") from exc


def make_tokenizer(language: str, tokenizer: str = "text8", opencc: str | None = None):
    """A picklable-by-name callable ``text -> list[str]`` for one corpus config."""
    if language == "zh":
        if opencc:
            convert = opencc_converter(opencc).convert
            return lambda text: segment_zh(convert(text))
        return segment_zh
    if language == "en":
        if tokenizer not in EN_TOKENIZERS:
            raise ValueError(f"tokenizer: expected one of {EN_TOKENIZERS}, got {tokenizer!r}")
        return functools.partial(tokenize_en, tokenizer=tokenizer)
    raise ValueError(f"language: expected 'en' or 'zh', got {language!r}")
