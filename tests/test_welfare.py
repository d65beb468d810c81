"""Transcripts of families asking about subsidies, end to end: signed webhook -> worker -> fake LINE
server -> (only with a call-back) a W- case; plus the CLI, the staff case page, the digest and the
stale-parameter path."""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil

import pytest
from sqlalchemy import select

from bot.extensions import get_services
from services import digest, retention, staff as staff_service, welfare
from services.models import InboundEvent, OutboundMessage, utcnow
from tests.helpers import OFFICE_PHONE, cases, postback_event

W_REF = re.compile(r"W-\d{8}-\d{4}")
PASSWORD = "correct horse battery staple 42"


def flexes(r) -> list[dict]:
    return [m for m in r.last_messages if m.get("type") == "flex"]


def all_flex_text(flex: dict) -> str:
    out = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "text":
                out.append(node["text"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(flex)
    return "\n".join(out)


def answer_until_result(r, choose: dict[str, str], limit: int = 12) -> int:
    """Tap the named button for each question until the result arrives; return questions asked."""
    asked = 0
    for _ in range(limit):
        if flexes(r):
            return asked
        labels = r.labels()
        pick = next((label for key, label in choose.items() if label in labels), None)
        assert pick is not None, (r.last_messages[-1].get("text"), labels)
        r.taps(pick)
        asked += 1
    raise AssertionError("no result after many answers")


ELDER = {"residence": "戶籍臺南，一個人住", "household": "1人", "income": "15,515元以下",
         "movable": "200萬元以下", "real_estate": "沒有", "care": "需要別人照顧",
         "other": "沒有", "crisis": "沒有", "who": "我自己", "age": "65到79歲"}


def test_menu_tap_for_myself_gets_a_readable_result_and_nothing_is_stored(resident, app, fake_line):
    r = resident
    out = r.deliver(postback_event(r.user, "flow=welfare"))           # the rich-menu button
    assert "不是正式審核" in out[0] and "幫誰問" in out[-1]
    assert r.labels()[:2] == ["我自己", "媽媽"]
    r.taps("我自己")
    assert "您今年幾歲" in r.last_messages[-1]["text"]
    asked = answer_until_result(r, ELDER)
    assert asked <= 8                                                     # 「幫誰問」 does not count
    [flex] = flexes(r)
    assert "不是正式審核" in flex["altText"] and OFFICE_PHONE in flex["altText"]
    carousel = flex["contents"]
    assert carousel["type"] == "carousel" and len(carousel["contents"]) <= 12
    assert len(json.dumps(carousel, ensure_ascii=False).encode()) < 50_000
    for bubble in carousel["contents"]:
        assert len(json.dumps(bubble, ensure_ascii=False).encode()) < 30_000
    text = all_flex_text(carousel)
    # likely programmes first, each with why, what to bring and where; the disclaimer and the phone
    first = carousel["contents"][1]
    assert first["header"]["contents"][0]["text"] == "可能符合"
    assert "要帶什麼" in all_flex_text(first) and "去哪裡辦" in all_flex_text(first)
    assert "中低收入老人生活津貼" in text and "不是正式審核" in text
    buttons = [b for b in carousel["contents"][0]["footer"]["contents"]]
    assert buttons[0]["action"]["type"] == "postback" and len(buttons[0]["action"]["label"]) <= 20
    assert len(buttons[0]["action"]["data"]) <= 300 and buttons[1]["action"]["uri"] == "tel:065731611"
    assert all(len(label) <= 20 for label in r.labels())
    out = r.taps("不用了，謝謝")
    assert "不會保留" in out[-1]
    assert cases(app) == []                                               # no call-back, no case
    with get_services(app).db.session() as s:
        assert all(e.payload is None for e in s.execute(select(InboundEvent)).scalars())
        # once delivered, the result itself is not kept either (the sweeper's rule for every message)
        assert retention.redact_messages(s, now=utcnow() + dt.timedelta(minutes=11)) >= 1
        kept = json.dumps([o.messages for o in s.execute(select(OutboundMessage)).scalars()], ensure_ascii=False)
    assert "符合「" not in kept and "可能符合" not in kept and "中低收入老人生活津貼" not in kept


def test_first_message_facts_skip_questions_and_call_back_opens_a_w_case(resident, app):
    r = resident
    out = r.says("我媽82歲有什麼補助")
    assert "媽媽" in out[0]
    assert "戶籍" in out[-1] and "幾歲" not in out[-1] and "幫誰" not in out[-1]   # age and relation known
    asked = answer_until_result(r, ELDER)
    assert asked <= 8
    text = all_flex_text(flexes(r)[0]["contents"])
    assert "媽媽" in text and "第幾胎" not in text
    # a household of one 82-year-old has no baby: not "to be checked", with that reason
    assert "・育兒津貼（未滿2歲）：家裡一起算的只有1個人，沒有未滿2歲的小孩" in text
    r.taps("請區公所打給我")
    assert "個人資料保護法" in r.last_messages[-1]["text"]
    assert cases(app) == []
    r.taps("同意")
    assert "個人資料保護法" in r.last_messages[-1]["text"] and "手機" in r.last_messages[-1]["text"]
    out = r.says("我的電話 0912 345 678 下午比較方便")           # the number, with a few words around it
    ref = W_REF.search("\n".join(out)).group(0)
    [case] = cases(app)
    assert case.ref == ref and case.kind == "welfare" and case.owner_section == "社會課"
    assert case.phone == "0912-345-678" and case.category == "callback"
    answers = case.answers
    assert set(answers) == {"screening", "facts", "relation", "as_of", "params_version"}
    assert answers["relation"] == "mother" and answers["facts"]["age"] == 82
    assert set(answers["facts"]) <= set(welfare.CASE_FACTS)
    senior = next(x for x in answers["screening"] if x["programme"] == "senior_living_allowance")
    assert senior["outcome"] == "likely_eligible" and any("65歲以上" in x for x in senior["reasons"])
    assert all({"fact", "threshold", "effective_from", "status"} <= set(c) for c in senior["checks"])
    assert "中低收入老人生活津貼" in (case.description or "")
    # staff of 社會課 see the same reasons on the case page
    with get_services(app).db.session() as s:
        staff_service.create(s, "social", "Social", "section", "社會課", password=PASSWORD, must_change=False)
    client = app.test_client()
    html = client.get("/staff/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    client.post("/staff/login", data={"csrf_token": csrf, "username": "social", "password": PASSWORD})
    page = client.get(f"/staff/cases/{ref}").get_data(as_text=True)
    assert 'id="welfare-screening"' in page and senior["reasons"][0] in page and "初步試算" in page


def test_declining_consent_stores_nothing(resident, app):
    r = resident
    r.says("阿嬤九十歲獨居可以領什麼")
    answer_until_result(r, ELDER)
    r.taps("請區公所打給我")
    out = r.taps("不同意")
    assert "沒有留下任何資料" in out[-1] and OFFICE_PHONE in out[-1]
    assert cases(app) == []


def test_typed_answers_and_ranges(resident, app):
    r = resident
    r.deliver(postback_event(r.user, "flow=welfare"))
    r.says("自己")
    r.says("八十五歲")
    out = r.says("1")                             # no numbers on the buttons: not "option 1"
    assert "戶籍" in out[-1] and "住在哪裡" in out[-1] and "戶籍臺南，一個人住" in r.labels()
    r.says("一個人住")
    out = r.says("2")                             # two people
    assert "這2人" in out[-1] and "31,030元以下" in r.labels()
    out = r.says("3萬")
    assert "存款" in out[-1]


def test_stale_parameters_never_say_likely_and_staff_are_told(resident, app, tmp_path, monkeypatch):
    stale = tmp_path / "welfare"
    shutil.copytree(welfare.PARAMS_DIR, stale)
    for path in stale.glob("*.yaml"):
        path.write_text(path.read_text(encoding="utf-8").replace("verified_on: 2026-11-27", "verified_on: 2025-06-01"),
                        encoding="utf-8")
    monkeypatch.setattr(welfare.params, "PARAMS_DIR", stale)  # where parameter_files looks
    r = resident
    r.says("我爸80歲有什麼補助")
    answer_until_result(r, ELDER)
    carousel = flexes(r)[0]["contents"]
    text = all_flex_text(carousel)
    assert "還沒確認" in text and OFFICE_PHONE in text
    headers = [b.get("header", {}).get("contents", [{}])[0].get("text") for b in carousel["contents"]]
    assert "可能符合" not in headers
    notice = digest.welfare_notice(dt.date(2026, 11, 27))
    assert notice and "福利試算" in notice
    from bot import jobs
    assert any("福利試算" in x for x in jobs.build_digest(get_services(app)))


def test_a_named_service_question_gets_its_answer_with_a_screening_button(resident):
    r = resident
    out = r.says("中低收入老人生活津貼的資格")
    assert "183" in out[-1] or "65" in out[-1]
    assert "福利補助試算" in r.labels()


def _screen_cli(app, tmp_path, facts_text: str, *more: str) -> dict[str, dict]:
    """`flask --app app welfare-screen --facts FILE --json`, by programme."""
    facts = tmp_path / "facts.yaml"
    facts.write_text(facts_text, encoding="utf-8")
    res = app.test_cli_runner().invoke(args=["welfare-screen", "--facts", str(facts), *more, "--json"])
    assert res.exit_code == 0, res.output
    return {x["programme"]: x for x in json.loads(res.output)}


def test_cli_prints_every_programme(app, tmp_path):
    rows = _screen_cli(app, tmp_path, "age: 84\nhousehold_size: 1\nhousehold_monthly_income: 10000\n",
                       "--as-of", "2026-03-01")
    assert list(rows) == list(welfare.PROGRAMMES)
    for x in rows.values():
        assert set(x) == {"programme", "outcome", "amount", "reasons", "params_version"}
        assert x["outcome"] in welfare.OUTCOMES
    res = app.test_cli_runner().invoke(args=["welfare-screen", "--facts", str(tmp_path / "facts.yaml"),
                                             "--as-of", "2026-13-01"])
    assert res.exit_code != 0


ELDER_FACTS = ("age: 72\nregistered_in_tainan: true\ndays_in_taiwan_last_year: 365\nhousehold_size: 2\n"
               "household_monthly_income: 20000\nhousehold_movable_assets: 300000\nhousehold_real_estate: 1500000\n")


@pytest.mark.parametrize("as_of", ["2026-03-01", None])
def test_cli_an_elder_on_another_allowance_is_never_likely_for_the_senior_allowance(app, tmp_path, as_of):
    """Done-when of issue 12: 老農津貼 and the senior allowance cannot be drawn together."""
    more = ("--as-of", as_of) if as_of else ()
    rows = _screen_cli(app, tmp_path, ELDER_FACTS + "in_institution: false\nreceives_other_allowance: true\n", *more)
    senior = rows["senior_living_allowance"]
    assert senior["outcome"] != "likely_eligible" and senior["amount"] is None
    assert any("老農津貼" in x and "只能選一種" in x for x in senior["reasons"])
    # the same elder without another allowance is likely (so the check is what decides)
    rows = _screen_cli(app, tmp_path, ELDER_FACTS + "in_institution: false\nreceives_other_allowance: false\n",
                       *more)
    assert rows["senior_living_allowance"]["outcome"] == "likely_eligible"


def test_cli_living_in_an_institution_alone_never_excludes_the_basic_pension(app, tmp_path):
    """Done-when of issue 12: in_institution without publicly_funded_placement is never not_eligible."""
    base = "age: 90\ndays_in_taiwan_last_year: 365\nreceives_other_allowance: false\n" \
           "annual_personal_income: 0\nhousehold_real_estate: 0\nin_institution: true\n"
    for as_of in ("2026-03-01", "2026-11-27"):
        pension = _screen_cli(app, tmp_path, base, "--as-of", as_of)["national_pension_basic_guarantee"]
        assert pension["outcome"] == "needs_review", pension
        assert any("全額補助安置" in x for x in pension["reasons"])
    assert _screen_cli(app, tmp_path, base + "publicly_funded_placement: false\n", "--as-of", "2026-03-01")[
        "national_pension_basic_guarantee"]["outcome"] == "likely_eligible"
    assert _screen_cli(app, tmp_path, base + "publicly_funded_placement: true\n", "--as-of", "2026-03-01")[
        "national_pension_basic_guarantee"]["outcome"] == "not_eligible"


# -- acceptance findings -----------------------------------------------------------------------------

def card_titles(carousel: dict) -> list[str]:
    return [b["header"]["contents"][-1]["text"] if len(b["header"]["contents"]) == 1
            else b["header"]["contents"][0]["text"] for b in carousel["contents"] if b.get("header")]


def test_an_injury_or_illness_now_gets_119_first_never_the_quiz(resident):
    r = resident
    out = r.says("我阿嬤在家跌倒受傷了怎麼辦")
    assert "119" in out[0] and "急診" in out[0]
    assert "1966" in out[-1] and OFFICE_PHONE in out[-1] and "阿嬤" in out[-1]
    assert not any("幾歲" in x or "幫誰問" in x for x in out)
    assert {"打 119", "長照專線 1966", "福利補助試算"} <= set(r.labels())
    assert r.button("打 119")["action"]["uri"] == "tel:119"
    out = r.says("我爸中風了怎麼辦")
    assert "119" in out[0] and not any("幾歲" in x for x in out)
    # only then, gently, the screener — when the family asks for it
    out = r.taps("福利補助試算")
    assert "幫誰問" in out[-1]
    # inside the screener: 119 first, and the answers are kept
    r.taps("媽媽")
    out = r.says("我媽突然胸痛喘不過氣")
    assert "119" in out[0] and "繼續剛才的" in r.labels()
    out = r.taps("繼續剛才的")
    assert "媽媽今年幾歲" in out[-1]


def test_past_illness_dengue_signs_and_trapped_people_are_not_this_hook(resident):
    r = resident
    out = r.says("我媽以前中風過，有什麼補助")
    assert "119" not in "".join(out) and "媽媽" in out[0]                  # the screener
    r.says("取消")
    out = r.says("我爸以前中風過，現在行動不便，有什麼補助")
    assert "急診" not in "".join(out) and "長照專線" not in "".join(out)   # not an emergency
    out = r.says("發燒又一直吐")
    assert "119" in "".join(out) and "1966" not in "".join(out)          # dengue's own warning
    out = r.says("有人被困在車裡")
    assert "119" in "".join(out) and "1966" not in "".join(out)          # disaster's own answer


@pytest.mark.parametrize("text", [
    "阿公中風以後都躺在床上 家裡有什麼補助或幫忙嗎",            # a lasting condition
    "我爸中風 補助",                                              # a family asking what help there is
    "阿嬤上禮拜跌倒開刀 出院後走不太動 要找長照打幾號",            # past, and a question
    "弟弟在當兵，上個月爸爸突然中風，家裡只剩媽媽顧，可以申請提早退伍嗎",
])
def test_a_family_asking_for_help_after_a_stroke_or_fall_is_not_told_to_call_119_now(text):
    from handlers.welfare import is_emergency
    assert not is_emergency(text)
    from bot.cli import understand
    assert "請「現在」就打" not in understand(text)["reply"]


def test_an_acute_fall_or_stroke_is_still_an_emergency_labelled_for_people():
    from handlers.welfare import is_emergency
    from bot.cli import understand
    for text in ("阿嬤剛剛在浴室跌倒了", "我爸中風了怎麼辦"):
        assert is_emergency(text)
        got = understand(text)
        assert got["reply"].startswith("⚠️") and "119" in got["reply"].splitlines()[0]
        assert got["intent"] == "human"
    # someone hurt at a pothole: the report with its 119 line, not a family's emergency at home
    got = understand("路上有個大坑洞 剛剛有人騎車摔倒 頭在流血")
    assert got["intent"] == "road_report" and got["reply"].splitlines()[0].count("119") == 1


YOUNG_FAMILY = {"residence": "戶籍臺南，和家人住", "household": "3人", "income": "46,546～69,819元",
                "children": "有，第2胎", "order": "第2胎", "newborn": "是", "age": "30到39歲",
                "special": "不是", "crisis": "沒有", "movable": "250萬元以下", "real_estate": "沒有",
                "care": "可以自己照顧自己", "age_self": "38"}


def test_a_newborn_family_gets_the_baby_programmes_and_senior_ones_in_one_line(resident):
    r = resident
    out = r.says("我剛生小孩有什麼補助")
    assert "您" in out[0] and "孩子今年幾歲" not in out[-1] and "戶籍" in out[-1]
    asked = answer_until_result(r, YOUNG_FAMILY)
    assert asked <= 8
    carousel = flexes(r)[0]["contents"]
    text = all_flex_text(carousel)
    assert "育兒津貼" in text and "臺南市生育獎勵金" in text and "可能符合 0 項" not in text
    assert "不一一列出" in text
    assert "・中低收入老人生活津貼：" not in text and "・重陽敬老禮金：" not in text
    # a child asked about: a child's age buttons, and 「剛出生」 is an age
    r.says("取消")
    out = r.says("幫我的小孩問有什麼補助")
    assert "孩子今年幾歲" in out[-1] and "例如 5" in out[-1]
    assert "未滿2歲" in r.labels() and "100歲以上" not in r.labels()
    out = r.says("剛出生")
    assert "戶籍" in out[-1]


def test_asking_for_oneself_at_38_asks_the_baby_crisis_and_single_parent_questions(resident):
    r = resident
    r.deliver(postback_event(r.user, "flow=welfare"))
    r.taps("我自己")
    r.says("38")
    seen = []
    for answer in ("和家人住", "4", "8萬", "有，第2胎"):
        out = r.says(answer)
        seen.append(out[-1])
    for _ in range(6):
        if flexes(r):
            break
        seen.append(r.last_messages[-1]["text"])
        labels = r.labels()
        r.taps("是" if "60天" in seen[-1] else "沒有" if "沒有" in labels else "不是" if "不是" in labels
               else labels[0])
    questions = "\n".join(seen)
    assert "60天" in questions and "突然的困難" in questions and "單親" in questions
    carousel = flexes(r)[0]["contents"]
    summary = all_flex_text(carousel["contents"][0])
    titles = card_titles(carousel)
    # the counts on the summary and the cards agree
    for title, key in (("可能符合", "likely"), ("請區公所確認", "review")):
        m = re.search(title + r" (\d+) 項", summary)
        n = titles.count(title)
        assert (int(m.group(1)) if m else 0) == n, (summary, titles)
    for extra in ("有需要再問", "看起來不符合"):
        m = re.search(extra + r" (\d+) 項", summary)
        if m:
            assert f"{extra} {m.group(1)} 項" in titles


def test_typed_answers_are_understood_and_a_refusal_repeats_the_question(resident):
    r = resident
    r.says("我媽82歲有什麼補助")
    out = r.says("2")                               # two people, typed on the residence question
    assert "住在哪裡" in out[-1] and "戶籍臺南，和家人住" in r.labels()
    out = r.says("跟我們住")
    assert "幾個人" in out[-1]
    assert "119" not in " ".join(out)             # a step's answer is no call for help
    out = r.says("我跟我哥跟媽媽三個")
    assert "這3人" in out[-1]
    labels = r.labels()
    out = r.says("差不多8萬")
    assert "存款" in out[-1] or "身體" in out[-1]
    # amounts: one format per label, no half 元
    for label in labels:
        assert not ("," in label and "萬" in label), label
    r.says("取消")
    r.says("阿公85歲")
    r.says("戶籍臺南，和家人住")
    out = r.says("兩個人")
    assert "這2人" in out[-1]


def test_amounts_said_loosely_are_ranges():
    from handlers.welfare import amount_fact
    assert amount_fact("8萬") == 80000 and amount_fact("3萬5") == 35000 and amount_fact("8萬而已") == 80000
    assert amount_fact("大概8萬") == {"min": 72000, "max": 88000} == amount_fact("8萬左右")
    assert amount_fact("8萬多") == {"min": 80000, "max": 89999}
    assert amount_fact("8萬以下") == {"min": 0, "max": 80000}
    assert amount_fact("將近8萬") == {"min": 72000, "max": 80000}
    assert amount_fact("差不多46,000元") == {"min": 41400, "max": 50600}
    assert amount_fact("很多") is None


def _income_typed(r, typed: str) -> str:
    """The elder's screening with the income typed instead of tapped; the result's text."""
    r.says("我自己有什麼補助")
    for _ in range(12):
        if flexes(r):
            return "\n".join(all_flex_text(f) for f in flexes(r))
        if "收入" in r.last_messages[-1].get("text", ""):
            r.says(typed)
            continue
        labels = r.labels()
        pick = next(label for key, label in ELDER.items() if key != "income" and label in labels)
        r.taps(pick)
    raise AssertionError("no result")


def test_a_phone_number_on_an_amount_question_is_asked_again(resident):
    r = resident
    r.says("我自己有什麼補助")
    for _ in range(12):
        text = r.last_messages[-1].get("text", "")
        if "存款" in text:
            break
        labels = r.labels()
        r.taps(next(label for key, label in ELDER.items() if label in labels))
    else:
        raise AssertionError("the deposits question was not asked")
    out = r.says("0912345678")                                      # typed on the wrong question
    assert "存款" in out[-1] and not flexes(r)


def test_a_loose_amount_near_a_line_is_for_the_office_to_check(resident):
    """「大概1萬5」 for one person is 13,500-16,500: it straddles the low-income line of 15,515, so
    the screener does not say "likely" on it; 「1萬」 is clearly under the line."""
    r = resident
    loose = _income_typed(r, "大概1萬5")
    assert "您回答的範圍（每人13,500～16,500元" in loose and "跨過「每人15,515元以下」" in loose
    r.says("取消")
    clear = _income_typed(r, "1萬")
    assert "每人10,000元" in clear and "您回答的範圍" not in clear


def test_reasons_compare_per_person_with_per_person(resident):
    r = resident
    r.says("我爸80歲有什麼補助")
    answer_until_result(r, {**ELDER, "household": "3人", "income": "46,545元以下", "movable": "250萬元以下"})
    text = all_flex_text(flexes(r)[0]["contents"])
    assert ".5元" not in text and "每人15,515元以下（全家46,545元以下，3人）" in text
    assert "符合「每人約38,787元以下」" in text and "3人合計" in text


# -- issue 12: welfare rules ---------------------------------------------------------------------------

def test_the_old_name_keng_lao_leads_to_the_basic_guaranteed_pension(resident):
    """「敬老(生活)津貼」 is the former name of 國民年金老年基本保證年金, not 中低收入老人生活津貼
    (and not the 重陽 gift)."""
    r = resident
    for text in ("敬老津貼", "敬老生活津貼", "我媽有領敬老津貼嗎"):
        out = r.says(text)
        assert "老年基本保證年金" in out[-1] and "以前叫「敬老生活津貼」" in out[-1], (text, out)
        assert "重陽" not in out[-1]
    out = r.says("中低收入老人生活津貼的資格")
    assert "每月自動加發500元" in out[-1] and "2027年1月" in out[-1] and "老農津貼" in out[-1]


def test_an_elder_on_the_farmers_allowance_is_asked_and_never_told_likely_for_the_senior_allowance(resident):
    """The chat asks about 老農津貼 and the like in words a son or daughter can answer (有 / 沒有 /
    不知道); 「有」 keeps the senior allowance out of 「可能符合」 and says one or the other. What to
    bring is told only from a source; otherwise the office phone."""
    r = resident
    r.says("我爸75歲有什麼補助")
    seen = []
    for _ in range(12):
        if flexes(r):
            break
        text = r.last_messages[-1].get("text", "")
        seen.append(text)
        if "老農津貼" in text:
            assert "榮民就養金" in text and "每月的津貼" in text and "爸爸" in text
            assert r.labels()[:3] == ["有", "沒有", "不知道"]
            r.taps("有")
            continue
        labels = r.labels()
        r.taps(next(label for label in ELDER.values() if label in labels))
    else:
        raise AssertionError("no result")
    assert any("老農津貼" in x for x in seen)                      # asked, within the 8 questions
    assert len(seen) <= 8
    carousel = flexes(r)[0]["contents"]
    likely = [b for b in carousel["contents"][1:] if b.get("header")
              and b["header"]["contents"][0]["text"] == "可能符合"]
    assert not any("中低收入老人生活津貼" in all_flex_text(b) for b in likely)
    senior = next(b for b in carousel["contents"] if b.get("header")
                  and b["header"]["contents"][-1]["text"] == "中低收入老人生活津貼")
    text = all_flex_text(senior)
    assert "只能選一種" in text and "8,329" not in text
    # 長照 (needing care, 75): likely, but no list of documents without a source: the phone
    ltc = next(b for b in carousel["contents"] if b.get("header")
               and b["header"]["contents"][-1]["text"] == "長期照顧服務（長照）")
    assert "請先打電話確認要帶的文件：區公所 06-5731611" in all_flex_text(ltc)
    assert "健保卡" not in all_flex_text(carousel)


def test_a_nursing_home_the_family_pays_for_does_not_exclude_the_basic_pension(resident):
    r = resident
    r.says("阿公90歲有什麼補助")
    out = r.says("住護理之家，自費的")
    assert "幾個人" in out[-1]
    answer_until_result(r, ELDER)
    carousel = flexes(r)[0]["contents"]
    rest = carousel["contents"][-1]
    assert "國民年金老年基本保證年金：" not in all_flex_text(rest)       # not in 「看起來不符合」
    assert "老年基本保證年金" in all_flex_text(carousel)
