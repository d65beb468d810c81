"""A linear classifier over the presence of character n-grams: multinomial logistic regression
trained with AdaGrad, in NumPy. Used for the danger alarm (services/safety_learned.py, two classes);
measured for the label votes of understanding and not kept (docs/nlu.md).

Features are the distinct character 1-3 grams of the normalised text, hashed as the examples index
hashes them (services/nlu_learned._buckets: the same in every process), digits masked. Training
visits the rows in a seeded order for a fixed number of epochs, so the same rows give the same
model everywhere; only the n-grams seen in training are kept (a sorted ``vocab`` and its weights).
"""
from __future__ import annotations

import random
from typing import Sequence

import numpy as np

SEED = 20261205


def features(norm: str) -> np.ndarray:
    """The sorted, distinct n-gram buckets of a normalised text."""
    from services.nlu_learned import _DIGITS, _buckets
    buckets, _ = _buckets(_DIGITS.sub("0", norm))
    return np.unique(buckets)


class LinearModel:
    """``classes[i]`` is the class of column i; ``probabilities(norm)`` gives one per class."""

    def __init__(self, rows: Sequence[tuple[str, str]], *, epochs: int, rate: float, l2: float,
                 class_weight: dict[str, float] | None = None):
        self.classes = tuple(sorted({c for _, c in rows}))
        index = {c: i for i, c in enumerate(self.classes)}
        feats = [features(norm) for norm, _ in rows]
        self.vocab = np.unique(np.concatenate(feats)).astype(np.int64) if feats else np.zeros(0, np.int64)
        cols = [np.searchsorted(self.vocab, f) for f in feats]
        ys = [index[c] for _, c in rows]
        weights = [(class_weight or {}).get(c, 1.0) for _, c in rows]
        k = len(self.classes)
        w = np.zeros((len(self.vocab), k))
        g2 = np.full((len(self.vocab), k), 1e-8)
        b, gb = np.zeros(k), np.full(k, 1e-8)
        order = list(range(len(rows)))
        rng = random.Random(SEED)
        for _ in range(epochs):
            rng.shuffle(order)
            for i in order:
                c = cols[i]
                p = _softmax(w[c].sum(axis=0) + b)
                p[ys[i]] -= 1.0
                p *= weights[i]
                grad = p[None, :] + l2 * w[c]
                g2[c] += grad * grad
                w[c] -= rate * grad / np.sqrt(g2[c])
                gb += p * p
                b -= rate * p / np.sqrt(gb)
        self.weights = w.astype(np.float32)
        self.bias = b.astype(np.float32)

    def probabilities(self, norm: str) -> np.ndarray:
        f = features(norm)
        if not len(self.vocab):
            return _softmax(self.bias.astype(np.float64))
        at = np.minimum(np.searchsorted(self.vocab, f), len(self.vocab) - 1)
        return _softmax(self.weights[at[self.vocab[at] == f]].sum(axis=0, dtype=np.float64) + self.bias)

    def probability(self, norm: str, cls: str) -> float:
        return float(self.probabilities(norm)[self.classes.index(cls)])


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()
