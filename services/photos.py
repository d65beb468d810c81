"""Copy a photo or a voice message from LINE into private storage, once; LINE does not keep content
for long."""
from __future__ import annotations

import logging
import uuid

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.db import Database
from services.line import ContentGone, ContentNotReady, LineGateway
from services.knowledge import t
from services.media import MediaStore, TooLarge
from services.messages import Text
from services.models import Attachment, OutboundMessage, utcnow

log = logging.getLogger(__name__)
TOO_LARGE = {"photo": "common.photo_too_large", "voice": "common.voice.too_large"}
NAMESPACE = uuid.UUID("3b0f5a52-2a43-4a8e-9a8c-6b2f0d7e5c19")


def fetch(db: Database, line: LineGateway, media: MediaStore, attachment_id: int) -> str:
    """Download and store; returns the attachment's status. 202 raises to be retried later."""
    with db.session() as s:
        att = s.get(Attachment, attachment_id)
        if att is None:
            return "missing"
        if att.status != "pending":
            return att.status
        message_id, kind = att.line_message_id, att.kind
    try:
        data = line.get_content(message_id)
    except ContentGone:
        _set(db, attachment_id, status="gone", notify_to=None)
        log.info("attachment %s: gone at LINE", attachment_id)
        return "gone"
    except ContentNotReady:
        log.info("attachment %s: not ready yet", attachment_id)
        raise
    try:
        if kind == "voice":
            stored = media.save_voice(data, name=f"a{attachment_id}")
        else:
            stored = media.save(data, name=f"a{attachment_id}")
    except TooLarge:
        return _refuse(db, attachment_id, len(data), kind)
    with db.session() as s:
        att = s.execute(select(Attachment).where(Attachment.id == attachment_id).with_for_update()).scalar_one()
        if att.status == "unsent":  # unsent while downloading
            media.delete(*unshared(s, attachment_id, stored.original_key, stored.clean_key))
            return "unsent"
        att.status, att.sha256, att.size = "stored", stored.sha256, stored.size
        if kind == "voice":
            att.content_type = stored.content_type
        else:
            att.content_type = "image/jpeg" if stored.clean_key else "application/octet-stream"
        att.original_key, att.clean_key, att.fetched_at = stored.original_key, stored.clean_key, utcnow()
        att.notify_to = None
    return "stored"


def refusal_key(attachment_id: int) -> str:
    """The retry key of the message that tells the resident a photo was refused (one per photo)."""
    return str(uuid.uuid5(NAMESPACE, f"photo-refused:{attachment_id}"))


def _refuse(db: Database, attachment_id: int, size: int, kind: str = "photo") -> str:
    """A photo too large to decode (or a voice message too large to keep): nothing is stored, the
    attachment says so (staff see it missing) and the chat it came from is told kindly, once, in the
    same transaction."""
    with db.session() as s:
        att = s.execute(select(Attachment).where(Attachment.id == attachment_id).with_for_update()).scalar_one()
        if att.status != "pending":
            return att.status
        att.status, att.size, att.fetched_at = "refused", size, utcnow()
        to, att.notify_to = att.notify_to, None
        if to:
            s.add(OutboundMessage(kind="notice", to=to, reply_token=None, retry_key=refusal_key(attachment_id),
                                  messages=[Text(t(TOO_LARGE[kind])).to_dict()]))
    log.info("attachment %s: refused, too large", attachment_id)
    return "refused"


def refusal_message(db: Database, attachment_id: int) -> int | None:
    """The id of the refusal message still to send for this photo, if any."""
    with db.session() as s:
        return s.execute(select(OutboundMessage.id).where(
            OutboundMessage.retry_key == refusal_key(attachment_id),
            OutboundMessage.status.in_(("pending", "sending")))).scalar_one_or_none()


def unshared(session: Session, attachment_id: int | None, *keys: str | None) -> list[str]:
    """The media keys no attachment but ``attachment_id`` points to: the files that may be deleted
    when that attachment lets them go. Files are stored per attachment, but older ones were named
    by their SHA-256 alone, so a photo forwarded into another report may share them."""
    wanted = [k for k in dict.fromkeys(keys) if k]
    if not wanted:
        return []
    others = select(Attachment.original_key, Attachment.clean_key).where(
        or_(Attachment.original_key.in_(wanted), Attachment.clean_key.in_(wanted)))
    if attachment_id is not None:
        others = others.where(Attachment.id != attachment_id)
    used = {k for row in session.execute(others) for k in row if k}
    return [k for k in wanted if k not in used]


def _set(db: Database, attachment_id: int, **values) -> None:
    with db.session() as s:
        att = s.get(Attachment, attachment_id)
        for k, v in values.items():
            setattr(att, k, v)
