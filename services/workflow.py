"""How the office works a case: statuses, allowed moves, notes, assignment, due dates.

The rules are data in knowledge/workflow.yaml. Every change is a new ``CaseEvent`` row; the
caller commits, and only after the commit is the resident told (``bot.jobs.notify_case_event``).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import calendar, clock, kinds
from services.knowledge import load
from services.models import CaseEvent, Staff, Submission, utcnow


class WorkflowError(ValueError):
    """A change the workflow does not allow; the message says why (for staff, in English keys)."""


def cfg() -> dict[str, Any]:
    return load("workflow")


def status_label(status: str) -> str:
    return cfg()["statuses"].get(status, {}).get("label", status)


def open_statuses() -> tuple[str, ...]:
    return tuple(k for k, v in cfg()["statuses"].items() if v["open"])


def allowed(from_status: str) -> list[str]:
    return list(cfg()["transitions"].get(from_status, []))


def owner_section(kind: str) -> str | None:
    return kinds.owner(kind)


def target_days(kind: str, category: str | None) -> int:
    targets = cfg()["targets_working_days"]
    by_kind = targets.get(kind)
    if isinstance(by_kind, dict):
        return int(by_kind.get(category or "other", by_kind.get("other", targets["default"])))
    if isinstance(by_kind, int):
        return by_kind
    return int(targets["default"])


def due_date(kind: str, category: str | None, created_at: dt.datetime) -> dt.date:
    """The target date in working days from the day the case came in (Taipei time)."""
    start = clock.today(created_at)
    return calendar.add_working_days(start, target_days(kind, category))


def is_overdue(sub: Submission, today: dt.date | None = None) -> bool:
    today = today or clock.today()
    return sub.status in open_statuses() and sub.due_date is not None and sub.due_date < today


def transition(session: Session, sub: Submission, to: str, actor: Staff, *, note: str | None = None,
               internal_note: str | None = None, agency: str | None = None, agency_phone: str | None = None,
               duplicate_of: str | None = None, reason: str | None = None) -> CaseEvent:
    """Move a case to ``to``; records a history row. Raises WorkflowError when not allowed."""
    if to not in allowed(sub.status):
        raise WorkflowError(f"not_allowed:{sub.status}->{to}")
    if to == "referred":
        if not agency or not agency.strip():
            raise WorkflowError("agency_required")
        sub.referred_agency, sub.referred_phone = agency.strip()[:60], (agency_phone or "").strip()[:30] or None
    if to == "duplicate":
        kept = session.execute(select(Submission).where(Submission.ref == (duplicate_of or "").strip().upper())
                               ).scalar_one_or_none()
        if kept is None or kept.id == sub.id or not may_link_duplicate(actor, sub, kept):
            raise WorkflowError("duplicate_of_unknown")  # the same answer: no way to test a number
        sub.duplicate_of_id = kept.id
    if to == "rejected":
        if not reason or not reason.strip():
            raise WorkflowError("reason_required")
        sub.reject_reason = reason.strip()[:300]
    from_status = sub.status
    sub.status = to
    sub.closed_at = None if to in open_statuses() else utcnow()
    event = CaseEvent(submission_id=sub.id, actor_type="staff", actor_id=str(actor.id), action="status",
                      from_status=from_status, to_status=to, note=(note or "").strip() or None,
                      internal=False, notify=to in cfg()["notify"])
    session.add(event)
    if internal_note and internal_note.strip():
        session.add(CaseEvent(submission_id=sub.id, actor_type="staff", actor_id=str(actor.id), action="note",
                              note=internal_note.strip(), internal=True))
    session.flush()
    return event


def may_link_duplicate(actor: Staff, sub: Submission, kept: Submission) -> bool:
    """Whether ``sub`` may be marked a duplicate of ``kept`` by ``actor``: the actor may see the kept
    case (services/access.py), and a private kind (welfare, dengue) is linked only to its own kind,
    so that no page or push of another kind ever names it."""
    from services import access  # access reads this module's rules
    if not access.can_view(actor, kept):
        return False
    private = kinds.private_ids()
    return sub.kind == kept.kind or (sub.kind not in private and kept.kind not in private)


def add_note(session: Session, sub: Submission, actor: Staff, note: str, internal: bool) -> CaseEvent:
    if not note or not note.strip():
        raise WorkflowError("note_empty")
    event = CaseEvent(submission_id=sub.id, actor_type="staff", actor_id=str(actor.id), action="note",
                      note=note.strip(), internal=internal)
    session.add(event)
    session.flush()
    return event


def assign(session: Session, sub: Submission, actor: Staff, assignee: Staff | None) -> CaseEvent:
    sub.assignee_id = assignee.id if assignee else None
    event = CaseEvent(submission_id=sub.id, actor_type="staff", actor_id=str(actor.id), action="assign",
                      note=assignee.display_name if assignee else None, internal=True)
    session.add(event)
    session.flush()
    return event
