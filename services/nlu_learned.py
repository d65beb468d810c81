"""The learned part of understanding: labelled examples, compared by their character n-grams.

The rules of services/nlu.py decide most messages. A message they cannot place (no label word, no
service keyword) is compared with every labelled example the project has: the FAQ entries' titles
and example questions (knowledge/faq/) and the labelled messages of knowledge/nlu/examples.jsonl.
Each text is a TF-IDF vector of its character 1-3 grams (sublinear counts, unit length); the
message's nearest examples vote for their label and entry, weighted by cosine similarity.

Nearest neighbours rather than a trained classifier: nothing to train (a knowledge edit published
in the dashboard is learned by rebuilding the index, in well under a second), NumPy only (no SciPy
or scikit-learn in the worker: issue 13's memory limit), and every decision can be explained by the
examples that made it. The method was chosen by measurement on messages it was not built from:
see docs/nlu.md.
"""
from __future__ import annotations

import functools
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parent.parent / "knowledge" / "nlu" / "examples"
NGRAMS = (1, 2, 3)
K = 7              # neighbours that vote
POWER = 2.0        # a vote weighs similarity ** POWER: close examples count far more than loose ones
# How the votes join the rules (chosen on residents-tune.jsonl before it became examples; docs/nlu.md):
WEIGHT = 1.5       # a label's score gains WEIGHT x its share of the votes (x the nearest similarity / 0.6, at most 1)
FULL_SIMILARITY = 0.6
ENTRY_WEIGHT = 1.0   # which service answers: the search's score gains ENTRY_WEIGHT x the entry's share of the votes
FALLBACK_SHARE = 0.5   # a message the rules cannot place takes the vote's label when it has this share
FALLBACK_SIMILARITY = 0.4   # ... and the nearest example is at least this similar
# Labels the votes never give: an unknown message stays unknown by the rules; a greeting or a case
# look-up is decided by its own words, never by resemblance.
NEVER = ("unknown", "greeting", "case_status")


@dataclass(frozen=True)
class Example:
    text: str                 # normalised (services.nlu_text.normalize)
    label: str
    entry: str | None = None  # the FAQ entry, when the label is faq


@dataclass(frozen=True)
class Guess:
    label: str
    probability: float                 # the label's share of the neighbours' votes
    entry: str | None                  # the best-voted FAQ entry among the neighbours, if any
    entry_probability: float
    similarity: float                  # cosine similarity of the nearest example
    nearest: str                       # that example's text (for explanations and tests)
    votes: tuple[tuple[str, float], ...] = ()   # every label's share, best first
    entry_votes: tuple[tuple[str, float], ...] = ()   # every FAQ entry's share, best first


def grams(text: str) -> Counter:
    out: Counter = Counter()
    for n in NGRAMS:
        for i in range(len(text) - n + 1):
            out[text[i:i + n]] += 1
    return out


class Index:
    """An inverted index of the examples' TF-IDF vectors."""

    def __init__(self, examples: list[Example]):
        self.examples = examples
        df: Counter = Counter()
        counted = [grams(e.text) for e in examples]
        for c in counted:
            df.update(c.keys())
        n = len(examples)
        self.idf = {g: math.log((1 + n) / (1 + d)) + 1.0 for g, d in df.items()}
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for row, c in enumerate(counted):
            vec = self._weigh(c)
            for g, v in vec.items():
                postings[g].append((row, v))
        self.postings = {g: (np.fromiter((r for r, _ in p), dtype=np.int32, count=len(p)),
                             np.fromiter((v for _, v in p), dtype=np.float32, count=len(p)))
                         for g, p in postings.items()}
        self.labels = [e.label for e in examples]
        self.entries = [e.entry for e in examples]

    def _weigh(self, counts: Counter) -> dict[str, float]:
        vec = {g: (1.0 + math.log(c)) * self.idf[g] for g, c in counts.items() if g in self.idf}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {g: v / norm for g, v in vec.items()}

    def similarities(self, text: str) -> np.ndarray:
        sims = np.zeros(len(self.examples), dtype=np.float32)
        for g, v in self._weigh(grams(text)).items():
            rows, vals = self.postings[g]
            sims[rows] += v * vals
        return sims

    def guess(self, text: str, k: int | None = None) -> Guess | None:
        if not self.examples or not text:
            return None
        k = k or K
        sims = self.similarities(text)
        top = np.argsort(-sims)[:k]
        if sims[top[0]] <= 0:
            return None
        labels: Counter = Counter()
        entries: Counter = Counter()
        for i in top:
            w = float(sims[i]) ** POWER
            labels[self.labels[i]] += w
            if self.entries[i]:
                entries[self.entries[i]] += w
        total = sum(labels.values()) or 1.0
        label, votes = labels.most_common(1)[0]
        entry, entry_votes = entries.most_common(1)[0] if entries else (None, 0.0)
        return Guess(label, votes / total, entry, entry_votes / total, float(sims[top[0]]),
                     self.examples[int(top[0])].text,
                     tuple((lab, round(v / total, 4)) for lab, v in labels.most_common()),
                     tuple((e, round(v / total, 4)) for e, v in entries.most_common()))


