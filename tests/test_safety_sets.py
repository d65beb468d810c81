"""Ratchets on the sets written for tuning the safety words (tests/nlu/README.md): messages where
someone is in danger now, with near-misses (knowledge/nlu/danger/: the first set of 160 + 90 chose the
words of knowledge/safety.yaml; both sets teach the danger model, services/safety_learned.py); 120
messages about a death and 60 near-misses (the lexicon's ``deceased`` lists). They were tuned or
trained on, so they measure regressions, not unseen accuracy. A change that lowers recall or adds
false alarms fails; when the words improve, raise the numbers here (and in docs/nlu.md)."""
from __future__ import annotations

import json
from pathlib import Path

from services import nlu, safety

NLU = Path(__file__).parent / "nlu"
DANGER = Path(__file__).parent.parent / "knowledge" / "nlu" / "danger"
DANGER_FOUND_AT_LEAST = 150      # of 160 by the words alone (2026-12-05, second round)
DANGER_FALSE_AT_MOST = 1         # of 90 near-misses
ALARM_FOUND_AT_LEAST = 324       # of 324 in both danger sets, words or model (the model learned them)
ALARM_FALSE_AT_MOST = 8          # of 165 near-misses
DEATH_FOUND_AT_LEAST = 120       # of 120 (second round)
DEATH_FALSE_AT_MOST = 1          # of 60


def _lines(name: str, folder: Path = NLU) -> list[dict]:
    return [json.loads(line) for line in (folder / name).read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def test_the_danger_set_is_what_it_says():
    rows = _lines("danger-1.jsonl", DANGER)
    assert sum(r["danger"] for r in rows) == 160 and sum(not r["danger"] for r in rows) == 90
    rows += _lines("danger-2.jsonl", DANGER)
    assert all(r["source"].startswith("http") for r in rows)


def test_danger_is_seen_and_near_misses_are_not():
    rows = _lines("danger-1.jsonl", DANGER)
    found = sum(1 for r in rows if r["danger"] and safety.assess(r["text"]) is not None)
    false = [r["text"] for r in rows if not r["danger"] and safety.assess(r["text"]) is not None]
    assert found >= DANGER_FOUND_AT_LEAST
    assert len(false) <= DANGER_FALSE_AT_MOST, false


def test_the_alarm_hears_every_danger_it_learned_and_few_near_misses():
    rows = _lines("danger-1.jsonl", DANGER) + _lines("danger-2.jsonl", DANGER)
    found = sum(1 for r in rows if r["danger"] and safety.alarm(r["text"]))
    false = [r["text"] for r in rows if not r["danger"] and safety.alarm(r["text"])]
    assert found >= ALARM_FOUND_AT_LEAST
    assert len(false) <= ALARM_FALSE_AT_MOST, false


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


def test_a_danger_the_words_miss_still_gets_the_119_line_first_and_its_answer():
    """The model's alarm only adds the 119 line (handlers/safety.first_119): the rest of the answer
    is what the bot would have said anyway."""
    from bot.cli import understand
    from tests.test_safety import _first_reply
    text = "阿公被蜈蚣咬 整隻手腫起來 人喘喘的"   # a bite, a swollen arm, short of breath: no word of knowledge/safety.yaml
    assert safety.assess(text) is None and safety.alarm(text)
    assert safety.first_phone(_first_reply(text)) == "119"
    reply = understand(text)["reply"]
    assert safety.first_phone(reply) == "119"
    assert "不太懂" not in reply          # not understood otherwise: 119 and the way on, never 「不太懂」
    road = "路燈被車撞倒 騎士倒在路邊不會動"
    assert safety.first_phone(understand(road)["reply"]) == "119"


def test_a_past_or_imagined_danger_gets_no_alarm_even_when_it_sounds_like_one():
    for text in ("萬一我騎車摔下山溝沒人看到 手機又沒訊號 該怎麼辦", "去年阿公被蛇咬 現在好了 想問補助"):
        assert not safety.alarm(text)
