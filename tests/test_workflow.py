"""How the office works a case, below the dashboard: allowed moves, history, due dates in
working days, the pushes that tell residents (through the real SDK and the fake LINE server),
who may see what, and staff accounts."""
from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from bot import jobs
from bot.extensions import get_services
from services import access, calendar, notify, staff as staff_svc, submissions, workflow
from services.line import DeliveryError
from services.models import LineUser, OutboundMessage, Staff, Submission, utcnow
from services.clock import TAIPEI
from services.submissions import SubmissionDraft
from services.workflow import WorkflowError
from tests.helpers import Resident, start_pothole_report, user_id

ROOT = Path(__file__).resolve().parent.parent
PUSH = "/v2/bot/message/push"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_events = itertools.count(1)


# -- helpers ---------------------------------------------------------------------------------

def svc_of(app):
    return get_services(app)


def draft(kind: str = "road", category: str | None = "pothole", user: str | None = None, **kw) -> SubmissionDraft:
    return SubmissionDraft(kind=kind, source_event_id=f"test-{uuid.uuid4().hex}", line_user_id=user,
                           chat_id=user, flow_version=1, answers={}, category=category,
                           village="左鎮里", description="測試案件", **kw)


def new_case(app, kind: str = "road", category: str | None = "pothole", user: str | None = None,
             now: dt.datetime | None = None) -> int:
    with svc_of(app).db.session() as s:
        return submissions.create(s, draft(kind, category, user), now=now).id


def new_staff(app, role: str = "section", section: str | None = "農業及建設課", **kw) -> int:
    with svc_of(app).db.session() as s:
        member, _ = staff_svc.create(s, f"staff{next(_events)}", "承辦人", role, section,
                                     password="correct-horse-battery", **kw)
        return member.id


def move(app, case_id: int, actor_id: int, to: str, **kw) -> int:
    """One change in its own transaction, as the dashboard does it; returns the CaseEvent id."""
    with svc_of(app).db.session() as s:
        sub, actor = s.get(Submission, case_id), s.get(Staff, actor_id)
        return workflow.transition(s, sub, to, actor, **kw).id


def load_case(app, case_id: int) -> Submission:
    with svc_of(app).db.session() as s:
        sub = s.get(Submission, case_id)
        sub.history, sub.followers  # noqa: B018 - loaded while the session is open
        return sub


def pushes(fake_line, to: str | None = None):
    return [q for q in fake_line.store.requests
            if q.path == PUSH and (to is None or (q.json or {}).get("to") == to)]


def push_text(req) -> str:
    return "\n".join(m.get("text", "") for m in req.json["messages"])


def required_args(app, to: str, other_ref: str) -> dict:
    return {"referred": {"agency": "臺南市政府工務局", "agency_phone": "06-2991111"},
            "duplicate": {"duplicate_of": other_ref},
            "rejected": {"reason": "不在本所權責範圍"}}.get(to, {})


# -- allowed moves ------------------------------------------------------------------------------

def test_every_move_follows_workflow_yaml(app):
    rules = yaml.safe_load((ROOT / "knowledge" / "workflow.yaml").read_text(encoding="utf-8"))
    statuses = list(rules["statuses"])
    actor = new_staff(app)
    other = new_case(app)
    with svc_of(app).db.session() as s:
        other_ref = s.get(Submission, other).ref
    for from_status, to in itertools.product(statuses, statuses):
        case_id = new_case(app)
        with svc_of(app).db.session() as s:
            s.get(Submission, case_id).status = from_status
        if to in rules["transitions"].get(from_status, []):
            move(app, case_id, actor, to, **required_args(app, to, other_ref))
            assert load_case(app, case_id).status == to, (from_status, to)
        else:
            with pytest.raises(WorkflowError, match=f"not_allowed:{from_status}->{to}"):
                move(app, case_id, actor, to, **required_args(app, to, other_ref))
            assert load_case(app, case_id).status == from_status
    assert workflow.allowed("resolved") == ["in_progress"]
    assert workflow.open_statuses() == ("new", "in_progress")


