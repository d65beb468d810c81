"""Transcripts of residents reporting road problems, end to end:
signed webhook -> stored event -> worker -> fake LINE server (through the real SDK) -> case."""
from __future__ import annotations

import json
import re
import time

import pytest
from sqlalchemy import select

from bot.extensions import get_services
from services.models import Attachment, CaseFollower, InboundEvent, OutboundMessage
from tests.helpers import (OFFICE_PHONE, POTHOLE_OPENING, Resident, ZUOZHEN_LI, cases, describe_pothole, first_line,
                           postback_event, ref_in, start_pothole_report, text_event, tiny_jpeg)

CAOSHAN_LI = (22.992238, 120.437402)     # centroid of 草山里
TAINAN_CITY = (22.9917, 120.1850)        # Tainan city centre, outside the district
BORDER = (23.057, 120.407)               # 24 m from the 左鎮里/中正里 line
REF = re.compile(r"R-\d{8}-\d{4}")
ASKS = {step: first_line(f"road.{step}.ask")          # what each step asks, as the messages say it
        for step in ("category", "place", "village", "photo", "description", "confirm")}


def test_full_report_with_location_and_photos(resident, app, fake_line):
    r = resident
    steps = 0
    out = r.deliver(postback_event(r.user, "flow=road"))           # the rich-menu tap (the first one)
    assert ASKS["category"] in out[-1]
    assert r.labels()[:6] == ["坑洞/路面破損", "路燈故障", "路樹倒塌或需修剪", "水溝/排水堵塞", "交通標誌/反射鏡", "其他"]
    out = r.taps("坑洞/路面破損"); steps += 1
    assert ASKS["place"] in out[-1]
    assert r.buttons()[0]["action"]["type"] == "location"
    out = r.sends_location(*ZUOZHEN_LI); steps += 1
    assert ASKS["photo"] in out[-1]
    assert [b["action"]["type"] for b in r.buttons()][:2] == ["camera", "cameraRoll"]
    out = r.sends_photo(); steps += 1
    assert "1 張" in out[0] and ASKS["description"] in out[-1]
    out = r.sends_photo()                                           # a second photo is welcome too
    assert "2 張" in out[0]
    out = r.says("坑洞大約臉盆那麼大，機車騎過去很危險"); steps += 1
    summary = out[-1]
    assert "坑洞/路面破損" in summary and "左鎮里" in summary and "2 張" in summary
    assert cases(app) == []                                          # nothing stored before confirming
    out = r.taps("確認送出"); steps += 1
    ref = ref_in(out)
    assert ref and steps <= 6
    [case] = cases(app)
    assert case.ref == ref and case.kind == "road" and case.category == "pothole"
    assert case.village == "左鎮里" and case.status == "new" and case.owner_section == "農業及建設課"
    assert case.lat == pytest.approx(ZUOZHEN_LI[0]) and case.line_user_id == r.user
    with get_services(app).db.session() as s:
        atts = list(s.execute(select(Attachment).where(Attachment.submission_id == case.id)).scalars())
        assert len(atts) == 2 and all(a.status == "stored" and len(a.sha256) == 64 for a in atts)
    # the case number was given after the case was committed: the reply came from the outbox row
    with get_services(app).db.session() as s:
        last = s.execute(select(OutboundMessage).order_by(OutboundMessage.id.desc())).scalars().first()
        assert ref in last.messages[0]["text"] and last.status == "sent" and last.via == "reply"
        assert all(e.payload is None for e in s.execute(select(InboundEvent)).scalars())  # no texts kept


def test_photos_are_private_and_staff_copy_has_no_gps(resident, app):
    r = resident
    start_pothole_report(r)
    photo = tiny_jpeg(with_gps=True)
    r.sends_photo(photo)
    svc = get_services(app)
    with svc.db.session() as s:
        att = s.execute(select(Attachment)).scalar_one()
    import hashlib
    from PIL import Image
    assert att.sha256 == hashlib.sha256(photo).hexdigest()
    original = svc.media.path(att.original_key)
    clean = svc.media.path(att.clean_key)
    assert original.read_bytes() == photo
    assert oct(original.stat().st_mode & 0o777) == "0o600"
    assert "static" not in str(original)
    with Image.open(original) as img:
        assert 0x8825 in img.getexif()                                # the original has GPS
    with Image.open(clean) as img:
        assert len(img.getexif()) == 0                                # the copy staff see has none


