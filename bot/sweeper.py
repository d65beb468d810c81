"""Re-enqueue work that was stored but never finished: events, messages, photos; and clear what is
kept no longer than needed (services/retention.py: delivered messages, phone numbers of old cases).

Runs every minute inside each worker (and on demand with ``flask --app app sweep``).
Because every job is idempotent, sweeping something that is in fact running is harmless.
"""
from __future__ import annotations

import datetime as dt
import logging

from redis.exceptions import RedisError
from sqlalchemy import select

from bot import queueing
from bot.events import chat_of
from bot.extensions import Services
from services.knowledge import t
from services.messages import Text
from services import inbound, metrics, retention
from services.models import Attachment, OutboundMessage, utcnow

log = logging.getLogger(__name__)


def apologise_for_failures(svc: Services) -> int:
    """Events that could not be handled after many tries: say so, with the office phone."""
    failed = inbound.give_up(svc.db)
    metrics.event("failed", len(failed))
    apologies = []
    with svc.db.session() as s:
        for row_id, raw in failed:
            chat, _user, _kind = chat_of(raw.get("source") or {})
            log.error("event row %s failed permanently", row_id)
            if chat and raw.get("type") in ("message", "postback"):
                ob = OutboundMessage(event_id=row_id, to=chat, reply_token=None,
                                     messages=[Text(t("common.sorry_failed")).to_dict()])
                s.add(ob)
                s.flush()
                apologies.append(ob.id)
    for ob_id in apologies:
        try:
            queueing.enqueue_send(svc, ob_id)
        except RedisError:
            pass  # the next sweep sends it
    return len(failed)


def sweep(svc: Services, older_than_s: float = 60) -> dict:
    cutoff = utcnow() - dt.timedelta(seconds=older_than_s)
    counts = {"events": 0, "messages": 0, "photos": 0, "failed": apologise_for_failures(svc)}
    with svc.db.session() as s:  # personal data is kept only as long as needed (docs/privacy.md)
        counts["redacted"] = retention.redact_messages(s)
        counts["phones_removed"] = retention.remove_phones(s)
        counts["photo_chats_cleared"] = retention.forget_photo_recipients(s)
        voices = retention.remove_voices(s)
        unlinked = retention.remove_unlinked_media(s)
    svc.media.delete(*voices, *unlinked)  # after the commit: a failed commit deletes no file
    counts["voice_files_removed"], counts["unlinked_files_removed"] = len(voices), len(unlinked)
    with svc.db.session() as s:
        events = inbound.unprocessed(svc.db, older_than_s)
        outbox = list(s.execute(select(OutboundMessage.id).where(
            OutboundMessage.status.in_(("pending", "sending")), OutboundMessage.created_at < cutoff,
            OutboundMessage.attempts < 6,
            OutboundMessage.created_at > utcnow() - dt.timedelta(hours=23))).scalars())
        photos = list(s.execute(select(Attachment.id).where(
            Attachment.status == "pending", Attachment.created_at < cutoff,
            Attachment.created_at > utcnow() - dt.timedelta(days=2))).scalars())
    try:
        for row_id in events:
            queueing.enqueue_event(svc, row_id)
            counts["events"] += 1
        for ob_id in outbox:
            queueing.enqueue_send(svc, ob_id)
            counts["messages"] += 1
        for att_id in photos:
            queueing.enqueue_media(svc, att_id)
            counts["photos"] += 1
    except RedisError:
        log.error("sweeper: redis unavailable; will try again")
    if any(counts.values()):
        log.info("sweeper: %s", counts)
    return counts
