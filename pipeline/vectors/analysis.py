"""What the vectors mean (post 4677, part 5): norms, keywords, similar words, analogy examples.

All functions take a frequency-sorted ``KeyedVectors`` with counts (:mod:`pipeline.vectors.keyed`).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from gensim.models import KeyedVectors
from scipy import stats

from pipeline.io import write_table
from pipeline.tables import save_figure
from pipeline.text.tokenize import make_tokenizer
from pipeline.vectors import author, figures
from pipeline.vectors import io as vio
from pipeline.vectors.keyed import counts_of

log = logging.getLogger(__name__)

#: jieba tags (first letter) of function words: conjunctions, adverbs, interjections,
#: onomatopoeia, prepositions, pronouns, particles, modal particles, numerals, measure words,
#: and x (punctuation, non-morphemes).
ZH_FUNCTION_TAGS = frozenset("cdeopruymqx")
LANGUAGES = ("en", "zh")

EN_KEYWORD_SENTENCES = (
    "a meteor shower is visible when the earth passes through the debris left by a comet and "
    "the meteors appear to radiate from one point in the sky",
    "the anarchist movement opposed the state and argued that society should be organised by "
    "voluntary cooperation between free individuals",
)


@dataclass(frozen=True)
class NormsConfig:
    """Norm ≈ importance, GloVe's stop-word norms, the smallest-norm words (post 4677 §1)."""

    smallest: int = 50
    top_frequent: int = 100
    rank_range: list = field(default_factory=lambda: [1000, 10000])
    language: str = "en"

    def __post_init__(self):
        if self.language not in LANGUAGES:
            raise ValueError(
                f"vectors.norms.language: expected one of {LANGUAGES}, got {self.language!r}"
            )


@dataclass(frozen=True)
class ExamplesConfig:
    """Keywords, Pearson similar words and a + b − c examples (post 4677 §2, §4, §5)."""

    topn: int = 10
    keyword_sentences: list = field(default_factory=lambda: list(EN_KEYWORD_SENTENCES))
    similar_queries: list = field(default_factory=lambda: ["king", "walk", "france", "good"])
    context_sizes: list = field(default_factory=lambda: [10000, 500])
    analogy_queries: list = field(
        default_factory=lambda: [["king", "woman", "man"], ["paris", "germany", "france"]]
    )
    language: str = "en"
    tokenizer: str = "gensim"

    def __post_init__(self):
        if self.language not in LANGUAGES:
            raise ValueError(
                f"vectors.examples.language: expected one of {LANGUAGES}, got {self.language!r}"
            )


def norm_importance(kv: KeyedVectors) -> float:
    """Spearman of ‖v_w‖² against −log P(w) (eq. 26: ‖v_w‖² ~ −log P(w), "norm ≈ importance")."""
    counts = counts_of(kv).astype(np.float64)
    sq_norms = (kv.vectors.astype(np.float64) ** 2).sum(axis=1)
    return float(stats.spearmanr(sq_norms, -np.log(counts / counts.sum())).statistic)


def smallest_norms(kv: KeyedVectors, n: int = 50) -> list[tuple[int, str, float]]:
    """The ``n`` words of smallest norm, ascending: (rank by norm, word, norm)."""
    norms = np.linalg.norm(kv.vectors.astype(np.float64), axis=1)
    order = np.argsort(norms, kind="stable")[:n]
    return [(k + 1, kv.index_to_key[i], float(norms[i])) for k, i in enumerate(order)]


def stopword_norm_ratio(
    kv: KeyedVectors, top: int = 100, ranks: tuple[int, int] = (1000, 10000)
) -> float:
    """Mean norm of the ``top`` most frequent words over the median norm of frequency ranks
    ``ranks[0]``..``ranks[1]`` (1-based, inclusive, cut at the vocabulary size).

    Post 4675 claims GloVe gives stop words large norms (ratio > 1) and simpler GloVe small ones.
    """
    norms = np.linalg.norm(kv.vectors.astype(np.float64), axis=1)
    lo, hi = ranks[0] - 1, min(ranks[1], len(norms))
    if top > len(norms) or lo >= hi:
        raise ValueError(
            f"norms.rank_range: ranks {ranks[0]}-{ranks[1]} and top {top} do not fit a vocabulary of {len(norms)} words"
        )
    return float(norms[:top].mean() / np.median(norms[lo:hi]))


