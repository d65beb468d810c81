"""Understanding: compare candidate methods on text they were not tuned on (issue 13, item 3).

Run: .venv/bin/python bench/nlu_compare.py [--only NAME ...] [--out docs/nlu.md]
Tuning (never the held-out part): --sets "residents tune" --set FALLBACK_P=0.5
Needs, for the bench only (the bot does not use them, so they are not in requirements.txt):
.venv/bin/pip install scikit-learn==1.9.1 jieba==0.42.1

Every candidate is installed in place of ``services.nlu.classify`` (or of one of its parts) and
scored through the webhook's router with ``bot.cli.evaluate`` — the scoring code of
``flask --app app nlu-eval`` — on four sets: the shared dev set, knowledge/nlu/examples/utterances.jsonl,
residents-tune.jsonl and residents-heldout.jsonl. Only the held-out part's totals are printed.

Training data of the learned candidates: the FAQ entries' titles, keywords and example questions,
and the labelled lines of knowledge/nlu/examples/utterances.jsonl, ../shared/eval/dev-utterances.jsonl and
tests/nlu/issue13-tuned.jsonl. Never residents-heldout.jsonl; residents-tune.jsonl is kept for
validation (the few hyper-parameters below were chosen on it). Since the bot itself learns from
knowledge/nlu/examples/ (services/nlu_learned.py; residents-tune.jsonl is among them), ``current``
includes those votes and its tune-part numbers measure fit; bench/nlu_cv.py cross-validates instead.

Candidates:
- ``current``: label words + FAQ keywords + BM25 over character 1-2 grams + ``_adjust`` rules.
- ``jieba-bm25``: the same, with BM25 over jieba words (dictionary: the knowledge base's own terms,
  FAQ titles and keywords and the lexicon's words; no HMM) instead of character n-grams.
- ``tfidf-ranker``: the same, with the FAQ ranker's BM25 part replaced by a character 1-3 gram
  TF-IDF + logistic regression over entries (probability instead of BM25 share).
- ``tfidf-only``: a pure classifier: TF-IDF + logistic regression for the label and for the entry,
  confidence = the probability; no lexicon, no rules (a reference point).
- ``current+tiebreak``: the current method, with a label classifier (TF-IDF + logistic regression)
  adding up to 1 point to labels already in the race when the two best are within 1 point.
- ``tfidf-ranker+tiebreak``: both.

Latency: ``classify`` uncached, once per message of the four sets. RSS: a fresh process that
builds the app, builds the candidate and routes two messages (what a web worker holds).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
NLU = ROOT / "tests" / "nlu"
EXAMPLES = ROOT / "knowledge" / "nlu" / "examples"
SETS = {"shared dev": ROOT.parent / "shared" / "eval" / "dev-utterances.jsonl",
        "own (utterances)": EXAMPLES / "utterances.jsonl",
        "residents tune": EXAMPLES / "residents-tune.jsonl",
        "residents held-out": NLU / "residents-heldout.jsonl"}
TRAIN = (EXAMPLES / "utterances.jsonl", ROOT.parent / "shared" / "eval" / "dev-utterances.jsonl",
         NLU / "issue13-tuned.jsonl")
FORBIDDEN = ("residents-heldout", "residents-tune", "issue13-setaside")
if os.environ.get("NLU_TRAIN_TUNE") == "1":
    # The learned parts also learn from the tune part (its numbers then measure fit, not validation).
    TRAIN += (EXAMPLES / "residents-tune.jsonl",)
    FORBIDDEN = ("residents-heldout", "issue13-setaside")
# Hyper-parameters (chosen on residents-tune.jsonl only).
RANK_WEIGHT = 1.5       # the ranker's share of an entry's score, as BM25's today
ENTRY_WEIGHT = 3.0      # the entry classifier's weight when choosing among services
TIE_MARGIN = 1.0
FALLBACK_P = 0.5        # the tie-breaker acts when the two best labels are this close
TIE_WEIGHT = 1.0
C_ENTRY = 1.0
C_LABEL = 1.0


def _lines(path: Path):
    assert not any(f in path.name for f in FORBIDDEN), path
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            yield json.loads(line)


@functools.cache
def training() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(normalised text, entry id) and (normalised text, label) pairs."""
    from services import faq as faq_mod
    from services.nlu import normalize
    entries, labels = [], []
    for e in faq_mod.base().entries:
        for t in (e.title, *e.keywords, *e.questions):
            entries.append((normalize(t), e.id))
        for t in e.questions:
            labels.append((normalize(t), "faq"))
    ids = {e.id for e in faq_mod.base().entries}
    for path in TRAIN:
        for case in _lines(path):
            want = case["intent"] if isinstance(case["intent"], list) else [case["intent"]]
            norm = normalize(case["text"])
            labels.append((norm, want[0]))
            for fid in case.get("faq") or ():
                if fid in ids:
                    entries.append((norm, fid))
    return entries, labels


