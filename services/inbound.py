"""Inbound events: stored before the webhook answers, processed once."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from services.db import Database
from services.models import InboundEvent, utcnow


def store(db: Database, raw_events: Iterable[dict[str, Any]]) -> list[int]:
    """Insert events that are new; return the row ids of those inserted (duplicates skipped)."""
    ins = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    ids: list[int] = []
    now = utcnow()
    with db.session() as s:
        for raw in raw_events:
            stmt = ins(InboundEvent).values(
                webhook_event_id=raw["webhookEventId"], event_type=raw.get("type", "?"),
                payload=json.dumps(raw, ensure_ascii=False), status="received", attempts=0,
                is_redelivery=bool((raw.get("deliveryContext") or {}).get("isRedelivery")),
                event_ts=int(raw.get("timestamp") or 0), received_at=now,
            ).on_conflict_do_nothing(index_elements=["webhook_event_id"]).returning(InboundEvent.id)
            row = s.execute(stmt).first()
            if row is not None:
                ids.append(row[0])
    return ids


def unprocessed(db: Database, older_than_s: float, limit: int = 200, max_attempts: int = 10) -> list[int]:
    cutoff = utcnow() - dt.timedelta(seconds=older_than_s)
    with db.session() as s:
        return list(s.execute(
            select(InboundEvent.id).where(InboundEvent.status == "received", InboundEvent.received_at < cutoff,
                                          InboundEvent.attempts < max_attempts)
            .order_by(InboundEvent.id).limit(limit)).scalars())


def give_up(db: Database, max_attempts: int = 10) -> list[tuple[int, dict[str, Any]]]:
    """Mark events that failed too often as failed; return (row id, raw event) to apologise to."""
    out = []
    with db.session() as s:
        rows = s.execute(select(InboundEvent).where(InboundEvent.status == "received",
                                                    InboundEvent.attempts >= max_attempts)
                         .with_for_update()).scalars().all()
        for ev in rows:
            raw = json.loads(ev.payload or "{}")
            ev.status, ev.payload, ev.processed_at = "failed", None, utcnow()
            out.append((ev.id, raw))
    return out
