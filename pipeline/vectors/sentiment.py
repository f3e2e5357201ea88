"""Sentence vectors (sums of word vectors) for sentiment classification (post 4677 §7).

The author: pos.xls / neg.xls, jieba ``HMM=False``, sum of word vectors, shuffled, the first
16000 rows train and the rest validate; logistic regression and an MLP (input → 64 relu → 1
sigmoid, Adam, batch 128, 100 epochs), best validation accuracy. About 19 % of the rows are
duplicates, so a de-duplicated split is reported beside the author's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from gensim.models import KeyedVectors
from sklearn.linear_model import LogisticRegression

from pipeline.io import DataError, check_bad_share, write_table
from pipeline.text.tokenize import make_tokenizer
from pipeline.vectors import io as vio

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClassifierConfig:
    train_size: int = 16000
    epochs: int = 100
    batch_size: int = 128
    lr: float = 1e-3
    hidden: int = 64
    max_bad_fraction: float = 0.01
    lstm_epochs: int = 5
    lstm_hidden: int = 64
    max_length: int = 100

    def __post_init__(self):
        if (
            min(
                self.train_size,
                self.epochs,
                self.batch_size,
                self.hidden,
                self.lstm_hidden,
                self.max_length,
            )
            < 1
            or self.lstm_epochs < 0
        ):
            raise ValueError(
                "vectors.sentiment.classifier: train_size, epochs, batch_size, hidden, lstm_hidden "
                "and max_length must be at least 1, lstm_epochs at least 0"
            )


@dataclass(frozen=True)
class SentimentConfig:
    """Which vectors to sum, the pos/neg sheets and their tokeniser, and the classifiers."""

    enabled: bool = False
    pos: str | None = None
    neg: str | None = None
    language: str = "zh"
    tokenizer: str = "text8"
    methods: list = field(default_factory=lambda: ["simpler_glove_notrunc", "simpler_glove_trunc"])
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)


def clean_texts(cells: pd.Series, name: str, max_bad_fraction: float) -> tuple[list[str], dict]:
    """Keep the text cells; count and drop missing ones (NaN, empty) and non-text ones (numbers,
    dates). More than ``max_bad_fraction`` of bad cells is a :class:`DataError`."""
    texts, missing, non_text = [], 0, 0
    for cell in cells:
        if cell is None or (isinstance(cell, float) and np.isnan(cell)):
            missing += 1
        elif isinstance(cell, str):
            if cell.strip():
                texts.append(cell.strip())
            else:
                missing += 1
        else:  # numbers, dates, booleans: not a review text
            non_text += 1
    bad = missing + non_text
    if bad:
        log.warning(
            "%s: %d missing and %d non-text cells counted and dropped", name, missing, non_text
        )
    if not texts:
        raise DataError(f"{name}: no text cell among {len(cells)} rows")
    check_bad_share(
        name,
        bad,
        len(cells),
        max_bad_fraction,
        "vectors.sentiment.classifier.max_bad_fraction",
        f"{missing} missing and {non_text} non-text cells",
    )
    return texts, {"rows": len(cells), "missing_cells": missing, "non_text_cells": non_text}


def sentence_vectors(token_lists, kv: KeyedVectors) -> tuple[np.ndarray, float]:
    """Sum of the in-vocabulary word vectors of each sentence (n, d), and the token coverage."""
    out = np.zeros((len(token_lists), kv.vector_size), dtype=np.float64)
    hit = total = 0
    for k, tokens in enumerate(token_lists):
        ids = [kv.key_to_index[t] for t in tokens if t in kv.key_to_index]
        hit, total = hit + len(ids), total + len(tokens)
        if ids:
            out[k] = kv.vectors[ids].astype(np.float64).sum(axis=0)
    return out, hit / max(total, 1)


def splits(texts: list[str], labels: np.ndarray, train_size: int, random_state: int):
    """{"author": (train idx, val idx), "dedup": (...)}: the author's shuffle-then-cut split, and
    the same on distinct texts (texts carrying both labels dropped), cut at the same fraction."""
    rng = np.random.default_rng(random_state)
    if train_size >= len(texts):
        raise ValueError(
            f"sentiment.train_size: {train_size} leaves no validation rows of {len(texts)}"
        )
    order = rng.permutation(len(texts))
    out = {"author": (order[:train_size], order[train_size:])}
    frame = pd.DataFrame({"text": texts, "label": labels})
    labels_per_text = frame.groupby("text")["label"].nunique()
    clean = frame[frame["text"].map(labels_per_text) == 1].drop_duplicates("text")
    idx = clean.index.to_numpy()[rng.permutation(len(clean))]
    cut = int(round(len(idx) * train_size / len(texts)))
    out["dedup"] = (idx[:cut], idx[cut:])
    return out


def fit_logistic(x_train, y_train, x_val, y_val, random_state: int = 0) -> float:
    """Validation accuracy of logistic regression on standardised sentence vectors."""
    mu, sd = x_train.mean(axis=0), x_train.std(axis=0) + 1e-12
    clf = LogisticRegression(max_iter=2000, random_state=random_state)
    clf.fit((x_train - mu) / sd, y_train)
    return float(clf.score((x_val - mu) / sd, y_val))


def fit_mlp(x_train, y_train, x_val, y_val, cfg: ClassifierConfig, random_state: int = 0) -> dict:
    """Train input → hidden (relu) → 1 (sigmoid) with Adam; best and final validation accuracy."""
    gen = torch.Generator().manual_seed(random_state)
    torch.manual_seed(random_state)
    xt, yt = (
        torch.as_tensor(x_train, dtype=torch.float32),
        torch.as_tensor(y_train, dtype=torch.float32),
    )
    xv, yv = (
        torch.as_tensor(x_val, dtype=torch.float32),
        torch.as_tensor(y_val, dtype=torch.float32),
    )
    model = torch.nn.Sequential(
        torch.nn.Linear(xt.shape[1], cfg.hidden), torch.nn.ReLU(), torch.nn.Linear(cfg.hidden, 1)
    )
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    accs = []
    for _ in range(cfg.epochs):
        model.train()
        for idx in torch.randperm(len(xt), generator=gen).split(cfg.batch_size):
            opt.zero_grad()
            loss_fn(model(xt[idx]).squeeze(1), yt[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            accs.append(float(((model(xv).squeeze(1) > 0).float() == yv).float().mean()))
    return {"mlp_best_val_accuracy": max(accs), "mlp_final_val_accuracy": accs[-1]}


def token_ids(token_lists, kv: KeyedVectors, max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, max_length) ids of the in-vocabulary tokens, padded with len(kv) (a zero vector),
    and the lengths (at least 1: an empty sentence is one padding step)."""
    pad = len(kv)
    ids = torch.full((len(token_lists), max_length), pad, dtype=torch.int64)
    lengths = torch.ones(len(token_lists), dtype=torch.int64)
    for k, tokens in enumerate(token_lists):
        row = [kv.key_to_index[t] for t in tokens if t in kv.key_to_index][:max_length]
        if row:
            ids[k, : len(row)] = torch.as_tensor(row)
            lengths[k] = len(row)
    return ids, lengths


