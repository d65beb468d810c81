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
import hashlib
import json
import logging
import threading
from typing import Any, Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from services import metrics
from services.db import Database
from services.models import InboundEvent, utcnow

CHANNEL = "inbound_v1"
MAX_EVENT_ID = 64  # InboundEvent.webhook_event_id is a String(64)
log = logging.getLogger(__name__)


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
    with text parameters (already encoded by ``store``): one round trip, one implicit
    transaction, durable when it returns.

    A statement that fails on the data of one of its rows (SQLSTATE class 22, e.g. a value too
    long for its column) is run again row by row, so that only that row is refused and the other
    events of the batch (other requests' events, under group commit) are stored.
    """

    MAX_ROWS = 50  # per statement; a larger batch is split

    def __init__(self, url: str):
        self.conninfo = _conninfo(url)
        self.local = threading.local()

    def insert(self, rows: list[tuple[bytes, ...]]) -> tuple[list[int | None], dict[bytes, str]]:
        """The row id of each new event (None: stored before, or refused), and the refused rows:
        {webhookEventId (bytes): SQLSTATE}."""
        import psycopg
        conn = getattr(self.local, "conn", None)
        try:
            if conn is None or conn.closed:
                conn = self.local.conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=3,
                                                         client_encoding="utf8")
                self.local.prepared = set()
            pgconn = conn.pgconn
            new: dict[bytes, int] = {}
            refused: dict[bytes, str] = {}
            for i in range(0, len(rows), self.MAX_ROWS):
                chunk = rows[i:i + self.MAX_ROWS]
                try:
                    self._run(pgconn, chunk, new)
                except _RowDataError as exc:
                    if len(chunk) == 1:
                        refused[chunk[0][0]] = exc.sqlstate
                        continue
                    for row in chunk:  # rare: find the row that the database refuses
                        try:
                            self._run(pgconn, [row], new)
                        except _RowDataError as one:
                            refused[row[0]] = one.sqlstate
            # The row id for the first of each new event; None for one stored before or repeated.
            return [new.pop(row[0], None) for row in rows], refused
        except (psycopg.Error, StorageError) as exc:
            if conn is not None:
                conn.close()
            self.local.conn = None
            if isinstance(exc, StorageError):
                raise
            raise StorageError(type(exc).__name__) from exc

    def _run(self, pgconn, chunk: list[tuple[bytes, ...]], new: dict[bytes, int]) -> None:
        from psycopg import pq
        name = b"zuozhen_inbound_%d" % len(chunk)
        if len(chunk) not in self.local.prepared:
            res = pgconn.prepare(name, _pg_insert_sql(len(chunk)).encode())
            if res.status != pq.ExecStatus.COMMAND_OK:
                raise StorageError((res.error_field(pq.DiagnosticField.SQLSTATE) or b"prepare").decode())
            self.local.prepared.add(len(chunk))
        res = pgconn.exec_prepared(name, [value for row in chunk for value in row])
        if res.status != pq.ExecStatus.TUPLES_OK:
            sqlstate = (res.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
            if sqlstate.startswith("22"):  # data exception: this statement's values, not the connection
                raise _RowDataError(sqlstate)
            raise StorageError(sqlstate or pq.ExecStatus(res.status).name)
        for k in range(res.ntuples):
            new[res.get_value(k, 1)] = int(res.get_value(k, 0))


class _RowDataError(StorageError):
    """The database refused a value of the statement (SQLSTATE class 22); the connection is fine."""

    def __init__(self, sqlstate: str):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


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


def event_key(raw: dict[str, Any]) -> str:
    """The key an event is stored and claimed under: its ``webhookEventId`` (a 26-character ULID),
    or, for an id the column cannot hold (too long, not printable, a lone surrogate), a digest of
    it, so that the refused event is still recorded once and a redelivery finds it."""
    event_id = raw["webhookEventId"]
    if len(event_id) <= MAX_EVENT_ID and event_id.isprintable():
        return event_id
    return _digest_key(event_id)


def _digest_key(event_id: str) -> str:
    return "refused:" + hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()[:48]


def store(db: Database, raw_events: Iterable[dict[str, Any]]) -> list[int | None]:
    """Insert the events, committed. For each event: its new row id, or None if it was stored
    before (the unique ``webhook_event_id``) or refused. On PostgreSQL each new row is also
    announced on ``CHANNEL`` when the statement commits. Raises StorageError (the database is
    unavailable: the webhook answers 500 and LINE redelivers).

    An event that cannot be stored as it is (a lone surrogate, which is not UTF-8; a
    ``webhookEventId`` longer than its column) is refused alone: it is recorded as ``failed``
    with the reason and without its content, and never processed; the others are stored."""
    now = utcnow()
    raws = list(raw_events)
    if not raws:
        return []
    refused: dict[int, tuple[str, str]] = {}  # position -> (key, reason)
    checked = [_checked(raw) for raw in raws]
    for i, (key, payload, reason) in enumerate(checked):
        if reason is not None:
            refused[i] = (key, reason)
    if db.engine.dialect.name == "postgresql":
        out = _store_pg(db, raws, checked, refused, now)
    else:
        out = _store_sql(db, raws, checked, now)
    if refused:
        _record_refused(db, raws, refused, now)
    return out


def _store_pg(db: Database, raws: list[dict[str, Any]], checked: list[tuple[str, bytes | None, str | None]],
              refused: dict[int, tuple[str, str]], now) -> list[int | None]:
    """PostgreSQL: the readable events in one batch through the thread's writer (``_PgWriter``); an
    event the database refuses is added to ``refused``."""
    out: list[int | None] = [None] * len(raws)
    received = now.isoformat().encode()
    rows: list[tuple[bytes, ...]] = []
    positions: list[int] = []
    for i, (raw, (key, payload, reason)) in enumerate(zip(raws, checked)):
        if reason is None:
            rows.append((key.encode(), raw.get("type", "?").encode(), payload, b"t" if _redelivery(raw) else b"f",
                         b"%d" % _timestamp(raw), received))
            positions.append(i)
    if rows:
        writer = _writers.get(db.url)
        if writer is None:
            with _writers_lock:
                writer = _writers.setdefault(db.url, _PgWriter(db.url))
        ids, by_database = writer.insert(rows)
        for i, row, row_id in zip(positions, rows, ids):
            out[i] = row_id
            if row[0] in by_database:
                refused[i] = (_digest_key(raws[i]["webhookEventId"]), f"refused: database {by_database[row[0]]}")
    return out


def _store_sql(db: Database, raws: list[dict[str, Any]], checked: list[tuple[str, bytes | None, str | None]],
               now) -> list[int | None]:
    """Other databases (SQLite in local mode): one insert per readable event."""
    out: list[int | None] = [None] * len(raws)
    names = ("webhook_event_id", "event_type", "payload", "is_redelivery", "event_ts", "received_at")
    stmt = _insert(db.engine.dialect.name)
    try:
        with db.autocommit.connect() as conn:
            for i, (raw, (key, payload, reason)) in enumerate(zip(raws, checked)):
                if reason is None:
                    row = (key, raw.get("type", "?"), payload.decode(), _redelivery(raw), _timestamp(raw), now)
                    out[i] = conn.execute(stmt, dict(zip(names, row))).scalar()
    except SQLAlchemyError as exc:
        raise StorageError(type(exc).__name__) from exc
    return out


def _checked(raw: dict[str, Any]) -> tuple[str, bytes | None, str | None]:
    """(key, the event's JSON in UTF-8, None), or (key, None, why) for an event that cannot be
    stored as it is. Costs nothing extra: the encoding is what the PostgreSQL writer sends."""
    key = event_key(raw)
    if key is not raw["webhookEventId"]:
        return key, None, "refused: webhookEventId too long or not printable"
    try:
        return key, json.dumps(raw, ensure_ascii=False).encode(), None
    except UnicodeEncodeError:
        return key, None, "refused: not UTF-8 (a lone surrogate)"


def _record_refused(db: Database, raws: list[dict[str, Any]], refused: dict[int, tuple[str, str]],
                    now: dt.datetime) -> None:
    """Refused events as ``failed`` rows: the key, the type, the reason; no content. A
    redelivery of one inserts nothing. Raises StorageError only when the database is down."""
    ins = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    values = [dict(webhook_event_id=key, event_type=str(raws[i].get("type", "?"))[:40], payload=None,
                   status="failed", attempts=0, is_redelivery=_redelivery(raws[i]), event_ts=_timestamp(raws[i]),
                   received_at=now, processed_at=now, last_error=reason[:200])
              for i, (key, reason) in refused.items()]
    for value in values:
        log.warning("webhook: event refused (%s); recorded as failed", value["last_error"])
    metrics.event("failed", len(values))
    try:
        with db.autocommit.connect() as conn:
            conn.execute(ins(InboundEvent).on_conflict_do_nothing(index_elements=["webhook_event_id"]), values)
    except SQLAlchemyError as exc:
        if getattr(getattr(exc, "orig", None), "sqlstate", "") and exc.orig.sqlstate.startswith("22"):
            log.error("webhook: a refused event could not be recorded either (%s)", exc.orig.sqlstate)
            return
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
            ev.last_error = f"gave up after {ev.attempts} attempts"
            out.append((ev.id, raw))
    return out


def failed_since(session, since: dt.datetime) -> int:
    """How many events ended ``failed`` since then: refused by the webhook, rejected by the
    SDK's models, or given up after many attempts (for /readyz and the staff digest)."""
    from sqlalchemy import func
    return session.execute(select(func.count()).select_from(InboundEvent).where(
        InboundEvent.status == "failed", InboundEvent.processed_at >= since)).scalar_one()