def test_a_case_goes_through_its_life_with_one_history_row_per_change(app):
    actor = new_staff(app)
    case_id = new_case(app)
    sub = load_case(app, case_id)
    assert sub.status == "new" and sub.closed_at is None
    assert [(e.action, e.to_status) for e in sub.history] == [("created", "new")]

    move(app, case_id, actor, "in_progress", note="已派工")
    sub = load_case(app, case_id)
    assert sub.status == "in_progress" and sub.closed_at is None

    move(app, case_id, actor, "resolved", note="已修補完成")
    sub = load_case(app, case_id)
    assert sub.status == "resolved" and sub.closed_at is not None

    with pytest.raises(WorkflowError, match="not_allowed:resolved->referred"):
        move(app, case_id, actor, "referred", agency="臺南市政府工務局")
    assert load_case(app, case_id).status == "resolved"

    move(app, case_id, actor, "in_progress", note="民眾反映還沒修好，重新處理")
    sub = load_case(app, case_id)
    assert sub.status == "in_progress" and sub.closed_at is None          # reopened: no longer closed

    history = [(e.action, e.from_status, e.to_status, e.note) for e in sub.history]
    assert history == [
        ("created", None, "new", None),
        ("status", "new", "in_progress", "已派工"),
        ("status", "in_progress", "resolved", "已修補完成"),
        ("status", "resolved", "in_progress", "民眾反映還沒修好，重新處理"),
    ]
    status_rows = [e for e in sub.history if e.action == "status"]
    assert all(e.actor_type == "staff" and e.actor_id == str(actor) and e.notify and not e.internal
               for e in status_rows)


def test_referred_needs_an_agency(app):
    actor = new_staff(app)
    case_id = new_case(app)
    for agency in (None, "", "   "):
        with pytest.raises(WorkflowError, match="agency_required"):
            move(app, case_id, actor, "referred", agency=agency)
    sub = load_case(app, case_id)
    assert sub.status == "new" and len(sub.history) == 1 and sub.referred_agency is None
    move(app, case_id, actor, "referred", agency=" 臺南市政府工務局 ", agency_phone=" 06-2991111 ")
    sub = load_case(app, case_id)
    assert sub.status == "referred" and sub.closed_at is not None
    assert sub.referred_agency == "臺南市政府工務局" and sub.referred_phone == "06-2991111"


def test_duplicate_needs_another_existing_case(app):
    actor = new_staff(app)
    kept_id, case_id = new_case(app), new_case(app)
    kept, sub = load_case(app, kept_id), load_case(app, case_id)
    for ref in (None, "", "R-19990101-0001", sub.ref):                    # missing, unknown, itself
        with pytest.raises(WorkflowError, match="duplicate_of_unknown"):
            move(app, case_id, actor, "duplicate", duplicate_of=ref)
    assert load_case(app, case_id).status == "new"
    move(app, case_id, actor, "duplicate", duplicate_of=f"  {kept.ref.lower()} ")
    sub = load_case(app, case_id)
    assert sub.status == "duplicate" and sub.duplicate_of_id == kept_id and sub.closed_at is not None


def test_rejected_needs_a_reason(app):
    actor = new_staff(app)
    case_id = new_case(app)
    for reason in (None, "", "   "):
        with pytest.raises(WorkflowError, match="reason_required"):
            move(app, case_id, actor, "rejected", reason=reason)
    assert load_case(app, case_id).status == "new"
    move(app, case_id, actor, "rejected", reason="私人土地，非本所權責")
    sub = load_case(app, case_id)
    assert sub.status == "rejected" and sub.reject_reason == "私人土地，非本所權責" and sub.closed_at is not None


def test_internal_notes_never_reach_the_resident(app):
    actor, reporter = new_staff(app), user_id()
    case_id = new_case(app, user=reporter)
    move(app, case_id, actor, "in_progress", note="已派工", internal_note="包商老王，電話 0912-000-000")
    with svc_of(app).db.session() as s:
        sub, member = s.get(Submission, case_id), s.get(Staff, actor)
        workflow.add_note(s, sub, member, "民眾很急，優先處理", internal=True)
        workflow.add_note(s, sub, member, "已聯絡廠商，預計週五施工", internal=False)
        with pytest.raises(WorkflowError, match="note_empty"):
            workflow.add_note(s, sub, member, "   ", internal=True)
    sub = load_case(app, case_id)
    internal = [e for e in sub.history if e.internal]
    assert [e.note for e in internal] == ["包商老王，電話 0912-000-000", "民眾很急，優先處理"]
    assert all(not e.notify for e in internal)
    # the resident's look-up shows the latest note meant for her, never a later internal one
    with svc_of(app).db.session() as s:
        workflow.add_note(s, s.get(Submission, case_id), s.get(Staff, actor), "內部：再催一次", internal=True)
        seen = submissions.case_for_user(s, reporter, sub.ref)
    assert seen.public_note == "已聯絡廠商，預計週五施工"