def test_typed_address_and_village_choice(resident, app):
    r = resident
    out = r.says("路燈壞了")
    assert ASKS["place"] in out[-1]                                          # the category was understood
    out = r.says("台20線往玉井的彎道旁邊")
    assert ASKS["village"] in out[-1] and "草山里" in r.labels()
    r.taps("草山里")
    r.taps("略過")
    out = r.says("整晚都不亮")
    assert "草山里 台20線往玉井的彎道旁邊" in out[-1]
    out = r.taps("確認送出")
    [case] = cases(app)
    assert case.ref in out[0] and case.category == "streetlight" and case.village == "草山里"
    assert case.place_text == "台20線往玉井的彎道旁邊" and case.lat is None


def test_typed_address_that_names_the_village_skips_the_question(resident, app):
    r = resident
    r.says("我要報修水溝")
    out = r.says("睦光里活動中心前面的側溝")
    assert ASKS["photo"] in out[-1]


def test_first_message_carries_the_description(resident, app):
    r = resident
    r.says("村子口的馬路破了好幾個洞")
    r.sends_location(*ZUOZHEN_LI)
    out = r.taps("略過")
    assert ASKS["confirm"] in out[-1] and "村子口的馬路破了好幾個洞" in out[-1]


def test_cancel_and_back_at_any_step(resident, app):
    r = resident
    start_pothole_report(r)
    out = r.taps("上一步")
    assert ASKS["place"] in out[-1]
    out = r.sends_location(*CAOSHAN_LI)
    out = r.taps("略過")
    out = r.says("上一步")
    assert ASKS["photo"] in out[-1]
    out = r.says("取消")
    assert "取消" in out[0]
    out = r.taps("報修道路路燈")
    assert ASKS["category"] in out[-1]                                   # a fresh start
    out = r.says("選單")
    assert "繼續剛才的" in r.labels()
    out = r.taps("繼續剛才的")
    assert ASKS["category"] in out[-1]
    out = r.says("真人")
    assert OFFICE_PHONE in out[0]
    assert cases(app) == []


def test_conversation_expires_after_thirty_minutes(resident, app):
    r = resident
    r.says(POTHOLE_OPENING)
    svc = get_services(app)
    state = svc.state.load(r.user, r.user)
    state["updated_at"] -= 31 * 60
    svc.state.save(r.user, r.user, state)
    out = r.says("我的案件")
    assert "超過30分鐘" in out[0]
    assert svc.state.load(r.user, r.user) is None


def test_a_button_of_an_expired_conversation_starts_it_again(resident, app):
    r = resident
    r.says("我要報修")
    svc = get_services(app)
    state = svc.state.load(r.user, r.user)
    state["updated_at"] -= 31 * 60
    svc.state.save(r.user, r.user, state)
    out = r.taps("路燈故障")                                         # the old question's button
    assert "超過30分鐘" in out[0]
    assert ASKS["category"] in out[-1]                                    # asked again, not "not ready"
    assert svc.state.load(r.user, r.user)["step"] == "category"


def _expire(r, app) -> None:
    svc = get_services(app)
    state = svc.state.load(r.user, r.user)
    state["updated_at"] -= 31 * 60
    svc.state.save(r.user, r.user, state)


def test_after_an_expired_conversation_commands_and_safety_come_first(resident, app):
    r = resident
    r.says(POTHOLE_OPENING)
    _expire(r, app)
    out = r.says("取消")                                              # still a command, not a question
    assert "超過30分鐘" in out[0]
    assert not any("不太" in text for text in out)
    r.says(POTHOLE_OPENING)
    _expire(r, app)
    out = r.says("阿公跌進排水溝 爬不起來")                             # someone in the water: 119 first
    assert "119" in out[0].split("\n")[0]                              # before anything else
    assert any("超過30分鐘" in text for text in out)


def test_redelivered_confirm_makes_one_case_and_one_answer(resident, app, fake_line):
    r = resident
    describe_pothole(r)
    confirm = postback_event(r.user, "flow=road&step=confirm&value=yes")
    r.deliver(confirm)
    again = json.loads(json.dumps(confirm))
    assert r.post(again).status_code == 200                          # a plain duplicate
    again["deliveryContext"]["isRedelivery"] = True
    assert r.post(again).status_code == 200                          # LINE's redelivery
    get_services(app).redis.delete(f"evt:v1:{confirm['webhookEventId']}")   # even if Redis forgot the claim
    assert r.post(again).status_code == 200
    r.run_worker()
    assert len(cases(app)) == 1
    replies_with_ref = [m for m in fake_line.store.sent() if REF.search(m["message"].get("text", ""))]
    assert len(replies_with_ref) == 1
    with get_services(app).db.session() as s:
        ids = [e.webhook_event_id for e in s.execute(select(InboundEvent)).scalars()]
        assert ids.count(confirm["webhookEventId"]) == 1


