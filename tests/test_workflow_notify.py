"""The pushes that tell residents how their case moves on, through the real SDK and the fake LINE
server, and the monthly push budget."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from bot import jobs
from services import notify, submissions, workflow
from services.line import DeliveryError
from services.models import LineUser, OutboundMessage, Staff, Submission, utcnow
from tests.helpers import user_id
from tests.workflow_helpers import PUSH, UUID_RE, load_case, move, new_case, new_staff, push_text, pushes, svc_of


# -- notifications ------------------------------------------------------------------------------

@pytest.fixture
def bound(app):
    jobs.bind(app)
    return app


def test_a_status_change_is_pushed_once_to_the_reporter(bound, fake_line):
    app = bound
    reporter = user_id()
    actor = new_staff(app)
    case_id = new_case(app, user=reporter)
    ref = load_case(app, case_id).ref
    event_id = move(app, case_id, actor, "in_progress", note="已派工", internal_note="包商老王 0912-000-000")
    assert jobs.notify_case_event(event_id) == 1
    sent = pushes(fake_line)
    assert len(sent) == 1
    [req] = sent
    assert req.status == 200 and req.json["to"] == reporter
    key = req.headers.get("x-line-retry-key")
    assert key and UUID_RE.fullmatch(key) and key == notify.retry_key(event_id, reporter)
    text = push_text(req)
    assert ref in text and "處理中" in text and "已派工" in text and "坑洞" in text
    assert "老王" not in text and "0912" not in text                       # the internal note never leaves
    with svc_of(app).db.session() as s:
        [ob] = s.execute(select(OutboundMessage).where(OutboundMessage.case_event_id == event_id)).scalars()
        assert ob.status == "sent" and ob.via == "push" and ob.retry_key == key and ob.kind == "status"
    # Running the job again (a retry, a second worker) sends nothing more.
    jobs.notify_case_event(event_id)
    jobs.notify_case_event(event_id)
    assert len(pushes(fake_line)) == 1
    with svc_of(app).db.session() as s:
        assert s.execute(select(func.count(OutboundMessage.id))).scalar_one() == 1


def test_followers_are_told_too(bound, fake_line):
    app = bound
    reporter, follower = user_id(), user_id()
    actor = new_staff(app)
    case_id = new_case(app, user=reporter)
    with svc_of(app).db.session() as s:
        ref = s.get(Submission, case_id).ref
        submissions.follow(s, ref, follower, "follow-" + uuid.uuid4().hex)
        submissions.follow(s, ref, reporter, "follow-" + uuid.uuid4().hex)  # the reporter is no follower
    event_id = move(app, case_id, actor, "resolved", note="已修補完成")
    assert jobs.notify_case_event(event_id) == 2
    assert len(pushes(fake_line, reporter)) == 1 and len(pushes(fake_line, follower)) == 1
    assert len(pushes(fake_line)) == 2
    [to_follower] = pushes(fake_line, follower)
    assert ref in push_text(to_follower) and "已處理完成" in push_text(to_follower)
    keys = {q.headers["x-line-retry-key"] for q in pushes(fake_line)}
    assert len(keys) == 2                                                 # one key per recipient
    jobs.notify_case_event(event_id)
    assert len(pushes(fake_line)) == 2


def test_a_failed_push_raises_and_the_retry_keeps_its_key(bound, fake_line):
    app = bound
    reporter = user_id()
    actor = new_staff(app)
    case_id = new_case(app, user=reporter)
    event_id = move(app, case_id, actor, "in_progress", note="已派工")
    fake_line.store.fail_next(PUSH, 500)
    with pytest.raises(DeliveryError):
        jobs.notify_case_event(event_id)                                  # RQ retries the job later
    with svc_of(app).db.session() as s:
        ob = s.execute(select(OutboundMessage)).scalar_one()
        assert ob.status == "pending" and ob.attempts == 1 and "500" in (ob.last_error or "")
    jobs.notify_case_event(event_id)
    sent = pushes(fake_line)
    assert [q.status for q in sent] == [500, 200]
    assert sent[0].headers["x-line-retry-key"] == sent[1].headers["x-line-retry-key"]
    assert len([m for m in fake_line.store.sent(reporter) if m["via"] == "push"]) == 1
    with svc_of(app).db.session() as s:
        ob = s.execute(select(OutboundMessage)).scalar_one()
        assert ob.status == "sent" and ob.attempts == 2


def test_a_resident_who_unfollowed_gets_nothing(bound, fake_line):
    app = bound
    svc = svc_of(app)
    reporter, follower = user_id(), user_id()
    actor = new_staff(app)
    case_id = new_case(app, user=reporter)
    with svc.db.session() as s:
        submissions.follow(s, s.get(Submission, case_id).ref, follower, "follow-" + uuid.uuid4().hex)
        s.add(LineUser(user_hash=svc.user_hash(reporter), blocked=True))
    event_id = move(app, case_id, actor, "in_progress", note="已派工")
    assert jobs.notify_case_event(event_id) == 1
    assert pushes(fake_line, reporter) == [] and len(pushes(fake_line, follower)) == 1


def test_internal_notes_and_unnotified_changes_push_nothing(bound, fake_line):
    app = bound
    reporter = user_id()
    actor = new_staff(app)
    case_id = new_case(app, user=reporter)
    with svc_of(app).db.session() as s:
        sub, member = s.get(Submission, case_id), s.get(Staff, actor)
        internal_id = workflow.add_note(s, sub, member, "包商老王 0912-000-000", internal=True).id
        public_note_id = workflow.add_note(s, sub, member, "已聯絡廠商", internal=False).id
        assign_id = workflow.assign(s, sub, member, member).id
        created_id = sub.history[0].id
    for event_id in (internal_id, public_note_id, assign_id, created_id, 999999):
        assert jobs.notify_case_event(event_id) == 0
    assert pushes(fake_line) == []
    with svc_of(app).db.session() as s:
        assert s.execute(select(func.count(OutboundMessage.id))).scalar_one() == 0


def test_a_case_without_a_line_user_pushes_nothing(bound, fake_line):
    app = bound
    actor = new_staff(app)
    case_id = new_case(app, user=None)
    assert jobs.notify_case_event(move(app, case_id, actor, "in_progress")) == 0
    assert pushes(fake_line) == []


def test_push_budget_keeps_the_last_part_of_the_quota_for_essential_changes():
    assert notify.within_budget("in_progress", 10**6, None)
    assert notify.within_budget("in_progress", 89, 100)
    assert not notify.within_budget("in_progress", 90, 100)               # the last 10 % is reserved
    assert notify.within_budget("resolved", 99, 100)
    assert not notify.within_budget("resolved", 100, 100)
    for essential in ("referred", "duplicate", "rejected"):
        assert notify.within_budget(essential, 95, 100) and not notify.within_budget(essential, 100, 100)


def _sent_pushes(app, n: int, at: dt.datetime | None = None) -> None:
    with svc_of(app).db.session() as s:
        for _ in range(n):
            s.add(OutboundMessage(kind="reply", to=user_id(), messages=[{"type": "text", "text": "x"}],
                                  status="sent", via="push", sent_at=at or utcnow()))


def test_near_the_quota_only_essential_changes_are_pushed(bound, fake_line, monkeypatch):
    app = bound
    svc = svc_of(app)
    monkeypatch.setattr(svc.line, "monthly_quota", lambda: 10)
    _sent_pushes(app, 9)                                                  # 9 of 10 used: in the reserve
    _sent_pushes(app, 5, at=utcnow() - dt.timedelta(days=40))             # last month's do not count
    with svc.db.session() as s:
        assert notify.month_usage(s) == 9
    reporter = user_id()
    actor = new_staff(app)
    case_id = new_case(app, user=reporter)
    progress = move(app, case_id, actor, "in_progress", note="已派工")
    assert jobs.notify_case_event(progress) == 0
    assert pushes(fake_line) == []
    resolved = move(app, case_id, actor, "resolved", note="已修補完成")
    assert jobs.notify_case_event(resolved) == 1
    [req] = pushes(fake_line)
    assert req.json["to"] == reporter and "已處理完成" in push_text(req)
    # Now the quota is used up: not even essential changes go.
    reopened = move(app, case_id, actor, "in_progress")
    closed = move(app, case_id, actor, "rejected", reason="重複通報")
    assert jobs.notify_case_event(reopened) == 0 and jobs.notify_case_event(closed) == 0
    assert len(pushes(fake_line)) == 1


def test_the_budget_counts_pushes_of_the_taipei_month(app):
    # 2026-12-01 04:00 in Taipei is still 30 November in UTC; it belongs to December's budget.
    _sent_pushes(app, 1, at=dt.datetime(2026, 11, 30, 20, 0, tzinfo=dt.timezone.utc))
    _sent_pushes(app, 1, at=dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.timezone.utc))   # 23:00 30 Nov Taipei
    with svc_of(app).db.session() as s:
        assert notify.month_usage(s, dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.timezone.utc)) == 1
