"""Disaster reports, end to end through the signed webhook, the worker and the fake LINE server:
a resident and a verified chief report, people in danger get 119 first, the staff group hears of
every new report, the bot keeps its manners in a chiefs' group, and the disaster mode switches the
greeting and the rich menu and asks every bound chief to check in."""
from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from bot.extensions import get_services
from services import knowledge
from services.disaster.models import ChiefCheckin, DisasterPeriod, DisasterReport
from services.models import AuditLog, OutboundMessage, Submission
from tests.conftest import make_app
from tests.helpers import (OFFICE_PHONE, Resident, cases, first_line, follow_event, group_id, group_image_event,
                           group_postback_event, group_text_event, postback_event)
from tests.test_chiefs import issue
from tests.staff_helpers import make_staff, post, signed_in

STAFF_GROUP = "C" + "5" * 32
BASE = "https://zuozhen-bot.example"
REF = re.compile(r"S-\d{8}-\d{4}")
ASKS = {step: first_line(f"disaster.{step}.ask")      # what each step asks, as the messages say it
        for step in ("category", "people", "trapped_count", "place", "village", "passable", "water_depth",
                     "households", "photo")}
ASKS["village_with_place"] = knowledge.raw("disaster.village.ask_with_place").splitlines()[1]  # after 「地點：…」
GANGLIN = (23.0250, 120.4250)


@pytest.fixture
def app(db_url, redis_url, fake_line, tmp_path):
    app = make_app(db_url, redis_url, fake_line, tmp_path, STAFF_GROUP_ID=STAFF_GROUP, PUBLIC_BASE_URL=BASE)
    yield app
    get_services(app).close()


def report_of(app, ref) -> DisasterReport:
    with get_services(app).db.session() as s:
        sub = s.execute(select(Submission).where(Submission.ref == ref)).scalar_one()
        return s.get(DisasterReport, sub.id)


def to_group(fake_line, group=STAFF_GROUP) -> list[str]:
    return [m["message"].get("text", "") for m in fake_line.store.sent(to=group)]


def chief_of(app, fake_line, village="岡林里") -> Resident:
    chief = Resident(app, fake_line.store)
    assert "綁定完成" in chief.says(f"綁定 {issue(app, village)}")[0]
    return chief


def test_a_resident_reports_a_road_cut_and_the_staff_group_hears_at_once(resident, app, fake_line):
    r = resident
    out = r.deliver(postback_event(r.user, "flow=disaster"))               # the rich-menu tap
    assert ASKS["category"] in out[-1]
    assert r.labels()[:10] == ["道路/橋梁受損", "淹水", "坍方/土石流", "倒樹", "停電", "停水", "通訊中斷",
                               "房屋受損", "人員受困/受傷", "其他"]
    out = r.taps("坍方/土石流")
    assert ASKS["people"] in out[-1]
    out = r.taps("都沒有")
    assert ASKS["place"] in out[-1] and r.buttons()[0]["action"]["type"] == "location"
    out = r.says("南171線 岡林里 活動中心旁")
    assert ASKS["passable"] in out[-1]
    r.taps("完全不能通行")
    r.taps("2 到 5 戶")
    out = r.taps("不需要")
    assert ASKS["photo"] in out[-1]
    r.sends_photo()
    out = r.says("整片山坡滑下來，路完全被土石蓋住")
    assert "完全不能通行" in out[-1] and "岡林里" in out[-1] and "1 張" in out[-1]
    assert to_group(fake_line) == [] and cases(app, "disaster") == []      # nothing before confirming
    out = r.taps("確認送出")
    ref = REF.search(out[0]).group(0)
    assert "里長" not in out[0]
    [case] = cases(app, "disaster")
    assert case.ref == ref and case.category == "landslide" and case.village == "岡林里"
    assert case.owner_section == "民政及人文課" and case.phone is None
    rep = report_of(app, ref)
    assert rep.verified is False and rep.passable == "no" and rep.severity == "high" and rep.households == 2
    [alert] = to_group(fake_line)
    assert ref in alert and "坍方/土石流" in alert and "嚴重" in alert and "完全不能通行" in alert
    assert f"{BASE}/staff/cases/{ref}" in alert
    assert r.user not in alert
    push = [q for q in fake_line.store.requests if q.path == "/v2/bot/message/push"][-1]
    assert push.json["to"] == STAFF_GROUP and push.headers.get("x-line-retry-key")


