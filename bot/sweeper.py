"""Re-enqueue work that was stored but never finished: events, messages, photos.

Runs every minute inside each worker (and on demand with ``flask --app app sweep``).
Because every job is idempotent, sweeping something that is in fact running is harmless.
"""
from __future__ import annotations

import datetime as dt
import logging

from redis.exceptions import RedisError
from sqlalchemy import select

from bot import queueing
from bot.extensions import Services
from services import inbound
from services.models import Attachment, OutboundMessage, utcnow

log = logging.getLogger(__name__)


def sweep(svc: Services, older_than_s: float = 60) -> dict:
    cutoff = utcnow() - dt.timedelta(seconds=older_than_s)
    counts = {"events": 0, "messages": 0, "photos": 0, "failed": inbound.mark_failed_after(svc.db)}
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
