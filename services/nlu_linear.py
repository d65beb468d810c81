"""A linear classifier over the presence of character n-grams: multinomial logistic regression
trained with AdaGrad, in NumPy. Used for the danger alarm (services/safety_learned.py, two classes)
and for the labels of understanding (services/nlu_learned.label_model, beside the neighbours' votes).

Features are the distinct character 1-3 grams of the normalised text (``features``), hashed from their
code points (``ngram_buckets``, also the examples index's hash: the same in every process) into a
wider space than the index's, digits masked. Training visits the rows in a seeded order for a fixed
number of epochs, so the same rows give the same model everywhere; only the n-grams seen in training
are kept (a sorted ``vocab`` and its weights).
"""
from __future__ import annotations

import random
import re
from typing import Sequence

import numpy as np

SEED = 20261205
# A run of digits is one "0": a phone or case number says nothing about what a message asks
# (case numbers are the rules' business), and its digits would pair unrelated messages.
DIGITS = re.compile(r"[0-9]+")
# The n-grams are hashed into 2**24 buckets, not the examples index's 2**18: only the buckets seen in
# training are stored, so the wider space costs nothing, and an n-gram no line had (a keyboard mash's
# "rty") no longer shares a bucket, and its weight, with one that had (at 2**18 most buckets are taken,
# and "qwertyuiop" sounded like danger at 0.9998).
BUCKETS = 1 << 24


def ngram_buckets(text: str, buckets: int, ngrams: tuple[int, ...] = (1, 2, 3)) -> tuple[np.ndarray, np.ndarray]:
    """The bucket of each character n-gram of the text, and where each n-gram starts; an n-gram
    across a NUL (between two joined texts) is left out. Hashed in NumPy from the code points, so the
    same in every process and with no Python object per n-gram."""
    cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    out, where = [], []
    for n in ngrams:
        if len(cp) < n:
            continue
        size = len(cp) - n + 1
        h = np.full(size, n, dtype=np.uint64)
        ok = np.ones(size, dtype=bool)
        for k in range(n):
            part = cp[k:k + size]
            h = h * np.uint64(1_000_003) + part
            ok &= part != 0
        h ^= h >> np.uint64(29)
        out.append((h * np.uint64(0x9E3779B97F4A7C15) >> np.uint64(40))[ok] % np.uint64(buckets))
        where.append(np.nonzero(ok)[0])
    if not out:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(out).astype(np.int64), np.concatenate(where)


def features(norm: str) -> np.ndarray:
    """The sorted, distinct n-gram buckets of a normalised text: its 2- and 3-grams, and its single
    characters except Latin letters (a letter alone means nothing, and the few English lines, most of
    them calls for help, had taught e, r and t to sound like danger)."""
    text = DIGITS.sub("0", norm)
    pairs, _ = ngram_buckets(text, BUCKETS, (2, 3))
    single, _ = ngram_buckets("".join(c for c in text if ord(c) > 127), BUCKETS, (1,))
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
