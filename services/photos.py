"""Copy a photo from LINE into private storage, once; LINE does not keep content for long."""
from __future__ import annotations

import logging

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.db import Database
from services.line import ContentGone, ContentNotReady, LineGateway
from services.media import MediaStore
from services.models import Attachment, utcnow

log = logging.getLogger(__name__)


def fetch(db: Database, line: LineGateway, media: MediaStore, attachment_id: int) -> str:
    """Download and store; returns the attachment's status. 202 raises to be retried later."""
    with db.session() as s:
        att = s.get(Attachment, attachment_id)
        if att is None:
            return "missing"
        if att.status != "pending":
            return att.status
        message_id = att.line_message_id
    try:
        data = line.get_content(message_id)
    except ContentGone:
        _set(db, attachment_id, status="gone")
        log.info("attachment %s: gone at LINE", attachment_id)
        return "gone"
    except ContentNotReady:
        log.info("attachment %s: not ready yet", attachment_id)
        raise
    stored = media.save(data, name=f"a{attachment_id}")
    with db.session() as s:
        att = s.execute(select(Attachment).where(Attachment.id == attachment_id).with_for_update()).scalar_one()
        if att.status == "unsent":  # unsent while downloading
            media.delete(*unshared(s, attachment_id, stored.original_key, stored.clean_key))
            return "unsent"
        att.status, att.sha256, att.size = "stored", stored.sha256, stored.size
        att.content_type = "image/jpeg" if stored.clean_key else "application/octet-stream"
        att.original_key, att.clean_key, att.fetched_at = stored.original_key, stored.clean_key, utcnow()
    return "stored"


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
