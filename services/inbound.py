"""Inbound events: stored before the webhook answers, processed once."""
from __future__ import annotations

import datetime as dt
import functools
import json
import threading
from typing import Any, Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from services.db import Database
from services.models import InboundEvent, utcnow


@functools.cache
def _insert(dialect: str):
    """INSERT ... ON CONFLICT (webhook_event_id) DO NOTHING RETURNING id, built once."""
    ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = InboundEvent.__table__
    return (ins(table)
            .values(webhook_event_id=bindparam("webhook_event_id"), event_type=bindparam("event_type"),
                    payload=bindparam("payload"), status="received", attempts=0,
                    is_redelivery=bindparam("is_redelivery"), event_ts=bindparam("event_ts"),
                    received_at=bindparam("received_at"))
            .on_conflict_do_nothing(index_elements=["webhook_event_id"])
            .returning(table.c.id))


class StorageError(Exception):
    """The event could not be stored; the webhook answers 500 so that LINE redelivers."""


_PG_INSERT = ("INSERT INTO inbound_event (webhook_event_id, event_type, payload, status, attempts, is_redelivery,"
              " event_ts, received_at) VALUES (%s, %s, %s, 'received', 0, %s, %s, %s)"
              " ON CONFLICT (webhook_event_id) DO NOTHING RETURNING id")


class _PgWriter:
    """One autocommit connection per web thread with a server-side prepared INSERT.

    This is the only statement in the webhook request, so it skips the ORM and the pool: each
    INSERT is atomic and durable when it returns, with no BEGIN/COMMIT round trips.
    """

    def __init__(self, url: str):
        from sqlalchemy.engine import make_url
        self.conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.local = threading.local()

    def insert(self, rows: list[tuple]) -> list[int]:
        import psycopg
        conn = getattr(self.local, "conn", None)
        try:
            if conn is None or conn.closed:
                conn = self.local.conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=3)
            if len(rows) == 1:
                return [r[0] for r in conn.execute(_PG_INSERT, rows[0], prepare=True).fetchall()]
            ids = []
            with conn.cursor() as cur:
                # A batch (group commit): one pipelined round trip for all the rows.
                cur.executemany(_PG_INSERT, rows, returning=True)
                while True:
                    ids += [r[0] for r in cur.fetchall()]
                    if not cur.nextset():
                        break
            return ids
        except psycopg.Error as exc:
            if conn is not None:
                conn.close()
            self.local.conn = None
            raise StorageError(type(exc).__name__) from exc


_writers: dict[str, _PgWriter] = {}
_writers_lock = threading.Lock()


def store(db: Database, raw_events: Iterable[dict[str, Any]]) -> list[int]:
    """Insert the events that are new, committed; return the row ids of those inserted."""
    now = utcnow()
    rows = [(raw["webhookEventId"], raw.get("type", "?"), json.dumps(raw, ensure_ascii=False),
             bool((raw.get("deliveryContext") or {}).get("isRedelivery")), int(raw.get("timestamp") or 0), now)
            for raw in raw_events]
    if not rows:
        return []
    if db.engine.dialect.name == "postgresql":
        with _writers_lock:
            writer = _writers.get(db.url) or _writers.setdefault(db.url, _PgWriter(db.url))
        return writer.insert(rows)
    keys = ("webhook_event_id", "event_type", "payload", "is_redelivery", "event_ts", "received_at")
    params = [dict(zip(keys, row)) for row in rows]
    try:
        with db.autocommit.connect() as conn:
            result = conn.execute(_insert(db.engine.dialect.name), params[0] if len(params) == 1 else params)
            return [r[0] for r in result]
    except SQLAlchemyError as exc:
        raise StorageError(type(exc).__name__) from exc


def rows_for(db: Database, event_ids: list[str]) -> dict[str, tuple[int, str]]:
    """{webhookEventId: (row id, status)} for the ids that are stored."""
    with db.session() as s:
        rows = s.execute(select(InboundEvent.webhook_event_id, InboundEvent.id, InboundEvent.status)
                         .where(InboundEvent.webhook_event_id.in_(event_ids)))
        return {eid: (row_id, status) for eid, row_id, status in rows}


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