def test_people_in_danger_get_119_before_any_question(resident, app, fake_line):
    out = resident.says("救命！有人被土石流困住了")
    assert "119" in out[0] and "打完電話" in out[0]
    assert ASKS["trapped_count"] in out[-1]                                           # the first question comes after
    out = resident.taps("1 人")
    assert ASKS["place"] in out[-1]
    resident.sends_location(*GANGLIN)
    resident.taps("完全不能通行")
    resident.taps("1 戶")
    resident.taps("需要撤離")
    out = resident.taps("略過")                                               # the first message is the description
    assert "受困 1 人" in out[-1] and "有人被土石流困住了" in out[-1]
    out = resident.taps("確認送出")
    ref = REF.search(out[0]).group(0)
    rep = report_of(app, ref)
    assert rep.trapped == 1 and rep.severity == "critical" and rep.evacuation == "needed"
    assert cases(app, "disaster")[0].danger is True and cases(app, "disaster")[0].lat == pytest.approx(GANGLIN[0])
    assert "緊急" in to_group(fake_line)[0]


def test_trapped_someone_in_another_conversation_gets_119_too(resident):
    resident.says("路燈壞了")
    out = resident.says("有人被困在車裡")
    assert "119" in out[0] and "通報災情" in resident.labels()


def test_a_bound_chief_reports_verified_on_behalf_of_a_resident_and_goes_to_the_top(app, fake_line):
    resident = Resident(app, fake_line.store)
    resident.says("淹水了")
    resident.taps("都沒有")
    resident.says("岡林里活動中心前面")
    for label in ("膝蓋（約50公分）", "可以通行", "1 戶", "不需要", "略過"):
        resident.taps(label)
    resident.taps("略過")
    resident.taps("確認送出")

    chief = chief_of(app, fake_line)
    out = chief.deliver(postback_event(chief.user, "flow=disaster"))
    chief.taps("倒樹")
    chief.taps("都沒有")
    out = chief.says("產業道路往山上那段")                                  # no village named: the chief's own
    assert ASKS["passable"] in out[-1]
    chief.taps("只能單線或機車")
    chief.taps("略過")
    out = chief.says("竹子倒在路中間")
    assert "幫里民通報" in chief.labels()
    out = chief.taps("幫里民通報")
    assert "請先問過他同意" in out[-1]
    out = chief.says("0912345678")
    assert "幫里民通報" in out[-1] and "0912-345-678" in out[-1]
    out = chief.taps("確認送出")
    assert "里長／里幹事查報" in out[0]
    ref = REF.search(out[0]).group(0)
    rep = report_of(app, ref)
    assert rep.verified and rep.reporter_village == "岡林里" and rep.reporter_role == "chief" and rep.on_behalf
    case = next(c for c in cases(app, "disaster") if c.ref == ref)
    assert case.village == "岡林里" and case.phone == "0912-345-678"
    alerts = to_group(fake_line)
    assert len(alerts) == 2 and "岡林里里長查報" in alerts[1] and "0912" not in alerts[1]

    make_staff(app, "eoc", "eoc")
    board = signed_in(app, "eoc").get("/staff/disaster/board.json").get_json()
    assert board["cases"][0]["ref"] == ref and board["cases"][0]["verified"] is True  # verified first


