"""Transcripts of residents and the dengue conversation, end to end:
signed webhook -> stored event -> worker -> fake LINE server (through the real SDK) -> database.

Breeding-site reports (named and anonymous, with and without location and photos), duplicates,
symptom messages with and without warning signs, information answers, and the 巡倒清刷 reminder
(subscribe, unsubscribe, the weekly run, the push budget, unfollows)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import inspect, select, text

from bot import jobs
from bot.extensions import get_services
from services import notify, workflow
from services.clock import TAIPEI
from services.dengue import reminders
from services.dengue.models import DengueAnonCleanup, DengueReminderRun, DengueSubscription
from services.models import Attachment, CaseFollower, InboundEvent, LineUser, OutboundMessage, Submission
from tests.helpers import OFFICE_PHONE, Resident, ZUOZHEN_LI, base_event, cases, first_line, postback_event, ref_in

SATURDAY_9 = dt.datetime(2026, 11, 28, 9, 5, tzinfo=TAIPEI)
ASKS = {step: first_line(f"dengue.{step}.ask") for step in ("place", "photo")}  # as the messages say it


def svc(app):
    return get_services(app)


def unfollow(r: Resident) -> None:
    r.deliver(base_event("unfollow", r.user, reply=False))


# -- breeding-site reports ------------------------------------------------------------------------

def test_report_with_location_and_photos(resident, app):
    r = resident
    out = r.deliver(postback_event(r.user, "flow=dengue"))          # the rich menu's 登革熱通報
    assert "哪一種" in out[-1]
    assert r.labels()[:5] == ["積水容器", "廢輪胎", "空地/空屋髒亂", "水溝積水", "其他"]
    out = r.taps("廢輪胎")
    assert ASKS["place"] in out[-1] and r.buttons()[0]["action"]["type"] == "location"
    out = r.sends_location(*ZUOZHEN_LI)
    assert ASKS["photo"] in out[-1]
    out = r.sends_photo()
    assert "1 張" in out[0] and "說明" in out[-1]
    out = r.says("空地上堆了十幾個廢輪胎，裡面都是積水")
    assert "具名" in out[-1] and "匿名" in out[-1] and "不會告訴被通報的人" in out[-1]
    out = r.taps("具名通報")
    summary = out[-1]
    lines = summary.splitlines()
    assert "巡、倒、清、刷" in lines[1] and "刷洗" in lines[2]                # the self-check, in two lines
    assert "廢輪胎" in summary and "左鎮里" in summary and "1 張" in summary and "具名" in summary
    assert "確認送出" in r.labels() and "我已經自己清掉了" in r.labels()
    assert cases(app, "dengue") == []                               # nothing stored before confirming
    out = r.taps("確認送出")
    ref = ref_in(out, "D")
    assert ref and "有進度會在 LINE 通知您" in out[0]
    [case] = cases(app, "dengue")
    assert case.ref == ref and case.category == "tyre" and case.village == "左鎮里"
    assert case.owner_section == "民政及人文課" and case.line_user_id == r.user and case.status == "new"
    assert case.lat == pytest.approx(ZUOZHEN_LI[0]) and case.answers["anonymous"] is False
    assert case.due_date == workflow.due_date("dengue", "tyre", case.created_at)
    with svc(app).db.session() as s:
        [att] = s.execute(select(Attachment).where(Attachment.submission_id == case.id)).scalars()
        assert att.status == "stored"
    out = r.says("我的案件")                                          # a named reporter can look it up
    assert ref in out[0] and "廢輪胎" in out[0]


def test_typed_address_without_photos_and_a_phone_after_the_notice(resident, app):
    r = resident
    out = r.says("我要通報孳生源")
    assert "哪一種" in out[-1]
    r.taps("積水容器")
    out = r.says("草山里活動中心後面的空地")                              # the village is named: not asked
    assert ASKS["photo"] in out[-1]
    r.taps("略過")
    out = r.says("好幾個水桶積水，有孑孓在游")
    assert "匿名" in out[-1]
    r.taps("具名通報")
    out = r.taps("留電話")
    assert "個人資料保護法" in out[-1] and "不會告訴被通報的人" in out[-1]
    out = r.says("0912 345 678")
    assert "0912-345-678" in out[-1] and "地點：草山里活動中心後面的空地" in out[-1]
    out = r.taps("確認送出")
    [case] = cases(app, "dengue")
    assert case.ref in out[0] and case.category == "container" and case.village == "草山里"
    assert case.lat is None and case.phone == "0912-345-678" and case.description == "好幾個水桶積水，有孑孓在游"


def test_cleared_on_the_spot_makes_no_case(resident, app):
    r = resident
    r.says("家裡花盆底盤積水")
    r.says("左鎮里我家門口")
    r.taps("略過")
    r.taps("匿名通報")
    out = r.taps("我已經自己清掉了")
    assert "謝謝您動手清除" in out[0]
    assert cases(app, "dengue") == []


def _everything_stored(app) -> str:
    """Every value in every table, as one string (to look for a user id or hash anywhere)."""
    engine = svc(app).db.engine
    parts = []
    with engine.connect() as conn:
        for name in inspect(engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{name}"')):
                parts.append(" ".join(str(v) for v in row))
    return "\n".join(parts)


def test_anonymous_report_stores_nothing_identifying(resident, app):
    r = resident
    r.deliver(postback_event(r.user, "flow=dengue"))
    r.taps("空地/空屋髒亂")
    r.sends_location(*ZUOZHEN_LI)
    r.sends_photo()
    r.says("空屋前面一堆垃圾和積水")
    out = r.taps("匿名通報")
    assert "匿名" in out[-1] and "留電話" not in r.labels() and "改成具名" in r.labels()
    out = r.taps("確認送出")
    ref = ref_in(out, "D")
    assert ref and "不會通知您處理進度" in out[0] and "{office_phone}" not in out[0] and OFFICE_PHONE in out[0]
    [case] = cases(app, "dengue")
    assert case.ref == ref and case.line_user_id is None and case.chat_id is None and case.phone is None
    assert case.answers["anonymous"] is True and case.source_event_id.startswith("anon-")
    with svc(app).db.session() as s:
        events = set(s.execute(select(InboundEvent.webhook_event_id)).scalars())
        assert case.source_event_id not in events                   # the case cannot be joined to the event
        [att] = s.execute(select(Attachment).where(Attachment.submission_id == case.id)).scalars()
        assert att.user_hash == "anonymous"
        original = att.original_key
        assert s.execute(select(DengueAnonCleanup)).scalars().all()
    # the worker's minute tick clears the conversation's messages and the photo's original
    assert jobs.dengue_tick(svc(app), now=dt.datetime(2026, 11, 27, 10, tzinfo=TAIPEI))["photos_cleared"] == 1
    with svc(app).db.session() as s:
        att = s.get(Attachment, att.id)
        assert att.original_key is None and att.clean_key and svc(app).media.path(att.clean_key).is_file()
        assert not svc(app).media.path(original).exists()
        assert s.execute(select(DengueAnonCleanup)).scalars().all() == []
        to_user = s.execute(select(OutboundMessage).where(OutboundMessage.to == r.user)).scalars().all()
        assert to_user == []
    stored = _everything_stored(app)
    assert r.user not in stored and svc(app).user_hash(r.user) not in stored
    assert "空屋前面一堆垃圾和積水" in stored                                 # the report itself is kept
    # "my cases" does not find it (there is no link to find it by)
    out = r.says("我的案件")
    assert ref not in "\n".join(out)
    out = r.says(ref)
    assert "查不到" in out[0]


def test_anonymous_case_gets_no_status_push(resident, app, fake_line):
    from services import staff as staff_service
    r = resident
    r.says("隔壁空屋的水塔沒蓋，積水都是孑孓")
    r.sends_location(*ZUOZHEN_LI)
    r.taps("略過")
    r.taps("匿名通報")
    r.taps("確認送出")
    [case] = cases(app, "dengue")
    with svc(app).db.session() as s:
        staff, _ = staff_service.create(s, "civil", "Civil", "section", "民政及人文課", password="x" * 12)
        event = workflow.transition(s, s.get(Submission, case.id), "in_progress", staff, note="已派員")
        event_id = event.id
    jobs.bind(app)
    assert jobs.notify_case_event(event_id) == 0
    assert [m for m in fake_line.store.sent() if m["via"] == "push"] == []


def test_a_report_near_another_is_kept_and_never_followed(app, fake_line):
    """No "is it this one?" for dengue: the person reported could follow the report about them
    (tests/test_privacy.py checks that nothing about the other report is shown)."""
    first, second = Resident(app, fake_line.store), Resident(app, fake_line.store)
    first.says("我要檢舉空地有廢輪胎積水")
    first.sends_location(*ZUOZHEN_LI)
    first.taps("略過")
    first.taps("具名通報")
    first.taps("確認送出")
    second.deliver(postback_event(second.user, "flow=dengue"))
    second.taps("積水容器")
    out = second.sends_location(ZUOZHEN_LI[0] + 0.0002, ZUOZHEN_LI[1])
    assert "附近已經有人通報過" not in out[-1] and ASKS["photo"] in out[-1]
    second.taps("略過")
    second.says("門口水桶有孑孓")
    second.taps("具名通報")
    assert ref_in(second.taps("確認送出"), "D")
    assert len(cases(app, "dengue")) == 2
    with svc(app).db.session() as s:
        assert s.execute(select(CaseFollower.line_user_id)).scalars().all() == []


# -- symptoms ---------------------------------------------------------------------------------------

NOT_A_DIAGNOSIS = ("您得了", "確診", "您沒有登革熱", "就是登革熱", "應該是登革熱", "應該不是")


def test_fever_with_typical_signs_gets_doctor_advice(resident):
    out = resident.says("我這兩天發燒，頭痛，眼睛後面也很痛")
    first = out[0]
    assert "看醫生" in first and "T.O.C.C." in first and "NS1" in first and "1922" in first
    assert OFFICE_PHONE in first                                      # where to test is not known: the office
    assert "119" not in first                                         # no warning sign: no emergency first
    assert "急診" in out[1] and "肚子痛" in out[1]                        # what to watch for
    assert not any(w in "\n".join(out) for w in NOT_A_DIAGNOSIS)


def test_fever_said_in_taiwanese_gets_the_same_advice(resident):
    out = resident.says("阮阿公燒三天了 全身紅紅的點點")             # not a welfare question about 阿公
    assert "看醫生" in out[0] and "T.O.C.C." in out[0]
    assert "補助" not in out[0]


@pytest.mark.parametrize("message", [
    "我媽媽發燒三天了，今天一直吐，肚子很痛",
    "被蚊子叮之後發高燒，還有流鼻血",
    "小孩發燒叫不醒",
    "登革熱會不會昏昏沉沉的",
])
def test_a_warning_sign_gets_the_emergency_room_first(resident, message):
    out = resident.says(message)
    assert "119" in out[0] and "急診" in out[0]
    assert not any(w in "\n".join(out) for w in NOT_A_DIAGNOSIS)


def test_a_warning_sign_comes_first_even_inside_another_report(resident, app):
    r = resident
    r.says("路燈壞了")
    r.says("台20線往玉井的彎道旁邊")
    out = r.says("我先生發燒又一直吐，怎麼辦")
    assert "119" in out[0] and "急診" in out[0]
    assert "繼續剛才的" in r.labels()
    out = r.taps("繼續剛才的")
    assert "哪一個里" in out[-1]                                        # the road report is still there


@pytest.mark.parametrize("message", [
    "樹倒了擋住路，有人摔車流血",           # a road danger, not a symptom
    "金爐旁邊的水桶積水很久了",             # 金爐 is where joss paper burns
    "沒有發燒，只是頭有點痛",               # no fever
    "登革熱要怎麼預防",
])
def test_non_medical_or_mild_text_gets_no_symptom_advice(resident, message):
    out = resident.says(message)
    joined = "\n".join(out)
    assert "急診" not in joined.split("\n")[0] and "T.O.C.C." not in joined


# -- information --------------------------------------------------------------------------------------

def test_information_answers_come_from_knowledge(resident):
    r = resident
    out = r.says("登革熱被查到孑孓會罰多少錢")
    assert "3,000到15,000元" in out[0] and "4月1日" in out[0]
    out = r.taps("雨後黃金週")
    assert "7天" in out[0]
    out = r.taps("防疫志工")
    assert "志工" in out[0] and OFFICE_PHONE in out[0]
    out = r.taps("怎麼預防")
    assert "巡" in out[0] and "刷" in out[0]
    assert "通報孳生源" in r.labels() and "訂閱防疫提醒" in r.labels()


# -- reminders ----------------------------------------------------------------------------------------

def subscriptions(app):
    with svc(app).db.session() as s:
        return list(s.execute(select(DengueSubscription).order_by(DengueSubscription.id)).scalars())


def test_subscribe_choose_village_and_unsubscribe(resident, app):
    r = resident
    out = r.says("訂閱防疫提醒")
    assert "哪一個里" in out[-1] and "全區都要" in r.labels() and "草山里" in r.labels()
    out = r.taps("草山里")
    assert "已經幫您訂閱" in out[0] and "草山里" in out[0] and "取消提醒" in out[0]
    assert "我的案件" in r.labels()                                    # the menu under the confirmation
    [sub] = subscriptions(app)
    assert sub.village == "草山里" and sub.line_user_id == r.user and sub.user_hash == svc(app).user_hash(r.user)
    r.says("訂閱防疫提醒")
    out = r.says("全部")                                               # typed instead of tapped
    assert "更新" in out[0]
    [sub] = subscriptions(app)
    assert sub.village is None
    out = r.says("取消提醒")
    assert "已經取消" in out[0]
    assert subscriptions(app) == []
    out = r.says("取消提醒")
    assert "沒有訂閱" in out[0]


def test_reminders_asked_for_in_a_residents_own_words(resident, app):
    r = resident
    out = r.says("我要訂閱登革熱提醒")
    assert "哪一個里" in out[-1]
    r.taps("岡林里")
    assert [s.village for s in subscriptions(app)] == ["岡林里"]
    out = r.says("取消登革熱提醒")                                      # holds a subscribe word: stopping wins
    assert "已經取消" in out[0] and subscriptions(app) == []
    r.says("訂閱提醒")
    r.taps("全區都要")
    out = r.says("提醒不用了")
    assert "已經取消" in out[0] and subscriptions(app) == []
    out = r.says("防疫提醒是什麼時候傳？")                             # a question, not a request
    assert subscriptions(app) == [] and "已經取消" not in out[0] and "哪一個里" not in out[-1]


def test_subscribing_keeps_an_open_report(resident, app):
    r = resident
    r.says("路燈壞了")
    r.says("訂閱防疫提醒")
    out = r.taps("全區都要")
    assert "全區" in out[0]
    out = r.says("草山里台20線")
    assert first_line("road.photo.ask") in out[-1]                            # the road report went on
    [sub] = subscriptions(app)
    assert sub.village is None


def test_subscribing_again_says_so_and_may_change_the_village(resident, app):
    r = resident
    r.says("訂閱防疫提醒")
    r.taps("草山里")
    out = r.says("訂閱防疫提醒")
    assert "已經訂閱" in out[0] and "草山里" in out[0]
    assert "二寮里" in r.labels()
    out = r.taps("二寮里")
    assert "二寮里" in out[0]
    [sub] = subscriptions(app)
    assert sub.village == "二寮里"


def test_weekly_reminder_goes_once_to_subscribers_who_still_follow(app, fake_line):
    store = fake_line.store
    caoshan, everywhere, gone = (Resident(app, store) for _ in range(3))
    caoshan.says("訂閱防疫提醒"); caoshan.taps("草山里")
    everywhere.says("訂閱防疫提醒"); everywhere.taps("全區都要")
    gone.says("訂閱防疫提醒"); gone.taps("二寮里")
    unfollow(gone)
    assert jobs.dengue_tick(svc(app), now=SATURDAY_9 - dt.timedelta(days=1))["runs"] == []   # Friday: nothing
    assert jobs.dengue_tick(svc(app), now=SATURDAY_9 - dt.timedelta(hours=2))["runs"] == []  # too early
    tick = jobs.dengue_tick(svc(app), now=SATURDAY_9)
    assert len(tick["runs"]) == 1
    caoshan.run_worker()
    pushes = [q for q in store.requests if q.path == "/v2/bot/message/push"]
    assert sorted(q.json["to"] for q in pushes) == sorted([caoshan.user, everywhere.user])
    assert all(re.fullmatch(r"[0-9a-f-]{36}", q.headers["x-line-retry-key"]) for q in pushes)
    assert all("巡" in q.json["messages"][0]["text"] and "取消提醒" in q.json["messages"][0]["text"] for q in pushes)
    with svc(app).db.session() as s:
        [run] = s.execute(select(DengueReminderRun)).scalars()
        assert (run.kind, run.planned, run.skipped_blocked, run.skipped_budget) == ("weekly", 2, 1, 0)
        assert s.execute(select(DengueSubscription.user_hash)).scalars().all().count(svc(app).user_hash(gone.user)) == 0
        run_id = run.id
    # the next minute's tick, a re-run of the job and a re-run of the worker send nothing more
    assert jobs.dengue_tick(svc(app), now=SATURDAY_9 + dt.timedelta(minutes=1))["runs"] == []
    assert jobs.send_dengue_reminder(run_id) == 0
    caoshan.run_worker()
    assert len([q for q in store.requests if q.path == "/v2/bot/message/push"]) == 2
    # the reminder's button unsubscribes
    out = caoshan.deliver(postback_event(caoshan.user, "dengue=unsubscribe"))
    assert "已經取消" in out[-1]


def test_a_reminder_push_that_fails_is_resent_with_the_same_key(app, fake_line):
    store = fake_line.store
    r = Resident(app, store)
    r.says("訂閱防疫提醒"); r.taps("草山里")
    store.fail_next("/v2/bot/message/push", 500)
    jobs.bind(app)
    with svc(app).db.session() as s:
        run, _ = reminders.ensure_run(s, "weekly-test", "weekly", reminders.weekly_text())
        run_id = run.id
    jobs.send_dengue_reminder(run_id)
    jobs.send_dengue_reminder(run_id)                                  # the retry (same key)
    pushes = [q for q in store.requests if q.path == "/v2/bot/message/push"]
    assert len(pushes) == 2 and pushes[0].headers["x-line-retry-key"] == pushes[1].headers["x-line-retry-key"]
    assert len([m for m in store.sent(r.user) if m["via"] == "push"]) == 1


def test_reminders_give_way_to_case_pushes_when_the_budget_is_low(app, fake_line, monkeypatch):
    store = fake_line.store
    r = Resident(app, store)
    r.says("訂閱防疫提醒"); r.taps("全區都要")
    quota = 20
    with svc(app).db.session() as s:                                   # 19 pushes already this month
        for i in range(19):
            s.add(OutboundMessage(kind="status", to="U" + "0" * 32, messages=[], status="sent", via="push",
                                  sent_at=dt.datetime.now(dt.timezone.utc)))
    monkeypatch.setattr(type(svc(app).line), "monthly_quota", lambda self: quota)
    jobs.bind(app)
    with svc(app).db.session() as s:
        run, _ = reminders.ensure_run(s, "rain-budget", "rain", reminders.rain_text())
        run_id = run.id
        assert notify.within_budget("resolved", 19, quota)               # an essential case push still goes
    assert jobs.send_dengue_reminder(run_id) == 0
    with svc(app).db.session() as s:
        run = s.get(DengueReminderRun, run_id)
        assert (run.planned, run.skipped_budget) == (0, 1)
    assert [q for q in store.requests if q.path == "/v2/bot/message/push"] == []


def test_subscriber_who_blocks_is_never_pushed(app, fake_line):
    store = fake_line.store
    r = Resident(app, store)
    r.says("訂閱防疫提醒"); r.taps("全區都要")
    unfollow(r)
    with svc(app).db.session() as s:
        assert s.get(LineUser, svc(app).user_hash(r.user)).blocked
        run, _ = reminders.ensure_run(s, "rain-blocked", "rain", reminders.rain_text("颱風過後請清積水"))
        run_id = run.id
    jobs.bind(app)
    assert jobs.send_dengue_reminder(run_id) == 0
    assert [q for q in store.requests if q.path == "/v2/bot/message/push"] == []
    assert subscriptions(app) == []
