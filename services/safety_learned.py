"""A second pair of eyes for danger: a logistic model over character n-grams, learned from residents'
messages where someone is in danger now and from messages where nobody is.

The safety words (knowledge/safety.yaml, services/safety.assess) decide what the bot does about a
danger: the ambulance's answer, the flood's, the fire's. They are explicit and reviewed, but words
miss phrasings nobody listed (「留學留不停」 for 流血流不停, 「鐵牛硩著人」, a story whose danger is in its
last clause). This model reads the same message and says only whether it *sounds like* someone is in
danger now; the router's safety net (handlers/safety.first_119) then puts the 119 line before
whatever else the bot answers. It never replaces an answer and never decides a label.

Learned from (each line's ``danger`` field, the format of tests/nlu/README.md):
- knowledge/nlu/danger/*.jsonl: messages written after public 119 news and guidance, with
  near-misses (past, imagined, figures of speech, damage with nobody there);
- knowledge/nlu/examples/*.jsonl: every line marked ``danger: true`` is a positive; every other line
  is a negative, unless the safety words find a danger in it (its writer did not mark it either way,
  and a negative that the rules call danger would only teach the model to disagree with them).

Features: the presence of each character 1-3 gram (hashed as in services/nlu_learned.py) of the
normalised text. Trained with AdaGrad for a fixed number of epochs in a fixed order, so the same
files give the same model in every process (about a second, once per process, on first use). The
settings were chosen by cross-validation over the danger sets (bench/danger_cv.py); docs/nlu.md has
the numbers, and the held-out set (tests/nlu/danger2-heldout.jsonl) is scored only to report.
"""
from __future__ import annotations

import functools
import json
import random
from pathlib import Path

import numpy as np

from services.nlu_learned import EXAMPLES, _DIGITS, _buckets

DANGER_DIR = EXAMPLES.parent / "danger"
THRESHOLD = 0.8      # probability above which a message sounds like danger now
EPOCHS = 30
RATE = 0.5           # AdaGrad's step
L2 = 1e-5
POSITIVE_WEIGHT = 3.0   # a missed danger costs more than a needless 119 line
SEED = 20261205


def _lines(path: Path) -> list[dict]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            out.append(json.loads(line))
    return out


def training_rows(danger_files: list[Path] | None = None,
                  example_files: list[Path] | None = None) -> list[tuple[str, int]]:
    """(text, 1 if someone is in danger now) for every line the model learns from."""
    from services import safety
    rows: list[tuple[str, int]] = []
    for path in sorted(DANGER_DIR.glob("*.jsonl")) if danger_files is None else danger_files:
        rows.extend((case["text"], int(bool(case["danger"]))) for case in _lines(path))
    for path in sorted(EXAMPLES.glob("*.jsonl")) if example_files is None else example_files:
        for case in _lines(path):
            if case.get("danger"):
                rows.append((case["text"], 1))
            elif safety.assess(case["text"]) is None:
                rows.append((case["text"], 0))
    return list(dict.fromkeys(rows))


def features(text: str) -> np.ndarray:
    """The sorted, distinct n-gram buckets of a text (in services.nlu.normalize's form)."""
    from services import nlu
    buckets, _ = _buckets(_DIGITS.sub("0", nlu.normalize(text or "")))
    return np.unique(buckets)


class Model:
    """Weights of the n-gram buckets seen in training (sorted ``vocab``, ``weights``) and a bias."""

    def __init__(self, rows: list[tuple[str, int]], epochs: int = EPOCHS, rate: float = RATE,
                 l2: float = L2, positive_weight: float = POSITIVE_WEIGHT):
        feats = [features(text) for text, _ in rows]
        labels = [label for _, label in rows]
        vocab = np.unique(np.concatenate(feats)) if feats else np.zeros(0, dtype=np.int64)
        cols = [np.searchsorted(vocab, f) for f in feats]   # bucket -> column of vocab
        w = np.zeros(len(vocab))
        g2 = np.full(len(vocab), 1e-8)
        b, gb = 0.0, 1e-8
        order = list(range(len(rows)))
        rng = random.Random(SEED)
        for _ in range(epochs):
            rng.shuffle(order)
            for i in order:
                c = cols[i]
                p = 1.0 / (1.0 + np.exp(-(w[c].sum() + b)))
                g = (p - labels[i]) * (positive_weight if labels[i] else 1.0)
                grad = g + l2 * w[c]
                g2[c] += grad * grad
                w[c] -= rate * grad / np.sqrt(g2[c])
                gb += g * g
                b -= rate * g / np.sqrt(gb)
        self.vocab = vocab.astype(np.int64)
        self.weights = w.astype(np.float32)
        self.bias = float(b)

    def probability(self, text: str) -> float:
        f = features(text)
        at = np.minimum(np.searchsorted(self.vocab, f), len(self.vocab) - 1)
        z = float(self.weights[at[self.vocab[at] == f]].sum()) + self.bias
        return 1.0 / (1.0 + np.exp(-z))


@functools.cache
def model() -> Model:
    return Model(training_rows())


def sounds_like_danger(text: str) -> bool:
    """Does the message sound like someone is in danger now (the model's probability over
    ``THRESHOLD``)? Pure; the text is not kept."""
    return model().probability(text) > THRESHOLD