def test_group_etiquette_silent_unless_mentioned_and_answers_by_quoting(app, fake_line):
    group = group_id()
    chief = chief_of(app, fake_line)
    neighbour = Resident(app, fake_line.store)
    store = fake_line.store

    chief.deliver(group_text_event(chief.user, group, "今天雨好大", mention=False))
    neighbour.deliver(group_image_event(neighbour.user, group))            # a photo shared in the group
    assert store.sent(to=group) == []                                        # not called: silent

    ev = group_text_event(chief.user, group, "回報災情")
    chief.deliver(ev)
    said = store.sent(to=group)
    assert len(said) == 1 and "哪一種災情" in said[0]["message"]["text"]
    reply = [q for q in store.requests if q.path == "/v2/bot/message/reply"][-1]
    assert reply.json["messages"][0]["quoteToken"] == ev["message"]["quoteToken"]

    neighbour.deliver(group_postback_event(neighbour.user, group, "flow=disaster&step=category&value=flood"))
    assert len(store.sent(to=group)) == 1                                    # someone else's button: silent

    chief.deliver(group_postback_event(chief.user, group, "flow=disaster&step=category&value=tree"))
    chief.deliver(group_postback_event(chief.user, group, "flow=disaster&step=people&value=none"))
    text = store.sent(to=group)[-1]["message"]["text"]
    assert "地點" in text and "@我" in text                                  # typed answers need a mention
    chief.deliver(group_text_event(chief.user, group, "南168線 12K", mention=False))
    assert "地點" in store.sent(to=group)[-1]["message"]["text"]            # unmentioned: not taken
    n = len(store.sent(to=group))
    chief.deliver(group_text_event(chief.user, group, "南168線 12K"))
    assert len(store.sent(to=group)) == n + 1
    assert "車子還能通過" in store.sent(to=group)[-1]["message"]["text"]
    chief.deliver(group_postback_event(chief.user, group, "flow=disaster&step=passable&value=no"))
    chief.deliver(group_postback_event(chief.user, group, "flow=disaster&step=photo&value=skip"))
    chief.deliver(group_postback_event(chief.user, group, "flow=disaster&step=description&value=skip"))
    chief.deliver(group_postback_event(chief.user, group, "flow=disaster&step=behalf&value=self"))
    last = store.sent(to=group)[-1]["message"]
    labels = [i["action"]["label"] for i in last["quickReply"]["items"]]
    assert "確認送出" in labels and "留電話" not in labels                     # no phone numbers in a group
    chief.deliver(group_postback_event(chief.user, group, "flow=disaster&step=confirm&value=yes"))
    assert REF.search(store.sent(to=group)[-1]["message"]["text"])
    [case] = cases(app, "disaster")
    assert case.chat_id == group and case.village == "岡林里" and case.place_text == "南168線 12K"
    assert report_of(app, case.ref).verified


def test_two_chiefs_in_one_group_do_not_mix(app, fake_line):
    group = group_id()
    a, b = chief_of(app, fake_line, "岡林里"), chief_of(app, fake_line, "草山里")
    a.deliver(group_text_event(a.user, group, "回報災情"))
    a.deliver(group_postback_event(a.user, group, "flow=disaster&step=category&value=power"))
    b.deliver(group_text_event(b.user, group, "停水了"))
    svc = get_services(app)
    assert svc.state.load(group, a.user)["answers"]["category"] == "power"
    assert svc.state.load(group, b.user)["answers"]["category"] == "water"


