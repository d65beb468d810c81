"""How the office works a case, below the dashboard: allowed moves, their history, and due dates
in working days."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
import yaml
from sqlalchemy import select

from services import calendar, submissions, workflow
from services.models import Staff, Submission, utcnow
from services.clock import TAIPEI
from services.workflow import WorkflowError
from tests.helpers import Resident, start_pothole_report, user_id
from tests.workflow_helpers import ROOT, load_case, move, new_case, new_staff, required_args, svc_of


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
