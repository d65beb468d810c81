"""A bench-only variant of ``POST /callback`` to measure proposed optimisations; NOT the app's code.

It builds the real app (``bench.ours_wsgi.build_app``) and swaps the view function of
``line.callback`` for one with the same contract (verify, claim, store, enqueue, then 200) but:

- the insert goes through SQLAlchemy Core on a plain connection (``engine.begin()``) with the
  statement built once, instead of an ORM session and a statement built per event;
- the database engine is created without ``pool_pre_ping`` when ``CANDIDATE_PREPING=0``;
- the job is enqueued without the ``Job.fetch`` look-up (the row id was just created by this
  INSERT … RETURNING, so no job can exist for it yet) and in one Redis pipeline
  (``Queue.enqueue(..., pipeline=pipe)``): one round trip instead of three;
- with ``CANDIDATE_AUTOCOMMIT=1`` the events of a request are written by ONE multi-row
  ``INSERT … ON CONFLICT DO NOTHING RETURNING id`` on an autocommit connection: the statement is
  atomic and committed (synchronously, as durable as before) by itself, so the separate ``BEGIN``
  and ``COMMIT`` round trips go away;
- the Redis claim is skipped when ``CANDIDATE_CLAIM=0`` (the database's unique
  ``webhook_event_id`` still drops duplicates).

Used by ``bench/webhook_bench.py --ours-app bench.candidate_wsgi:app`` to quantify the suggestions in
``docs/performance.md``.
"""
from __future__ import annotations

import json
import logging
import os

from flask import current_app, jsonify, request
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.models import UnknownEvent
from redis.exceptions import RedisError
from rq import Retry
from sqlalchemy import bindparam, create_engine
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)


def build_candidate():
    os.environ["BENCH_BUILD_APP"] = "0"
    from bench.ours_wsgi import build_app
    from bot import webhook
    from bot.events import HANDLED_TYPES
    from bot.extensions import EVENTS_QUEUE, get_services
    from services.models import InboundEvent, utcnow

    app = build_app()
    svc = get_services(app)
    use_claim = os.environ.get("CANDIDATE_CLAIM", "1") == "1"
    if os.environ.get("CANDIDATE_PREPING", "1") == "1":
        engine = svc.db.engine
    else:
        engine = create_engine(app.config["DATABASE_URL"], pool_size=10, max_overflow=10)
    table = InboundEvent.__table__
    insert_stmt = (postgresql.insert(table)
                   .values(webhook_event_id=bindparam("webhook_event_id"), event_type=bindparam("event_type"),
                           payload=bindparam("payload"), status="received", attempts=0,
                           is_redelivery=bindparam("is_redelivery"), event_ts=bindparam("event_ts"),
                           received_at=bindparam("received_at"))
                   .on_conflict_do_nothing(index_elements=["webhook_event_id"])
                   .returning(table.c.id))
    queue = svc.queue(EVENTS_QUEUE)

    autocommit = os.environ.get("CANDIDATE_AUTOCOMMIT", "0") == "1"
    ac_engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    def params(raw, now):
        return {"webhook_event_id": raw["webhookEventId"], "event_type": raw.get("type", "?"),
                "payload": json.dumps(raw, ensure_ascii=False),
                "is_redelivery": bool((raw.get("deliveryContext") or {}).get("isRedelivery")),
                "event_ts": int(raw.get("timestamp") or 0), "received_at": now}

    def store(fresh):
        now = utcnow()
        if autocommit:
            rows = [params(raw, now) for raw in fresh]
            with ac_engine.connect() as conn:
                if len(rows) == 1:
                    return [r[0] for r in conn.execute(insert_stmt, rows[0])]
                # one statement, several VALUES rows (SQLAlchemy "insertmanyvalues"): atomic by itself
                return [r[0] for r in conn.execute(insert_stmt, rows)]
        ids = []
        with engine.begin() as conn:
            for raw in fresh:
                row = conn.execute(insert_stmt, params(raw, now)).first()
                if row is not None:
                    ids.append(row[0])
        return ids

    def enqueue_new(row_ids):
        with svc.redis.pipeline() as pipe:
            for row_id in row_ids:
                queue.enqueue("bot.jobs.process_event", row_id, job_id=f"evt-{row_id}",
                              retry=Retry(max=3, interval=[2, 10, 60]), job_timeout=60, result_ttl=0,
                              failure_ttl=7 * 24 * 3600, pipeline=pipe)
            pipe.execute()

    def callback():
        signature = request.headers.get("X-Line-Signature")
        if not signature:
            return jsonify(error="missing signature"), 400
        body = request.get_data(as_text=True)
        try:
            payload = webhook._parser().parse(body, signature, as_payload=True)
            raw_events = json.loads(body)["events"]
        except InvalidSignatureError:
            return jsonify(error="bad signature"), 400
        except Exception:  # noqa: BLE001
            return jsonify(error="malformed body"), 400
        fresh = []
        for event, raw in zip(payload.events, raw_events):
            if isinstance(event, UnknownEvent) or raw.get("type") not in HANDLED_TYPES \
                    or raw.get("mode") == "standby":
                continue
            if use_claim:
                try:
                    if not svc.state.claim(raw["webhookEventId"]):
                        continue
                except RedisError:
                    pass
            fresh.append(raw)
        if not fresh:
            return "OK", 200
        try:
            stored = store(fresh)
        except SQLAlchemyError:
            current_app.logger.exception("candidate: store failed")
            return jsonify(error="storage unavailable"), 500
        if stored:
            try:
                enqueue_new(stored)
            except RedisError:
                pass  # the sweeper enqueues it later
        return "OK", 200

    app.view_functions["line.callback"] = callback
    return app


app = build_candidate() if os.environ.get("LINE_CHANNEL_SECRET") else None
