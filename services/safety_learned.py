"""A second pair of eyes for danger: a logistic model over character n-grams, learned from residents'
messages where someone is in danger now and from messages where nobody is.

The safety words (knowledge/safety.yaml, services/safety.assess) decide what the bot does about a
danger: the ambulance's answer, the flood's, the fire's. They are explicit and reviewed, but words
miss phrasings nobody listed (「留學留不停」 for 流血流不停, 「鐵牛硩著人」, a story whose danger is in its
last clause). This model reads the same message and says only whether it *sounds like* someone is in
danger now; services.safety.alarm, and the router's safety net (handlers/safety.first_119), then put the 119 line before
whatever else the bot answers. It never replaces an answer and never decides a label.

Learned from (each line's ``danger`` field, the format of tests/nlu/README.md):
- knowledge/nlu/danger/*.jsonl: messages written after public 119 news and guidance, with
  near-misses (past, imagined, figures of speech, damage with nobody there);
- knowledge/nlu/examples/*.jsonl: every line marked ``danger: true`` is a positive; every other line
  is a negative, unless the safety words find a danger in it (its writer did not mark it either way,
  and a negative that the rules call danger would only teach the model to disagree with them).
A line that is not marked and that the gate of services.safety.alarm keeps from the model (past,
imagined, asked about, denied) is left out: the model is never asked about such a message.

The model is services/nlu_linear.LinearModel (character n-grams, AdaGrad, a fixed order: the same
files give the same model in every process; about 3 s, once per process, when the worker warms up:
bot/worker.warm_up). The settings were chosen by cross-validation over the danger sets
(bench/danger_cv.py); docs/nlu.md has the numbers, and the held-out set
(tests/nlu/danger2-heldout.jsonl) is scored only to report.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from services.nlu_learned import EXAMPLES
from services.nlu_linear import LinearModel

DANGER_DIR = EXAMPLES.parent / "danger"
THRESHOLD = 0.65     # probability above which a message sounds like danger now (bench/danger_cv.py)
EPOCHS = 30
RATE = 0.5           # AdaGrad's step
L2 = 1e-5
POSITIVE_WEIGHT = 3.0   # a missed danger costs more than a needless 119 line
MIN_CHARS = 4        # a shorter message gives the model too little to read (不用了, 阿巴阿巴): the words decide
DANGER, SAFE = "danger", "safe"


def _lines(path: Path) -> list[dict]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            out.append(json.loads(line))
    return out


def training_rows(flagged: Callable[[str], bool], gate: Callable[[str], bool] = lambda text: True,
                  danger_files: list[Path] | None = None,
                  example_files: list[Path] | None = None) -> list[tuple[str, int]]:
    """(text, 1 if someone is in danger now) for every line the model learns from. An example line
    that ``flagged`` (the safety words) calls danger is left out unless it is marked; a line that is
    not marked and fails ``gate`` (past, imagined, asked about, denied: the model is never asked
    about such a message) is left out too, so that 「上個月阿公跌倒 現在想申請扶手」 does not teach the
    model that a fall is nothing."""
    rows: list[tuple[str, int]] = []
    for path in sorted(DANGER_DIR.glob("*.jsonl")) if danger_files is None else danger_files:
        for case in _lines(path):
            if case["danger"] or gate(case["text"]):
                rows.append((case["text"], int(bool(case["danger"]))))
    for path in sorted(EXAMPLES.glob("*.jsonl")) if example_files is None else example_files:
        for case in _lines(path):
            if case.get("danger"):
                rows.append((case["text"], 1))
            elif not flagged(case["text"]) and gate(case["text"]):
                rows.append((case["text"], 0))
    return list(dict.fromkeys(rows))


def train(rows: list[tuple[str, int]], *, epochs: int | None = None, rate: float | None = None,
          l2: float | None = None, positive_weight: float | None = None) -> LinearModel:
    from services import nlu
    return LinearModel([(nlu.normalize(text), DANGER if label else SAFE) for text, label in rows],
                       epochs=int(epochs or EPOCHS), rate=rate or RATE, l2=L2 if l2 is None else l2,
                       class_weight={DANGER: positive_weight or POSITIVE_WEIGHT})


def probability(model: LinearModel, norm: str) -> float:
    """The probability that a normalised text (services.nlu.normalize) tells of danger now."""
    return model.probability(norm, DANGER)


def sounds_like_danger(model: LinearModel, norm: str) -> bool:
    """Does the normalised message sound like someone is in danger now (the model's probability over
    ``THRESHOLD``, and ``MIN_CHARS`` to read)? Pure; the text is not kept."""
    return len(norm) >= MIN_CHARS and probability(model, norm) > THRESHOLD