def keywords(kv: KeyedVectors, tokens: list[str], topn: int = 10, normalize: bool = False):
    """Rank the sentence's distinct in-vocabulary words by ⟨Σ_sentence v, v_w⟩ (or its cosine).

    Post 4677 §5: under the naive assumption the keyword w maximises PMI(w, sentence).
    """
    words = list(dict.fromkeys(t for t in tokens if t in kv.key_to_index))
    if not words:
        return []
    vecs = np.stack([kv[w] for w in words]).astype(np.float64)
    total = np.stack([kv[t] for t in tokens if t in kv.key_to_index]).astype(np.float64).sum(axis=0)
    scores = vecs @ total
    if normalize:
        scores = scores / (np.linalg.norm(vecs, axis=1) * np.linalg.norm(total) + 1e-12)
    order = np.argsort(-scores, kind="stable")[:topn]
    return [(words[i], float(scores[i])) for i in order]


def keywords_lowest(kv: KeyedVectors, tokens: list[str], topn: int = 10):
    """The sentence's words of *lowest* ⟨Σ v, v_w⟩ (post 4677 §5: with GloVe's vectors the
    keyword-like words end up here)."""
    ranked = keywords(kv, tokens, topn=len(tokens))
    return ranked[::-1][:topn]


@functools.cache
def _posseg():
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg


def pos_tag(word: str) -> str:
    """jieba's tag of ``word`` on its own (the first token's, if jieba splits it)."""
    pairs = _posseg().lcut(word, HMM=False)
    return pairs[0].flag if pairs else "x"


def is_function_word(word: str, language: str) -> bool:
    """Punctuation, digits, or a function word (gensim's English stop words; for Chinese a
    jieba tag in :data:`ZH_FUNCTION_TAGS`)."""
    if not any(ch.isalpha() for ch in word):
        return True
    if language == "en":
        from gensim.parsing.preprocessing import STOPWORDS

        return word.lower() in STOPWORDS
    return pos_tag(word)[0] in ZH_FUNCTION_TAGS


def norm_ranks(kv: KeyedVectors) -> np.ndarray:
    """Rank of every word by norm, 1 = smallest."""
    norms = np.linalg.norm(kv.vectors.astype(np.float64), axis=1)
    ranks = np.empty(len(norms), dtype=np.int64)
    ranks[np.argsort(norms, kind="stable")] = np.arange(1, len(norms) + 1)
    return ranks


def smallest_norm_rows(kv: KeyedVectors, method: str, cfg: NormsConfig) -> list[dict]:
    """E7.3: share of function words among the smallest norms, the mean norm rank of the two
    most frequent words that hold a letter (的 and 是, "the" and "of": the post's example of
    what truncation moves; 。 and ， stay small either way), and (Chinese) the overlap with the
    author's table of the same truncation (his no-truncation table for the other methods)."""
    words = [w for _, w, _ in smallest_norms(kv, cfg.smallest)]
    share = np.mean([is_function_word(w, cfg.language) for w in words])
    worded = [k for k, w in enumerate(kv.index_to_key) if any(ch.isalpha() for ch in w)][:2]
    rows = [
        {"method": method, "metric": "function_word_share_smallest", "value": share},
        {
            "method": method,
            "metric": "norm_rank_top2_frequent",
            "value": float(norm_ranks(kv)[worded].mean()),
        },
    ]
    if cfg.language == "zh":
        theirs = author.SMALLEST_NORMS.get(method, author.SMALLEST_NORMS["simpler_glove_notrunc"])
        rows.append(
            {
                "method": method,
                "metric": "author_overlap_smallest",
                "value": len(set(words) & set(theirs[: cfg.smallest])),
            }
        )
    return rows


def pearson_transform(vectors: np.ndarray, n_context: int) -> np.ndarray:
    """Post 4677 eqs. 33–39: with the first ``n_context`` rows centred as Ṽ and ṼᵀṼ = U Uᵀ
    (Cholesky), the cosine of x U and y U is the Pearson correlation of the PMI profiles
    (⟨x, v_k⟩)_k and (⟨y, v_k⟩)_k over those rows. Returns ``vectors @ U``."""
    v = vectors.astype(np.float64)
    context = v[:n_context] - v[:n_context].mean(axis=0)
    gram = context.T @ context
    u = np.linalg.cholesky(gram + 1e-10 * np.trace(gram) / len(gram) * np.eye(len(gram)))
    return v @ u


