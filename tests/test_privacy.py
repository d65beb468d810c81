"""Nothing a resident sends can reach another resident, and nothing is kept longer than needed
(issue 14, items 1, 2, 3, 7 and 8), end to end: signed webhook -> worker -> fake LINE server
(through the real SDK) -> database and media folder; the dashboard with CSRF on.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from PIL import Image, ImageFile
from sqlalchemy import select, update

from bot import jobs, sweeper
from bot.extensions import get_services
from services import workflow
from services.models import Attachment, CaseFollower, OutboundMessage, Staff, Submission, utcnow
from tests.helpers import (POTHOLE_OPENING, Resident, ZUOZHEN_LI, location_event, postback_event,
                           start_pothole_report, tiny_jpeg, unsend_event)
from tests.staff_helpers import add_photo, make_case, make_staff, post, signed_in

NEAR = (ZUOZHEN_LI[0] + 0.0003, ZUOZHEN_LI[1])   # about 33 m away
ROAD_REF = re.compile(r"R-\d{8}-\d{4}")
DENGUE_REF = re.compile(r"D-\d{8}-\d{4}")


def svc(app):
    return get_services(app)


def ref_in(texts, pattern=ROAD_REF):
    m = pattern.search("\n".join(texts))
    return m.group(0) if m else None


def attachments(app, **where) -> list[Attachment]:
    with svc(app).db.session() as s:
        q = select(Attachment).order_by(Attachment.id)
        for k, v in where.items():
            q = q.where(getattr(Attachment, k) == v)
        return list(s.execute(q).scalars())


def road_report(r: Resident, *, photo: bytes | None = None, place: str | None = None,
                description: str = "很大的洞", phone: str | None = None) -> str:
    r.says(POTHOLE_OPENING)
    r.deliver(location_event(r.user, *ZUOZHEN_LI, address=place))
    if "不是，是新的" in r.labels():
        r.taps("不是，是新的")                                      # a case of her own
    if photo is not None:
        r.sends_photo(photo)
        r.says(description)
    else:
        r.taps("略過")
        r.says(description)
    if phone:
        r.taps("留電話")
        r.says(phone)
    return ref_in(r.taps("確認送出"))


def pushes(fake_line, to=None) -> list[str]:
    return ["\n".join(m.get("text", "") for m in q.json["messages"]) for q in fake_line.store.requests
            if q.path == "/v2/bot/message/push" and q.status == 200 and (to is None or q.json["to"] == to)]


# -- 1. a photo belongs to one report ---------------------------------------------------------------

def test_unsending_a_photo_leaves_the_same_photo_in_another_report(app, fake_line):
    photo = tiny_jpeg(with_gps=True)
    first, second = Resident(app, fake_line.store), Resident(app, fake_line.store)
    road_report(first, photo=photo)
    second.says("我要報修水溝")
    second.sends_location(*ZUOZHEN_LI)
    second.sends_photo(photo)                                       # the same bytes, forwarded
    kept, unsent = attachments(app)
    assert kept.sha256 == unsent.sha256 and kept.status == unsent.status == "stored"
    second.deliver(unsend_event(second.user, second.last_photo_id))
    [gone] = attachments(app, status="unsent")
    assert gone.id == unsent.id
    [still] = attachments(app, status="stored")
    assert svc(app).media.path(still.original_key).read_bytes() == photo
    assert svc(app).media.path(still.clean_key).is_file()
    for key in (unsent.original_key, unsent.clean_key):             # the unsent one's own files are gone
        if key not in (still.original_key, still.clean_key):
            assert not svc(app).media.path(key).exists()


def test_files_stored_before_per_attachment_names_are_deleted_only_when_unused(app, fake_line):
    """Older files were named by the SHA-256 alone, so two attachments may point to one file."""
    first, second = make_case(app, "road", "pothole"), make_case(app, "road", "drain")
    keep_id, photo, _ = add_photo(app, first)
    drop_id, _, _ = add_photo(app, second)
    with svc(app).db.session() as s:
        keep, drop = s.get(Attachment, keep_id), s.get(Attachment, drop_id)
        assert keep.original_key == drop.original_key                  # shared
        drop_mid, keys = drop.line_message_id, (keep.original_key, keep.clean_key)
    r = Resident(app, fake_line.store)
    r.deliver(unsend_event(r.user, drop_mid))
    assert [a.status for a in attachments(app)] == ["stored", "unsent"]
    assert all(svc(app).media.path(k).is_file() for k in keys)          # still used by the other report
    with svc(app).db.session() as s:
        mid = s.get(Attachment, keep_id).line_message_id
    r.deliver(unsend_event(r.user, mid))
    assert not any(svc(app).media.path(k).exists() for k in keys)     # the last user lets them go


def test_the_anonymous_clean_up_leaves_the_same_photo_in_a_named_report(app, fake_line):
    photo = tiny_jpeg(with_gps=True)
    named = Resident(app, fake_line.store)
    road_report(named, photo=photo)
    anon = Resident(app, fake_line.store)
    anon.deliver(postback_event(anon.user, "flow=dengue"))
    anon.taps("空地/空屋髒亂")
    anon.sends_location(23.03, 120.42)
    anon.sends_photo(photo)
    anon.says("空屋前面一堆垃圾和積水")
    anon.taps("匿名通報")
    assert ref_in(anon.taps("確認送出"), DENGUE_REF)
    assert jobs.dengue_tick(svc(app))["photos_cleared"] == 1
    road_photo = attachments(app, user_hash=svc(app).user_hash(named.user))[0]
    assert road_photo.original_key and svc(app).media.path(road_photo.original_key).read_bytes() == photo
    assert svc(app).media.path(road_photo.clean_key).is_file()


# -- 2. following a case shows no other reporter's words --------------------------------------------

def test_a_follower_sees_category_village_status_and_public_notes_only(app, fake_line):
    first = Resident(app, fake_line.store)
    ref = road_report(first, place="PRIVATE-王家後門旁邊", description="PRIVATE-我家門口的洞", photo=tiny_jpeg())
    second = Resident(app, fake_line.store)
    out = start_pothole_report(second, NEAR)
    assert ref in out[-1] and "PRIVATE" not in "\n".join(out)
    second.taps(ref)
    with svc(app).db.session() as s:
        assert s.execute(select(CaseFollower.line_user_id)).scalars().all() == [second.user]
    out = second.says(f"查詢 {ref}")
    assert ref in out[0] and "左鎮里" in out[0] and "已受理" in out[0]
    assert "PRIVATE" not in "\n".join(out)
    assert "PRIVATE-王家後門旁邊" in first.says(f"查詢 {ref}")[0]      # the reporter still sees her own words
    staff_id = make_staff(app, "road", "section", "農業及建設課")
    with svc(app).db.session() as s:
        sub = s.execute(select(Submission).where(Submission.ref == ref)).scalar_one()
        event = workflow.transition(s, sub, "in_progress", s.get(Staff, staff_id), note="PUBLIC-明天派人去補")
        event_id = event.id
    jobs.bind(app)
    jobs.notify_case_event(event_id)
    [push] = pushes(fake_line, second.user)
    assert "PUBLIC-明天派人去補" in push and "PRIVATE" not in push
    out = second.says(f"查詢 {ref}")
    assert "PUBLIC-明天派人去補" in out[0] and "PRIVATE" not in out[0]


def test_a_dengue_report_is_never_offered_to_another_resident_to_follow(app, fake_line):
    first, second = Resident(app, fake_line.store), Resident(app, fake_line.store)
    first.says("我要檢舉空地有廢輪胎積水")
    first.sends_location(*ZUOZHEN_LI)
    first.taps("略過")
    first.taps("具名通報")
    kept = ref_in(first.taps("確認送出"), DENGUE_REF)
    second.deliver(postback_event(second.user, "flow=dengue"))
    second.taps("積水容器")
    out = second.sends_location(*NEAR)
    assert kept not in "\n".join(out) and "附近已經有人通報過" not in "\n".join(out)
    assert "照片" in out[-1]                                          # straight on to the photos
    assert kept not in second.labels()
    # a crafted button naming the case follows nothing either
    second.deliver(postback_event(second.user, f"flow=dengue&step=duplicate&value={kept}"))
    with svc(app).db.session() as s:
        assert s.execute(select(CaseFollower)).scalars().all() == []


# -- 3. "duplicate of" follows the access rules -----------------------------------------------------

def test_a_section_cannot_probe_private_cases_through_duplicate_of(app, fake_line):
    make_staff(app, "road", "section", "農業及建設課")
    make_staff(app, "admin", "admin")
    road = make_case(app, "road", "pothole")
    welfare_ref = make_case(app, "welfare", None, lat=None, lng=None, place_text=None)
    dengue_ref = make_case(app, "dengue", None)
    c = signed_in(app, "road")
    answers = {}
    for target in (welfare_ref, dengue_ref, "R-19990101-0001"):
        resp = post(c, f"/staff/cases/{road}/transition", {"to_status": "duplicate", "duplicate_of": target},
                    page=f"/staff/cases/{road}")
        assert resp.status_code == 400, target
        answers[target] = re.sub(r'name="csrf_token"[^>]*>|' + re.escape(target), "", resp.get_data(as_text=True))
    assert answers[welfare_ref] == answers["R-19990101-0001"] == answers[dengue_ref]   # no oracle
    with svc(app).db.session() as s:
        assert s.execute(select(Submission.status).where(Submission.ref == road)).scalar_one() == "new"
    # not even an admin links a road case to a private one (its page would name it to the section)
    a = signed_in(app, "admin")
    resp = post(a, f"/staff/cases/{road}/transition", {"to_status": "duplicate", "duplicate_of": welfare_ref},
                page=f"/staff/cases/{road}")
    assert resp.status_code == 400


def test_the_duplicate_push_names_only_a_case_the_resident_can_see(app, fake_line):
    make_staff(app, "road", "section", "農業及建設課")
    first, second = Resident(app, fake_line.store), Resident(app, fake_line.store)
    kept = road_report(first)
    dup = road_report(second, description="又一個洞")              # declines the offer: a case of her own
    assert kept != dup
    c = signed_in(app, "road")
    resp = post(c, f"/staff/cases/{dup}/transition", {"to_status": "duplicate", "duplicate_of": kept},
                page=f"/staff/cases/{dup}")
    assert resp.status_code == 302
    from bot.worker import run_burst
    run_burst(app)
    [push] = pushes(fake_line, second.user)
    assert dup in push and kept not in push and "已併入" in push


# -- 7. delivered messages and phone numbers are not kept ------------------------------------------

def _age_outbox(app, minutes: int) -> None:
    past = utcnow() - dt.timedelta(minutes=minutes)
    with svc(app).db.session() as s:
        s.execute(update(OutboundMessage).values(created_at=past, sent_at=past))


def test_delivered_messages_are_redacted_even_after_cancel(app, fake_line):
    r = Resident(app, fake_line.store)
    r.says(POTHOLE_OPENING)
    r.deliver(location_event(r.user, *ZUOZHEN_LI, address="PRIVATE-王家後門"))
    r.taps("略過")
    r.says("PRIVATE-門口的洞")
    r.taps("留電話")
    out = r.says("0912345678")
    assert "0912-345-678" in out[-1]                                  # the confirm step repeats it
    out = r.says("取消")
    with svc(app).db.session() as s:
        rows = list(s.execute(select(OutboundMessage)).scalars())
        assert rows and all(o.status == "sent" for o in rows)
    counts = sweeper.sweep(svc(app))
    with svc(app).db.session() as s:                                  # just sent: kept for a while
        assert "0912-345-678" in json.dumps([o.messages for o in s.execute(select(OutboundMessage)).scalars()])
    _age_outbox(app, 11)
    counts = sweeper.sweep(svc(app))
    assert counts["redacted"] == len(rows)
    with svc(app).db.session() as s:
        after = list(s.execute(select(OutboundMessage).order_by(OutboundMessage.id)).scalars())
        kept = json.dumps([[o.to, o.reply_token, o.messages] for o in after], ensure_ascii=False)
        assert "0912-345-678" not in kept and "PRIVATE" not in kept and r.user not in kept
        # what proves delivery stays
        assert [o.id for o in after] == [o.id for o in rows]
        assert all(o.status == "sent" and o.via and o.sent_at and o.kind and o.redacted_at for o in after)
    assert sweeper.sweep(svc(app))["redacted"] == 0                 # once


def test_a_status_push_is_not_sent_again_after_its_record_was_redacted(app, fake_line):
    reporter = Resident(app, fake_line.store)
    ref = road_report(reporter)
    staff_id = make_staff(app, "road", "section", "農業及建設課")
    with svc(app).db.session() as s:
        sub = s.execute(select(Submission).where(Submission.ref == ref)).scalar_one()
        event_id = workflow.transition(s, sub, "in_progress", s.get(Staff, staff_id)).id
    jobs.bind(app)
    assert jobs.notify_case_event(event_id) == 1
    _age_outbox(app, 11)
    assert sweeper.sweep(svc(app))["redacted"] > 0
    assert jobs.notify_case_event(event_id) == 0                      # a late retry of the job pushes nothing
    assert len(pushes(fake_line, reporter.user)) == 1


def test_phone_numbers_are_removed_after_the_retention_period(app, fake_line):
    days = int(workflow.cfg()["retention"]["phone_days_after_closed"])
    old, recent, still_open = (make_case(app, "road", "pothole", phone=f"09{n}2345678") for n in (1, 2, 3))
    now = utcnow()
    with svc(app).db.session() as s:
        for ref, closed in ((old, now - dt.timedelta(days=days + 1)), (recent, now - dt.timedelta(days=days - 1))):
            s.execute(update(Submission).where(Submission.ref == ref).values(status="resolved", closed_at=closed))
    counts = sweeper.sweep(svc(app))
    assert counts["phones_removed"] == 1
    with svc(app).db.session() as s:
        phones = dict(s.execute(select(Submission.ref, Submission.phone)).all())
        assert phones[old] is None and phones[recent] == "0922345678" and phones[still_open] == "0932345678"
        sub = s.execute(select(Submission).where(Submission.ref == old)).scalar_one()
        assert [e.action for e in sub.history][-1] == "phone_removed" and sub.history[-1].internal
    assert sweeper.sweep(svc(app))["phones_removed"] == 0


# -- 8. the clean copy carries nothing, and a decompression bomb is refused kindly ------------------

def _jpeg_with_comment() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 60)).save(out, format="JPEG", comment=b"SECRET-COMMENT")
    return out.getvalue()


def _gif_with_comment() -> bytes:
    out = io.BytesIO()
    Image.new("P", (64, 48), 3).save(out, format="GIF", comment=b"SECRET-COMMENT")
    return out.getvalue()


def test_the_clean_copy_carries_no_comment(app, fake_line):
    r = Resident(app, fake_line.store)
    start_pothole_report(r)
    for data in (_jpeg_with_comment(), _gif_with_comment()):
        assert b"SECRET-COMMENT" in data
        r.sends_photo(data)
    atts = attachments(app)
    assert len(atts) == 2 and all(a.status == "stored" and a.clean_key for a in atts)
    for a in atts:
        clean = svc(app).media.path(a.clean_key).read_bytes()
        assert b"SECRET-COMMENT" not in clean
        with Image.open(io.BytesIO(clean)) as img:
            assert "comment" not in img.info and img.format == "JPEG"


def _bomb() -> bytes:
    """A small PNG of 10000 x 10000 pixels: 100 megapixels, 300 MB once decoded to RGB."""
    out = io.BytesIO()
    Image.new("1", (10000, 10000)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # the bomb is the point
def test_a_huge_image_is_refused_before_decoding_with_a_kind_answer(app, fake_line, monkeypatch):
    data = _bomb()
    assert len(data) < 200_000
    decoded = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self.size) or real_load(self))
    r = Resident(app, fake_line.store)
    start_pothole_report(r)
    r.sends_photo(data)
    assert (10000, 10000) not in decoded                              # never decoded
    [att] = attachments(app)
    assert att.status == "refused" and att.clean_key is None and att.original_key is None
    [push] = pushes(fake_line, r.user)
    assert "照片" in push and "太大" in push
    jobs.bind(app)
    jobs.fetch_media(att.id)                                          # a retried job says nothing twice
    assert len(pushes(fake_line, r.user)) == 1
    out = r.says("很大的洞")
    assert "確認" in out[-1]


def test_database_errors_never_show_a_querys_values(tmp_path):
    """A failing statement's error (what a traceback in the logs shows) names no value of the query."""
    import sqlalchemy as sa
    from services.db import make_engine
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (phone TEXT UNIQUE)"))
        conn.execute(sa.text("INSERT INTO t VALUES (:p)"), {"p": "0912345678"})
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO t VALUES (:p)"), {"p": "0912345678"})
    except sa.exc.IntegrityError as exc:
        assert "0912345678" not in str(exc)
    else:
        raise AssertionError("the duplicate was not refused")
