"""A linear classifier over the presence of character n-grams: multinomial logistic regression
trained with AdaGrad, in NumPy. Used for the danger alarm (services/safety_learned.py, two classes)
and for the labels of understanding (services/nlu_learned.label_model, beside the neighbours' votes).

Features are the distinct character 1-3 grams of the normalised text (``features``), hashed as the
examples index hashes them (services/nlu_learned._buckets: the same in every process) into a wider
space, digits masked. Training
visits the rows in a seeded order for a fixed number of epochs, so the same rows give the same
model everywhere; only the n-grams seen in training are kept (a sorted ``vocab`` and its weights).
"""
from __future__ import annotations

import random
from typing import Sequence

import numpy as np

SEED = 20261205
# The n-grams are hashed into 2**24 buckets, not the examples index's 2**18: only the buckets seen in
# training are stored, so the wider space costs nothing, and an n-gram no line had (a keyboard mash's
# "rty") no longer shares a bucket, and its weight, with one that had (at 2**18 most buckets are taken,
# and "qwertyuiop" sounded like danger at 0.9998).
BUCKETS = 1 << 24


def features(norm: str) -> np.ndarray:
    """The sorted, distinct n-gram buckets of a normalised text: its 2- and 3-grams, and its single
    characters except Latin letters (a letter alone means nothing, and the few English lines, most of
    them calls for help, had taught e, r and t to sound like danger)."""
    from services.nlu_learned import _DIGITS, _buckets
    text = _DIGITS.sub("0", norm)
    pairs, _ = _buckets(text, BUCKETS, (2, 3))
    single, _ = _buckets("".join(c for c in text if ord(c) > 127), BUCKETS, (1,))
    return np.unique(np.concatenate((pairs, single)))


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
