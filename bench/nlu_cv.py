"""Understanding: choose the learned part's settings by cross-validation on residents' words.

Run: .venv/bin/python bench/nlu_cv.py [--folds 5] [--set ENTRY_WEIGHT=0,2,4] [--set WEIGHT=0,1.5]

The residents' sets in knowledge/nlu/examples/ (``residents-*.jsonl``: messages written the way
residents write, which the bot also learns from) are cut into folds. For each fold the bot's
examples index is built without that fold's lines, and the fold is scored through the router with
``nlu-eval``'s scoring code (``bot.cli.evaluate``): every line is scored by a bot that never learned
it. The held-out files in tests/nlu/ are never read. Each setting prints intent and FAQ-answer
accuracy summed over the folds, and the unsafe outcomes. With ``CV_SHOW=1`` every miss is printed to
stderr (lines of the example files, which the bot learns from anyway); with ``CV_DUMP=FILE`` every
scored line is appended to FILE as JSON.

The rules (knowledge/nlu/lexicon.yaml) were written while reading some of these lines, so the
absolute numbers are higher than on text nobody read; the comparison between settings of the
learned part is what this measures.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EXAMPLES = ROOT / "knowledge" / "nlu" / "examples"


def _lines(path: Path) -> list[str]:
    return [l for l in path.read_text(encoding="utf-8").splitlines() if l.strip() and not l.lstrip().startswith("#")]


def _folds(k: int) -> list[list[str]]:
    lines = [l for p in sorted(EXAMPLES.glob("residents-*.jsonl")) for l in _lines(p)]
    random.Random(20261205).shuffle(lines)
    return [lines[i::k] for i in range(k)]


def _score(folds: list[list[str]], tmp: Path) -> dict:
    from bot.cli import evaluate
    from services import faq, nlu, nlu_learned
    others = [p for p in sorted(EXAMPLES.glob("*.jsonl")) if not p.name.startswith("residents-")]
    total = {"n": 0, "ok": 0, "faq_n": 0, "faq_ok": 0, "unsafe": 0}
    for i, fold in enumerate(folds):
        train = tmp / "train.jsonl"
        train.write_text("\n".join(l for j, f in enumerate(folds) if j != i for l in f) + "\n", encoding="utf-8")
        test = tmp / f"fold{i}.jsonl"
        test.write_text("\n".join(fold) + "\n", encoding="utf-8")
        index = nlu.build_faq_index(faq.base().entries)
        index.learned = nlu_learned.build(faq.base().entries, nlu.normalize, others + [train])
        nlu.install_faq_index(index)
        *rows, s = list(evaluate(str(test)))
        if os.environ.get("CV_DUMP"):
            with open(os.environ["CV_DUMP"], "a", encoding="utf-8") as fh:
                for r in rows:
                    fh.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
        for r in rows:
            if r.get("unsafe") and os.environ.get("CV_SHOW"):
                print("UNSAFE", r["unsafe"], r["want"], "->", r["intent"], r.get("topic"), "|", r["text"], file=sys.stderr)
            if not r["ok"]:
                total.setdefault("confusion", {}).setdefault(f"{r['want'][0]} -> {r['intent']}", 0)
                total["confusion"][f"{r['want'][0]} -> {r['intent']}"] += 1
                if os.environ.get("CV_SHOW"):
                    print("MISS", r["want"], "->", r["intent"], r.get("topic"), r.get("confidence"), "|", r["text"], file=sys.stderr)
            elif r.get("faq_ok") is False and os.environ.get("CV_SHOW"):
                print("FAQMISS", r.get("want_faq"), "->", r["intent"], r.get("topic"), r.get("confidence"), "|", r["text"], file=sys.stderr)
        total["n"] += s["total"]
        total["ok"] += round(s["intent_accuracy"] * s["total"])
        total["faq_n"] += s["faq_total"]
        total["faq_ok"] += round(s["faq_accuracy"] * s["faq_total"])
        total["unsafe"] += sum(s["unsafe_by_kind"].values())
    nlu.install_faq_index(None)
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--set", action="append", default=[], help="NAME=V1,V2 (services.nlu_learned or services.nlu)")
    ap.add_argument("--confusion", action="store_true", help="the most frequent misses (expected -> got)")
    args = ap.parse_args()
    grid = [(k, [int(v) if v.isdigit() else float(v) for v in vs.split(",")]) for k, vs in (kv.split("=") for kv in args.set)]
    os.environ.pop("REDIS_URL", None)
    d = tempfile.mkdtemp()
    from bot import create_app
    app = create_app({"LOCAL_MODE": True, "DATABASE_URL": "sqlite:///" + d + "/cv.db", "MEDIA_DIR": d + "/media"})
    with app.app_context():
        from services import nlu, nlu_learned
        folds = _folds(args.folds)
        for values in itertools.product(*[vs for _, vs in grid]) if grid else [()]:
            for (name, _), v in zip(grid, values):
                setattr(nlu_learned if hasattr(nlu_learned, name) else nlu, name, v)
            t = _score(folds, Path(d))
            setting = " ".join(f"{n}={v}" for (n, _), v in zip(grid, values)) or "as configured"
            print(json.dumps({"setting": setting, "intent": f"{t['ok']}/{t['n']} ({t['ok'] / t['n']:.1%})",
                              "faq": f"{t['faq_ok']}/{t['faq_n']} ({t['faq_ok'] / max(1, t['faq_n']):.1%})",
                              "unsafe": t["unsafe"]}, ensure_ascii=False), flush=True)
            if args.confusion:
                for k, v in sorted(t.get("confusion", {}).items(), key=lambda kv: -kv[1])[:15]:
                    print(f"  {v:3d}  {k}")


if __name__ == "__main__":
    main()