def test_expired_reply_token_falls_back_to_push_with_retry_key(resident, app, fake_line):
    r = resident
    describe_pothole(r)
    ev = postback_event(r.user, "flow=road&step=confirm&value=yes")
    r.post(ev)
    fake_line.store.expire_reply_token(ev["replyToken"])              # the worker was too slow
    r.run_worker()
    pushes = [q for q in fake_line.store.requests if q.path == "/v2/bot/message/push"]
    assert len(pushes) == 1
    key = pushes[0].headers.get("x-line-retry-key")
    assert key and re.fullmatch(r"[0-9a-f-]{36}", key)
    assert pushes[0].json["to"] == r.user and REF.search(pushes[0].json["messages"][0]["text"])
    with get_services(app).db.session() as s:
        ob = s.execute(select(OutboundMessage).order_by(OutboundMessage.id.desc())).scalars().first()
        assert ob.via == "push" and ob.retry_key == key and ob.status == "sent"


def test_push_retried_after_a_server_error_keeps_its_key(resident, app, fake_line):
    r = resident
    ev = text_event(r.user, "我的案件")
    r.post(ev)
    fake_line.store.expire_reply_token(ev["replyToken"])
    fake_line.store.fail_next("/v2/bot/message/push", 500)
    r.run_worker()                                                    # the push fails: the job will retry
    from bot.worker import promote_due_jobs
    time.sleep(2.1)
    promote_due_jobs(get_services(app))
    r.run_worker()
    pushes = [q for q in fake_line.store.requests if q.path == "/v2/bot/message/push"]
    assert [p.status for p in pushes] == [500, 200]
    assert pushes[0].headers["x-line-retry-key"] == pushes[1].headers["x-line-retry-key"]


def test_location_outside_the_district(resident, app):
    r = resident
    out = start_pothole_report(r, TAINAN_CITY)
    assert "不在左鎮區" in out[0] and "1999" in out[0]
    assert r.buttons()[0]["action"]["type"] == "location"            # can send the place again
    out = r.sends_location(*ZUOZHEN_LI)
    assert ASKS["photo"] in out[-1]


def test_location_near_a_village_boundary_is_confirmed(resident, app):
    r = resident
    out = start_pothole_report(r, BORDER)
    assert "交界" in out[-1]
    assert set(r.labels()) >= {"左鎮里", "中正里"}
    out = r.taps("中正里")
    assert ASKS["photo"] in out[-1]


def test_danger_gives_emergency_numbers_before_anything_else(resident, app):
    r = resident
    out = r.says("有一棵大樹倒在路上擋住了")
    assert "119" in out[0] and "1999" in out[0] and OFFICE_PHONE in out[0]
    assert ASKS["place"] in out[-1]                                          # then the report goes on
    r.sends_location(*ZUOZHEN_LI)
    r.taps("略過")
    out = r.taps("確認送出")
    [case] = cases(app)
    assert case.danger and case.category == "tree"


def test_same_problem_nearby_is_offered_and_followed(app, fake_line):
    first = Resident(app, fake_line.store)
    start_pothole_report(first)
    first.taps("略過")
    first.says("很大的洞")
    ref = ref_in(first.taps("確認送出"))
    second = Resident(app, fake_line.store)
    out = start_pothole_report(second, (ZUOZHEN_LI[0] + 0.0003, ZUOZHEN_LI[1]))   # about 33 m away
    assert ref in out[-1] and "同一件" in out[-1]
    out = second.taps(ref)
    assert ref in out[0] and "追蹤" in out[0]
    assert len(cases(app)) == 1
    with get_services(app).db.session() as s:
        assert s.execute(select(CaseFollower)).scalar_one().line_user_id == second.user
    out = second.says("我的案件")
    assert ref in out[0]
    third = Resident(app, fake_line.store)                              # a streetlight is another problem
    third.says("路燈壞了")
    out = third.sends_location(ZUOZHEN_LI[0] + 0.0003, ZUOZHEN_LI[1])
    assert ASKS["photo"] in out[-1]


