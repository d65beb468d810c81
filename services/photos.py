"""Copy a photo from LINE into private storage, once; LINE does not keep content for long."""
from __future__ import annotations

import logging

from sqlalchemy import select

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
    stored = media.save(data)
    with db.session() as s:
        att = s.execute(select(Attachment).where(Attachment.id == attachment_id).with_for_update()).scalar_one()
        if att.status == "unsent":  # unsent while downloading
            media.delete(stored.original_key, stored.clean_key)
            return "unsent"
        att.status, att.sha256, att.size = "stored", stored.sha256, stored.size
        att.content_type = "image/jpeg" if stored.clean_key else "application/octet-stream"
        att.original_key, att.clean_key, att.fetched_at = stored.original_key, stored.clean_key, utcnow()
    return "stored"


def _set(db: Database, attachment_id: int, **values) -> None:
    with db.session() as s:
        att = s.get(Attachment, attachment_id)
        for k, v in values.items():
            setattr(att, k, v)
