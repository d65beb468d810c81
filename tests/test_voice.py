"""Transcripts of elders sending voice messages, end to end: signed webhook -> worker -> the fake LINE
server serving the m4a (through the real SDK) -> the attachment, the case, the dashboard's player."""
from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from sqlalchemy import select

from bot import jobs
from bot.extensions import get_services
from services import retention
from services.models import Attachment, CaseEvent, Submission, utcnow
from tests.helpers import Resident, audio_event, postback_event, voice_m4a

ZUOZHEN_LI = (23.045671, 120.404987)     # centroid of 左鎮里
OFFICE = "06-5731611"
REF = re.compile(r"[RDS]-\d{8}-\d{4}")


def svc(app):
    return get_services(app)


def cases(app):
    with svc(app).db.session() as s:
        return list(s.execute(select(Submission).order_by(Submission.id)).scalars())


def attachments(app):
    with svc(app).db.session() as s:
        return list(s.execute(select(Attachment).order_by(Attachment.id)).scalars())


def test_voice_at_the_description_step_is_the_description(resident, app):
    r = resident
    r.says("我要報修道路坑洞")
    r.sends_location(*ZUOZHEN_LI)
    out = r.taps("略過")                                               # no photo
    assert "說明" in out[-1]
    out = r.sends_voice(duration_ms=12400)
    assert out[0] == "收到您的語音（12秒）👍"
    summary = out[-1]
    assert "說明：語音 1 段" in summary and "確認送出" in r.labels()
    [att] = attachments(app)                                            # fetched right away, before the case
    assert att.kind == "voice" and att.status == "stored" and att.duration_ms == 12400
    assert att.content_type == "audio/mp4" and att.original_key is None and att.submission_id is None
    path = svc(app).media.path(att.clean_key)
    assert path.read_bytes() == voice_m4a() and oct(path.stat().st_mode & 0o777) == "0o600"
    assert "static" not in str(path)
    out = r.sends_voice(duration_ms=3000)                               # one more at the summary
    assert out[0] == "收到您的語音（3秒）👍" and "說明：語音 2 段" in out[-1]
    out = r.taps("確認送出")
    ref = REF.search(out[0]).group(0)
    [case] = cases(app)
    assert case.ref == ref and case.description is None
    assert [(a.kind, a.submission_id) for a in attachments(app)] == [("voice", case.id)] * 2


def test_typed_text_and_voice_both_show_in_the_summary(resident, app):
    r = resident
    r.says("路燈壞了")
    r.sends_location(*ZUOZHEN_LI)
    out = r.sends_voice(duration_ms=5000)                               # at the photo step: the problem told
    assert out[0] == "收到您的語音（5秒）👍" and "確認送出" in r.labels()
    out = r.says("整晚都不亮")                                           # more typed at the summary
    assert "說明：整晚都不亮（另有語音 1 段）" in out[-1]


def test_at_most_three_voice_messages(resident, app):
    r = resident
    r.says("我要報修道路坑洞")
    out = r.sends_voice(duration_ms=None)                               # at the place step: place by voice
    assert out[0] == "收到您的語音 👍" and "哪一個里" in out[-1]
    r.taps("左鎮里")
    r.taps("略過")
    r.sends_voice()
    r.sends_voice()
    out = r.sends_voice()
    assert "最多收 3 段" in out[0] and "說明：語音 3 段" not in out[0]
    assert len(attachments(app)) == 3
    r.taps("確認送出")
    [case] = cases(app)
    assert case.place_text == "（用語音說明）" and case.village == "左鎮里"
    assert sum(a.submission_id == case.id for a in attachments(app)) == 3


def test_voice_at_a_choice_step_is_kept_and_the_step_asked_again(resident, app):
    r = resident
    r.deliver(postback_event(r.user, "flow=road"))
    out = r.sends_voice(duration_ms=7000)
    assert out[0] == "收到您的語音（7秒）👍" and "哪一種問題" in out[-1] and "坑洞/路面破損" in r.labels()
    r.taps("坑洞/路面破損")
    r.sends_location(*ZUOZHEN_LI)
    out = r.taps("略過")
    assert "說明" in out[-1]                                           # the voice does not skip the question
    r.says("很大一個洞")
    r.taps("確認送出")
    [case] = cases(app)
    assert [a.submission_id for a in attachments(app)] == [case.id]