def test_case_status_lookups(app, fake_line):
    r = Resident(app, fake_line.store)
    describe_pothole(r)
    ref = ref_in(r.taps("確認送出"))
    compact = ref.replace("-", "")
    for ask in (f"查詢 {ref}", compact, f"{ref[:10]} {ref[11:]}"):
        out = r.says(ask)
        assert ref in out[0] and "已受理" in out[0], ask
    out = r.says("我的案件")
    assert ref in out[0]
    out = r.deliver(postback_event(r.user, "action=my_cases"))
    assert ref in out[0]
    other = Resident(app, fake_line.store)
    out = other.says(f"查詢 {ref}")
    assert "查不到" in out[0]                                          # nobody sees another's case
    out = other.says("我的案件")
    assert "沒有案件" in out[0]
    replies = [q for q in fake_line.store.requests if q.path == "/v2/bot/message/push"]
    assert replies == []                                              # answered by reply, never push


def test_stickers_voice_video_and_files_get_kind_answers(resident, app):
    from tests.helpers import audio_event, file_event, sticker_event, video_event
    r = resident
    assert "貼圖" in r.sends(sticker_event(r.user))[0]
    out = r.sends(audio_event(r.user))
    assert "語音" in out[0] and OFFICE_PHONE in out[0]
    assert "照片" in r.sends(video_event(r.user))[0]
    assert OFFICE_PHONE in r.sends(file_event(r.user))[0]
    r.says(POTHOLE_OPENING)                                        # inside a flow too, the step is asked again
    out = r.sends(sticker_event(r.user))
    assert "貼圖" in out[0] and ASKS["place"] in out[-1]


def test_three_unusable_answers_offer_the_office_phone(resident, app):
    r = resident
    r.deliver(postback_event(r.user, "flow=road"))
    r.says("？？")
    r.says("嗯")
    out = r.says("不知道")
    assert OFFICE_PHONE in out[0]
    assert ASKS["category"] in out[-1]


def test_phone_is_asked_only_with_a_reason(resident, app):
    r = resident
    out = describe_pothole(r)
    assert "留電話" in r.labels()
    out = r.taps("留電話")
    assert "個人資料保護法" in out[-1] and "只用在這件案件" in out[-1]
    out = r.says("0912 345 678")
    assert "0912-345-678" in out[-1]
    r.taps("確認送出")
    assert cases(app)[0].phone == "0912-345-678"


def test_bad_phone_is_asked_again_and_can_be_skipped(resident, app):
    r = resident
    describe_pothole(r)
    r.taps("留電話")
    out = r.says("12345")
    assert "號碼好像不對" in out[0]
    out = r.taps("不留電話")
    assert "確認送出" in r.labels()
    r.taps("確認送出")
    assert cases(app)[0].phone is None


def test_a_photo_first_starts_a_report(resident, app):
    r = resident
    out = r.sends_photo()
    assert "照片" in out[0] and ASKS["category"] in out[-1]
    r.taps("水溝/排水堵塞")
    out = r.sends_location(*ZUOZHEN_LI)
    assert ASKS["description"] in out[-1]                                          # the photo step is already done


def test_unsent_photo_is_deleted(resident, app):
    from tests.helpers import unsend_event
    r = resident
    start_pothole_report(r)
    r.sends_photo()
    svc = get_services(app)
    with svc.db.session() as s:
        att = s.execute(select(Attachment)).scalar_one()
        path = svc.media.path(att.original_key)
    assert path.exists()
    r.deliver(unsend_event(r.user, r.last_photo_id))
    assert not path.exists()
    with svc.db.session() as s:
        assert s.execute(select(Attachment)).scalar_one().status == "unsent"


def test_photo_not_ready_is_retried_and_gone_is_dropped(resident, app, fake_line):
    from bot.worker import promote_due_jobs
    r = resident
    start_pothole_report(r)
    fake_line.store.set_content_status("900000000000000001", 202)
    r.sends(__import__("tests.helpers", fromlist=["x"]).image_event(r.user, "900000000000000001"))
    svc = get_services(app)
    with svc.db.session() as s:
        assert s.execute(select(Attachment)).scalar_one().status == "pending"
    fake_line.store.put_content("900000000000000001", tiny_jpeg())
    time.sleep(5.1)
    promote_due_jobs(svc)
    r.run_worker()
    with svc.db.session() as s:
        assert s.execute(select(Attachment)).scalar_one().status == "stored"
    fake_line.store.set_content_status("900000000000000002", 410)
    r.sends(__import__("tests.helpers", fromlist=["x"]).image_event(r.user, "900000000000000002"))
    with svc.db.session() as s:
        gone = s.execute(select(Attachment).where(Attachment.line_message_id == "900000000000000002")).scalar_one()
        assert gone.status == "gone"


