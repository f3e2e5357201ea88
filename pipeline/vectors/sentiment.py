"""Sentence vectors (sums of word vectors) for sentiment classification (post 4677 §7).

The author: pos.xls / neg.xls, jieba ``HMM=False``, sum of word vectors, shuffled, the first
16000 rows train and the rest validate; logistic regression and an MLP (input → 64 relu → 1
sigmoid, Adam, batch 128, 100 epochs), best validation accuracy. About 19 % of the rows are
duplicates, so a de-duplicated split is reported beside the author's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from gensim.models import KeyedVectors
from sklearn.linear_model import LogisticRegression

from pipeline.io import DataError, check_bad_share

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClassifierConfig:
    train_size: int = 16000
    epochs: int = 100
    batch_size: int = 128
    lr: float = 1e-3
    hidden: int = 64
    max_bad_fraction: float = 0.01

    def __post_init__(self):
        if self.train_size < 1 or self.epochs < 1 or self.batch_size < 1 or self.hidden < 1:
            raise ValueError(
                "sentiment: train_size, epochs, batch_size and hidden must be at least 1"
            )


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
        name, bad, len(cells), max_bad_fraction, "vectors.sentiment.classifier.max_bad_fraction",
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
