"""The router's table (handlers/router.py): rule names, the message understood once, the two rules
recommended by the NLU work (a programme's FAQ answer offers the screener; a complaint about an
earlier report shows the cases and offers a person), through the webhook where a resident is involved."""
from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from handlers import router
from handlers.flow import Incoming
from services import faq, nlu
from tests.helpers import OFFICE_PHONE, ZUOZHEN_LI, postback_event
from handlers.flow import EmptyContext as Ctx

REF = re.compile(r"R-\d{8}-\d{4}")


def _text(text: str, chat_type: str = "user") -> Incoming:
    return Incoming(kind="text", event_id="e", user_id="U" + "1" * 32, chat_id="C", chat_type=chat_type, text=text)


def test_the_table_is_in_the_documented_order():
    names = [r.name for r in router.RULES]
    order = ["follow", "expired", "flow_changed", "urgent.safety", "media", "command.cancel", "own.disaster",
             "case_lookup.application", "case_lookup.complaint", "case_lookup", "active.new_question", "active.step", "question", "fallback"]
    assert [n for n in names if n in order] == order
    assert names.index("urgent.welfare") < names.index("command.cancel") < names.index("own.dengue")
    assert len(set(names)) == len(names)


def test_the_router_knows_no_step_names():
    source = open(router.__file__, encoding="utf-8").read()
    for step in ("village", "place", "phone", "description", "category", "confirm", "photo", "duplicate"):
        assert f'"{step}"' not in source


def test_a_message_is_classified_once(monkeypatch):
    calls = []
    real = nlu.classify.__wrapped__

    def counting(text):
        calls.append(text)
        return real(text)

    monkeypatch.setattr(nlu, "classify", counting)
    for text in ("我一年前就報了 路還是爛的", "路燈壞了", "我的案件", "低收入戶怎麼申請", "家裡淹水了 有人受傷",
                 "謝謝", "大樂透號碼"):
        calls.clear()
        router.route(None, _text(text), Ctx(), 1_780_000_000.0)
        assert len(calls) <= 1, (text, calls)
    state = router.route(None, _text("我要報修道路坑洞"), Ctx(), 1_780_000_000.0).state
    calls.clear()
    router.route(state, _text("中正里"), Ctx(), 1_780_000_000.0)
    assert len(calls) <= 1


def test_route_json_names_the_rule(app):
    out = CliRunner().invoke(app.cli, ["route", "路燈壞了", "--json"])
    got = json.loads(out.output)
    assert got["rule"] == "question.start" and got["intent"] == "road_report"
    got = json.loads(CliRunner().invoke(app.cli, ["route", "取消", "--json"]).output)
    assert got["rule"] == "command.cancel"


# (a) a programme's FAQ answer offers the screener -------------------------------------------------

def test_a_programme_answer_offers_the_screener(resident):
    out = resident.says("低收入戶怎麼申請")
    assert "低收入戶" in out[0]
    assert resident.labels()[0] == "福利補助試算"
    out = resident.taps("福利補助試算")
    assert resident.labels()                                   # the screener's first question
    assert any("試算" in o or "幫您" in o or "問" in o for o in out)


def test_only_entries_marked_screener_offer_it(resident):
    marked = {e.id for e in faq.base().entries if e.screener}
    assert "social.low_income" in marked and "social.legal_aid" not in marked
    assert all(e.startswith("social.") for e in marked)
    resident.says("想申請調解")                                 # not a welfare programme
    assert "福利補助試算" not in resident.labels()


def test_a_question_after_a_death_gets_the_answer_without_the_screener():
    for text in ("我阿嬤上個月走了 國民年金還會繼續撥嗎", "低收入戶的人過世 喪葬費有補助嗎"):
        out = router.route(None, _text(text), Ctx(), 1_780_000_000.0)
        assert out.meta["intent"] == "faq" and out.state is None
        assert all(q.label != "福利補助試算" for r in out.replies for q in r.quick_replies)


def test_in_a_group_the_screener_button_is_not_offered():
    out = router.route(None, _text("低收入戶怎麼申請", chat_type="group"), Ctx(), 1_780_000_000.0)
    assert "低收入戶" in out.replies[0].text
    assert all(q.label != "福利補助試算" for r in out.replies for q in r.quick_replies)


# (b) a complaint about an earlier report: the cases, and a person -------------------------------

def _files_a_pothole(r) -> str:
    """The resident files a pothole report in the chat; its case number."""
    r.deliver(postback_event(r.user, "flow=road"))
    r.taps("坑洞/路面破損")
    r.sends_location(*ZUOZHEN_LI)
    r.taps("略過")
    r.says("坑洞很大")
    return REF.search(" ".join(r.taps("確認送出"))).group(0)


