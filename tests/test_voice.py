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