def test_voice_outside_a_report_offers_a_report_or_the_office(resident, app):
    r = resident
    out = r.sends_voice(duration_ms=9000)
    assert "收到您的語音（9秒）" in out[0] and OFFICE in out[0]
    assert r.labels()[:2] == ["道路報修", "登革熱孳生源通報"]
    call = r.button("打電話給區公所")["action"]
    assert call["type"] == "uri" and call["uri"] == "tel:065731611"
    [att] = attachments(app)
    assert att.status == "stored" and att.submission_id is None          # fetched now: LINE does not keep it
    out = r.taps("道路報修")
    assert "哪一種問題" in out[-1]
    r.taps("坑洞/路面破損")
    r.sends_location(*ZUOZHEN_LI)
    out = r.taps("略過")                                                # no photo; the voice is the description
    assert "說明：語音 1 段" in out[-1]
    r.taps("確認送出")
    [case] = cases(app)
    assert attachments(app)[0].submission_id == case.id


def test_voice_in_an_anonymous_dengue_report_stays_anonymous(resident, app):
    r = resident
    r.deliver(postback_event(r.user, "flow=dengue"))
    r.taps("空地/空屋髒亂")
    r.sends_location(*ZUOZHEN_LI)
    r.taps("略過")
    r.sends_voice(duration_ms=6000)
    out = r.taps("匿名通報")
    assert "說明：語音 1 段" in out[-1]
    r.taps("確認送出")
    [case] = cases(app)
    assert case.line_user_id is None
    [att] = attachments(app)
    assert att.submission_id == case.id and att.user_hash == "anonymous"
    jobs.dengue_tick(svc(app), now=dt.datetime.now(dt.timezone.utc))
    [att] = attachments(app)
    assert att.user_hash == "anonymous" and svc(app).media.path(att.clean_key).is_file()  # staff still hear it


def test_voice_not_ready_is_retried_and_gone_is_dropped(resident, app, fake_line):
    from bot.worker import promote_due_jobs
    r = resident
    r.says("我要報修道路坑洞")
    r.sends_location(*ZUOZHEN_LI)
    r.taps("略過")
    fake_line.store.set_content_status("900000000000000011", 202)
    out = r.sends(audio_event(r.user, "900000000000000011", duration=4000))
    assert out[0] == "收到您的語音（4秒）👍"
    [att] = attachments(app)
    assert att.status == "pending"
    fake_line.store.put_content("900000000000000011", voice_m4a(), "audio/m4a")
    time.sleep(5.1)
    promote_due_jobs(svc(app))
    r.run_worker()
    [att] = attachments(app)
    assert att.status == "stored" and att.kind == "voice"
    fake_line.store.set_content_status("900000000000000012", 410)
    r.sends(audio_event(r.user, "900000000000000012", duration=4000))
    gone = [a for a in attachments(app) if a.line_message_id == "900000000000000012"][0]
    assert gone.status == "gone" and gone.clean_key is None


def test_unsent_voice_is_deleted(resident, app):
    from tests.helpers import unsend_event
    r = resident
    r.sends_voice()
    [att] = attachments(app)
    path = svc(app).media.path(att.clean_key)
    assert path.exists()
    r.deliver(unsend_event(r.user, r.last_voice_id))
    assert not path.exists()
    assert attachments(app)[0].status == "unsent"


def test_voice_in_the_welfare_screener_gets_a_kind_answer(resident, app):
    r = resident
    r.deliver(postback_event(r.user, "flow=welfare"))
    out = r.sends(audio_event(r.user))
    assert "語音" in out[0] and OFFICE in out[0]
    assert attachments(app) == []


# -- the dashboard: who hears it, the transcript, the list ------------------------------------------

def _voice_case(app, kind="road", **kw):
    from tests.staff_helpers import make_case
    ref = make_case(app, kind, None if kind != "road" else "pothole", **kw)
    stored = svc(app).media.save_voice(voice_m4a(), name=f"t{kind}")  # one file per attachment
    with svc(app).db.session() as s:
        sub = s.execute(select(Submission).where(Submission.ref == ref)).scalar_one()
        att = Attachment(line_message_id=f"v{sub.id}", submission_id=sub.id, user_hash="h", kind="voice",
                         status="stored", content_type=stored.content_type, sha256=stored.sha256,
                         size=stored.size, clean_key=stored.clean_key, duration_ms=2000)
        s.add(att)
        s.flush()
        return ref, att.id


