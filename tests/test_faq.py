"""Residents asking about the office's services, through the webhook and the worker."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.extensions import get_services
from services import faq, nlu
from services.models import UnansweredQuestion
from tests.helpers import OFFICE_PHONE, postback_event, start_pothole_report

ROOT = Path(__file__).resolve().parent.parent
OWN_SET = ROOT / "knowledge" / "nlu" / "examples" / "utterances.jsonl"
SHARED_SET = ROOT.parent / "shared" / "eval" / "dev-utterances.jsonl"


def test_a_question_gets_the_service_answer(resident):
    out = resident.says("想申請調解")
    assert "調解" in out[0] and OFFICE_PHONE in out[0]
    assert "常見問題" in resident.labels()


def test_simplified_characters_and_typos_are_understood(resident):
    out = resident.says("农地证明怎么办")
    assert "農業使用證明" in out[0]
    out = resident.says("路登壞了")
    assert "地點" in out[-1]                                   # a road report, despite the typo


def test_unsure_offers_guesses_and_keeps_the_question_without_the_user(resident, app):
    out = resident.says("我要申請證明 0912345678")              # which certificate? not sure
    assert "不太確定" in out[0] and len(resident.labels()) >= 2
    with get_services(app).db.session() as s:
        rows = list(s.execute(select(UnansweredQuestion)).scalars())
    assert len(rows) == 1
    assert "0912345678" not in rows[0].text and resident.user not in json.dumps(rows[0].text)
    if rows[0].guesses:                                         # the guesses are buttons that answer
        first = faq.base().get(rows[0].guesses[0])
        out = resident.taps(first.title)
        assert out[0] == first.text()


def test_unrelated_message_gets_a_kind_fallback_with_the_phone(resident):
    out = resident.says("大樂透下期號碼給我")
    assert OFFICE_PHONE in out[0]


def test_faq_menu_from_the_rich_menu(resident):
    out = resident.deliver(postback_event(resident.user, "action=faq"))
    assert "常問" in out[0]
    labels = resident.labels()
    assert len(labels) <= 13 and "區公所電話" in labels
    out = resident.taps("區公所電話")
    assert OFFICE_PHONE in out[0]


def test_contact_button_and_greeting(resident):
    out = resident.deliver(postback_event(resident.user, "cmd=human"))
    assert OFFICE_PHONE in out[0]
    out = resident.says("早安")
    assert "個資" in out[0] and "左鎮區公所" in out[0]


def test_follow_greeting_tells_what_the_bot_does_and_the_privacy_notice(resident):
    from tests.helpers import follow_event
    out = resident.sends(follow_event(resident.user))
    assert "報修" in out[0] and "個人資料保護法" in out[0] and OFFICE_PHONE in out[0]
    assert {"報修道路路燈", "常見問題", "我的案件"} <= set(resident.labels())


def test_a_clear_question_inside_a_report_asks_before_switching(resident):
    start_pothole_report(resident)
    out = resident.says("調解要去哪裡辦")                       # at the photo step
    assert "先回答" in " ".join(resident.labels()) and "道路報修" in out[0]
    out = resident.taps("先回答我的問題")
    assert "調解" in out[0]
    out = resident.taps("繼續剛才的")
    assert "照片" in out[-1]                                    # the report is still there


def test_free_text_steps_keep_the_text(resident):
    start_pothole_report(resident)
    resident.taps("略過")
    out = resident.says("在調解委員會辦公室前面的坑")          # the description step takes any text
    assert "請確認" in out[-1] and "調解委員會辦公室" in out[-1]


@pytest.mark.parametrize("path", [OWN_SET, SHARED_SET], ids=["own-set", "shared-set"])
def test_routing_accuracy_is_at_least_95_percent(path):
    if not path.exists():
        pytest.skip(f"{path} not present")
    from bot.cli import evaluate
    *rows, summary = list(evaluate(str(path)))
    misses = [(r["text"], r["want"], r["intent"]) for r in rows if not r["ok"]]
    assert summary["intent_accuracy"] >= 0.95, misses
    assert summary["mention_accuracy"] >= 0.9


def test_own_set_is_big_and_clean():
    lines = [json.loads(line) for line in OWN_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(lines) >= 300
    texts = [x["text"] for x in lines]
    assert len(set(texts)) == len(texts)
    for x in lines:
        want = x["intent"] if isinstance(x["intent"], list) else [x["intent"]]
        assert set(want) <= set(nlu.LABELS)


def test_normalisation():
    assert nlu.normalize("路灯坏了！！") == nlu.normalize("路燈壞了")
    assert nlu.normalize("ＡＢＣ　１２３") == "abc123"
    assert nlu.normalize("路登") == nlu.normalize("路燈")


def test_every_answer_is_short_and_gives_a_phone():
    for e in faq.base().entries:
        text = e.text()
        assert len(text) <= 400, e.id
        assert any(ch.isdigit() for ch in text) or "1999" in text, e.id


def test_faq_files_are_valid():
    assert faq.check() == []
    assert len(faq.base().entries) >= 100