# Longer than 50 lines on purpose: one transcript, told in order from start to end.
def test_disaster_mode_on_and_off_with_check_ins(app, fake_line):
    store = fake_line.store
    ganglin, caoshan = chief_of(app, fake_line, "岡林里"), chief_of(app, fake_line, "草山里")
    make_staff(app, "admin", "admin")
    make_staff(app, "eoc", "eoc")
    eoc = signed_in(app, "eoc")
    assert post(eoc, "/staff/disaster/mode", {"on": "1"}, page="/staff/disaster").status_code == 404

    admin = signed_in(app, "admin")
    assert admin.post("/staff/disaster/mode", data={"on": "1"}).status_code == 400   # no CSRF token
    resp = post(admin, "/staff/disaster/mode", {"on": "1", "name": "凱米颱風"}, page="/staff/disaster")
    assert resp.status_code == 302
    ganglin.run_worker()                                                     # the check-ins are sent
    for chief in (ganglin, caoshan):
        [msg] = chief.new_messages()
        assert msg["via"] == "push" and "凱米颱風" in msg["message"]["text"]
        labels = [i["action"]["label"] for i in msg["message"]["quickReply"]["items"]]
        assert labels == ["回報災情", "平安"]
    with get_services(app).db.session() as s:
        period = s.execute(select(DisasterPeriod)).scalar_one()
        keys = {o.to: o.retry_key for o in s.execute(select(OutboundMessage).where(OutboundMessage.kind == "checkin"))
                .scalars()}
    ns = uuid.UUID("3b0e7f5c-1f5e-4c8e-9a55-6d2f4f1b7a20")
    assert keys == {c.user: str(uuid.uuid5(ns, f"checkin:{period.id}:{c.user}")) for c in (ganglin, caoshan)}
    pushed_keys = {q.json["to"]: q.headers["x-line-retry-key"] for q in store.requests
                   if q.path == "/v2/bot/message/push" and q.json["to"] in keys}
    assert pushed_keys == keys
    menu = store.rich_menus[store.default_rich_menu]["menu"]
    assert menu["name"] == "disaster-v1" and menu["areas"][0]["action"]["data"] == "flow=disaster"

    resident = Resident(app, store)
    out = resident.deliver(follow_event(resident.user))
    assert "災害應變中" in out[0] and "119" in out[0]
    assert resident.labels()[:3] == ["通報災情", "避難與沙包", "緊急電話"]
    out = resident.taps("避難與沙包")
    assert OFFICE_PHONE in out[0] and "可能已經變更" in out[0]
    out = resident.says("平安")
    assert "謝謝您報平安" in out[0]                                        # not a chief: nothing recorded

    out = ganglin.taps("平安")
    assert "岡林里平安" in out[0]
    board = signed_in(app, "eoc").get("/staff/disaster/board.json").get_json()
    rows = {v["village"]: v for v in board["villages"]}
    assert len(rows) == 10 and board["mode_on"] is True
    assert rows["岡林里"]["status"] == "safe" and rows["岡林里"]["at"]
    assert rows["草山里"]["status"] == "none" and rows["草山里"]["status_label"] == "未回報"

    caoshan.taps("回報災情")
    caoshan.taps("停電")
    caoshan.taps("都沒有")
    caoshan.says("草山里74號附近")
    caoshan.taps("6 到 20 戶")
    caoshan.taps("略過")
    caoshan.taps("略過")
    caoshan.taps("我自己看到的")
    caoshan.taps("確認送出")
    board = signed_in(app, "eoc").get("/staff/disaster/board.json").get_json()
    rows = {v["village"]: v for v in board["villages"]}
    assert rows["草山里"]["status"] == "damage" and rows["草山里"]["open_cases"] == 1

    resp = post(admin, "/staff/disaster/mode", {"on": "1"}, page="/staff/disaster")   # twice: nothing new
    ganglin.run_worker()
    assert ganglin.new_messages() == []
    resp = post(admin, "/staff/disaster/mode", {"on": "0"}, page="/staff/disaster")
    assert resp.status_code == 302
    menu = store.rich_menus[store.default_rich_menu]["menu"]
    assert menu["name"] == "main-v1"
    out = resident.deliver(follow_event(resident.user))
    assert "災害應變中" not in out[0] and "LINE 小幫手" in out[0]
    out = ganglin.says("平安")
    assert "目前沒有進行災情查報" in out[0]
    with get_services(app).db.session() as s:
        period = s.execute(select(DisasterPeriod)).scalar_one()
        assert period.started_at and period.ended_at and period.started_by and period.ended_by
        modes = [a.detail for a in s.execute(select(AuditLog).where(AuditLog.action == "disaster_mode")
                                              .order_by(AuditLog.id)).scalars()]
        assert modes == [f"on period {period.id} checkins=2", f"off period {period.id}"]
        assert len(s.execute(select(ChiefCheckin)).scalars().all()) == 2


def test_no_staff_group_configured_means_no_push(db_url, redis_url, fake_line, tmp_path):
    app = make_app(db_url, redis_url, fake_line, tmp_path)
    try:
        r = Resident(app, fake_line.store)
        r.says("村子停電停水了")
        r.taps("都沒有")
        r.says("左鎮里")
        r.taps("1 戶")
        r.taps("略過")
        out = r.taps("確認送出")
        assert REF.search(out[0])
        assert [q for q in fake_line.store.requests if q.path == "/v2/bot/message/push"] == []
    finally:
        get_services(app).close()