def test_assignment_is_recorded_internally(app):
    actor, worker, reporter = new_staff(app), new_staff(app), user_id()
    case_id = new_case(app, user=reporter)
    with svc_of(app).db.session() as s:
        sub = s.get(Submission, case_id)
        workflow.assign(s, sub, s.get(Staff, actor), s.get(Staff, worker))
    sub = load_case(app, case_id)
    assert sub.assignee_id == worker
    assert sub.history[-1].action == "assign" and sub.history[-1].internal
    with svc_of(app).db.session() as s:   # the assignee's name is not a note for the resident
        assert submissions.case_for_user(s, reporter, sub.ref).public_note is None


# -- due dates --------------------------------------------------------------------------------

D = dt.date


def test_working_days_skip_the_constitution_day_holiday_and_the_weekend():
    assert not calendar.is_working_day(D(2026, 12, 25))                  # 行憲紀念日, a Friday
    assert calendar.add_working_days(D(2026, 12, 24), 1) == D(2026, 12, 28)
    assert calendar.add_working_days(D(2026, 12, 23), 2) == D(2026, 12, 28)
    assert calendar.add_working_days(D(2026, 12, 25), 1) == D(2026, 12, 28)   # starting on a day off
    assert calendar.add_working_days(D(2026, 12, 24), 0) == D(2026, 12, 24)


def test_working_days_across_new_year():
    assert calendar.add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 4)   # 1 Jan + weekend
    assert calendar.add_working_days(D(2026, 12, 24), 5) == D(2027, 1, 4)
    assert calendar.working_days_between(D(2026, 12, 24), D(2027, 1, 4)) == 5
    assert calendar.working_days_between(D(2027, 1, 4), D(2026, 12, 24)) == -5


def test_working_days_across_lunar_new_year_2027():
    # knowledge/calendar/tw-office-calendar-2027.csv: 2027-02-04 (小年夜) .. 2027-02-10 (補假) are off;
    # 2027-02-03 (Wed) and 2027-02-11 (Thu) are working days, 02-13/14 a weekend.
    rows = {r.split(",")[0]: r.split(",")[1] for r in
            (ROOT / "knowledge/calendar/tw-office-calendar-2027.csv").read_text(encoding="utf-8").splitlines()[1:]}
    assert [rows[f"2027-02-{d:02d}"] for d in range(3, 12)] == ["0", "1", "1", "1", "1", "1", "1", "1", "0"]
    assert calendar.add_working_days(D(2027, 2, 3), 1) == D(2027, 2, 11)
    assert calendar.add_working_days(D(2027, 2, 3), 3) == D(2027, 2, 15)
    assert calendar.add_working_days(D(2027, 2, 1), 4) == D(2027, 2, 12)   # 2, 3, 11, 12 Feb
    assert calendar.add_working_days(D(2027, 2, 1), 5) == D(2027, 2, 15)
    assert calendar.add_working_days(D(2027, 2, 5), 1) == D(2027, 2, 11)   # from inside the holidays
    assert calendar.working_days_between(D(2027, 2, 3), D(2027, 2, 11)) == 1


def test_a_year_outside_the_files_has_weekends_only():
    assert not (ROOT / "knowledge/calendar/tw-office-calendar-2030.csv").exists()
    assert calendar.is_working_day(D(2030, 1, 1))                         # a holiday, but not published
    assert calendar.add_working_days(D(2029, 12, 31), 1) == D(2030, 1, 1)
    assert calendar.add_working_days(D(2030, 1, 4), 1) == D(2030, 1, 7)   # Friday -> Monday
    assert calendar.add_working_days(D(2030, 1, 4), 5) == D(2030, 1, 11)


def test_due_date_counts_from_the_taipei_date():
    # Friday evening in Taipei: 5 working days for a pothole -> the next Friday.
    friday_evening = dt.datetime(2026, 12, 4, 21, 30, tzinfo=TAIPEI)
    assert workflow.due_date("road", "pothole", friday_evening) == D(2026, 12, 11)
    assert workflow.due_date("road", "pothole", friday_evening.astimezone(dt.timezone.utc)) == D(2026, 12, 11)
    # Just after midnight in Taipei it is already Friday, though still Thursday in UTC.
    thursday_utc = dt.datetime(2026, 12, 3, 16, 30, tzinfo=dt.timezone.utc)   # Fri 00:30 in Taipei
    assert workflow.due_date("road", "pothole", thursday_utc) == D(2026, 12, 11)
    # Monday 07:00 in Taipei is Sunday in UTC: counted from Monday.
    sunday_utc = dt.datetime(2026, 12, 6, 23, 0, tzinfo=dt.timezone.utc)
    assert workflow.due_date("road", "pothole", sunday_utc) == D(2026, 12, 14)
    # Targets per category and kind, from workflow.yaml.
    assert workflow.due_date("road", "tree", friday_evening) == D(2026, 12, 9)
    assert workflow.due_date("road", None, friday_evening) == calendar.add_working_days(D(2026, 12, 4), 10)
    assert workflow.due_date("welfare", None, friday_evening) == calendar.add_working_days(D(2026, 12, 4), 7)


