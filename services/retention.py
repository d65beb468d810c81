"""Keeping personal data only as long as it is needed (個人資料保護法), run by the sweeper.

- Outgoing messages: once delivered, a message's recipient, reply token and texts are cleared
  (a confirm step repeats the phone number, the description and the place; a welfare result holds
  a household's answers); its id, kind, status, via, times and retry key stay, which is what proves
  delivery. A message never delivered is cleared the same way once nothing will send it any more.
- Phone numbers on cases: removed a set number of days after the case was closed, with an internal
  history row saying so.
- The chat a photo came from (kept only to tell the resident if the photo is refused): cleared when
  the fetch ends, and here for a fetch that never ended.

The periods are in knowledge/workflow.yaml under ``retention``; docs/privacy.md states them.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services import workflow
from services.models import Attachment, CaseEvent, OutboundMessage, Submission, utcnow

BATCH = 500  # rows per sweep and rule; the sweeper runs every minute


def periods() -> dict:
    return workflow.cfg()["retention"]


def redact(ob: OutboundMessage, now: dt.datetime) -> None:
    ob.to, ob.reply_token, ob.messages, ob.redacted_at = None, None, [], now


def redact_messages(session: Session, now: dt.datetime | None = None) -> int:
    """Clear delivered messages older than the delivery period, and undelivered ones nothing will
    send any more (the sweeper stops resending after 23 hours). Returns how many were cleared."""
    now = now or utcnow()
    p = periods()
    delivered_before = now - dt.timedelta(minutes=int(p["message_minutes_after_delivery"]))
    abandoned_before = now - dt.timedelta(days=int(p["undelivered_message_days"]))
    rows = list(session.execute(select(OutboundMessage).where(
        OutboundMessage.redacted_at.is_(None),
        or_((OutboundMessage.status == "sent")
            & (func.coalesce(OutboundMessage.sent_at, OutboundMessage.created_at) < delivered_before),
            (OutboundMessage.status != "sent") & (OutboundMessage.created_at < abandoned_before)))
        .order_by(OutboundMessage.id).limit(BATCH)).scalars())
    for ob in rows:
        if ob.status in ("pending", "sending"):
            ob.status, ob.last_error = "failed", "expired"  # never sent, and now never will be
        redact(ob, now)
    session.flush()
    return len(rows)


def remove_phones(session: Session, now: dt.datetime | None = None) -> int:
    """Remove the phone number of cases closed more than the retention period ago."""
    now = now or utcnow()
    before = now - dt.timedelta(days=int(periods()["phone_days_after_closed"]))
    rows = list(session.execute(select(Submission).where(
        Submission.phone.is_not(None), Submission.closed_at.is_not(None), Submission.closed_at < before,
        Submission.status.not_in(workflow.open_statuses())).order_by(Submission.id).limit(BATCH)).scalars())
    for sub in rows:
        sub.phone = None
        session.add(CaseEvent(submission_id=sub.id, actor_type="system", action="phone_removed", internal=True))
    session.flush()
    return len(rows)


def forget_photo_recipients(session: Session, now: dt.datetime | None = None) -> int:
    """Clear the chat kept with a photo whose fetch never ended (the sweeper retries for 2 days)."""
    now = now or utcnow()
    rows = list(session.execute(select(Attachment).where(
        Attachment.notify_to.is_not(None), Attachment.created_at < now - dt.timedelta(days=3))
        .limit(BATCH)).scalars())
    for att in rows:
        att.notify_to = None
    session.flush()
    return len(rows)
