"""Intrinsic evaluation: analogy and word-similarity sets, parsed strictly, scored as gensim does.

Parsing counts every malformed line (a question without four words, a pair without a number)
instead of skipping it silently as ``KeyedVectors.evaluate_word_analogies`` does; CRLF line
ends and a UTF-8 BOM are tolerated (CA8 ships with CRLF). Scoring reproduces gensim's protocol
(3CosAdd on unit vectors over the ``restrict_vocab`` most frequent words, case-insensitive,
questions with a word outside that set skipped), vectorised over batches of questions; the tests
check it against gensim on the same vectors.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import torch
from gensim.models import KeyedVectors
from scipy import stats

from pipeline.io import DataError, write_table
from pipeline.vectors import io as vio

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluateConfig:
    """Analogy (3CosAdd) and similarity (Spearman) sets; ``gensim:<file>`` names gensim's data."""

    restrict_vocab: int = 30000
    similarity_restrict_vocab: int = 300000
    case_insensitive: bool = True
    analogies: list = field(
        default_factory=lambda: [{"name": "google", "path": "gensim:questions-words.txt"}]
    )
    similarity: list = field(
        default_factory=lambda: [
            {"name": "ws353", "path": "gensim:wordsim353.tsv"},
            {"name": "simlex999", "path": "gensim:simlex999.txt"},
        ]
    )


@dataclass
class AnalogySet:
    """Questions ``(section, a, b, c, d)``: a is to b as c is to d."""

    name: str
    questions: list = field(default_factory=list)
    malformed: list = field(default_factory=list)  # (line number, text)


@dataclass
class PairSet:
    """Word pairs with a human score."""

    name: str
    pairs: list = field(default_factory=list)  # (a, b, score)
    malformed: list = field(default_factory=list)


def _clean(line: str) -> str:
    return line.replace("\ufeff", "").strip()


def parse_analogies(lines, name: str) -> AnalogySet:
    """Parse ``: section`` headers and ``a b c d`` questions; anything else is malformed."""
    out, section = AnalogySet(name), None
    for number, raw in enumerate(lines, start=1):
        line = _clean(raw)
        if not line:
            continue
        if line.startswith(":"):
            section = line[1:].strip() or "unnamed"
            continue
        words = line.split()
        if len(words) != 4 or section is None:
            out.malformed.append((number, line))
            continue
        out.questions.append((section, *words))
    _warn_malformed(out)
    return out


def parse_pairs(lines, name: str) -> PairSet:
    """Parse ``a<TAB>b<TAB>score`` lines (white space accepted too); ``#`` lines are comments."""
    out = PairSet(name)
    for number, raw in enumerate(lines, start=1):
        line = _clean(raw)
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        try:
            a, b, score = (p.strip() for p in parts)
            out.pairs.append((a, b, float(score)))
        except ValueError:
            out.malformed.append((number, line))
    _warn_malformed(out)
    return out


def _warn_malformed(parsed) -> None:
    if parsed.malformed:
        shown = ", ".join(f"line {n}: {t[:40]!r}" for n, t in parsed.malformed[:3])
        log.warning(
            "%s: %d malformed line(s) counted and left out (%s)",
            parsed.name,
            len(parsed.malformed),
            shown,
        )


def _folded_index(kv: KeyedVectors, restrict_vocab: int, case_insensitive: bool):
    """(folded key → index of its most frequent variant, folded id of each row) for the top rows."""
    keys = kv.index_to_key[:restrict_vocab]
    fold = str.upper if case_insensitive else str
    lookup = {}
    for idx in range(len(keys) - 1, -1, -1):
        lookup[fold(keys[idx])] = idx
    row_ids = np.array([lookup[fold(k)] for k in keys], dtype=np.int64)
    return lookup, row_ids, fold


def evaluate_analogies(
    kv: KeyedVectors,
    analogies: AnalogySet,
    restrict_vocab: int = 30000,
    case_insensitive: bool = True,
    chunk: int = 512,
) -> list[dict]:
    """3CosAdd accuracy by section; one dict per section plus ``total`` (and, for sets with
    ``gram*`` sections, ``semantic`` and ``syntactic``), with correct, seen and questions.

    Raises :class:`DataError` when no question has all four words in the restricted vocabulary.
    """
    lookup, row_ids, fold = _folded_index(kv, restrict_vocab, case_insensitive)
    kept, per_section = [], {}
    for section, *words in analogies.questions:
        stats_ = per_section.setdefault(section, {"correct": 0, "seen": 0, "questions": 0})
        stats_["questions"] += 1
        ids = [lookup.get(fold(w)) for w in words]
        if None not in ids:
            kept.append((section, *ids))
    if not kept:
        raise DataError(
            f"{analogies.name}: none of {len(analogies.questions)} questions has all four words among "
            f"the {len(row_ids)} most frequent words of the vectors"
        )
    unit = torch.nn.functional.normalize(
        torch.as_tensor(kv.vectors[: len(row_ids)]).double(), dim=1
    )
    rows = torch.as_tensor(row_ids)
    q = torch.as_tensor([k[1:] for k in kept])
    for start in range(0, len(kept), chunk):
        a, b, c, d = q[start : start + chunk].T
        scores = (unit[b] + unit[c] - unit[a]) @ unit.T
        excluded = (rows == a[:, None]) | (rows == b[:, None]) | (rows == c[:, None])
        scores[excluded] = -torch.inf
        hits = rows[scores.argmax(dim=1)] == d
        for (section, *_), hit in zip(kept[start : start + chunk], hits.tolist(), strict=True):
            per_section[section]["seen"] += 1
            per_section[section]["correct"] += int(hit)
    return _analogy_summary(per_section)