def _tfidf_lr(pairs, C):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1)
    x = vec.fit_transform([t for t, _ in pairs])
    clf = LinearSVC(C=C)
    clf.fit(x, [y for _, y in pairs])
    return vec, clf


def _softmax(z, temperature=0.25):
    """Decision values of the linear SVM as probabilities (temperature chosen on the tune part)."""
    import numpy as np
    z = np.asarray(z, dtype=float) / temperature
    z = np.exp(z - z.max())
    return z / z.sum()


@functools.cache
def entry_model():
    return _tfidf_lr(training()[0], C_ENTRY)


@functools.cache
def label_model():
    return _tfidf_lr(training()[1], C_LABEL)


def _proba(model, norm: str) -> dict[str, float]:
    vec, clf = model
    p = _softmax(clf.decision_function(vec.transform([norm]))[0])
    return dict(zip(clf.classes_, p))


# -- rankers: objects with search(norm, k) -> [(entry id, score, keyword)] like nlu.FaqIndex --------

class _KeywordRanker:
    """The current keyword bonus, plus ``RANK_WEIGHT`` times a relevance in [0, 1] from ``rel``."""

    def __init__(self, base):
        self.base = base  # nlu.FaqIndex: ids and keywords

    def rel(self, norm: str) -> list[float]:
        raise NotImplementedError

    def search(self, text: str, k: int = 3):
        from services import nlu
        rel = self.rel(text)
        shared = nlu._flow_words()
        out = []
        for i, entry_id in enumerate(self.base.ids):
            kw, bonus = None, 0.0
            for w in self.base.keywords[i]:
                if len(w) >= 2 and w in text:
                    b = 1.0 if nlu._is_shared(w, shared) else 2.0 + min(len(w), 6) * 0.5
                    if b > bonus:
                        kw, bonus = w, b
            out.append((entry_id, bonus + RANK_WEIGHT * rel[i], kw))
        out.sort(key=lambda s: -s[1])
        return out[:k]


class TfidfRanker(_KeywordRanker):
    def __init__(self, base):
        super().__init__(base)
        vec, clf = entry_model()
        self.vec, self.clf = vec, clf
        col = {c: j for j, c in enumerate(clf.classes_)}
        self.cols = [col.get(i) for i in base.ids]

    def rel(self, norm):
        p = _softmax(self.clf.decision_function(self.vec.transform([norm]))[0])
        top = max(p)
        # Share of the best, damped when even the best is unsure (as BM25's min(1, top/10)).
        return [(p[j] / top) * min(1.0, top / 0.3) if j is not None else 0.0 for j in self.cols]


class JiebaRanker(_KeywordRanker):
    def __init__(self, base):
        super().__init__(base)
        import logging
        import bm25s
        import jieba
        from services import faq as faq_mod
        from services import nlu
        jieba.setLogLevel(logging.WARNING)
        terms = set()
        for e in faq_mod.base().entries:
            terms.update(nlu.normalize_word(w) for w in (e.title, *e.keywords))
        for items in nlu.lexicon().words.values():
            terms.update(w for w, _ in items)
        terms = {t for t in terms if len(t) >= 2}
        fd, path = tempfile.mkstemp(suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(f"{t} {10 * len(t)}" for t in sorted(terms)) + "\n")
        self.tok = jieba.Tokenizer(dictionary=path)
        self.tok.initialize()
        os.unlink(path)
        docs = []
        for e in faq_mod.base().entries:
            text = " ".join([e.title] * 2 + list(e.keywords) * 2 + list(e.questions))
            docs.append([t for part in text.split() for t in self.cut(nlu.normalize_word(part))])
        self.bm25 = bm25s.BM25()
        self.bm25.index(docs, show_progress=False)

    def cut(self, norm):
        return [w for w in self.tok.lcut(norm, HMM=False) if w.strip()]

    def rel(self, norm):
        raw = self.bm25.get_scores(self.cut(norm))
        top = max(raw) if len(raw) else 0.0
        return [(r / top) * min(1.0, top / 10.0) if top > 0 else 0.0 for r in raw]


class EntryChooser:
    """The current ranker's scores decide how strongly the text asks about a service (the faq label);
    which entry answers it is chosen by the current score plus ``ENTRY_WEIGHT`` times the entry
    classifier's probability."""

    def __init__(self, base):
        self.base = base
        self.vec, self.clf = entry_model()

    def search(self, text: str, k: int = 3):
        hits = self.base.search(text, k=len(self.base.ids))
        if not hits or hits[0][1] <= 0:
            return hits[:k]
        p = _proba((self.vec, self.clf), text)
        top = hits[0][1]
        order = sorted(hits, key=lambda h: -(h[1] + ENTRY_WEIGHT * p.get(h[0], 0.0)))
        # The label keeps the best current score; only the order of the services changes.
        first = order[0]
        return [(first[0], top, first[2])] + order[1:k]


