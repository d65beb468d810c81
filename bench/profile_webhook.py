#!/usr/bin/env python
"""Where the time of one ``POST /callback`` goes: an in-process profile of the webhook path.

    .venv/bin/python bench/profile_webhook.py [--requests 2000] [--cprofile]

Builds the real app (PostgreSQL database ``zuozhen_bench``, created and dropped here; Redis db 14,
emptied), posts distinct signed text-message events through Flask's test client (no HTTP server,
so only the app's own work is measured), and reports

- wall time per request of each step (signature check + parse, Redis claim, database insert,
  enqueue) measured by wrapping those functions;
- how many Redis commands / round trips and SQL statements one request makes;
- with ``--cprofile``, the top functions by cumulative and by own time.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.webhook_bench import (ACCESS_TOKEN, BENCH_SECRET_KEY, DB_URL, REDIS_URL, drop_database,  # noqa: E402
                                 flush_redis, reset_database, signed_event)
from tests.helpers import SECRET  # noqa: E402

MAX_REQUESTS = 50_000


def alternatives(svc, n: int) -> None:
    """Each step of the webhook path next to its proposed replacement, one at a time, n calls each."""
    import json

    from rq import Retry
    from sqlalchemy import create_engine, text
    from sqlalchemy.dialects import postgresql

    from bot import queueing
    from services import inbound
    from services.models import InboundEvent, utcnow
    from tests.helpers import text_event, user_id

    def bench(name, fn):
        evs = [text_event(user_id(), "你好") for _ in range(n + 50)]
        for e in evs[:50]:
            fn(e)
        c0, t0 = time.process_time(), time.perf_counter()
        for e in evs[50:]:
            fn(e)
        print(f"  {name:72s} {1000 * (time.perf_counter() - t0) / n:7.3f} {1000 * (time.process_time() - c0) / n:7.3f}")

    print(f"\nalternatives, {n} calls each: {'':58s} wall ms  CPU ms (this process)")
    bench("A inbound.store: ORM session, statement built per call, pool_pre_ping [now]",
          lambda e: inbound.store(svc.db, [e]))
    plain = create_engine(svc.db.url, pool_size=10, max_overflow=10)
    table = InboundEvent.__table__

    def core(engine, autocommit=False, sync_off=False):
        eng = engine.execution_options(isolation_level="AUTOCOMMIT") if autocommit else engine

        def f(raw):
            stmt = postgresql.insert(table).values(
                webhook_event_id=raw["webhookEventId"], event_type=raw.get("type", "?"),
                payload=json.dumps(raw, ensure_ascii=False), status="received", attempts=0,
                is_redelivery=False, event_ts=int(raw.get("timestamp") or 0), received_at=utcnow(),
            ).on_conflict_do_nothing(index_elements=["webhook_event_id"]).returning(table.c.id)
            if autocommit:
                with eng.connect() as conn:
                    return [r[0] for r in conn.execute(stmt)]
            with eng.begin() as conn:
                if sync_off:
                    conn.execute(text("SET LOCAL synchronous_commit = off"))
                return [r[0] for r in conn.execute(stmt)]
        return f

    bench("B Core engine.begin(), pool_pre_ping", core(svc.db.engine))
    bench("C Core engine.begin(), no pre-ping", core(plain))
    bench("D Core, no pre-ping, autocommit single INSERT (no BEGIN/COMMIT trips)", core(plain, autocommit=True))
    bench("E C + SET LOCAL synchronous_commit=off (less durable; for scale only)", core(plain, sync_off=True))
    import psycopg
    raw_conn = psycopg.connect(svc.db.url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    sql = ("INSERT INTO inbound_event (webhook_event_id, event_type, payload, status, attempts, is_redelivery, "
           "event_ts, received_at) VALUES (%s, %s, %s, 'received', 0, %s, %s, %s) "
           "ON CONFLICT (webhook_event_id) DO NOTHING RETURNING id")
    bench("K raw psycopg, prepared INSERT, autocommit (no SQLAlchemy in the path)",
          lambda raw: raw_conn.execute(sql, (raw["webhookEventId"], raw.get("type", "?"),
                                             json.dumps(raw, ensure_ascii=False), False,
                                             int(raw.get("timestamp") or 0), utcnow()), prepare=True).fetchall())
    raw_conn.close()
    ids = iter(range(10 ** 6, 3 * 10 ** 6))
    bench("F queueing.enqueue_event: Job.fetch + enqueue, 3 round trips [now]",
          lambda e: queueing.enqueue_event(svc, next(ids)))
    q = svc.queue("events")

    def enqueue(pipelined):
        def f(e):
            i = next(ids)
            kw = dict(job_id=f"evt-{i}", retry=Retry(max=3, interval=[2, 10, 60]), job_timeout=60,
                      result_ttl=0, failure_ttl=7 * 24 * 3600)
            if not pipelined:
                q.enqueue("bot.jobs.process_event", i, **kw)
                return
            with svc.redis.pipeline() as p:
                q.enqueue("bot.jobs.process_event", i, pipeline=p, **kw)
                p.execute()
        return f

    bench("G q.enqueue without Job.fetch, 2 round trips", enqueue(False))
    bench("H q.enqueue(pipeline=p) without Job.fetch, 1 round trip", enqueue(True))
    bench("I plain RPUSH of the row id (floor for any Redis hand-off)",
          lambda e: svc.redis.rpush("bench:plain", next(ids)))
    bench("J state.claim (SET NX EX)", lambda e: svc.state.claim(e["webhookEventId"]))
    plain.dispose()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--cprofile", action="store_true")
    ap.add_argument("--top", type=int, default=35)
    ap.add_argument("--alternatives", action="store_true",
                    help="also time each step's proposed replacement in isolation")
    args = ap.parse_args()
    n = max(10, min(args.requests, MAX_REQUESTS))

    import logging
    import redis.client
    from linebot.v3 import WebhookParser
    from sqlalchemy import event

    from bot import create_app, queueing, webhook
    from bot.extensions import get_services
    from bot.state import StateStore
    from services import inbound

    reset_database()
    flush_redis()
    media = tempfile.mkdtemp(prefix="zuozhen-bench-media-")
    try:
        app = create_app({"LOCAL_MODE": False, "EMBEDDED_WORKER": False, "LINE_CHANNEL_SECRET": SECRET,
                          "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN, "LINE_API_BASE_URL": "http://127.0.0.1:9",
                          "SECRET_KEY": BENCH_SECRET_KEY, "DATABASE_URL": DB_URL, "REDIS_URL": REDIS_URL,
                          "MEDIA_DIR": media})
        logging.getLogger().setLevel(logging.WARNING)
        svc = get_services(app)
        client = app.test_client()

        timings: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)

        def timed(name, fn):
            def wrapper(*a, **kw):
                t0 = time.perf_counter()
                try:
                    return fn(*a, **kw)
                finally:
                    timings[name] += time.perf_counter() - t0
            return wrapper

        # wrap the steps of bot/webhook.py (module attributes it calls at request time)
        orig_parse = WebhookParser.parse
        WebhookParser.parse = timed("1 signature check + parse (WebhookParser.parse)", orig_parse)
        StateStore.claim = timed("2 redis claim (SET NX EX)", StateStore.claim)
        webhook.inbound.store = timed("3 database insert (inbound.store)", inbound.store)
        webhook.queueing.enqueue_event = timed("4 enqueue (queueing.enqueue_event)", queueing.enqueue_event)

        # count Redis round trips and SQL statements
        orig_exec = redis.client.Redis.execute_command
        orig_pipe = redis.client.Pipeline.execute

        def exec_cmd(self, *a, **kw):
            counts[f"redis {a[0]}"] += 1
            counts["redis round trips"] += 1
            return orig_exec(self, *a, **kw)

        def pipe_exec(self, *a, **kw):
            counts["redis round trips"] += 1
            for c in self.command_stack:
                counts[f"redis {c[0][0]} (in pipeline)"] += 1
            return orig_pipe(self, *a, **kw)

        @event.listens_for(svc.db.engine, "before_cursor_execute")
        def _sql(conn, cursor, statement, params, context, executemany):
            counts["sql statements"] += 1
            counts["sql " + statement.split()[0].upper()] += 1

        @event.listens_for(svc.db.engine, "commit")
        def _commit(conn):
            counts["sql COMMIT"] += 1

        bodies = [signed_event("你好") for _ in range(n + 50)]

        # app-only CPU per request, bare vs ours, same test client, no profiling hooks
        from bench.bare_app import create_bare_app
        bare_client = create_bare_app(SECRET).test_client()
        cpu = {}
        for name, cl in (("bare", bare_client), ("ours", client)):
            extra = [signed_event("你好") for _ in range(n)]
            for raw, sig, _ in extra[:50]:
                cl.post("/callback", data=raw, headers={"X-Line-Signature": sig, "Content-Type": "application/json"})
            c0, w0 = time.process_time(), time.perf_counter()
            for raw, sig, _ in extra[50:]:
                cl.post("/callback", data=raw, headers={"X-Line-Signature": sig, "Content-Type": "application/json"})
            cpu[name] = (1000 * (time.process_time() - c0) / (n - 50), 1000 * (time.perf_counter() - w0) / (n - 50))
        print("without instrumentation, through the test client (this process only; excludes PostgreSQL/Redis):")
        for name, (c, w) in cpu.items():
            print(f"  {name}: {c:.3f} ms CPU, {w:.3f} ms wall per request")
        print()
        flush_redis()
        for raw, sig, _ in bodies[:50]:  # warm-up
            client.post("/callback", data=raw, headers={"X-Line-Signature": sig,
                                                       "Content-Type": "application/json"})
        timings.clear()
        counts.clear()
        redis.client.Redis.execute_command = exec_cmd
        redis.client.Pipeline.execute = pipe_exec

        prof = cProfile.Profile() if args.cprofile else None
        t0 = time.perf_counter()
        if prof:
            prof.enable()
        for raw, sig, _ in bodies[50:]:
            r = client.post("/callback", data=raw, headers={"X-Line-Signature": sig,
                                                           "Content-Type": "application/json"})
            assert r.status_code == 200, r.data
        if prof:
            prof.disable()
        total = time.perf_counter() - t0
        redis.client.Redis.execute_command = orig_exec
        redis.client.Pipeline.execute = orig_pipe
        WebhookParser.parse = orig_parse

        print(f"{n} requests through the test client, {1000 * total / n:.3f} ms wall per request"
              f"{' (under cProfile: inflated)' if prof else ''}\n")
        print(f"{'step':55s} {'ms/request':>10s} {'share':>7s}")
        accounted = 0.0
        for name in sorted(timings):
            accounted += timings[name]
            print(f"{name:55s} {1000 * timings[name] / n:10.3f} {100 * timings[name] / total:6.1f}%")
        rest = total - accounted
        print(f"{'5 the rest (Flask, test client, json.loads, ...)':55s} {1000 * rest / n:10.3f} "
              f"{100 * rest / total:6.1f}%\n")
        print("per request:")
        for name in sorted(counts):
            print(f"  {name:45s} {counts[name] / n:6.2f}")
        if prof:
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats("cumulative").print_callees("webhook.py:.*callback")
            print("\n--- cProfile: what bot/webhook.py callback calls (cumulative s over all requests) ---")
            print(s.getvalue())
            for key in ("cumulative", "tottime"):
                s = io.StringIO()
                pstats.Stats(prof, stream=s).sort_stats(key).print_stats(args.top)
                print(f"\n--- cProfile, sorted by {key} ---")
                print("\n".join(s.getvalue().splitlines()[:args.top + 12]))
        if args.alternatives:
            alternatives(svc, min(n, 5000))
        svc.close()
    finally:
        drop_database()
        flush_redis()
        import shutil
        shutil.rmtree(media, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