def similar_words(kv: KeyedVectors, word: str, n_context: int, topn: int = 10):
    """Neighbours of ``word`` by the Pearson correlation of PMI profiles over the ``n_context``
    most frequent words (N = 10000 semantic, N = 500 syntactic neighbours in the post)."""
    if word not in kv.key_to_index:
        return []
    t = pearson_transform(kv.vectors, min(n_context, len(kv)))
    t /= np.linalg.norm(t, axis=1, keepdims=True) + 1e-12
    scores = t @ t[kv.key_to_index[word]]
    scores[kv.key_to_index[word]] = -np.inf
    order = np.argsort(-scores, kind="stable")[:topn]
    return [(kv.index_to_key[i], float(scores[i])) for i in order]


def analogy_top(kv: KeyedVectors, a: str, b: str, c: str, topn: int = 6):
    """``a + b − c`` by cosine against the unit vectors, the query words left out (post 4677 §2)."""
    if not all(w in kv.key_to_index for w in (a, b, c)):
        return []
    return kv.most_similar(positive=[a, b], negative=[c], topn=topn)


def analyse_norms(
    cfg: NormsConfig,
    *,
    vectors,
    output,
    smallest,
    smallest_tsv,
    figure,
    corpus: str,
    methods: list[str],
    seed: int,
    provenance,
) -> None:
    """``vectors_analyse_norms``: per method the Spearman of ‖v‖² with −log P and the stop-word
    norm ratio (a run table), the smallest-norm words (table and TSV), and the scatter figure."""
    rows, words, points = [], [], {}
    for method, path in zip(methods, vectors, strict=True):
        kv = vio.load_keyed(path)
        counts = counts_of(kv).astype(np.float64)
        points[method] = (
            -np.log(counts / counts.sum()),
            (kv.vectors.astype(np.float64) ** 2).sum(axis=1),
        )
        ratio = stopword_norm_ratio(kv, cfg.top_frequent, tuple(cfg.rank_range))
        rows += [
            {
                "method": method,
                "metric": "spearman_sqnorm_vs_neglogp",
                "value": norm_importance(kv),
            },
            {"method": method, "metric": "stopword_norm_ratio", "value": ratio},
        ]
        rows += smallest_norm_rows(kv, method, cfg)
        words += [
            {"method": method, "rank": r, "token": t, "norm": n}
            for r, t, n in smallest_norms(kv, cfg.smallest)
        ]
    for r in rows:
        r["implementation"] = vio.implementation_of(r["method"])
    write_table(vio.tidy(rows, experiment="norms", dataset=corpus, seed=seed), output, provenance)
    frame = pd.DataFrame(words)
    vio.write_frame(frame, smallest, provenance)
    vio.write_report_table(
        frame.pivot(index="rank", columns="method", values="token"), smallest_tsv, index=True
    )
    save_figure(figures.norm_scatter(points), figure)


def analogy_scores(kv: KeyedVectors, queries) -> list[dict]:
    """E7.5: for the author's queries among ``queries``, whether his first answer is in our top 6;
    a query with a word outside the vocabulary is reported (``query_words_missing``) and counts
    as a miss, not a crash."""
    rows, hits, missing, asked = [], 0, 0, 0
    for a, b, c in queries:
        reference = author.ANALOGIES.get((a, b, c))
        if reference is None:
            continue
        asked += 1
        query = f"{a}+{b}-{c}"
        absent = [w for w in (a, b, c) if w not in kv.key_to_index]
        if absent:
            log.warning("analogy %s: %s not in the vocabulary (counted as a miss)", query, absent)
            missing += 1
            rows.append({"section": query, "metric": "query_words_missing", "value": len(absent)})
            continue
        hit = reference[0] in [w for w, _ in analogy_top(kv, a, b, c, topn=6)]
        hits += hit
        rows.append({"section": query, "metric": "author_first_in_top6", "value": int(hit)})
    if asked:
        rows += [
            {"metric": "author_first_in_top6_count", "value": hits},
            {"metric": "author_queries", "value": asked},
            {"metric": "author_queries_missing_words", "value": missing},
        ]
    return rows