# -- candidates ---------------------------------------------------------------------------------

def _tiebreak(original):
    from services import nlu

    def adjust(norm, scores, *args, **kwargs):
        original(norm, scores, *args, **kwargs)
        ranked = sorted(scores.values(), reverse=True)
        if len(ranked) >= 2 and ranked[0] - ranked[1] <= TIE_MARGIN and ranked[0] >= nlu.MIN_SCORE - TIE_WEIGHT:
            p = _proba(label_model(), norm)
            for label in list(scores):
                scores[label] += TIE_WEIGHT * p.get(label, 0.0)
    return adjust


def _pure_classify(text: str):
    from services import nlu
    from services.submissions import normalize_ref
    import unicodedata
    ref = normalize_ref(unicodedata.normalize("NFKC", text or ""))
    if ref:
        return nlu.Intent("case_status", ref, ref)
    norm = nlu.normalize(text)
    if not norm:
        return nlu.Intent("unknown")
    pl = _proba(label_model(), norm)
    pe = sorted(_proba(entry_model(), norm).items(), key=lambda kv: -kv[1])
    label, conf = max(pl.items(), key=lambda kv: kv[1])
    scores = {k: round(4 * v, 3) for k, v in pl.items() if v > 0.05}
    guesses = tuple(e for e, p in pe[:3] if p >= 0.05)
    best = (pe[0][0], round(4 * pe[0][1], 3))
    if conf < 0.3:
        return nlu.Intent("unknown", confidence=0.3, guesses=guesses, best_faq=best, scores=scores)
    topic = pe[0][0] if label == "faq" else None
    return nlu.Intent(label, None, None, topic, round(conf, 3), guesses, best_faq=best, scores=scores)


def _fallback(original):
    """The current method; when it says unknown (not another city's matter), a confident label
    classifier decides instead (never the screener for a death, a funeral or an inheritance)."""
    from services import nlu

    def classify(text):
        it = original(text)
        if it.label != "unknown" or it.scores.get("unknown") == 10.0:
            return it
        norm = nlu.normalize(text)
        if not norm:
            return it
        pl = _proba(label_model(), norm)
        label, p = max(pl.items(), key=lambda kv: kv[1])
        if p < FALLBACK_P or label in ("unknown", "greeting") or (label == "welfare" and nlu.deceased(norm)):
            return it
        topic = None
        if label == "faq":
            pe = max(_proba(entry_model(), norm).items(), key=lambda kv: kv[1])
            topic = pe[0]
        return nlu.Intent(label, None, None, topic, round(min(p, 0.59) if label == "faq" else p, 3),
                          it.guesses, best_faq=it.best_faq, scores={**it.scores, label: 2.0})
    return classify


CANDIDATES = ("current", "jieba-bm25", "tfidf-ranker", "tfidf-only", "current+tiebreak", "tfidf-ranker+tiebreak",
              "current+entry-clf", "current+entry-clf+tiebreak", "current+clf-fallback", "rules-only")


def install(name: str) -> float:
    """Install a candidate in services.nlu (and wherever classify was imported by name); seconds to build."""
    from services import nlu
    start = time.perf_counter()
    if not hasattr(nlu, "_orig"):
        nlu._orig = {"faq_index": nlu.faq_index, "_adjust": nlu._adjust, "classify": nlu.classify}
    o = nlu._orig
    base = o["faq_index"]()
    nlu.faq_index, nlu._adjust, classify = o["faq_index"], o["_adjust"], o["classify"]
    if name in ("jieba-bm25", "tfidf-ranker", "tfidf-ranker+tiebreak"):
        ranker = (JiebaRanker if name == "jieba-bm25" else TfidfRanker)(base)
        nlu.faq_index = lambda: ranker
    if "entry-clf" in name:
        chooser = EntryChooser(base)
        nlu.faq_index = lambda: chooser
    if name.endswith("+tiebreak"):
        label_model()
        nlu._adjust = _tiebreak(o["_adjust"])
    if name == "current+clf-fallback":
        entry_model(), label_model()
        classify = functools.lru_cache(maxsize=2048)(_fallback(o["classify"].__wrapped__))
    # ``current`` includes the labelled examples' votes (services/nlu_learned.py); ``rules-only`` not.
    nlu.LEARNED = name != "rules-only"
    if name == "tfidf-only":
        entry_model(), label_model()
        classify = functools.lru_cache(maxsize=2048)(_pure_classify)
    elapsed = time.perf_counter() - start
    for mod in [m for k, m in list(sys.modules.items()) if k.split(".")[0] in ("services", "handlers", "bot")]:
        if getattr(mod, "classify", None) in (o["classify"], getattr(nlu, "_installed", None)):
            mod.classify = classify
    nlu._installed = classify
    classify.cache_clear()
    return elapsed


