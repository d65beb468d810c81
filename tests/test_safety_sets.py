"""Ratchets on two sets written for tuning the safety words (tests/nlu/README.md): 160 messages
where someone is in danger now and 90 near-misses; 120 messages about a death and 60 near-misses.
They were used to choose the words of knowledge/safety.yaml and the lexicon's ``deceased`` lists,
so they measure regressions, not unseen accuracy. A change that lowers recall or adds false alarms
fails; when the words improve, raise the numbers here (and in docs/nlu.md)."""
from __future__ import annotations

import json
from pathlib import Path

from services import nlu, safety

NLU = Path(__file__).parent / "nlu"
DANGER_FOUND_AT_LEAST = 146      # of 160 (2026-12-05)
DANGER_FALSE_AT_MOST = 4         # of 90 near-misses
DEATH_FOUND_AT_LEAST = 119       # of 120
DEATH_FALSE_AT_MOST = 1          # of 60


def _lines(name: str) -> list[dict]:
    return [json.loads(line) for line in (NLU / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_danger_set_is_what_it_says():
    rows = _lines("danger-tune.jsonl")
    assert sum(r["danger"] for r in rows) == 160 and sum(not r["danger"] for r in rows) == 90
    assert all(r["source"].startswith("http") for r in rows)


def test_danger_is_seen_and_near_misses_are_not():
    rows = _lines("danger-tune.jsonl")
    found = sum(1 for r in rows if r["danger"] and safety.assess(r["text"]) is not None)
    false = [r["text"] for r in rows if not r["danger"] and safety.assess(r["text"]) is not None]
    assert found >= DANGER_FOUND_AT_LEAST
    assert len(false) <= DANGER_FALSE_AT_MOST, false


def test_a_death_is_seen_and_near_misses_are_not():
    rows = _lines("death-tune.jsonl")
    found = sum(1 for r in rows if r["death"] and nlu.deceased(nlu.normalize(r["text"])))
    false = [r["text"] for r in rows if not r["death"] and nlu.deceased(nlu.normalize(r["text"]))]
    assert found >= DEATH_FOUND_AT_LEAST
    assert len(false) <= DEATH_FALSE_AT_MOST, false


def test_violence_now_gets_119_first_and_110():
    from tests.test_safety import _first_reply
    reply = _first_reply("我老公喝醉了 拿刀在追我 快來")
    assert safety.first_phone(reply) == "119" and "110" in reply