def keyword_scores(kv: KeyedVectors, sentences, tokenize, topn: int) -> list[dict]:
    """E7.6: per sentence with an author list, how many of his words are in our top ``topn`` and
    in our bottom ``topn`` (lowest inner products); a sentence with no word in the vocabulary
    (or that segments to nothing) is counted in ``keyword_sentences_empty``."""
    rows, top, bottom, empty = [], [], [], 0
    for k, sentence in enumerate(sentences):
        tokens = [t for t in tokenize(sentence) if t in kv.key_to_index]
        if not tokens:
            log.warning("keyword sentence %d segments to no word of the vocabulary", k + 1)
            empty += 1
            continue
        reference = author.keyword_reference(sentence)
        if reference is None:
            continue
        top.append(len(set(reference) & {w for w, _ in keywords(kv, tokens, topn)}))
        bottom.append(len(set(reference) & {w for w, _ in keywords_lowest(kv, tokens, topn)}))
        rows += [
            {"section": f"sentence{k + 1}", "metric": "author_overlap_top", "value": top[-1]},
            {"section": f"sentence{k + 1}", "metric": "author_overlap_bottom", "value": bottom[-1]},
        ]
    rows.append({"metric": "keyword_sentences_empty", "value": empty})
    if top:
        rows += [
            {"metric": "keyword_author_overlap_top", "value": float(np.mean(top))},
            {"metric": "keyword_author_overlap_bottom", "value": float(np.mean(bottom))},
        ]
    return rows


def pos_agreement(kv: KeyedVectors, queries, n_context: int, topn: int) -> float | None:
    """E7.7: mean share of a query's ``topn`` Pearson neighbours whose jieba tag starts with the
    query's (n, v, a, …); None when no query is in the vocabulary."""
    shares = []
    for word in queries:
        neighbours = [w for w, _ in similar_words(kv, word, n_context, topn)]
        if neighbours:
            tag = pos_tag(word)[0]
            shares.append(np.mean([pos_tag(w)[0] == tag for w in neighbours]))
    return float(np.mean(shares)) if shares else None


def example_scores(kv: KeyedVectors, cfg: ExamplesConfig, tokenize) -> list[dict]:
    """Rows of E7.5, E7.6 and (Chinese) E7.7 for one method's vectors."""
    rows = [{"experiment": "E7.5", **r} for r in analogy_scores(kv, cfg.analogy_queries)]
    rows += [
        {"experiment": "E7.6", **r}
        for r in keyword_scores(kv, cfg.keyword_sentences, tokenize, cfg.topn)
    ]
    if cfg.language == "zh":
        for n in cfg.context_sizes:
            share = pos_agreement(kv, cfg.similar_queries, n, cfg.topn)
            if share is not None:
                rows.append({"experiment": "E7.7", "metric": f"pos_agreement_N{n}", "value": share})
    return rows


def find_examples(
    cfg: ExamplesConfig,
    *,
    vectors,
    output,
    tsv,
    scores,
    corpus: str,
    methods: list[str],
    seed: int,
    provenance,
) -> None:
    """``vectors_find_examples``: keywords of each sentence (highest and lowest inner products),
    Pearson neighbours for every N, and a + b − c, per method (one long table and a TSV), and
    their scores against the author's lists (``scores``, a run table)."""
    tokenize = make_tokenizer(cfg.language, cfg.tokenizer)
    rows, scored = [], []
    for method, path in zip(methods, vectors, strict=True):
        kv = vio.load_keyed(path)
        found = [
            ("keywords", s[:60], keywords(kv, tokenize(s), cfg.topn)) for s in cfg.keyword_sentences
        ]
        found += [
            (f"similar_N{n}", w, similar_words(kv, w, n, cfg.topn))
            for w in cfg.similar_queries
            for n in cfg.context_sizes
        ]
        found += [
            ("analogy", f"{a}+{b}-{c}", analogy_top(kv, a, b, c, topn=6))
            for a, b, c in cfg.analogy_queries
        ]
        found += [
            ("keywords_lowest", s[:60], keywords_lowest(kv, tokenize(s), cfg.topn))
            for s in cfg.keyword_sentences
        ]
        rows += [
            {"method": method, "kind": kind, "query": query, "rank": k + 1, "word": w, "score": s}
            for kind, query, ranked in found
            for k, (w, s) in enumerate(ranked)
        ]
        scored += [
            {"method": method, "implementation": vio.implementation_of(method), **r}
            for r in example_scores(kv, cfg, tokenize)
        ]
    frame = pd.DataFrame(rows, columns=["method", "kind", "query", "rank", "word", "score"])
    vio.write_frame(frame, output, provenance)
    wide = frame.groupby(["kind", "query", "method"])["word"].apply(" ".join).reset_index()
    vio.write_report_table(wide, tsv)
    write_table(vio.tidy(scored, dataset=corpus, seed=seed), scores, provenance)