def test_a_complaint_shows_the_cases_and_offers_a_person(resident):
    r = resident
    ref = _files_a_pothole(r)
    out = r.says("我一年前就報了 路還是爛的")
    assert ref in out[0]                                       # the cases, as 我的案件 shows them
    assert OFFICE_PHONE in out[-1] and "真人" in out[-1] and "等這麼久" in out[-1]
    labels = r.labels()
    assert "真人" in labels and "打電話給區公所" in labels
    button = r.button("打電話給區公所")
    assert button["action"]["uri"] == "tel:065731611"
    out = r.taps("真人")
    assert OFFICE_PHONE in out[0]


def test_a_plain_look_up_is_as_before(resident):
    out = resident.says("我的案件")
    assert len(out) == 1 and "真人" not in out[0]


def test_a_long_complaint_outside_a_conversation_also_offers_a_person(resident):
    out = resident.says("之前跟你們說過的那個水溝 到現在還是沒處理 到底要等多久啦")
    assert OFFICE_PHONE in out[-1] and "真人" in resident.labels()
    # No case in this chat (it was reported by phone, 1999 or the chief): no apology for a wait the
    # bot cannot see, but someone who can look it up.
    assert "沒有查到您報過的案件" in out[-1] and "等這麼久" not in " ".join(out)


# (c) an application made at the office, asked after ------------------------------------------------

def test_an_application_asked_after_gets_who_can_look_it_up_not_the_reports(resident):
    """A subsidy or a certificate is applied for at the office, online or through the village, never
    in this chat: the bot says it cannot see it and gives the person who can (the office phone), with
    the programme's entry as a button; not 「您目前沒有案件紀錄。要報修…」, not the programme's rules."""
    out = resident.says("我上個月申請的育兒津貼 審核好了嗎")
    assert len(out) == 1 and "「育兒津貼」申請的進度" in out[0] and OFFICE_PHONE in out[0]
    assert "要報修" not in out[0]
    labels = resident.labels()
    assert "打電話給區公所" in labels and "育兒津貼" in labels and "真人" in labels
    assert resident.button("打電話給區公所")["action"]["uri"] == "tel:065731611"
    out = resident.taps("育兒津貼")                          # the entry, if that is what they wanted
    assert "育兒津貼" in out[0] and "5,000" in out[0]


def test_an_application_asked_after_with_a_report_made_here_still_names_no_case(resident):
    r = resident
    ref = _files_a_pothole(r)
    out = r.says("阿母的急難救助申請兩個禮拜了 錢怎麼還沒下來")
    assert "「急難救助」申請的進度" in out[0] and ref not in " ".join(out)
    assert r.says("我的案件")[0].count(ref) == 1               # the report is where it was


@pytest.mark.parametrize("text,label", [("老農津貼每個月幾號入帳", "faq"), ("育兒津貼要怎麼申請", "faq"),
                                        ("上禮拜報的路燈修好了沒", "case_status")])
def test_a_programmes_question_or_a_reports_look_up_is_no_application(text, label):
    got = nlu.classify(text)
    assert got.label == label and got.application is None


def test_an_application_asked_after_in_a_group_is_the_same_answer():
    out = router.route(None, _text("補充兵申請沒消息", chat_type="group"), Ctx(), 1_780_000_000.0)
    assert out.rule == "case_lookup.application" and OFFICE_PHONE in out.replies[0].text


def test_a_complaint_in_a_group_shows_no_cases():
    out = router.route(None, _text("我一年前就報了 路還是爛的", chat_type="group"), Ctx(), 1_780_000_000.0)
    assert len(out.replies) == 1 and OFFICE_PHONE not in out.replies[0].text


def test_only_words_interrupt_a_step_resemblance_alone_does_not():
    # 「沒有」 at the photo step: the examples' votes made it a request for a person (it resembles
    # 「有沒有人在」), but no word of it says so; the step takes it (tests/test_road.py).
    from services.nlu import Intent
    road = router.FLOWS["road"]
    by_votes = Intent("human", confidence=1.0, scores={"human": 4.7, "faq": 1.3}, rule_scores={"faq": 0.6})
    by_words = Intent("human", confidence=1.0, scores={"human": 6.0}, rule_scores={"human": 3.0})
    assert not router._clearly_new(road, by_votes)
    assert router._clearly_new(road, by_words)


# (d) thanks for a repair done ------------------------------------------------------------------------

def test_thanks_for_a_repair_done_gets_thanks_and_starts_nothing(resident):
    """「多謝 阮兜頭前彼支路燈閣光矣」 once started a street-light report and asked for its place: a resident
    saying thank you got a form. Now the short thanks, the menu's buttons, and no conversation."""
    out = resident.says("多謝恁 阮兜頭前彼支路燈今仔日閣光矣")
    assert len(out) == 1 and out[0].startswith("不客氣")
    assert "地點" not in out[0]
    out = resident.says("我的案件")                               # nothing was filed, nothing is waiting
    assert out[0].startswith("您目前沒有案件紀錄")