def test_very_long_text_is_answered_kindly(resident, app):
    r = resident
    start_pothole_report(r)
    r.taps("略過")
    out = r.says("路" * 10000)
    assert "300字" in out[0]
    r.taps("確認送出")
    assert len(cases(app)[0].description) == 300


def test_flood_of_messages_gets_one_notice(app, fake_line):
    app.config["SPAM_LIMIT_PER_MINUTE"] = 5
    if time.time() % 60 > 50:  # the limit counts per clock minute: do not straddle two
        time.sleep(61 - time.time() % 60)
    r = Resident(app, fake_line.store)
    answers = [r.says(f"嗨{i}") for i in range(8)]
    assert all(answers[i] for i in range(5))
    assert "稍等" in answers[5][0]
    assert answers[6] == [] and answers[7] == []


def test_group_messages_without_a_mention_are_left_alone(app, fake_line):
    r = Resident(app, fake_line.store)
    ev = text_event(r.user, "路燈壞了", source={"type": "group", "groupId": "C" + "a" * 32, "userId": r.user})
    assert r.deliver(ev) == []


def test_cases_are_never_listed_in_a_group_chat(resident, app, fake_line):
    from tests.helpers import group_id, group_postback_event, group_text_event
    r = resident
    describe_pothole(r)
    ref = ref_in(r.taps("確認送出"))
    group = group_id()
    for ev in (group_text_event(r.user, group, "我的案件"), group_text_event(r.user, group, f"查詢 {ref}"),
               group_postback_event(r.user, group, "action=my_cases")):
        r.deliver(ev)
        said = fake_line.store.sent(to=group)[-1]["message"]["text"]
        assert "一對一" in said and ref not in said                   # everyone in the group would read it
    assert ref in "\n".join(r.says("我的案件"))                          # in the resident's own chat it works


def test_what_residents_type_at_each_step_is_understood(resident, app):
    """From an acceptance walk: a village typed at its step, 「我要找真人」 in the middle, 「我不會拍照」
    at the photo step, more detail at the summary, 「好 送出」."""
    r = resident
    r.says("路燈壞了 已經三天沒亮")
    out = r.says("中正路55號對面")
    assert ASKS["village"] in out[-1]
    out = r.says("中正里")                                    # the answer, not a question about 中正
    assert ASKS["photo"] in out[-1] and "要先回答" not in out[-1]
    out = r.says("我要找真人")
    assert OFFICE_PHONE in "\n".join(out) and "繼續" in " ".join(r.labels())
    r.taps("繼續剛才的")
    out = r.says("我不會拍照")                                 # no photo, and not a description
    assert ASKS["confirm"] in out[-1] and "說明：路燈壞了 已經三天沒亮" in out[-1] and "不會拍照" not in out[-1]
    out = r.says("整條路晚上都很暗")                           # more detail at the summary
    assert "路燈壞了 已經三天沒亮；整條路晚上都很暗" in out[-1]
    out = r.says("好 送出")
    [case] = cases(app)
    assert case.ref in out[0] and case.village == "中正里"
    assert "報修道路路燈" in r.labels() and "我的案件" in r.labels()        # something to tap after the receipt
    assert case.description == "路燈壞了 已經三天沒亮；整條路晚上都很暗"


def test_a_near_miss_in_a_description_is_not_an_emergency(resident, app):
    r = resident
    start_pothole_report(r)
    r.taps("略過")
    out = r.says("路中間一個大窟窿 機車差點跌倒")
    assert "119" not in out[0] and ASKS["confirm"] in out[-1] and "機車差點跌倒" in out[-1]


def test_a_photo_step_text_adds_to_the_description(resident, app):
    r = resident
    r.says("這邊有樹枝太長擋到路")
    r.sends_location(*ZUOZHEN_LI)
    out = r.says("没有")                                      # simplified 沒有: no photo
    assert ASKS["confirm"] in out[-1] and "這邊有樹枝太長擋到路" in out[-1]


def test_thanks_gets_a_short_answer_and_anyone_there_gets_the_phone(resident):
    out = resident.says("謝謝🙏")
    assert out == ["不客氣 🙂 還有需要，隨時傳訊息給我，或點下面的按鈕。"] and "報修道路路燈" in resident.labels()
    out = resident.says("有人在嗎")
    assert OFFICE_PHONE in out[0]


def test_starting_over_in_words_cancels_the_report(resident, app):
    r = resident
    r.says("路燈壞了")
    out = r.says("重來")
    assert "取消" in out[0] and cases(app) == []
    out = r.says("水溝堵住了")                                  # a new report starts cleanly
    assert ASKS["place"] in out[-1]
