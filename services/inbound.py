"""Inbound events: stored before the webhook answers, processed once.

On PostgreSQL the webhook's only storage call is ``store``: one ``INSERT ... ON CONFLICT
(webhook_event_id) DO NOTHING`` for a batch of events that, in the same statement and
transaction, announces each new row with ``pg_notify('inbound_v1', '<row id> <webhookEventId>')``.
PostgreSQL delivers a notice only after the commit, so a listener never hears of a row it cannot
read. The workers' feeder (``bot/worker.py``) listens with ``Listener`` and catches up with
``waiting`` after it (re)connects; the sweeper re-enqueues anything older still ``received``.
On SQLite (the local mode) there is no notice: the webhook hands ids over through Redis.
"""
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

CHANNEL = "inbound_v1"


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


# One statement for n events: the inserts (the durable dedupe) and, for each new row only, the
# notice to the feeder. Its result has one row (id, webhookEventId, '') per new event; an event
# stored before (or twice in the batch) inserts nothing and is not announced.
def _pg_insert_sql(n: int) -> str:
    values = ", ".join(
        f"(${6 * k + 1}, ${6 * k + 2}, ${6 * k + 3}, 'received', 0, ${6 * k + 4}::boolean, ${6 * k + 5}::bigint,"
        f" ${6 * k + 6}::timestamptz)" for k in range(n))
    return ("WITH ins AS (INSERT INTO inbound_event (webhook_event_id, event_type, payload, status, attempts,"
            f" is_redelivery, event_ts, received_at) VALUES {values}"
            " ON CONFLICT (webhook_event_id) DO NOTHING RETURNING id, webhook_event_id)"
            f" SELECT id, webhook_event_id, pg_notify('{CHANNEL}', id || ' ' || webhook_event_id) FROM ins")