def fuse(guess: Guess | None, scores: dict[str, float], deceased: bool) -> None:
    """Add the neighbours' votes to the rules' label scores (never the screener for a death)."""
    if guess is None:
        return
    closeness = min(1.0, guess.similarity / FULL_SIMILARITY)
    for label, share in guess.votes:
        if label in NEVER or (label == "welfare" and deceased):
            continue
        if label == "faq":
            # A service question counts as far as the neighbours agree on which service.
            share = min(share, guess.entry_probability)
        scores[label] = round(scores.get(label, 0.0) + WEIGHT * share * closeness, 3)


def rerank(hits: list[tuple[str, float, str | None]], guess: Guess | None) -> list[tuple[str, float, str | None]]:
    """The FAQ search's entries (id, score, keyword), each with ENTRY_WEIGHT x its share of the
    neighbours' votes added; an entry only the neighbours name joins with its votes alone."""
    if guess is None or not guess.entry_votes:
        return hits
    closeness = min(1.0, guess.similarity / FULL_SIMILARITY)
    bonus = {e: ENTRY_WEIGHT * share * closeness for e, share in guess.entry_votes}
    out = [(e, score + bonus.pop(e, 0.0), kw) for e, score, kw in hits]
    out += [(e, b, None) for e, b in bonus.items()]
    return sorted(out, key=lambda h: -h[1])


def fallback(guess: Guess | None, deceased: bool) -> str | None:
    """The label for a message the rules could not place, when its neighbours agree on one."""
    if (guess is None or guess.probability < FALLBACK_SHARE or guess.similarity < FALLBACK_SIMILARITY
            or guess.label in NEVER or (guess.label == "welfare" and deceased)
            # An answer only when the neighbours also agree on which service.
            or (guess.label == "faq" and (not guess.entry or guess.entry_probability < FALLBACK_SHARE))):
        return None
    return guess.label


@functools.lru_cache(maxsize=16)
def _file_lines(path: str, mtime: float) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(text, first label, faq ids) of a labelled JSON-lines file (the format of tests/nlu/README.md).
    A danger line is left out: its labels say what helps besides 119, not what the words mean."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        case = json.loads(line)
        if case.get("danger"):
            continue
        intent = case["intent"]
        out.append((case["text"], intent[0] if isinstance(intent, list) else intent, tuple(case.get("faq") or ())))
    return tuple(out)


def read_examples(path: Path, normalize, known_entries: set[str]) -> list[Example]:
    """The file's labelled messages: an FAQ line teaches its first entry that still exists."""
    if not path.exists():
        return []
    out = []
    for text, label, faq in _file_lines(str(path), path.stat().st_mtime):
        entry = next((f for f in faq if f in known_entries), None) if label == "faq" else None
        norm = normalize(text)
        if norm:
            out.append(Example(norm, label, entry))
    return out


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.jsonl"))


def build(entries, normalize, files: list[Path] | None = None) -> Index:
    """The index over the FAQ entries (title and example questions: label faq) and the labelled files
    (knowledge/nlu/examples/ unless ``files`` is given)."""
    examples = []
    for e in entries:
        for t in (e.title, *e.questions):
            text = normalize(t)
            if text:
                examples.append(Example(text, "faq", e.id))
    ids = {e.id for e in entries}
    for path in (example_files() if files is None else files):
        examples.extend(read_examples(path, normalize, ids))
    return Index(list(dict.fromkeys(examples)))   # a text in two files votes once