def test_a_case_stored_on_a_friday_evening_gets_its_due_date(app):
    friday_evening = dt.datetime(2026, 12, 4, 13, 30, tzinfo=dt.timezone.utc)   # 21:30 in Taipei
    sub = load_case(app, new_case(app, now=friday_evening))
    assert sub.due_date == D(2026, 12, 11)
    assert sub.ref.startswith("R-20261204-")


def test_a_case_made_through_the_bot_has_a_due_date(app, fake_line):
    r = Resident(app, fake_line.store)
    before = utcnow().astimezone(TAIPEI).date()
    start_pothole_report(r)
    r.taps("略過")
    r.says("很大的洞")
    r.taps("確認送出")
    after = utcnow().astimezone(TAIPEI).date()
    with svc_of(app).db.session() as s:
        case = s.execute(select(Submission)).scalar_one()
    assert case.category == "pothole"
    assert case.due_date in {calendar.add_working_days(before, 5), calendar.add_working_days(after, 5)}
    assert calendar.working_days_between(before, case.due_date) in (4, 5)


def test_is_overdue():
    today = D(2026, 12, 10)
    assert workflow.is_overdue(Submission(status="new", due_date=D(2026, 12, 9)), today)
    assert workflow.is_overdue(Submission(status="in_progress", due_date=D(2026, 12, 9)), today)
    assert not workflow.is_overdue(Submission(status="new", due_date=today), today)
    assert not workflow.is_overdue(Submission(status="new", due_date=None), today)
    for closed in ("resolved", "referred", "duplicate", "rejected"):
        assert not workflow.is_overdue(Submission(status=closed, due_date=D(2026, 12, 1)), today)
    assert workflow.is_overdue(Submission(status="new", due_date=D(2000, 1, 1)))   # today by default


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


# -- who may see what ---------------------------------------------------------------------------

def test_who_sees_which_cases(app):
    svc = svc_of(app)
    cases = {kind: new_case(app, kind=kind, category=None if kind != "road" else "pothole")
             for kind in ("road", "welfare", "dengue", "disaster")}
    with svc.db.session() as s:
        assert {k: s.get(Submission, v).owner_section for k, v in cases.items()} == {
            "road": "農業及建設課", "welfare": "社會課", "dengue": "民政及人文課", "disaster": "民政及人文課"}
    accounts = {
        "admin": new_staff(app, "admin", None),
        "農業及建設課": new_staff(app, "section", "農業及建設課"),
        "社會課": new_staff(app, "section", "社會課"),
        "民政及人文課": new_staff(app, "section", "民政及人文課"),
        "eoc": new_staff(app, "eoc", None),
        "inactive admin": new_staff(app, "admin", None),
        "inactive 農業及建設課": new_staff(app, "section", "農業及建設課"),
    }
    expected = {
        "admin": {"road", "welfare", "dengue", "disaster"},
        "農業及建設課": {"road"},
        "社會課": {"welfare"},                      # welfare is private: its own section only
        "民政及人文課": {"dengue", "disaster"},
        "eoc": {"disaster"},                        # EOC duty sees disasters, never private kinds
        "inactive admin": set(),
        "inactive 農業及建設課": set(),
    }
    with svc.db.session() as s:
        for name in ("inactive admin", "inactive 農業及建設課"):
            s.get(Staff, accounts[name]).active = False
    with svc.db.session() as s:
        subs = {kind: s.get(Submission, cid) for kind, cid in cases.items()}
        for name, staff_id in accounts.items():
            member = s.get(Staff, staff_id)
            listed = {sub.kind for sub in s.execute(access.visible(select(Submission), member)).scalars()}
            assert listed == expected[name], name
            viewable = {kind for kind, sub in subs.items() if access.can_view(member, sub)}
            assert viewable == expected[name], name
            assert {kind for kind, sub in subs.items() if access.can_change(member, sub)} == expected[name]
        admin = s.get(Staff, accounts["admin"])
        eoc = s.get(Staff, accounts["eoc"])
        assert access.is_admin(admin) and not access.is_admin(eoc)
        assert access.can_export_personal(admin) and not access.can_export_personal(eoc)
        assert access.can_see_personal_data(s.get(Staff, accounts["農業及建設課"]), subs["road"])
        assert not access.can_see_personal_data(eoc, subs["disaster"])   # EOC sees the case, not the phone


