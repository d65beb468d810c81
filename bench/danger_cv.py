"""Safety: choose the danger model's settings by cross-validation, and report the held-out danger set.

Run: .venv/bin/python bench/danger_cv.py [--folds 5] [--set THRESHOLD=0.5,0.8] [--set POSITIVE_WEIGHT=1,3]
(``CV_SHOW=1``: the danger lines neither heard, to stderr.)

The lines services/safety_learned.py learns from (knowledge/nlu/danger/*.jsonl and the examples)
are cut into folds; for each fold the model is trained without it and the fold is scored with
``services.safety.alarm``'s rule (the safety words, or the model's probability over the threshold
with nothing that says past, imagined, asked about or denied). Printed per setting: dangers heard
(of the danger lines), alarms on near-misses (of the near-miss lines) and on the examples (lines
that are not about danger), by the words alone and by words or model. The held-out set
(every tests/nlu/dangerN-heldout.jsonl) is scored last with the configured settings, only
to report: alarms, and replies (through the router) whose first phone number is 119.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Every held-out danger set (tests/nlu/dangerN-heldout.jsonl), in the order they were written.
HELD_OUT = tuple(sorted((ROOT / "tests" / "nlu").glob("danger*-heldout.jsonl"),
                        key=lambda p: int(p.name.removeprefix("danger").removesuffix("-heldout.jsonl"))))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--set", action="append", default=[], help="NAME=V1,V2 (services.safety_learned)")
    args = ap.parse_args()
    from services import safety, safety_learned as sl
    rows = sl.training_rows(lambda text: safety.assess(text) is not None, safety.trains_on)
    kinds = _kinds()
    words = [safety.assess(t) is not None for t, _ in rows]
    gate = [safety.passes_gate(t) for t, _ in rows]
    order = list(range(len(rows)))
    random.Random(20261205).shuffle(order)
    folds = [order[i::args.folds] for i in range(args.folds)]
    grid = [(k, [float(v) for v in vs.split(",")]) for k, vs in (kv.split("=") for kv in args.set)]
    for values in itertools.product(*[vs for _, vs in grid]) if grid else [()]:
        for (name, _), v in zip(grid, values):
            setattr(sl, name, v)
        heard = [False] * len(rows)
        for fold in folds:
            held = set(fold)
            model = sl.train([r for i, r in enumerate(rows) if i not in held])
            for i in fold:
                heard[i] = sl.sounds_like_danger(model, safety.model_text(rows[i][0]) or "")
        alarm = [w or (g and h) for w, g, h in zip(words, gate, heard)]
        setting = " ".join(f"{n}={v}" for (n, _), v in zip(grid, values)) or "as configured"
        out = {"setting": setting}
        for name, pick in (("danger heard", lambda i: rows[i][1] == 1),
                           ("near-miss alarms", lambda i: kinds.get(rows[i][0]) == "near_miss"),
                           ("example alarms", lambda i: rows[i][1] == 0 and kinds.get(rows[i][0]) != "near_miss")):
            idx = [i for i in range(len(rows)) if pick(i)]
            out[name] = (f"words {sum(words[i] for i in idx)}, words or model {sum(alarm[i] for i in idx)}"
                         f" of {len(idx)}")
        print(json.dumps(out, ensure_ascii=False), flush=True)
        if os.environ.get("CV_SHOW"):   # the dangers neither the words nor the out-of-fold model heard
            for i in range(len(rows)):
                if rows[i][1] == 1 and not alarm[i]:
                    print("MISSED", kinds.get(rows[i][0]), "|", rows[i][0], file=sys.stderr)
    from bot.cli import _route_text
    for path in HELD_OUT:
        lines = [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines()
                 if l.strip() and not l.startswith("#")]
        for flag, name in ((True, "danger heard"), (False, "near-miss alarms")):
            part = [c["text"] for c in lines if c["danger"] is flag]
            first = sum(safety.first_phone(_route_text(t)[0]["reply"]) == "119" for t in part)
            print(f"{path.name}: {name}: words {sum(safety.assess(t) is not None for t in part)}, "
                  f"words or model {sum(safety.alarm(t) for t in part)}, reply starts with 119 {first} of {len(part)}")


def _kinds() -> dict[str, str]:
    """Each danger-set line's ``what`` (near_miss for the near-misses)."""
    from services import safety_learned as sl
    out = {}
    for path in sorted(sl.DANGER_DIR.glob("*.jsonl")):
        for case in sl._lines(path):
            out[case["text"]] = "near_miss" if case.get("kind") == "near_miss" else case.get("what", "")
    return out


if __name__ == "__main__":
    main()