class BiLstmClassifier(torch.nn.Module):
    """Frozen word vectors → one bidirectional LSTM layer → both final states → 1 logit."""

    def __init__(self, vectors: np.ndarray, hidden: int):
        super().__init__()
        table = np.vstack([vectors, np.zeros((1, vectors.shape[1]))]).astype(np.float32)
        self.embed = torch.nn.Embedding.from_pretrained(torch.from_numpy(table), freeze=True)
        self.lstm = torch.nn.LSTM(vectors.shape[1], hidden, batch_first=True, bidirectional=True)
        self.out = torch.nn.Linear(2 * hidden, 1)

    def forward(self, ids, lengths):
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            self.embed(ids), lengths, batch_first=True, enforce_sorted=False
        )
        _, (h, _) = self.lstm(packed)
        return self.out(torch.cat([h[0], h[1]], dim=1)).squeeze(1)


def fit_bilstm(
    data, y_train, y_val, vectors: np.ndarray, cfg: ClassifierConfig, random_state: int = 0
) -> dict:
    """Train :class:`BiLstmClassifier` with Adam (``cfg.lr``, ``cfg.batch_size``) for
    ``cfg.lstm_epochs``; ``data`` = ((train ids, lengths), (val ids, lengths)). Best and final
    validation accuracy (the author's LSTM reference: ≈ 90 %)."""
    torch.manual_seed(random_state)
    gen = torch.Generator().manual_seed(random_state)
    (xt, lt), (xv, lv) = data
    yt, yv = torch.as_tensor(y_train, dtype=torch.float32), torch.as_tensor(y_val)
    model = BiLstmClassifier(vectors, cfg.lstm_hidden)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)
    loss_fn, accs = torch.nn.BCEWithLogitsLoss(), []
    for _ in range(cfg.lstm_epochs):
        model.train()
        for idx in torch.randperm(len(xt), generator=gen).split(cfg.batch_size):
            opt.zero_grad()
            loss_fn(model(xt[idx], lt[idx]), yt[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            accs.append(float(((model(xv, lv) > 0).long() == yv).float().mean()))
    return {"bilstm_best_val_accuracy": max(accs), "bilstm_final_val_accuracy": accs[-1]}


def classify_sentiment(
    cfg: SentimentConfig,
    *,
    vectors,
    pos,
    neg,
    output,
    corpus: str,
    methods: list[str],
    seed: int,
    provenance,
) -> None:
    """``vectors_classify_sentiment``: sentence vectors of each method → LR and MLP validation
    accuracy on the author's split and on the de-duplicated one (a run table)."""
    ccfg = cfg.classifier
    tokenize = make_tokenizer(cfg.language, cfg.tokenizer)
    texts, rows = [], []
    for label, path in ((1, pos), (0, neg)):
        kept, counts = clean_texts(vio.read_sentiment_sheet(path), path, ccfg.max_bad_fraction)
        texts += [(t, label) for t in kept]
        rows += [
            {"method": "input", "section": "pos" if label else "neg", "metric": m, "value": v}
            for m, v in counts.items()
        ]
    labels = np.array([lab for _, lab in texts])
    tokens = [tokenize(t) for t, _ in texts]
    split_sets = splits([t for t, _ in texts], labels, ccfg.train_size, seed)
    for method, path in zip(methods, vectors, strict=True):
        kv = vio.load_keyed(path)
        x, coverage = sentence_vectors(tokens, kv)
        ids, lengths = token_ids(tokens, kv, ccfg.max_length)
        rows.append({"method": method, "metric": "token_coverage", "value": coverage})
        for split, (tr, va) in split_sets.items():
            result = {
                "lr_val_accuracy": fit_logistic(x[tr], labels[tr], x[va], labels[va], seed),
                **fit_mlp(x[tr], labels[tr], x[va], labels[va], ccfg, seed),
                **(
                    fit_bilstm(
                        ((ids[tr], lengths[tr]), (ids[va], lengths[va])),
                        labels[tr],
                        labels[va],
                        kv.vectors,
                        ccfg,
                        seed,
                    )
                    if ccfg.lstm_epochs
                    else {}
                ),
                "train_rows": len(tr),
                "val_rows": len(va),
            }
            rows += [
                {"method": method, "section": split, "metric": m, "value": v}
                for m, v in result.items()
            ]
    for r in rows:
        r["implementation"] = (
            "pipeline" if r["method"] == "input" else vio.implementation_of(r["method"])
        )
    write_table(
        vio.tidy(rows, experiment="sentiment", dataset=corpus, seed=seed), output, provenance
    )