# -- acceptance-run findings -------------------------------------------------------------------------

def mode(app, on: bool, name: str = "") -> None:
    if not _has_staff(app, "admin"):
        make_staff(app, "admin", "admin")
    resp = post(signed_in(app, "admin"), "/staff/disaster/mode", {"on": "1" if on else "0", "name": name},
                page="/staff/disaster")
    assert resp.status_code == 302


def _has_staff(app, username) -> bool:
    from services.models import Staff
    with get_services(app).db.session() as s:
        return s.execute(select(Staff).where(Staff.username == username)).scalar_one_or_none() is not None


def board_rows(app) -> dict:
    if not _has_staff(app, "eoc"):
        make_staff(app, "eoc", "eoc")
    board = signed_in(app, "eoc").get("/staff/disaster/board.json").get_json()
    return {v["village"]: v for v in board["villages"]}


def test_safe_from_a_chief_with_an_open_report_keeps_the_village_damaged(app, fake_line):
    chief = chief_of(app, fake_line)
    chief.deliver(postback_event(chief.user, "flow=disaster"))               # before the disaster mode
    chief.taps("倒樹")
    chief.taps("都沒有")
    chief.says("產業道路往山上那段")
    chief.taps("完全不能通行")
    chief.taps("略過")
    chief.says("大樹倒在路中間")
    chief.taps("我自己看到的")
    out = chief.taps("確認送出")
    ref = REF.search(out[0]).group(0)
    assert "上班時間" in out[0] and "119" in out[0] and "應變中心" not in out[0]   # the mode is off
    assert report_of(app, ref).severity == "high"

    mode(app, True, "凱米颱風")                                              # a minute later
    chief.run_worker()
    [push] = chief.new_messages()
    assert "凱米颱風" in push["message"]["text"]
    out = chief.taps("平安")
    assert ref in out[0] and "還在處理中" in out[0] and "沒有新的災情" in out[0] and "岡林里平安" not in out[0]
    assert "回報災情" in chief.labels()
    with get_services(app).db.session() as s:
        [checkin] = s.execute(select(ChiefCheckin)).scalars().all()
        assert checkin.status == "no_new" and checkin.village == "岡林里"
    rows = board_rows(app)
    assert rows["岡林里"]["status"] == "damage" and rows["岡林里"]["status_label"] == "有災情（1 件）"
    assert rows["岡林里"]["checkin"] == "no_new" and "回報無新災情" in rows["岡林里"]["at"]
    html = signed_in(app, "eoc").get("/staff/disaster").get_data(as_text=True)
    assert "有災情（1 件）" in html

    with get_services(app).db.session() as s:                                # closed: the check-in counts
        s.execute(select(Submission).where(Submission.ref == ref)).scalar_one().status = "resolved"
    rows = board_rows(app)
    assert rows["岡林里"]["status"] == "safe" and rows["岡林里"]["open_cases"] == 0

    resident = Resident(app, fake_line.store)                               # the mode is on: the EOC sees it
    resident.says("停水了")
    resident.taps("都沒有")
    resident.says("左鎮里")
    resident.taps("1 戶")
    resident.taps("略過")
    resident.taps("略過")
    out = resident.taps("確認送出")
    assert "災害應變中心正在運作" in out[0] and "上班時間" not in out[0]