def _app():
    os.environ.pop("REDIS_URL", None)
    d = tempfile.mkdtemp()
    from bot import create_app
    return create_app({"LOCAL_MODE": True, "DATABASE_URL": "sqlite:///" + d + "/m.db", "MEDIA_DIR": d + "/media"})


def probe(name: str) -> None:
    """In a fresh process: RSS with the app and the candidate loaded, and the build time."""
    app = _app()
    with app.app_context():
        from bot.cli import understand
        understand("warm up")
        built = install(name)
        understand("阮兜巷仔口彼支路燈袂光")
        understand("調解要怎麼申請")
        rss = int([l for l in open("/proc/self/status") if l.startswith("VmRSS")][0].split()[1]) // 1024
    print(json.dumps({"rss": rss, "build_s": round(built, 2)}))


def _args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--out")
    ap.add_argument("--probe")
    ap.add_argument("--sets", nargs="*", help="only these sets (tuning: residents tune)")
    ap.add_argument("--set", action="append", default=[], help="NAME=VALUE hyper-parameter (tuning)")
    return ap.parse_args()


def _set_texts() -> list[str]:
    return [c["text"] for p in SETS.values() if p.exists()
            for c in (json.loads(l) for l in p.read_text(encoding="utf-8").splitlines()
                      if l.strip() and not l.lstrip().startswith("#"))]


def _measure(name: str, texts: list[str], tuning: bool) -> dict:
    """One method: its scores on every set, its routing time, and (unless tuning) its memory and build time."""
    from bot.cli import evaluate
    from services import nlu
    install(name)
    row = {"method": name}
    for label, path in SETS.items():
        if path.exists():
            *_, s = list(evaluate(str(path)))
            row[label] = s
    fn = nlu._installed
    inner = getattr(fn, "__wrapped__", fn)
    times = []
    for t in texts:
        start = time.perf_counter()
        inner(t)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    row["p50"] = statistics.median(times)
    row["p99"] = times[min(len(times) - 1, int(len(times) * 0.99))]
    if tuning:
        row.update(rss=0, build_s=0)
        return row
    out = subprocess.run([sys.executable, __file__, "--probe", name], capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    row.update(json.loads(out.stdout.strip().splitlines()[-1]))
    return row


def main() -> None:
    args = _args()
    if args.probe:
        return probe(args.probe)
    names = args.only or CANDIDATES
    for kv in args.set:
        k, v = kv.split("=")
        globals()[k] = float(v)
    if args.sets:
        for k in [k for k in SETS if k not in args.sets]:
            SETS.pop(k)
    app = _app()
    rows = []
    with app.app_context():
        from services import nlu
        nlu.classify("warm up")
        texts = _set_texts()
        for name in names:
            row = _measure(name, texts, bool(args.sets))
            rows.append(row)
            print(_row(row), flush=True)
        install("current")
    report = "\n".join(_table(rows))
    print(report)
    if args.out:
        _write(Path(args.out), report)


def _cell(s: dict) -> str:
    u = s["unsafe_by_kind"]
    text = f"{s['intent_accuracy']:.1%}"
    if s["faq_total"]:
        text += f" / {s['faq_accuracy']:.1%} of {s['faq_total']}"
    else:
        text += f" / m {s['mention_accuracy']:.1%}"
    return text + f" / {u['screener']}·{u['no_119']}·{u['not_understood']}"


def _row(r: dict) -> str:
    cells = [r["method"]] + [_cell(r[k]) for k in SETS if k in r]
    cells += [f"{r['p50']:.2f} / {r['p99']:.2f}", f"{r['rss']}", f"{r['build_s']:.2f}"]
    return "| " + " | ".join(cells) + " |"


def _table(rows):
    head = ["method"] + [f"{k}" for k in SETS] + ["ms median / p99", "RSS MB", "build s"]
    yield "| " + " | ".join(head) + " |"
    yield "|" + "---|" * len(head)
    for r in rows:
        yield _row(r)


def _write(path: Path, report: str) -> None:
    from routing_bench import write_block  # bench/ is on sys.path when this script runs
    write_block(path, "nlu-compare",
                f"Measured {time.strftime('%Y-%m-%d')} by `bench/nlu_compare.py` "
                f"({os.cpu_count()} cores, Python {sys.version.split()[0]}). Each cell: intent / FAQ answer "
                f"(dev sets, which name no entries: m = mention accuracy) / unsafe (screener·no 119·not understood).\n\n{report}")


if __name__ == "__main__":
    main()