# -- staff accounts ----------------------------------------------------------------------------

def test_passwords_are_hashed_with_scrypt(app):
    with svc_of(app).db.session() as s:
        member, password = staff_svc.create(s, "  Road.Clerk ", "道路承辦", "section", "農業及建設課",
                                            password="correct-horse-battery")
        generated, one_time = staff_svc.create(s, "admin2", "管理者", "admin")
        assert member.username == "road.clerk" and member.must_change_password
        assert password == "correct-horse-battery"
        assert len(one_time) >= 12 and generated.section is None
        for m, pw in ((member, password), (generated, one_time)):
            assert m.password_hash.startswith("scrypt:") and pw not in m.password_hash
            assert check_password_hash(m.password_hash, pw)
        for bad in (dict(role="boss"), dict(role="section", section="不存在課"),
                    dict(role="section", section=None), dict(password="short")):
            args = {"role": "section", "section": "農業及建設課", **bad}
            with pytest.raises(staff_svc.StaffError):
                staff_svc.create(s, f"x{next(_events)}", "x", args.pop("role"), **args)
        with pytest.raises(staff_svc.StaffError, match="username_taken"):
            staff_svc.create(s, "ROAD.CLERK", "x", "eoc")
    with svc_of(app).db.session() as s:
        stored = s.execute(select(Staff.password_hash).where(Staff.username == "road.clerk")).scalar_one()
        assert "correct-horse-battery" not in stored and stored.startswith("scrypt:")


def test_failed_logins_are_counted_but_never_lock_the_account(app):
    """Each login attempt is its own request and transaction, as in the dashboard. Guessing is
    slowed per account and address in Redis (tests/test_dashboard_security.py), never by a lock an
    outsider could use to keep a colleague out."""
    new_staff(app)
    db = svc_of(app).db
    t0 = utcnow().replace(microsecond=0)
    with db.session() as s:
        username = s.execute(select(Staff.username)).scalar_one()
    for i in range(8):
        with db.session() as s:
            assert staff_svc.authenticate(s, username, f"wrong-{i}", now=t0) is None
    with db.session() as s:
        member = s.execute(select(Staff)).scalar_one()
        assert member.failed_logins == 8 and member.locked_until is None
    with db.session() as s:                                               # the right password, at once
        ok = staff_svc.authenticate(s, username.upper(), "correct-horse-battery", now=t0)
        assert ok is not None and ok.failed_logins == 0 and ok.locked_until is None
        assert ok.last_login_at == t0


def test_inactive_or_unknown_staff_cannot_log_in(app):
    staff_id = new_staff(app)
    with svc_of(app).db.session() as s:
        member = s.get(Staff, staff_id)
        username = member.username
        member.active = False
    with svc_of(app).db.session() as s:
        assert staff_svc.authenticate(s, username, "correct-horse-battery") is None
        assert staff_svc.authenticate(s, "nobody", "correct-horse-battery") is None
        assert staff_svc.authenticate(s, username, "") is None
        assert s.get(Staff, staff_id).failed_logins == 0      # an inactive account is not counted against


def test_create_staff_command_prints_a_one_time_password(tmp_path):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
           "MEDIA_DIR": str(tmp_path / "media"), "PYTHONPATH": str(ROOT)}

    def flask(*args):
        return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    out = flask("db", "upgrade")
    assert out.returncode == 0, out.stderr
    out = flask("create-staff", "--username", "x", "--role", "section", "--section", "農業及建設課")
    assert out.returncode == 0, out.stderr
    m = re.search(r"created x; one-time password: (\S+)", out.stdout)
    assert m, out.stdout
    password = m.group(1)
    assert len(password) >= 12
    import sqlite3
    with sqlite3.connect(tmp_path / "x.db") as conn:
        role, section, pw_hash, must_change = conn.execute(
            "select role, section, password_hash, must_change_password from staff where username = 'x'").fetchone()
        audited = conn.execute("select count(*) from audit_log where action = 'staff'").fetchone()[0]
    assert (role, section, bool(must_change)) == ("section", "農業及建設課", True)
    assert password not in pw_hash and pw_hash.startswith("scrypt:") and check_password_hash(pw_hash, password)
    assert audited == 1
    again = flask("create-staff", "--username", "x", "--role", "section", "--section", "農業及建設課")
    assert again.returncode != 0 and "username_taken" in again.stderr
    bad = flask("create-staff", "--username", "y", "--role", "section", "--section", "不存在課")
    assert bad.returncode != 0 and "section" in bad.stderr