@pytest.fixture
def voice_office(app):
    from tests.staff_helpers import make_staff
    for name, role, section in (("admin", "admin", None), ("road", "section", "農業及建設課"),
                                ("social", "section", "社會課"), ("civil", "section", "民政及人文課"),
                                ("eoc", "eoc", None)):
        make_staff(app, name, role, section)
    road, road_voice = _voice_case(app, "road")
    dengue, dengue_voice = _voice_case(app, "dengue", lat=23.04, lng=120.41, description="空地積水")
    return {"road": (road, road_voice), "dengue": (dengue, dengue_voice)}


HEARS = {"admin": {"road", "dengue"}, "road": {"road"}, "social": set(), "civil": {"dengue"}, "eoc": set()}


@pytest.mark.parametrize("who", sorted(HEARS))
def test_only_staff_who_see_the_case_hear_its_voice(app, voice_office, who):
    from tests.staff_helpers import audits, signed_in
    c = signed_in(app, who)
    for kind, (ref, att_id) in voice_office.items():
        resp = c.get(f"/staff/media/{att_id}")
        if kind not in HEARS[who]:
            assert resp.status_code == 404, (who, kind)
            continue
        assert resp.status_code == 200 and resp.mimetype == "audio/mp4" and resp.data == voice_m4a()
        assert resp.headers["Cache-Control"].startswith("private, no-store")
        assert resp.headers["Accept-Ranges"] == "bytes"
        part = c.get(f"/staff/media/{att_id}", headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.data == voice_m4a()[100:200]
        page = c.get(f"/staff/cases/{ref}").get_data(as_text=True)
        assert f'src="/staff/media/{att_id}"' in page and "<audio" in page and "約 2 秒" in page
    heard = [a for a in audits(app, "view") if (a.detail or "").startswith("voice ")]
    assert len(heard) == len(HEARS[who])                                # one row per listen, not per part
    assert app.test_client().get(f"/staff/media/{voice_office['road'][1]}").status_code == 302


def test_transcript_is_typed_by_staff_who_may_change_the_case_and_found_by_search(app, voice_office):
    from tests.staff_helpers import csv_rows, listed, post, signed_in
    ref, att_id = voice_office["road"]
    road = signed_in(app, "road")
    page = road.get("/staff/cases").get_data(as_text=True)
    assert re.search(rf'data-ref="{ref}".*?🔊', page, re.S)             # the list's mark
    url = f"/staff/cases/{ref}/voice/{att_id}/transcript"
    resp = post(road, url, {"transcript": "阿伯說：睦光里土地公廟前面有一個大洞"}, page=f"/staff/cases/{ref}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"#voice-{att_id}")
    html = road.get(f"/staff/cases/{ref}").get_data(as_text=True)
    assert "阿伯說：睦光里土地公廟前面有一個大洞" in html
    assert listed(road, "?q=土地公廟") == {ref}
    assert listed(road, "?q=沒有這句話") == set()
    # never in the exports
    assert all("土地公廟" not in ",".join(r) for r in csv_rows(road.get("/staff/cases/export.csv")))
    # a colleague who may not change this case cannot write it; one who may not see it gets 404
    eoc = signed_in(app, "eoc")
    assert post(eoc, url, {"transcript": "x"}, page="/staff/cases").status_code == 404
    dengue_ref, dengue_voice = voice_office["dengue"]
    wrong = f"/staff/cases/{ref}/voice/{dengue_voice}/transcript"       # another case's voice
    assert post(road, wrong, {"transcript": "x"}, page="/staff/cases").status_code == 404
    assert post(road, url, {"transcript": "長" * 2001}, page="/staff/cases").status_code == 302
    with svc(app).db.session() as s:
        assert s.get(Attachment, att_id).transcript.startswith("阿伯說")  # too long: unchanged
        assert s.get(Attachment, dengue_voice).transcript is None


# -- retention: like the phone number on a closed case; nothing kept that no case took ----------------

def test_voice_is_removed_like_the_phone_after_the_case_is_closed(app, voice_office):
    from sqlalchemy import update

    from bot import sweeper
    from services import workflow
    days = int(workflow.cfg()["retention"]["voice_days_after_closed"])
    (old, old_voice), (recent, recent_voice) = voice_office["road"], voice_office["dengue"]
    now = utcnow()
    with svc(app).db.session() as s:
        s.get(Attachment, old_voice).transcript = "路中間有洞"
        for ref, closed in ((old, now - dt.timedelta(days=days + 1)), (recent, now - dt.timedelta(days=days - 1))):
            s.execute(update(Submission).where(Submission.ref == ref).values(status="resolved", closed_at=closed))
        old_path = svc(app).media.path(s.get(Attachment, old_voice).clean_key)
    assert old_path.is_file()
    counts = sweeper.sweep(svc(app))
    assert counts["voice_files_removed"] == 1 and not old_path.exists()
    with svc(app).db.session() as s:
        gone, kept = s.get(Attachment, old_voice), s.get(Attachment, recent_voice)
        assert gone.status == "removed" and gone.clean_key is None and gone.transcript == "路中間有洞"
        assert kept.status == "stored" and svc(app).media.path(kept.clean_key).is_file()
        history = s.execute(select(CaseEvent).where(CaseEvent.submission_id == gone.submission_id)
                            .order_by(CaseEvent.id)).scalars().all()
        assert history[-1].action == "voice_removed" and history[-1].internal
    assert sweeper.sweep(svc(app))["voice_files_removed"] == 0


def test_a_voice_no_report_took_is_deleted_after_a_few_days(resident, app):
    from bot import sweeper
    r = resident
    r.sends_voice()                                                     # outside a report; no report follows
    [att] = attachments(app)
    path = svc(app).media.path(att.clean_key)
    sweeper.sweep(svc(app))
    assert path.exists()                                                # not yet
    days = int(retention.periods()["unlinked_media_days"])
    with svc(app).db.session() as s:
        keys = retention.remove_unlinked_media(s, now=utcnow() + dt.timedelta(days=days, hours=1))
    svc(app).media.delete(*keys)
    assert not path.exists() and attachments(app)[0].status == "removed"


def test_a_disaster_report_by_voice_tells_the_staff_group_to_listen(db_url, redis_url, fake_line, tmp_path):
    from tests.conftest import make_app
    group = "C" + "5" * 32
    app = make_app(db_url, redis_url, fake_line, tmp_path, STAFF_GROUP_ID=group,
                   PUBLIC_BASE_URL="https://zuozhen-bot.example")
    try:
        r = Resident(app, fake_line.store)
        r.deliver(postback_event(r.user, "flow=disaster"))
        r.taps("坍方/土石流")
        r.taps("都沒有")
        r.says("南171線 岡林里 活動中心旁")
        r.taps("完全不能通行")
        r.taps("2 到 5 戶")
        out = r.taps("不需要")
        assert "照片" in out[-1]
        out = r.sends_voice(duration_ms=15000)                          # instead of a photo: the story told
        assert out[0] == "收到您的語音（15秒）👍" and "說明：語音 1 段" in out[-1]
        out = r.taps("確認送出")
        ref = REF.search(out[0]).group(0)
        [alert] = [m["message"]["text"] for m in fake_line.store.sent(to=group)]
        assert ref in alert and "說明：語音 1 段" in alert
    finally:
        get_services(app).close()


def test_a_voice_message_too_large_to_keep_is_refused_kindly(resident, app, fake_line, monkeypatch):
    from services import media
    monkeypatch.setattr(media, "MAX_VOICE_BYTES", 1000)
    r = resident
    r.says("我要報修道路坑洞")
    r.sends_location(*ZUOZHEN_LI)
    r.taps("略過")
    r.sends_voice(duration_ms=600_000)
    [att] = attachments(app)
    assert att.status == "refused" and att.clean_key is None
    [push] = [m["message"]["text"] for m in fake_line.store.sent(to=r.user)
              if "太長" in m["message"].get("text", "")]
    assert "語音" in push and OFFICE in push
