"""Telling residents that their case moved: one push per recipient per change, never twice.

``plan`` writes the outgoing messages for a case change (the reporter and every follower who
still follows the account) with a deterministic retry key, in one transaction; a unique key on
(case change, recipient) makes a second run a no-op. Sending is ``bot.dispatch.send_outbox``.
A monthly push budget keeps the last part of the quota for essential changes.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services import submissions, workflow
from services.knowledge import category_label, t
from services.messages import Text
from services.models import CaseEvent, LineUser, OutboundMessage, Submission
from services import clock

NAMESPACE = uuid.UUID("6f1c1d3e-6b1e-4d35-9d7c-2a5f7f0c1a11")


def retry_key(case_event_id: int, to: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"case-event:{case_event_id}:{to}"))


def message(sub: Submission, event: CaseEvent, session: Session, to: str | None = None) -> Text:
    """The push for one recipient ``to``. The kept case of a duplicate is named only to a resident
    who may look it up (she reported or follows it); anyone else hears that it was merged."""
    extra = ""
    if event.to_status == "referred" and sub.referred_agency:
        extra = t("status.push_referred", agency=sub.referred_agency,
                  phone=sub.referred_phone or t("status.push_no_phone"))
    elif event.to_status == "duplicate" and sub.duplicate_of_id:
        kept = session.get(Submission, sub.duplicate_of_id)
        if submissions.can_see(session, to, kept):
            extra = t("status.push_duplicate", kept=kept.ref)
        else:
            extra = t("status.push_duplicate_unnamed")
    elif event.to_status == "rejected" and sub.reject_reason:
        extra = t("status.push_rejected", reason=sub.reject_reason)
    note = t("status.push_note", note=event.note) if event.is_public_note else ""
    text = t("status.push", ref=sub.ref, category=category_label(sub.kind, sub.category),
             status=t(f"status.{event.to_status}"), extra=extra, note=note)
    return Text("\n".join(line for line in text.splitlines() if line.strip()))


def month_usage(session: Session, now: dt.datetime | None = None) -> int:
    """Pushes sent this calendar month (Taipei time)."""
    now = clock.taipei_now(now)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(dt.timezone.utc)
    return session.execute(select(func.count(OutboundMessage.id)).where(
        OutboundMessage.via == "push", OutboundMessage.sent_at >= start)).scalar_one()


def within_budget(status: str, used: int, quota: int | None) -> bool:
    if quota is None:
        return True
    if status in workflow.cfg()["essential"]:
        return used < quota
    reserve = float(workflow.cfg()["push_budget_reserve"])
    return used < quota * (1 - reserve)


def plan(session: Session, case_event_id: int, quota: int | None, user_hash: Callable[[str], str]) -> list[int]:
    """Write the pushes for one case change; returns the outgoing message ids to send.

    ``user_hash`` is the app's salted hash of a LINE user id (unfollows are kept by hash).
    """
    event = session.get(CaseEvent, case_event_id)
    if event is None or not event.notify or event.internal:
        return []
    sub = session.get(Submission, event.submission_id)
    rows = list(session.execute(select(OutboundMessage).where(OutboundMessage.case_event_id == case_event_id)).scalars())
    if any(o.redacted_at is not None for o in rows):
        # Planned and delivered long ago (a redacted row no longer names its recipient): never again.
        return [o.id for o in rows if o.redacted_at is None]
    existing = {o.to: o.id for o in rows}
    recipients = [sub.line_user_id] + [f.line_user_id for f in sub.followers]
    used = month_usage(session)
    ids = []
    for to in dict.fromkeys(r for r in recipients if r):
        if to in existing:
            ids.append(existing[to])
            continue
        if _blocked(session, user_hash(to)):
            continue
        if not within_budget(event.to_status or "", used, quota):
            continue
        ob = OutboundMessage(case_event_id=case_event_id, kind="status", to=to, reply_token=None,
                             messages=[message(sub, event, session, to).to_dict()],
                             retry_key=retry_key(case_event_id, to))
        session.add(ob)
        session.flush()
        ids.append(ob.id)
        used += 1
    return ids


def _blocked(session: Session, user_hash: str) -> bool:
    return bool(session.execute(select(LineUser.blocked).where(LineUser.user_hash == user_hash)).scalar_one_or_none())