def _analogy_summary(per_section: dict) -> list[dict]:
    out = [{"section": s, **v} for s, v in per_section.items()]
    groups = {"total": list(per_section)}
    if any(s.startswith("gram") for s in per_section):
        groups["semantic"] = [s for s in per_section if not s.startswith("gram")]
        groups["syntactic"] = [s for s in per_section if s.startswith("gram")]
    for name, members in groups.items():
        out.append(
            {
                "section": name,
                **{
                    k: sum(per_section[s][k] for s in members)
                    for k in ("correct", "seen", "questions")
                },
            }
        )
    for row in out:
        row["accuracy"] = row["correct"] / row["seen"] if row["seen"] else float("nan")
    return out


def evaluate_pairs(
    kv: KeyedVectors, pairs: PairSet, restrict_vocab: int = 300000, case_insensitive: bool = True
) -> dict:
    """Spearman and Pearson correlation of cosine similarity with the human scores.

    Pairs with a word outside the restricted vocabulary are skipped and counted (``oov``).
    Raises :class:`DataError` when no pair is left.
    """
    lookup, _, fold = _folded_index(kv, restrict_vocab, case_insensitive)
    gold, model, oov = [], [], 0
    for a, b, score in pairs.pairs:
        ia, ib = lookup.get(fold(a)), lookup.get(fold(b))
        if ia is None or ib is None:
            oov += 1
            continue
        va, vb = kv.vectors[ia].astype(np.float64), kv.vectors[ib].astype(np.float64)
        gold.append(score)
        model.append(float(va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb))))
    if len(gold) < 2:
        raise DataError(
            f"{pairs.name}: {len(gold)} of {len(pairs.pairs)} pairs have both words in the vocabulary; "
            "need at least 2"
        )
    return {
        "spearman": float(stats.spearmanr(gold, model).statistic),
        "pearson": float(stats.pearsonr(gold, model).statistic),
        "pairs": len(pairs.pairs),
        "seen": len(gold),
        "oov": oov,
    }


def resolve_eval_path(path: str) -> str:
    """``gensim:<file>`` names a file of gensim's bundled test data."""
    if path.startswith("gensim:"):
        from gensim.test.utils import datapath

        return datapath(path.split(":", 1)[1])
    return path


def evaluate(
    cfg: EvaluateConfig, *, vectors, output, corpus: str, method: str, seed: int, provenance
) -> None:
    """``vectors_evaluate``: every analogy and similarity set of ``cfg`` on one method's vectors;
    a run table with accuracy / Spearman and the counts of seen, skipped and malformed lines."""
    kv = vio.load_keyed(vectors)
    rows = []
    for spec in cfg.analogies:
        parsed = parse_analogies(vio.read_lines(resolve_eval_path(spec["path"])), spec["name"])
        rows.append(
            {
                "experiment": "analogy",
                "section": f"{spec['name']}/file",
                "metric": "malformed_lines",
                "value": len(parsed.malformed),
            }
        )
        for r in evaluate_analogies(kv, parsed, cfg.restrict_vocab, cfg.case_insensitive):
            rows += [
                {
                    "experiment": "analogy",
                    "section": f"{spec['name']}/{r['section']}",
                    "metric": m,
                    "value": r[m],
                }
                for m in ("accuracy", "correct", "seen", "questions")
            ]
    for spec in cfg.similarity:
        parsed = parse_pairs(vio.read_lines(resolve_eval_path(spec["path"])), spec["name"])
        result = evaluate_pairs(kv, parsed, cfg.similarity_restrict_vocab, cfg.case_insensitive)
        result["malformed_lines"] = len(parsed.malformed)
        rows += [
            {"experiment": "similarity", "section": spec["name"], "metric": m, "value": v}
            for m, v in result.items()
        ]
    if not rows:
        raise ValueError("vectors.evaluate: no analogy or similarity sets configured")
    fixed = dict(
        dataset=corpus, method=method, implementation=vio.implementation_of(method), seed=seed
    )
    write_table(vio.tidy(rows, **fixed), output, provenance)
