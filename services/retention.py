"""Keeping personal data only as long as it is needed (個人資料保護法), run by the sweeper.

- Outgoing messages: once delivered, a message's recipient, reply token and texts are cleared
  (a confirm step repeats the phone number, the description and the place; a welfare result holds
  a household's answers); its id, kind, status, via, times and retry key stay, which is what proves
  delivery. A message never delivered is cleared the same way once nothing will send it any more.
- Phone numbers on cases: removed a set number of days after the case was closed, with an internal
  history row saying so.
- Voice messages on cases: removed like the phone number (a voice tells who spoke), the same number
  of days after the case was closed; the transcript staff typed stays as the record, and an internal
  history row says so.
- Photos and voice messages that never became part of a case (a report cancelled or never finished,
  a voice message sent outside a report and no report started): their files are deleted after a
  few days.
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


def remove_voices(session: Session, now: dt.datetime | None = None) -> list[str]:
    """Remove the voice messages of cases closed more than the retention period ago; returns the
    media keys to delete once the transaction is committed."""
    now = now or utcnow()
    before = now - dt.timedelta(days=int(periods()["voice_days_after_closed"]))
    rows = list(session.execute(select(Attachment, Submission).join(
        Submission, Attachment.submission_id == Submission.id).where(
        Attachment.kind == "voice", Attachment.clean_key.is_not(None), Submission.closed_at.is_not(None),
        Submission.closed_at < before, Submission.status.not_in(workflow.open_statuses()))
        .order_by(Attachment.id).limit(BATCH)).all())
    keys = _let_go(session, [att for att, _ in rows])
    for sub_id in dict.fromkeys(sub.id for _, sub in rows):
        session.add(CaseEvent(submission_id=sub_id, actor_type="system", action="voice_removed", internal=True))
    session.flush()
    return keys


def remove_unlinked_media(session: Session, now: dt.datetime | None = None) -> list[str]:
    """Delete the files of photos and voice messages no case took within the period (the
    conversation that fetched them ended long ago); returns the media keys to delete after commit."""
    now = now or utcnow()
    before = now - dt.timedelta(days=int(periods()["unlinked_media_days"]))
    rows = list(session.execute(select(Attachment).where(
        Attachment.submission_id.is_(None), Attachment.created_at < before,
        or_(Attachment.original_key.is_not(None), Attachment.clean_key.is_not(None)))
        .order_by(Attachment.id).limit(BATCH)).scalars())
    keys = _let_go(session, rows)
    session.flush()
    return keys


def _let_go(session: Session, atts: list[Attachment]) -> list[str]:
    """Mark the attachments ``removed`` (no files, no sender) and return the keys no other uses."""
    from services.photos import unshared
    keys: list[str] = []
    for att in atts:
        keys += unshared(session, att.id, att.original_key, att.clean_key)
        att.status, att.original_key, att.clean_key, att.notify_to = "removed", None, None, None
        session.flush()
    return keys


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