def _conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class _PgWriter:
    """One autocommit connection per web thread, one server-side prepared statement per batch size.

    This is the only statement in the webhook request, so it skips the ORM, the pool and psycopg's
    Python layer: a batch (one request's events, or several requests' under group commit) is one
    ``PQexecPrepared`` call (libpq, through ``psycopg.pq``; it releases the GIL while it waits)
    with text parameters: one round trip, one implicit transaction, durable when it returns.
    """

    MAX_ROWS = 50  # per statement; a larger batch is split

    def __init__(self, url: str):
        self.conninfo = _conninfo(url)
        self.local = threading.local()

    def insert(self, rows: list[tuple[str, str, str, bool, int, dt.datetime]]) -> list[int | None]:
        import psycopg
        from psycopg import pq
        conn = getattr(self.local, "conn", None)
        try:
            if conn is None or conn.closed:
                conn = self.local.conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=3,
                                                         client_encoding="utf8")
                self.local.prepared = set()
            pgconn = conn.pgconn
            new: dict[str, int] = {}
            for i in range(0, len(rows), self.MAX_ROWS):
                chunk = rows[i:i + self.MAX_ROWS]
                name = b"zuozhen_inbound_%d" % len(chunk)
                if len(chunk) not in self.local.prepared:
                    res = pgconn.prepare(name, _pg_insert_sql(len(chunk)).encode())
                    if res.status != pq.ExecStatus.COMMAND_OK:
                        raise StorageError((res.error_field(pq.DiagnosticField.SQLSTATE) or b"prepare").decode())
                    self.local.prepared.add(len(chunk))
                params: list[bytes] = []
                for event_id, etype, payload, redelivery, ts, received in chunk:
                    params += (event_id.encode(), etype.encode(), payload.encode(), b"t" if redelivery else b"f",
                               b"%d" % ts, received.isoformat().encode())
                res = pgconn.exec_prepared(name, params)
                if res.status != pq.ExecStatus.TUPLES_OK:
                    sqlstate = (res.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
                    raise StorageError(sqlstate or pq.ExecStatus(res.status).name)
                for k in range(res.ntuples):
                    new[res.get_value(k, 1).decode()] = int(res.get_value(k, 0))
            # The row id for the first of each new event; None for one stored before or repeated.
            return [new.pop(row[0], None) for row in rows]
        except (psycopg.Error, StorageError) as exc:
            if conn is not None:
                conn.close()
            self.local.conn = None
            if isinstance(exc, StorageError):
                raise
            raise StorageError(type(exc).__name__) from exc


def _redelivery(raw: dict[str, Any]) -> bool:
    ctx = raw.get("deliveryContext")
    return isinstance(ctx, dict) and ctx.get("isRedelivery") is True


def _timestamp(raw: dict[str, Any]) -> int:
    """LINE's event time in ms; 0 for a value that is not one (the worker's SDK check then ignores
    the event), so that an odd field never makes the webhook fail and LINE redeliver forever."""
    ts = raw.get("timestamp")
    return ts if isinstance(ts, int) and not isinstance(ts, bool) and 0 <= ts < 2**63 else 0


_writers: dict[str, _PgWriter] = {}
_writers_lock = threading.Lock()


def store(db: Database, raw_events: Iterable[dict[str, Any]]) -> list[int | None]:
    """Insert the events, committed. For each event: its new row id, or None if it was stored
    before (the unique ``webhook_event_id``). On PostgreSQL each new row is also announced on
    ``CHANNEL`` when the statement commits. Raises StorageError."""
    now = utcnow()
    rows = [(raw["webhookEventId"], raw.get("type", "?"), json.dumps(raw, ensure_ascii=False),
             _redelivery(raw), _timestamp(raw), now) for raw in raw_events]
    if not rows:
        return []
    if db.engine.dialect.name == "postgresql":
        writer = _writers.get(db.url)
        if writer is None:
            with _writers_lock:
                writer = _writers.setdefault(db.url, _PgWriter(db.url))
        return writer.insert(rows)
    keys = ("webhook_event_id", "event_type", "payload", "is_redelivery", "event_ts", "received_at")
    stmt = _insert(db.engine.dialect.name)
    try:
        with db.autocommit.connect() as conn:
            return [conn.execute(stmt, dict(zip(keys, row))).scalar() for row in rows]
    except SQLAlchemyError as exc:
        raise StorageError(type(exc).__name__) from exc


class Listener:
    """PostgreSQL only: a connection that LISTENs on ``CHANNEL`` for the webhook's new rows.

    Listen first, then read ``waiting``: a row committed in between is reported twice, never
    missed (the feeder's Redis claim makes the second report a no-op).
    """

    def __init__(self, url: str):
        import psycopg
        try:
            # TCP keep-alives: a listener only reads, so a silently dead connection is noticed
            # this way (and the feeder reconnects and catches up).
            self.conn = psycopg.connect(_conninfo(url), autocommit=True, connect_timeout=3, keepalives=1,
                                        keepalives_idle=30, keepalives_interval=10, keepalives_count=3)
            self.conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            raise StorageError(type(exc).__name__) from exc

    def wait(self, timeout_s: float | None) -> list[tuple[int, str]]:
        """(row id, webhookEventId) of rows announced since the last call; waits up to
        ``timeout_s`` for the first. Raises StorageError when the connection is lost."""
        import psycopg
        try:
            notes = list(self.conn.notifies(timeout=timeout_s or 0, stop_after=1))
            if notes:
                notes += self.conn.notifies(timeout=0)
        except psycopg.Error as exc:
            raise StorageError(type(exc).__name__) from exc
        out = []
        for note in notes:
            row_id, _, event_id = note.payload.partition(" ")
            if row_id.isdigit() and event_id:
                out.append((int(row_id), event_id))
        return out

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # already broken
            pass


def waiting(db: Database, after_id: int = 0, limit: int = 1000) -> list[tuple[int, str]]:
    """(row id, webhookEventId) of stored events not yet processed, oldest first."""
    with db.session() as s:
        return [(row_id, eid) for row_id, eid in s.execute(
            select(InboundEvent.id, InboundEvent.webhook_event_id)
            .where(InboundEvent.status == "received", InboundEvent.id > after_id)
            .order_by(InboundEvent.id).limit(limit))]


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
