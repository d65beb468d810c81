"""Cases: numbering, creation in one transaction, followers, look-ups for residents.

A case number exists only once its row is committed: ``create`` runs inside the
caller's transaction and the caller replies after the commit.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services import kinds, workflow
from services.clock import taipei_now
from services.models import Attachment, CaseCounter, CaseEvent, CaseFollower, Submission, utcnow
from services.villages import distance_m

# Case-number prefixes and the pattern that finds a case number: services/kinds.py (knowledge/kinds.yaml).


@dataclass(frozen=True)
class SubmissionDraft:
    """What a finished conversation hands to the dispatcher to store."""

    kind: str
    source_event_id: str
    line_user_id: str | None
    chat_id: str | None
    flow_version: int
    answers: dict[str, Any]
    category: str | None = None
    village: str | None = None
    lat: float | None = None
    lng: float | None = None
    place_text: str | None = None
    description: str | None = None
    phone: str | None = None
    danger: bool = False
    owner_section: str | None = None
    photo_message_ids: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class CaseView:
    """A case as a resident may see it (no other resident's data: a follower's view has no place text)."""

    ref: str
    kind: str
    category: str | None
    status: str
    village: str | None
    place_text: str | None
    created_at: dt.datetime
    distance_m: float | None = None
    public_note: str | None = None  # the latest note staff meant for the resident


def normalize_ref(text: str) -> str | None:
    """``R202611270001``, ``r-20261127 0001``, ``R一20261127一0001``, ``r20261127-1`` ->
    ``R-20261127-0001``; None if no case number."""
    m = kinds.ref_pattern().search(text or "")
    if not m:
        return None
    return f"{m.group(1).upper()}-{m.group(2)}-{(m.group(3) or m.group(4)).zfill(4)}"


def taipei_day(now: dt.datetime | None = None) -> str:
    return taipei_now(now).strftime("%Y%m%d")


def next_ref(session: Session, kind: str, now: dt.datetime | None = None) -> str:
    """Take the next number for today (Taipei time), safely under concurrency."""
    prefix = kinds.prefixes()[kind]
    day = taipei_day(now)
    row = session.execute(
        select(CaseCounter).where(CaseCounter.prefix == prefix, CaseCounter.day == day).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        try:
            with session.begin_nested():
                row = CaseCounter(prefix=prefix, day=day, last=0)
                session.add(row)
        except IntegrityError:
            row = session.execute(
                select(CaseCounter).where(CaseCounter.prefix == prefix, CaseCounter.day == day).with_for_update()
            ).scalar_one()
    row.last += 1
    session.flush()
    return f"{prefix}-{day}-{row.last:04d}"


def find_by_source_event(session: Session, source_event_id: str) -> Submission | None:
    return session.execute(
        select(Submission).where(Submission.source_event_id == source_event_id)
    ).scalar_one_or_none()


def create(session: Session, draft: SubmissionDraft, now: dt.datetime | None = None) -> Submission:
    """Store a case and its first history row; idempotent on ``source_event_id``."""
    existing = find_by_source_event(session, draft.source_event_id)
    if existing is not None:
        return existing
    sub = Submission(
        ref=next_ref(session, draft.kind, now), kind=draft.kind, category=draft.category, status="new",
        village=draft.village, lat=draft.lat, lng=draft.lng, place_text=draft.place_text,
        description=draft.description, phone=draft.phone, danger=draft.danger,
        line_user_id=draft.line_user_id, chat_id=draft.chat_id, source_event_id=draft.source_event_id,
        flow_version=draft.flow_version, answers=draft.answers,
        owner_section=draft.owner_section or kinds.owner(draft.kind),
    )
    sub.due_date = workflow.due_date(draft.kind, draft.category, now or utcnow())
    session.add(sub)
    session.flush()
    session.add(CaseEvent(submission_id=sub.id, actor_type="resident", action="created", to_status="new"))
    if draft.photo_message_ids:
        for att in session.execute(
            select(Attachment).where(Attachment.line_message_id.in_(draft.photo_message_ids),
                                     Attachment.submission_id.is_(None))
        ).scalars():
            if att.status != "unsent":
                att.submission_id = sub.id
    session.flush()
    return sub


def followable(sub: Submission) -> bool:
    """Whether other residents may follow this case: never a private kind (a dengue report could be
    followed by the person it is about; a welfare call-back is one household's)."""
    return sub.kind not in kinds.private_ids()


def follow(session: Session, ref: str, line_user_id: str, source_event_id: str) -> Submission | None:
    """Add a resident as a follower of an open case; idempotent. None for a case nobody may follow."""
    sub = session.execute(select(Submission).where(Submission.ref == ref)).scalar_one_or_none()
    if sub is None or not followable(sub):
        return None
    already = session.execute(
        select(CaseFollower).where(or_(CaseFollower.source_event_id == source_event_id,
                                       (CaseFollower.submission_id == sub.id)
                                       & (CaseFollower.line_user_id == line_user_id)))
    ).scalar_one_or_none()
    if already is None and sub.line_user_id != line_user_id:
        session.add(CaseFollower(submission_id=sub.id, line_user_id=line_user_id, source_event_id=source_event_id))
        session.add(CaseEvent(submission_id=sub.id, actor_type="resident", action="followed"))
        session.flush()
    return sub


def _view(sub: Submission, distance: float | None = None, with_note: bool = False,
          reporter: bool = True) -> CaseView:
    """``reporter``: the resident who reported it sees her own place text; anyone else (a follower)
    sees the case by category, village, status and public notes only."""
    note = None
    if with_note:
        notes = [e.note for e in sub.history if e.is_public_note]
        note = notes[-1] if notes else None
    return CaseView(sub.ref, sub.kind, sub.category, sub.status, sub.village, sub.place_text if reporter else None,
                    sub.created_at, distance, note)


def nearby_open(session: Session, kind: str, category: str | None, lat: float, lng: float,
                radius_m: float, days: int, now: dt.datetime | None = None, limit: int = 3) -> list[CaseView]:
    """Open cases of the same kind and category within ``radius_m`` and the last ``days`` days."""
    now = now or utcnow()
    dlat = radius_m / 110574.0
    dlng = radius_m / (111320.0 * math.cos(math.radians(lat)))
    q = select(Submission).where(
        Submission.kind == kind, Submission.status.in_(workflow.open_statuses()),
        Submission.created_at >= now - dt.timedelta(days=days),
        Submission.lat.between(lat - dlat, lat + dlat), Submission.lng.between(lng - dlng, lng + dlng),
    )
    if category:
        q = q.where(Submission.category == category)
    found = []
    for sub in session.execute(q).scalars():
        d = distance_m(lat, lng, sub.lat, sub.lng)
        if d <= radius_m:
            found.append(_view(sub, d))
    found.sort(key=lambda v: v.distance_m or 0)
    return found[:limit]


def cases_for_user(session: Session, line_user_id: str, limit: int = 5) -> list[CaseView]:
    """The resident's own and followed cases, newest first."""
    followed = select(CaseFollower.submission_id).where(CaseFollower.line_user_id == line_user_id)
    rows = session.execute(
        select(Submission).where(or_(Submission.line_user_id == line_user_id, Submission.id.in_(followed)))
        .order_by(Submission.created_at.desc(), Submission.id.desc()).limit(limit)
    ).scalars()
    return [_view(s, reporter=s.line_user_id == line_user_id) for s in rows]


def case_for_user(session: Session, line_user_id: str, ref: str) -> CaseView | None:
    """One case by number, only if the resident reported or follows it."""
    sub = session.execute(select(Submission).where(Submission.ref == ref)).scalar_one_or_none()
    if sub is None:
        return None
    if sub.line_user_id == line_user_id:
        return _view(sub, with_note=True)
    if any(f.line_user_id == line_user_id for f in sub.followers):
        return _view(sub, with_note=True, reporter=False)
    return None


def can_see(session: Session, line_user_id: str | None, sub: Submission | None) -> bool:
    """Whether a resident may see (and be told the number of) a case: she reported or follows it."""
    if sub is None or not line_user_id:
        return False
    if sub.line_user_id == line_user_id:
        return True
    return session.execute(select(CaseFollower.id).where(
        CaseFollower.submission_id == sub.id, CaseFollower.line_user_id == line_user_id)).first() is not None
