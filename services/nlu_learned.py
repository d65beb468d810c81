"""The learned part of understanding: labelled examples, compared by their character n-grams.

Every FAQ entry's title and example questions (knowledge/faq/) and every labelled message of
knowledge/nlu/examples/*.jsonl is a TF-IDF vector of its character 1-3 grams (sublinear counts, unit
length). A message's seven nearest examples vote for their label and service, weighted by cosine
similarity squared; every FAQ entry's centroid (the mean of all its examples) adds its share too, so
a service with many examples is not outvoted by one close example of another. services/nlu.py adds
the votes to the rules' scores (``fuse``), lets them and the centroids help choose the service
(``rerank``), and lets a message the rules cannot place take its neighbours' label when they agree
(``fallback``). The safety layer never reads them (``Intent.by_rules``).

Nearest neighbours first: nothing to train (a knowledge edit published in the dashboard is learned
by rebuilding the index, in well under a second), NumPy only (no SciPy or scikit-learn in the worker:
issue 13's memory limit), and every decision can be explained by the examples that made it. Beside
them, a linear classifier of the labels (``label_model``: services/nlu_linear.py), learned once per
process from the labelled files, weighs every n-gram by what it says across all the examples; its
probabilities join the votes in ``fuse``. The settings were chosen by cross-validation on residents'
messages (bench/nlu_cv.py) and the result measured on held-out messages: see docs/nlu.md.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.nlu_linear import DIGITS, LinearModel, ngram_buckets

EXAMPLES = Path(__file__).resolve().parent.parent / "knowledge" / "nlu" / "examples"
NGRAMS = (1, 2, 3)
BUCKETS = 1 << 18
K = 7              # neighbours that vote
POWER = 2.0        # a vote weighs similarity ** POWER: close examples count far more than loose ones
# How the votes join the rules (chosen by cross-validation, bench/nlu_cv.py; the alternatives measured
# and not kept are in docs/nlu.md):
WEIGHT = 9.0       # a label's score gains WEIGHT x its share of the votes x closeness
FULL_SIMILARITY = 0.5   # closeness = nearest similarity / FULL_SIMILARITY, at most 1
ENTRY_WEIGHT = 8.0  # which service answers: the search's score gains ENTRY_WEIGHT x the entry's share x closeness
MIN_SIMILARITY = 0.15  # votes count only when the nearest example is at least this similar (阿巴阿巴 is like nothing)
CENTROID_WEIGHT = 4.0  # ... and CENTROID_WEIGHT x its share among the five entries whose centroid (the mean of
                       # all its examples) is closest to the message: every example counts, not only the seven nearest
FALLBACK_SHARE = 0.5   # a message the rules cannot place takes the vote's label when it has this share
FALLBACK_SIMILARITY = 0.4   # ... and the nearest example is at least this similar
# Labels the votes never give: a greeting or a case look-up is decided by its own words, never by
# resemblance.
NEVER = ("greeting", "case_status")
# Chat, rumours and other places' matters that use the office's words (里長今天穿得好帥, 垃圾車的音樂):
# the neighbours' votes for unknown count with their own weight, so that such a message is not answered
# with the entry its words name. They never place a message the rules could not (``fallback``): one
# not understood is unknown already.
UNKNOWN_WEIGHT = 20.0
RULES_TOLD = 2.0   # ... unless the rules gave another label than faq this much (services.nlu.MIN_SCORE)
# A second reader of the same examples: a linear classifier over their character n-grams
# (services/nlu_linear.LinearModel), trained on the labelled files (not the FAQ entries' own questions,
# which staff edit: publishing an edit never retrains it). Where the neighbours weigh the few closest
# examples, it weighs every n-gram by what it says across all of them (真的假的, 好漂亮 and 哈哈 say
# chat wherever they stand). Each label's score gains LINEAR_WEIGHT x its probability, with the votes'
# exceptions (NEVER, no screener for a death or for no one, chat never against a label the rules told).
# Chosen by cross-validation (bench/nlu_cv.py, docs/nlu.md): with the fifteenth round's examples,
# weight 8 and 4 epochs routed 47 more of 14,544 lines than 6 and 10.
LINEAR_WEIGHT = 8.0
LINEAR_EPOCHS = 4


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
    centroids: tuple[tuple[str, float], ...] = ()     # the entries' centroids' similarity, best first
    linear: tuple[tuple[str, float], ...] = ()        # the linear classifier's probability of each label


def _buckets(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The bucket of each character 1-3 gram of the text, and where each n-gram starts
    (services/nlu_linear.ngram_buckets into this index's ``BUCKETS``)."""
    return ngram_buckets(text, BUCKETS, NGRAMS)


