"""What an anonymous breeding-site report must not keep: ``anonymise`` (an action, in the same
transaction as the case) drops every link to the reporter; ``cleanup_anonymous`` (the workers'
minute tick) finishes what had to wait for an unsent message or an unfetched photo."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.actions import ActionContext, ActionResult
from services.dengue.models import DengueAnonCleanup
from services.dengue.words import KIND
from services.knowledge import t
from services.messages import Text
from services.models import Attachment, OutboundMessage, Submission, utcnow
from services.photos import unshared

CLEANUP_WAIT = dt.timedelta(days=2)  # give up waiting for an unsent message or an unfetched photo
CLOCK_MARGIN = dt.timedelta(minutes=1)


def anonymous_source_id(secret: str, event_id: str) -> str:
    """What an anonymous case keeps instead of the webhook event id: a keyed hash, so the case
    cannot be joined to the stored event (and through it to the messages sent to the reporter)."""
    return "anon-" + hmac.new(secret.encode(), event_id.encode(), hashlib.sha256).hexdigest()[:40]


def anonymise(session: Session, payload: dict[str, Any], ctx: ActionContext) -> ActionResult:
    """Right after an anonymous case is created, in the same transaction: drop every link to the
    reporter (event id, photos' user hash) and leave the conversation's messages and the photos'
    originals to be cleared once they are sent / fetched."""
    ref = ctx.values.get("ref")
    sub = session.execute(select(Submission).where(Submission.ref == ref)).scalar_one_or_none() if ref else None
    if sub is None or sub.kind != KIND:
        return ActionResult()
    sub.line_user_id = sub.chat_id = sub.phone = None
    sub.source_event_id = anonymous_source_id(str(ctx.config.get("SECRET_KEY", "")), ctx.event_id)
    sub.answers = {**(sub.answers or {}), "anonymous": True}
    photos = [str(p) for p in payload.get("photos") or ()]
    if photos:
        for att in session.execute(select(Attachment).where(Attachment.line_message_id.in_(photos))).scalars():
            att.user_hash = "anonymous"
    try:
        since = dt.datetime.fromtimestamp(float(payload.get("since")), dt.timezone.utc)
    except (TypeError, ValueError):
        since = utcnow() - dt.timedelta(minutes=35)
    session.add(DengueAnonCleanup(chat_id=ctx.chat_id, since=since - CLOCK_MARGIN, photo_ids=photos))
    session.flush()
    return ActionResult()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def cleanup_anonymous(session: Session, now: dt.datetime | None = None) -> list[str]:
    """Clear what anonymous reports left behind, once it is safe: the recipient and texts of the
    messages sent in the conversation (after they are sent), and the photo originals (after they
    are fetched; staff keep the copy without EXIF). Returns the media keys to delete after commit."""
    now = now or utcnow()
    to_delete: list[str] = []
    for row in session.execute(select(DengueAnonCleanup).order_by(DengueAnonCleanup.id).limit(200)).scalars():
        give_up = now - _aware(row.created_at) > CLEANUP_WAIT
        messages = []
        if row.chat_id:
            messages = list(session.execute(select(OutboundMessage).where(
                OutboundMessage.to == row.chat_id, OutboundMessage.created_at >= _aware(row.since),
                OutboundMessage.created_at <= _aware(row.created_at) + CLOCK_MARGIN)).scalars())
        atts = list(session.execute(select(Attachment).where(
            Attachment.line_message_id.in_(list(row.photo_ids or ())))).scalars()) if row.photo_ids else []
        waiting = any(m.status in ("pending", "sending") for m in messages) or \
            any(a.status == "pending" for a in atts)
        if waiting and not give_up:
            continue
        for m in messages:
            if m.status in ("pending", "sending"):
                m.status = "failed"
            m.to, m.reply_token = None, None
            m.messages = [Text(t("dengue.cleared")).to_dict()]
        for a in atts:
            a.user_hash, a.notify_to = "anonymous", None
            if a.original_key:
                to_delete += unshared(session, a.id, a.original_key)  # never another report's file
                a.original_key, a.sha256 = None, None
                session.flush()
        session.delete(row)
    session.flush()
    return to_delete