def test_a_road_cut_gets_a_safety_notice_and_what_the_first_message_says_is_not_asked_again(resident, app):
    r = resident
    out = r.says("南171線坍方路斷了")
    assert "不要涉水" in out[0] and "改道" in out[0] and "1999" in out[0] and OFFICE_PHONE in out[0]
    assert ASKS["people"] in out[-1]
    out = r.taps("都沒有")
    assert "南171線" in out[-1] and ASKS["village_with_place"] in out[-1] and ASKS["place"] not in out[-1]
    assert r.buttons()[0]["action"]["type"] == "location" and "岡林里" in r.labels()
    out = r.taps("岡林里")
    assert ASKS["households"] in out[-1] and ASKS["passable"] not in out[-1]              # 「路斷了」: not passable
    r.taps("1 戶")
    r.taps("不需要")
    out = r.taps("略過")                                                     # the first message is the description
    assert "地點：岡林里 南171線" in out[-1] and "完全不能通行" in out[-1]
    out = r.taps("確認送出")
    ref = REF.search(out[0]).group(0)
    assert "上班時間" in out[0] and "馬上看到" not in out[0]
    [case] = cases(app, "disaster")
    assert case.place_text == "南171線" and case.village == "岡林里" and report_of(app, ref).passable == "no"

    out = r.says("淹水了，淹到膝蓋")                                         # the depth is taken too
    assert "不要涉水" in out[0]
    r.taps("都沒有")
    out = r.says("中正里中正路10號前面")
    assert ASKS["passable"] in out[-1] and ASKS["water_depth"] not in out[-1]
    r.taps("可以通行")
    r.taps("1 戶")
    r.taps("不需要")
    out = r.taps("略過")
    assert "地點：中正里中正路10號前面" in out[-1] and "中正里 中正里" not in out[-1]   # the village once
    assert "膝蓋" in out[-1]


def test_a_typed_road_cut_answers_the_passable_question(resident):
    resident.deliver(postback_event(resident.user, "flow=disaster"))
    out = resident.taps("倒樹")
    assert "不要涉水" not in out[0]                                         # a fallen tree: no flood notice
    resident.taps("都沒有")
    out = resident.says("岡林里活動中心前")
    assert ASKS["passable"] in out[-1]
    out = resident.says("路斷了過不去")
    assert ASKS["photo"] in out[-1]
    resident.taps("略過")
    out = resident.taps("略過")
    assert "完全不能通行" in out[-1]


def test_the_disaster_menu_stays_in_the_disaster_mode_and_every_button_the_words_name_is_there(app, fake_line):
    chief = Resident(app, fake_line.store)
    out = chief.says(f"綁定 {issue(app, '岡林里')}")
    assert "綁定完成" in out[0] and "災情通報" in out[0] and "選單「通報災情」" not in out[0]
    assert chief.labels()[0] == "回報災情"                                  # the button the words name
    mode(app, True)
    resident = Resident(app, fake_line.store)
    out = resident.deliver(postback_event(resident.user, "action=disaster_info&topic=shelter"))
    assert resident.labels()[:3] == ["通報災情", "避難與沙包", "緊急電話"]  # the disaster menu's buttons
    assert "報修道路路燈" not in resident.labels()
    typed = resident.says("避難與沙包")                                      # typed: the same answer
    assert typed == out
    out = resident.says("緊急電話")
    assert "1911" in out[0]
    out = resident.says("平安")
    assert "謝謝您報平安" in out[0] and "回報災情" in resident.labels()
    out = resident.says("我家停電了")
    assert "台電" in out[0] and "1911" in out[0]

    resident.says("路燈壞了")                                                # a road report, then 取消
    resident.says("取消")
    assert resident.labels()[:3] == ["通報災情", "避難與沙包", "緊急電話"]  # through the webhook, too
    resident.says("選單")
    assert resident.labels()[:3] == ["通報災情", "避難與沙包", "緊急電話"]
    resident.says("取消")
    resident.says("圖書館幾點開")                                            # an FAQ answer
    assert resident.labels()[:3] == ["通報災情", "避難與沙包", "緊急電話"]
    resident.says("我的案件")                                                # a case look-up
    assert resident.labels()[:3] == ["通報災情", "避難與沙包", "緊急電話"]
    resident.says("阿巴阿巴")                                                # not understood
    assert "通報災情" in resident.labels() and "報修道路路燈" not in resident.labels()
    mode(app, False)
    resident.says("取消")
    assert "報修道路路燈" in resident.labels() and "通報災情" not in resident.labels()

    mode(app, False)
    chief.run_worker()
    chief.new_messages()
    out = chief.says("平安")
    assert "目前沒有進行災情查報" in out[0] and "回報災情" in chief.labels()