class Index:
    """An inverted index of the examples' TF-IDF vectors, in a few flat NumPy arrays.

    Each character n-gram is hashed (from its code points, the same in every process) into one of ``BUCKETS``;
    ``vocab`` holds the buckets that occur, sorted, and column c's postings are
    ``rows[starts[c]:starts[c + 1]]`` with weights ``weights[...]``. About 1 MB for two thousand
    examples, where a dictionary of n-grams took over 20 (the web process must stay under 200 MB).
    A rare collision of two n-grams in one bucket only blurs a vote a little.
    """

    def __init__(self, examples: list[Example], linear=None):
        self.examples = examples
        self.linear = linear     # a LinearModel over the labels, or None
        self.labels = [e.label for e in examples]
        self.entries = [e.entry for e in examples]
        n = len(examples)
        # Every n-gram of every example at once (the texts joined by NUL), counted per row with np.unique.
        texts = [DIGITS.sub("0", e.text) for e in examples]
        lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=n)
        buckets, starts = _buckets("\0".join(texts))
        owner = np.repeat(np.arange(n, dtype=np.int64), lengths)[starts]
        keys, counts = np.unique(owner * BUCKETS + buckets, return_counts=True)
        rows, buckets = (keys // BUCKETS).astype(np.int32), keys % BUCKETS
        # The buckets that occur, sorted: a query's bucket is found by binary search.
        self.vocab, col = np.unique(buckets, return_inverse=True)
        df = np.bincount(col, minlength=len(self.vocab))
        self.idf = (np.log((1 + n) / (1 + df)) + 1.0).astype(np.float32)
        w = ((1.0 + np.log(counts)) * self.idf[col]).astype(np.float32)
        norms = np.sqrt(np.bincount(rows, weights=w * w, minlength=n)).astype(np.float32)
        w /= np.where(norms > 0, norms, 1.0)[rows]
        order = np.argsort(col, kind="stable")
        self.rows, self.weights = rows[order], w[order]
        self.starts = np.concatenate(([0], np.cumsum(df))).astype(np.int32)
        self._centroids()

    def _centroids(self) -> None:
        """Each FAQ entry's centroid (the mean of its examples' unit vectors, unit length), stored as
        the examples are: ``crows[cstarts[c]:cstarts[c + 1]]`` are the entries with column c. Built in
        int32 from the postings of the examples that name an entry (the web process's peak memory)."""
        self.entry_ids = sorted({e for e in self.entries if e})
        eidx = {e: i for i, e in enumerate(self.entry_ids)}
        ne = max(1, len(self.entry_ids))
        row_entry = np.array([eidx.get(e, -1) if e else -1 for e in self.entries] or [-1], dtype=np.int32)
        er = row_entry[self.rows]
        keep = np.flatnonzero(er >= 0)
        col = (np.searchsorted(self.starts, keep, side="right") - 1).astype(np.int32)
        ckeys, cinv = np.unique(col * np.int32(ne) + er[keep], return_inverse=True)
        del col
        cw = np.bincount(cinv, weights=self.weights[keep]).astype(np.float32)
        del cinv, keep, er
        ccol, cent = ckeys // ne, (ckeys % ne).astype(np.int32)
        cn = np.sqrt(np.bincount(cent, weights=cw * cw, minlength=ne)).astype(np.float32)
        self.cweights = cw / np.where(cn > 0, cn, 1.0)[cent]
        self.crows = cent
        self.cstarts = np.concatenate(([0], np.cumsum(np.bincount(ccol, minlength=len(self.vocab))))).astype(np.int32)

    def _vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The text's columns (n-grams some example has) and their TF-IDF weights, unit length."""
        hashed, _ = _buckets(DIGITS.sub("0", text))
        if not len(hashed) or not len(self.vocab):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        buckets, counts = np.unique(hashed, return_counts=True)
        col = np.minimum(np.searchsorted(self.vocab, buckets), len(self.vocab) - 1)
        known = self.vocab[col] == buckets
        col, counts = col[known], counts[known]
        v = (1.0 + np.log(counts)) * self.idf[col]
        norm = float(np.sqrt((v * v).sum())) or 1.0
        return col, (v / norm).astype(np.float32)

    def similarities(self, text: str) -> np.ndarray:
        """The cosine of the text and each example."""
        return _dot(self._vector(text), self.starts, self.rows, self.weights, len(self.examples))

    def centroid_similarities(self, vector: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """The cosine of the text's vector (``_vector``) and each FAQ entry's centroid (``entry_ids``)."""
        return _dot(vector, self.cstarts, self.crows, self.cweights, len(self.entry_ids))

    def guess(self, text: str, k: int | None = None) -> Guess | None:
        if not self.examples or not text:
            return None
        k = k or K
        vector = self._vector(text)
        sims = _dot(vector, self.starts, self.rows, self.weights, len(self.examples))
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
        cents: tuple = ()
        if CENTROID_WEIGHT and self.entry_ids:
            csims = self.centroid_similarities(vector)
            ctop = np.argsort(-csims)[:5]
            cents = tuple((self.entry_ids[int(i)], float(csims[i])) for i in ctop if csims[i] > 0)
        entry, entry_votes = entries.most_common(1)[0] if entries else (None, 0.0)
        linear: tuple = ()
        if self.linear is not None:
            p = self.linear.probabilities(text)
            linear = tuple((c, round(float(p[i]), 4)) for i, c in enumerate(self.linear.classes))
        return Guess(label, votes / total, entry, entry_votes / total, float(sims[top[0]]),
                     self.examples[int(top[0])].text,
                     tuple((lab, round(v / total, 4)) for lab, v in labels.most_common()),
                     tuple((e, round(v / total, 4)) for e, v in entries.most_common()), cents, linear)


def _dot(vector: tuple[np.ndarray, np.ndarray], starts: np.ndarray, rows: np.ndarray, weights: np.ndarray,
         size: int) -> np.ndarray:
    """The dot product of a vector (its columns and weights) with each of ``size`` stored rows, read
    from postings sorted by column (``rows[starts[c]:starts[c + 1]]``, ``weights`` alike)."""
    sims = np.zeros(size, dtype=np.float32)
    for c, weight in zip(vector[0].tolist(), vector[1].tolist()):
        lo, hi = starts[c], starts[c + 1]
        sims[rows[lo:hi]] += weight * weights[lo:hi]
    return sims


def _closeness(similarity: float) -> float:
    return min(1.0, similarity / FULL_SIMILARITY)


def fuse(guess: Guess | None, scores: dict[str, float], deceased: bool, no_one: bool = False) -> None:
    """Add the neighbours' votes to the rules' label scores (never the screener for a death, nor for
    a message that names no one and no help: ``no_one``, 我要申請證明 is a certificate)."""
    if guess is None or guess.similarity < MIN_SIMILARITY:
        return
    closeness = _closeness(guess.similarity)
    # Chat contests only an entry: a report, a person, a greeting or a case the words told stands.
    told = any(score >= RULES_TOLD for label, score in scores.items() if label not in ("faq", "unknown"))
    hinted = dict(scores)    # what the rules alone said

    def counts(label: str) -> bool:
        return not (label in NEVER or (label == "welfare" and (deceased or no_one)) or (label == "unknown" and told))

    for label, share in guess.votes:
        if not counts(label):
            continue
        if label == "unknown":
            scores[label] = round(scores.get(label, 0.0) + UNKNOWN_WEIGHT * share * closeness, 3)
            continue
        if label == "faq":
            # A service question counts as far as the neighbours agree on which service.
            share = min(share, guess.entry_probability)
        scores[label] = round(scores.get(label, 0.0) + WEIGHT * share * closeness, 3)
    for label, probability in guess.linear:
        if counts(label):
            if label == "dengue_report" and not (hinted.get(label) or hinted.get("dengue_info")):
                continue    # a breeding site the words did not hint at (那邊有一個東西歪掉 is no mosquito)
            scores[label] = round(scores.get(label, 0.0) + LINEAR_WEIGHT * probability, 3)


def rerank(hits: list[tuple[str, float, str | None]], guess: Guess | None) -> list[tuple[str, float, str | None]]:
    """The FAQ search's entries (id, score, keyword), each with ENTRY_WEIGHT x its share of the
    neighbours' votes and CENTROID_WEIGHT x its share among the closest centroids added; an entry only
    the neighbours or the centroids name joins with that alone."""
    if guess is None or not (guess.entry_votes or guess.centroids):
        return hits
    closeness = _closeness(guess.similarity)
    bonus = {e: ENTRY_WEIGHT * share * closeness for e, share in guess.entry_votes}
    # The centroids' shares (similarity squared, as the votes): one service that stands out counts,
    # five alike count little.
    total = sum(sim ** 2 for _, sim in guess.centroids) or 1.0
    for e, sim in guess.centroids:
        bonus[e] = bonus.get(e, 0.0) + CENTROID_WEIGHT * sim ** 2 / total
    out = [(e, score + bonus.pop(e, 0.0), kw) for e, score, kw in hits]
    out += [(e, b, None) for e, b in bonus.items()]
    return sorted(out, key=lambda h: -h[1])


def fallback(guess: Guess | None, deceased: bool) -> str | None:
    """The label for a message the rules could not place, when its neighbours agree on one."""
    if (guess is None or guess.probability < FALLBACK_SHARE or guess.similarity < FALLBACK_SIMILARITY
            or guess.label in NEVER or guess.label == "unknown" or (guess.label == "welfare" and deceased)
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
    files = example_files() if files is None else files
    for path in files:
        examples.extend(read_examples(path, normalize, ids))
    linear = None
    if LINEAR_WEIGHT:
        linear = label_model(tuple((str(p), p.stat().st_mtime) for p in files if p.exists()), normalize)
    index = Index(list(dict.fromkeys(examples)), linear)   # a text in two files votes once
    _give_back_memory()
    return index


@functools.lru_cache(maxsize=2)
def label_model(files: tuple[tuple[str, float], ...], normalize):
    """The linear classifier of the labels, learned from the labelled files ((path, mtime) pairs: a
    file changed on disk is learned again); a text with two labels teaches both. About 5 s for ten
    thousand lines, once per process (bot/worker.warm_up builds the index)."""
    rows = []
    for path, mtime in files:
        for text, label, _faq in _file_lines(path, mtime):
            norm = normalize(text)
            if norm:
                rows.append((norm, label))
    rows = list(dict.fromkeys(rows))
    return LinearModel(rows, epochs=LINEAR_EPOCHS, rate=0.5, l2=1e-5) if rows else None


def _give_back_memory() -> None:
    """Return the build's freed scratch memory to the system. glibc keeps freed blocks of this size
    in the heap (its mmap threshold grows after the first large free), which left about 5 MB more
    resident in every web and worker process; malloc_trim hands them back. Elsewhere: nothing."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass
