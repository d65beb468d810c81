#!/usr/bin/env python
"""Webhook benchmarks: ingest throughput and latency against a bare baseline, end-to-end answer time.

Run from the project root (see bench/README.md)::

    .venv/bin/python bench/webhook_bench.py [--duration 10] [--out docs/performance.md]

What it does, in one run, all on 127.0.0.1:

1. creates the PostgreSQL database ``zuozhen_bench`` (migrated), empties Redis database 11,
   starts a FakeLineServer in this process, and serves two apps with gunicorn, identically
   configured (``-w 2 --threads 4 -k gthread``): ``bench.bare_app:app`` (signature check and
   parse only) and ``bench.ours_wsgi:app`` (the real ``bot.create_app``);
2. closed loop: N keep-alive clients post distinct signed text-message events as fast as they can,
   ``--duration`` seconds per app in slices alternating between the apps; requests/s and the ratio;
3. open loop: 200 requests/s scheduled by the wall clock for ``--duration`` seconds, to each app;
   latency from each request's *scheduled* send time to its response (p50/p95/p99/max);
4. end to end: with ``--rq-workers`` queue workers (``bot.worker.run``) running, 20 messages/s from
   distinct residents ("你好" / "我的案件"); time from sending the webhook request until the fake
   LINE server receives the reply for that event's reply token.

Every subprocess runs in its own process group and is killed in ``finally``; every loop is bounded
in count and in time. The database is dropped and Redis database 11 emptied at the end.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import math
import multiprocessing as mp
import os
import platform
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.helpers import SECRET, body as make_body, sign, text_event, user_id  # noqa: E402

HOST = "127.0.0.1"
REDIS_DB = 11
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_NAME = "zuozhen_bench"
DB_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
ACCESS_TOKEN = "bench-channel-access-token"
BENCH_SECRET_KEY = "bench-secret-key"
GUNICORN_WORKER_ARGS = ["-w", "2", "--threads", "4", "-k", "gthread", "--keep-alive", "5",
                        "--timeout", "60"]
RESULTS_DIR = ROOT / "bench" / "results"

MAX_REQUESTS_PER_CLIENT = 200_000   # hard cap on any closed-loop client
MAX_DURATION_S = 120                # hard cap on --duration
READY_TIMEOUT_S = 60
LATE_GRACE_S = 20                   # an open-loop sender gives up this long after its schedule ends
E2E_ANSWER_WAIT_S = 30              # how long to wait for the last replies
E2E_TEXTS = ("你好", "我的案件")
INGEST_TEXT = "你好"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# A hand-written block of docs/performance.md between these markers is kept when the file is rewritten.
NOTES_BEGIN = "<!-- notes: kept by bench/webhook_bench.py -->"
NOTES_END = "<!-- end of notes -->"

REQUIREMENTS = {
    "throughput_ratio": 0.5,   # ours >= 0.5 x bare
    "ingest_p99_ms": 50.0,     # at 200 requests/s
    "e2e_p95_ms": 500.0,       # at 20 messages/s
}


# -- load generator (runs in child processes) ------------------------------------------------


def signed_event(text: str) -> tuple[bytes, str, str]:
    """A distinct signed webhook body with one text-message event; also its reply token."""
    ev = text_event(user_id(), text)
    # helpers' message ids come from a per-process counter; make them unique across processes too
    ev["message"]["id"] = str(100000000000000000 + secrets.randbelow(800000000000000000))
    raw = make_body(ev)
    return raw, sign(raw, SECRET), ev["replyToken"]


class Client:
    """One keep-alive HTTP/1.1 connection to a local server; reconnects once on a dropped connection."""

    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None
        self.reconnects = 0

    def post(self, raw: bytes, signature: str) -> int:
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
            try:
                self.conn.request("POST", "/callback", body=raw, headers={
                    "Content-Type": "application/json", "X-Line-Signature": signature})
                resp = self.conn.getresponse()
                resp.read()
                if resp.will_close:
                    self.close()
                return resp.status
            except (http.client.HTTPException, OSError):
                self.close()
                self.reconnects += 1
                if attempt:
                    return -1
        return -1

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _cpu_self() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _mono_at(wall: float) -> float:
    """The monotonic time corresponding to a wall-clock time (shared between processes)."""
    return time.monotonic() + (wall - time.time())


def closed_loop_proc(port: int, threads: int, start_wall: float, duration: float, out) -> None:
    """``threads`` clients, each: build, sign, post, wait for the answer, repeat, until the deadline."""
    results = []
    lock = threading.Lock()
    start = _mono_at(start_wall)
    deadline = start + duration

    def client_loop() -> None:
        client = Client(port)
        lat, statuses = [], {}
        # open the connection before the start so connection set-up is not measured
        try:
            client.conn = http.client.HTTPConnection(HOST, port, timeout=30)
            client.conn.connect()
        except OSError:
            client.close()
        while time.monotonic() < start:
            time.sleep(min(0.01, max(0.0, start - time.monotonic())))
        last_done = start
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            raw, sig, _token = signed_event(INGEST_TEXT)
            t0 = time.monotonic()
            if t0 >= deadline:
                break
            status = client.post(raw, sig)
            t1 = time.monotonic()
            if t1 > deadline:  # finished after the window: not counted
                break
            statuses[status] = statuses.get(status, 0) + 1
            lat.append(t1 - t0)
            last_done = t1
        client.close()
        with lock:
            results.append({"lat": lat, "statuses": statuses, "reconnects": client.reconnects,
                            "last_done": last_done - start})

    cpu0 = _cpu_self()
    ts = [threading.Thread(target=client_loop, daemon=True) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=duration + 60)
    out.put({"clients": results, "cpu_s": _cpu_self() - cpu0})


def open_loop_proc(port: int, slot_offsets: list[int], total_slots: int, n_requests: int, rate: float,
                   start_wall: float, texts: tuple[str, ...], out) -> None:
    """Open loop: request i is due at start + i/rate; one thread per slot offset sends the requests
    with i % total_slots == offset. Latency is measured from the due time, so a late send (a busy
    connection, a slow server) counts against the server, not hidden by it."""
    results = []
    lock = threading.Lock()
    start = _mono_at(start_wall)
    hard_deadline = start + n_requests / rate + LATE_GRACE_S

    def sender(offset: int) -> None:
        client = Client(port)
        try:
            client.conn = http.client.HTTPConnection(HOST, port, timeout=30)
            client.conn.connect()
        except OSError:
            client.close()
        rows = []  # (i, due_offset_s, send_lag_s, latency_s, status, reply_token, send_wall)
        skipped = 0
        for i in range(offset, n_requests, total_slots):
            raw, sig, token = signed_event(texts[i % len(texts)])
            due = start + i / rate
            now = time.monotonic()
            if now < due:
                time.sleep(due - now)
            if time.monotonic() > hard_deadline:
                skipped += 1
                continue
            send_wall = time.time()
            t_send = time.monotonic()
            status = client.post(raw, sig)
            t_done = time.monotonic()
            rows.append((i, due - start, t_send - due, t_done - due, status, token, send_wall))
        client.close()
        with lock:
            results.append({"rows": rows, "skipped": skipped, "reconnects": client.reconnects})

    cpu0 = _cpu_self()
    ts = [threading.Thread(target=sender, args=(off,), daemon=True) for off in slot_offsets]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=n_requests / rate + LATE_GRACE_S + 60)
    out.put({"senders": results, "cpu_s": _cpu_self() - cpu0})


def _collect(ctx, procs, q, timeout_s: float) -> list[dict]:
    got = []
    end = time.monotonic() + timeout_s
    for _ in range(len(procs)):
        remaining = end - time.monotonic()
        if remaining <= 0:
            break
        try:
            got.append(q.get(timeout=remaining))
        except Exception:  # queue.Empty
            break
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():
            p.terminate()
            p.join(timeout=5)
    if len(got) != len(procs):
        raise RuntimeError(f"load generator: {len(got)} of {len(procs)} processes reported")
    return got


def _metered_collect(ctx, procs, q, start_wall: float, timeout_s: float, meter: Meter | None) -> list[dict]:
    """Wait for the start, measure CPU from the start until the load generators have reported."""
    if meter is None:
        return _collect(ctx, procs, q, timeout_s)
    delay = start_wall - time.time()
    if delay > 0:
        time.sleep(delay)
    with meter:
        return _collect(ctx, procs, q, timeout_s)


def run_closed_loop(ctx, port: int, clients: int, procs_n: int, duration: float,
                    meter: Meter | None = None) -> dict:
    procs_n = max(1, min(procs_n, clients))
    per = [clients // procs_n + (1 if k < clients % procs_n else 0) for k in range(procs_n)]
    q = ctx.Queue()
    start_wall = time.time() + 1.5  # time for the spawned processes to start
    procs = [ctx.Process(target=closed_loop_proc, args=(port, n, start_wall, duration, q), daemon=True)
             for n in per if n]
    for p in procs:
        p.start()
    got = _metered_collect(ctx, procs, q, start_wall, duration + 90, meter)
    lat, statuses, reconnects = [], {}, 0
    for g in got:
        for c in g["clients"]:
            lat.extend(c["lat"])
            reconnects += c["reconnects"]
            for k, v in c["statuses"].items():
                statuses[k] = statuses.get(k, 0) + v
    ok = statuses.get(200, 0)
    return {"clients": clients, "processes": len(procs), "duration_s": duration, "requests": len(lat),
            "ok": ok, "errors": len(lat) - ok, "statuses": {str(k): v for k, v in statuses.items()},
            "reconnects": reconnects, "rps": ok / duration, "latency_ms": summarize(lat),
            "client_cpu_s": sum(g["cpu_s"] for g in got), "_lat": lat}


def merge_closed(parts: list[dict]) -> dict:
    """Several closed-loop slices of one app as one measurement (totals over the slices)."""
    lat: list[float] = []
    statuses: dict[str, int] = {}
    for x in parts:
        lat.extend(x.pop("_lat"))
        for k, v in x["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    duration = sum(x["duration_s"] for x in parts)
    ok = sum(x["ok"] for x in parts)
    return {"clients": parts[0]["clients"], "processes": parts[0]["processes"], "duration_s": duration,
            "slices": len(parts), "requests": sum(x["requests"] for x in parts), "ok": ok,
            "errors": sum(x["errors"] for x in parts), "statuses": statuses,
            "reconnects": sum(x["reconnects"] for x in parts), "rps": ok / duration if duration else 0.0,
            "slice_rps": [x["rps"] for x in parts], "latency_ms": summarize(lat),
            "client_cpu_s": sum(x["client_cpu_s"] for x in parts)}


def merge_meters(parts: list[dict]) -> dict:
    wall = sum(x["wall_s"] for x in parts) or 1e-9
    cpu: dict[str, float] = {}
    for x in parts:
        for k, v in x["server_cpu_s"].items():
            cpu[k] = cpu.get(k, 0.0) + v
    busiest: dict[tuple, float] = {}
    for x in parts:
        for b in x.get("busiest", []):
            key = (b["pid"], b["comm"], b["ours"])
            busiest[key] = busiest.get(key, 0.0) + b["cpu_s"]
    top = sorted(busiest.items(), key=lambda kv: -kv[1])[:8]
    return {"wall_s": wall,
            "machine_busy_pct": sum(x["machine_busy_pct"] * x["wall_s"] for x in parts) / wall,
            "machine_steal_pct": sum(x["machine_steal_pct"] * x["wall_s"] for x in parts) / wall,
            "server_cpu_s": cpu,
            "busiest": [{"pid": k[0], "comm": k[1], "ours": k[2], "cpu_s": round(v, 3)} for k, v in top]}


def run_open_loop(ctx, port: int, rate: float, duration: float, senders: int, procs_n: int,
                  texts: tuple[str, ...], meter: Meter | None = None) -> dict:
    n_requests = int(round(rate * duration))
    procs_n = max(1, min(procs_n, senders))
    offsets = [list(range(k, senders, procs_n)) for k in range(procs_n)]
    q = ctx.Queue()
    start_wall = time.time() + 1.5
    procs = [ctx.Process(target=open_loop_proc,
                         args=(port, offs, senders, n_requests, rate, start_wall, texts, q), daemon=True)
             for offs in offsets if offs]
    for p in procs:
        p.start()
    got = _metered_collect(ctx, procs, q, start_wall, duration + LATE_GRACE_S + 90, meter)
    rows, skipped, reconnects = [], 0, 0
    for g in got:
        for s in g["senders"]:
            rows.extend(s["rows"])
            skipped += s["skipped"]
            reconnects += s["reconnects"]
    rows.sort()
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[str(r[4])] = statuses.get(str(r[4]), 0) + 1
    ok = statuses.get("200", 0)
    last_done = max((r[1] + r[3] for r in rows), default=0.0)
    return {"rate": rate, "duration_s": duration, "scheduled": n_requests, "sent": len(rows),
            "skipped_late": skipped, "ok": ok, "errors": len(rows) - ok, "statuses": statuses,
            "reconnects": reconnects, "senders": senders, "processes": len(procs),
            "achieved_rps": (len(rows) / last_done) if last_done else 0.0,
            "latency_ms": summarize([r[3] for r in rows]),
            "send_lag_ms": summarize([r[2] for r in rows]),
            "client_cpu_s": sum(g["cpu_s"] for g in got),
            "_rows": rows}


# -- statistics and machine facts -----------------------------------------------------------


def percentile(sorted_vals: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_vals:
        return float("nan")
    k = max(1, math.ceil(p / 100.0 * len(sorted_vals)))
    return sorted_vals[min(k, len(sorted_vals)) - 1]


def summarize(seconds: list[float]) -> dict:
    v = sorted(x * 1000.0 for x in seconds)
    if not v:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "p99": float("nan"),
                "max": float("nan"), "mean": float("nan")}
    return {"n": len(v), "p50": percentile(v, 50), "p95": percentile(v, 95), "p99": percentile(v, 99),
            "max": v[-1], "mean": sum(v) / len(v)}


def proc_stat_cpu() -> tuple[int, int, int]:
    """(busy, total, steal) jiffies for the whole machine."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    steal = parts[7] if len(parts) > 7 else 0
    total = sum(parts[:8])
    return total - idle, total, steal


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user+system) of the live processes in one process group."""
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                data = f.read()
        except OSError:
            continue
        rest = data[data.rfind(")") + 2:].split()
        try:
            if int(rest[2]) == pgid:
                total += int(rest[11]) + int(rest[12])
        except (IndexError, ValueError):
            continue
    return total / CLK_TCK


def pid_cpu_s(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return (int(rest[12]) + int(rest[13])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def pg_backend_cpu() -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to the bench database (read from /proc)."""
    try:
        import psycopg
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as c:
            pids = [r[0] for r in c.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (DB_NAME,))]
    except Exception:  # noqa: BLE001
        return {}
    return {pid: pid_cpu_s(pid) for pid in pids}


def redis_cpu_s() -> float:
    """CPU seconds of the Redis server (the whole server: other databases' clients count too)."""
    try:
        import redis
        info = redis.Redis.from_url(REDIS_URL, socket_timeout=3).info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    except Exception:  # noqa: BLE001
        return 0.0


def all_proc_cpu() -> dict[int, tuple[str, int, float]]:
    """pid -> (command name, process group, CPU seconds) for every process (read-only, from /proc)."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                data = f.read()
        except OSError:
            continue
        try:
            comm = data[data.index("(") + 1:data.rfind(")")]
            rest = data[data.rfind(")") + 2:].split()
            out[int(d)] = (comm, int(rest[2]), (int(rest[11]) + int(rest[12])) / CLK_TCK)
        except (ValueError, IndexError):
            continue
    return out


class Meter:
    """Machine CPU, server process-group CPU, and PostgreSQL/Redis server CPU over one phase."""

    def __init__(self, pgids: dict[str, int]):
        self.pgids = pgids

    def __enter__(self) -> Meter:
        self.pg0 = pg_backend_cpu()
        self.redis0 = redis_cpu_s()
        self.t0 = time.monotonic()
        self.sys0 = proc_stat_cpu()
        self.grp0 = {k: group_cpu_s(v) for k, v in self.pgids.items()}
        self.procs0 = all_proc_cpu()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.monotonic() - self.t0
        busy1, total1, steal1 = proc_stat_cpu()
        busy0, total0, steal0 = self.sys0
        dt_total = max(1, total1 - total0)
        self.machine_busy_pct = 100.0 * (busy1 - busy0) / dt_total
        self.machine_steal_pct = 100.0 * (steal1 - steal0) / dt_total
        self.group_cpu = {k: group_cpu_s(v) - self.grp0[k] for k, v in self.pgids.items()}
        pg1 = pg_backend_cpu()
        self.group_cpu["postgres"] = sum(v - self.pg0.get(pid, 0.0) for pid, v in pg1.items())
        self.group_cpu["redis"] = redis_cpu_s() - self.redis0
        # the busiest processes of the phase, ours or not (processes that ended during it are missed)
        procs1 = all_proc_cpu()
        mine = set(self.pgids.values())
        busiest = sorted(((v[2] - self.procs0[pid][2], pid, v[0], v[1] in mine) for pid, v in procs1.items()
                          if pid in self.procs0), reverse=True)[:8]
        self.busiest = [{"pid": pid, "comm": comm, "cpu_s": round(cpu, 3), "ours": own}
                        for cpu, pid, comm, own in busiest if cpu > 0]

    def as_dict(self) -> dict:
        return {"wall_s": self.wall, "machine_busy_pct": self.machine_busy_pct,
                "machine_steal_pct": self.machine_steal_pct, "server_cpu_s": self.group_cpu,
                "busiest": self.busiest}


def machine_facts() -> dict:
    from importlib.metadata import PackageNotFoundError, version
    cpu_model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
    pkgs = {}
    for name in ("Flask", "Werkzeug", "gunicorn", "line-bot-sdk", "redis", "rq", "SQLAlchemy", "psycopg",
                 "psycopg-binary", "requests"):
        try:
            pkgs[name] = version(name)
        except PackageNotFoundError:
            pkgs[name] = "-"
    facts = {"nproc": os.cpu_count(), "cpu_model": cpu_model, "memory": mem,
             "kernel": platform.release(), "python": platform.python_version(), "packages": pkgs,
             "loadavg_start": open("/proc/loadavg").read().split()[:3]}
    try:
        import psycopg
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as c:
            facts["postgresql"] = c.execute("SHOW server_version").fetchone()[0]
            facts["pg_synchronous_commit"] = c.execute("SHOW synchronous_commit").fetchone()[0]
    except Exception as exc:  # noqa: BLE001
        facts["postgresql"] = f"? ({type(exc).__name__})"
    try:
        import redis
        facts["redis"] = redis.Redis.from_url(REDIS_URL).info("server")["redis_version"]
    except Exception as exc:  # noqa: BLE001
        facts["redis"] = f"? ({type(exc).__name__})"
    try:
        facts["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                             capture_output=True, text=True, timeout=5).stdout.strip()
    except Exception:  # noqa: BLE001
        facts["git_commit"] = "?"
    return facts


# -- services: database, redis, subprocesses ------------------------------------------------


def reset_database() -> None:
    import psycopg
    from services.migrate import upgrade
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{DB_NAME}"')
    upgrade(DB_URL)


def drop_database() -> None:
    import psycopg
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def flush_redis() -> None:
    import redis
    r = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    assert r.connection_pool.connection_kwargs.get("db") == REDIS_DB
    r.flushdb()
    r.close()


def clear_state() -> None:
    """Empty the bench database's tables and Redis db 11, so each phase starts alike."""
    import psycopg
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}", autocommit=True,
                         connect_timeout=3) as c:
        names = [r[0] for r in c.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")]
        if names:
            c.execute("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE")
        c.execute("VACUUM ANALYZE")
    flush_redis()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Proc:
    """A subprocess in its own process group, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.p = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        self.pgid = self.p.pid

    def alive(self) -> bool:
        return self.p.poll() is None

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, grace_s: float = 10.0) -> None:
        for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.pgid, sig)
            except ProcessLookupError:
                break
            try:
                self.p.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            # the leader is gone; make sure no child of the group is left behind
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            break
        self._log.close()


def wait_http_ready(proc: Proc, port: int, path: str, ok_statuses: set[int]) -> None:
    end = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < end:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited early:\n{proc.tail()}")
        try:
            c = http.client.HTTPConnection(HOST, port, timeout=2)
            c.request("GET", path)
            status = c.getresponse().status
            c.close()
            if status in ok_statuses:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{proc.name} not ready after {READY_TIMEOUT_S}s:\n{proc.tail()}")


def gunicorn(name: str, module: str, port: int, env: dict[str, str], log_dir: Path) -> Proc:
    argv = [str(Path(sys.executable).parent / "gunicorn"), *GUNICORN_WORKER_ARGS, "-b", f"{HOST}:{port}",
            "--chdir", str(ROOT), "--log-level", "warning", module]
    return Proc(name, argv, env, log_dir)


# -- the end-to-end phase -------------------------------------------------------------------


def wait_replies(store, tokens: set[str], timeout_s: float) -> dict[str, tuple[float, str]]:
    """reply token -> (arrival time, path) for the replies (or pushes) received so far."""
    end = time.monotonic() + timeout_s
    found: dict[str, tuple[float, str]] = {}
    while True:
        for r in list(store.requests):
            if r.path == "/v2/bot/message/reply" and isinstance(r.json, dict):
                tok = r.json.get("replyToken")
                if tok in tokens and tok not in found:
                    found[tok] = (r.at, "reply")
        if len(found) >= len(tokens) or time.monotonic() >= end:
            return found
        time.sleep(0.1)


def run_e2e(ctx, port: int, store, rate: float, duration: float, senders: int, procs_n: int,
            meter: Meter | None = None) -> dict:
    res = run_open_loop(ctx, port, rate, duration, senders, procs_n, E2E_TEXTS, meter)
    rows = res.pop("_rows")
    sent = {r[5]: r[6] for r in rows if r[4] == 200}
    found = wait_replies(store, set(sent), E2E_ANSWER_WAIT_S)
    answer = [found[t][0] - sent[t] for t in sent if t in found]
    pushes = sum(1 for r in list(store.requests) if r.path == "/v2/bot/message/push")
    return {"rate": rate, "duration_s": duration, "sent": len(rows), "accepted": len(sent),
            "answered": len(answer), "unanswered": len(sent) - len(answer), "pushes": pushes,
            "ingest_latency_ms": res["latency_ms"], "answer_ms": summarize(answer),
            "achieved_rps": res["achieved_rps"], "webhook_statuses": res["statuses"]}


# -- report ---------------------------------------------------------------------------------


def fmt(x: float, nd: int = 1) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def verdicts(r: dict) -> dict:
    ratio = r["closed"]["ours"]["rps"] / r["closed"]["bare"]["rps"] if r["closed"]["bare"]["rps"] else 0.0
    p99 = r["open"]["ours"]["latency_ms"]["p99"]
    p95 = r["e2e"]["answer_ms"]["p95"]
    e2e_complete = r["e2e"]["unanswered"] == 0 and r["e2e"]["accepted"] == r["e2e"]["sent"]
    ingest_ok = r["open"]["ours"]["errors"] == 0 and r["open"]["ours"]["skipped_late"] == 0
    return {
        "ratio": ratio,
        "throughput": ratio >= REQUIREMENTS["throughput_ratio"] and r["closed"]["ours"]["errors"] == 0,
        "ingest_p99": (not math.isnan(p99)) and p99 < REQUIREMENTS["ingest_p99_ms"] and ingest_ok,
        "e2e_p95": (not math.isnan(p95)) and p95 < REQUIREMENTS["e2e_p95_ms"] and e2e_complete,
    }


def results_table(r: dict) -> str:
    v = verdicts(r)
    cb, co = r["closed"]["bare"], r["closed"]["ours"]
    ob, oo = r["open"]["bare"], r["open"]["ours"]
    e = r["e2e"]
    ok = lambda b: "**PASS**" if b else "**FAIL**"  # noqa: E731

    def lat(d):
        m = d["latency_ms"]
        return f"{fmt(m['p50'])} / {fmt(m['p95'])} / {fmt(m['p99'])} / {fmt(m['max'])}"

    a = e["answer_ms"]
    lines = [
        "| Measurement | bare baseline | ours | requirement | result |",
        "|---|---:|---:|---|---|",
        f"| 1. Ingest throughput, closed loop, {cb['clients']} keep-alive clients, {fmt(cb['duration_s'], 0)} s "
        f"per app in {cb.get('slices', 1)} alternating slices (requests/s) | {fmt(cb['rps'], 0)} | {fmt(co['rps'], 0)} | ours ≥ 0.5 × bare "
        f"(ratio {v['ratio']:.2f}) | {ok(v['throughput'])} |",
        f"| 2. Ingest latency at {fmt(oo['rate'], 0)} req/s, open loop, {fmt(oo['duration_s'], 0)} s: "
        f"p50 / p95 / p99 / max (ms) | {lat(ob)} | {lat(oo)} | ours p99 < 50 ms | {ok(v['ingest_p99'])} |",
        f"| 3. End-to-end answer time at {fmt(e['rate'], 0)} msg/s, {fmt(e['duration_s'], 0)} s, "
        f"{r['params']['rq_workers']} workers: p50 / p95 / p99 / max (ms) | – | "
        f"{fmt(a['p50'])} / {fmt(a['p95'])} / {fmt(a['p99'])} / {fmt(a['max'])} | p95 < 500 ms | "
        f"{ok(v['e2e_p95'])} |",
    ]
    return "\n".join(lines)


def slice_ratio_range(cb: dict, co: dict) -> str:
    pairs = [o / b for b, o in zip(cb.get("slice_rps", []), co.get("slice_rps", [])) if b]
    return f"{min(pairs):.2f} – {max(pairs):.2f}" if pairs else "n/a"


def details_table(r: dict) -> str:
    cb, co = r["closed"]["bare"], r["closed"]["ours"]
    ob, oo = r["open"]["bare"], r["open"]["ours"]
    e = r["e2e"]
    m = r["meters"]
    ncpu = r["facts"]["nproc"] or 1

    def per_req(meter: dict, key: str, n: int) -> float:
        return 1000.0 * meter["server_cpu_s"].get(key, 0.0) / n if n else float("nan")

    def machine(meter: dict, n: int) -> float:
        return 1000.0 * meter["machine_busy_pct"] / 100.0 * ncpu * meter["wall_s"] / n if n else float("nan")

    def cpu_split(meter: dict, server: str, n: int, client_cpu_s: float | None) -> str:
        parts = [per_req(meter, server, n), per_req(meter, "postgres", n), per_req(meter, "redis", n)]
        parts.append(1000.0 * client_cpu_s / n if (client_cpu_s is not None and n) else float("nan"))
        parts.append(machine(meter, n))
        return " / ".join(fmt(x, 2) for x in parts)

    mb, mo = m["closed_bare"], m["closed_ours"]
    pb, po = m["open_bare"], m["open_ours"]
    me = m["e2e"]
    rows = [
        "| Detail | bare | ours |",
        "|---|---:|---:|",
        f"| Closed loop: answers 200 / errors | {cb['ok']} / {cb['errors']} | {co['ok']} / {co['errors']} |",
        f"| Closed loop: requests/s per slice | {' '.join(fmt(x, 0) for x in cb.get('slice_rps', []))} | "
        f"{' '.join(fmt(x, 0) for x in co.get('slice_rps', []))} |",
        f"| Closed loop: ratio ours/bare per slice pair (min – max) | – | {slice_ratio_range(cb, co)} |",
        f"| Closed loop: per-request latency p50 / p99 (ms) | {fmt(cb['latency_ms']['p50'])} / "
        f"{fmt(cb['latency_ms']['p99'])} | {fmt(co['latency_ms']['p50'])} / {fmt(co['latency_ms']['p99'])} |",
        f"| Closed loop: CPU ms per request: gunicorn / PostgreSQL / Redis / load generator / whole machine | "
        f"{cpu_split(mb, 'bare', cb['requests'], cb['client_cpu_s'])} | "
        f"{cpu_split(mo, 'ours', co['requests'], co['client_cpu_s'])} |",
        f"| Closed loop: machine CPU busy / steal (% of {ncpu} CPUs) | {fmt(mb['machine_busy_pct'], 0)} / "
        f"{fmt(mb['machine_steal_pct'], 0)} | {fmt(mo['machine_busy_pct'], 0)} / {fmt(mo['machine_steal_pct'], 0)} |",
        f"| Open loop: sent / scheduled / errors / given up late | {ob['sent']} / {ob['scheduled']} / "
        f"{ob['errors']} / {ob['skipped_late']} | {oo['sent']} / {oo['scheduled']} / {oo['errors']} / "
        f"{oo['skipped_late']} |",
        f"| Open loop: achieved rate (req/s) | {fmt(ob['achieved_rps'])} | {fmt(oo['achieved_rps'])} |",
        f"| Open loop: mean latency (ms) | {fmt(ob['latency_ms']['mean'], 2)} | {fmt(oo['latency_ms']['mean'], 2)} |",
        f"| Open loop: load generator's own send lag p99 / max (ms) | {fmt(ob['send_lag_ms']['p99'], 2)} / "
        f"{fmt(ob['send_lag_ms']['max'], 2)} | {fmt(oo['send_lag_ms']['p99'], 2)} / {fmt(oo['send_lag_ms']['max'], 2)} |",
        f"| Open loop: CPU ms per request: gunicorn / PostgreSQL / Redis / load generator / whole machine | "
        f"{cpu_split(pb, 'bare', ob['sent'], ob['client_cpu_s'])} | "
        f"{cpu_split(po, 'ours', oo['sent'], oo['client_cpu_s'])} |",
        f"| Open loop: machine CPU busy / steal (% of {ncpu} CPUs) | {fmt(pb['machine_busy_pct'], 0)} / "
        f"{fmt(pb['machine_steal_pct'], 0)} | {fmt(po['machine_busy_pct'], 0)} / {fmt(po['machine_steal_pct'], 0)} |",
        f"| End to end: sent / webhook 200 / answered by reply / pushes | – | {e['sent']} / {e['accepted']} / "
        f"{e['answered']} / {e['pushes']} |",
        f"| End to end: webhook latency p50 / p99 (ms) | – | {fmt(e['ingest_latency_ms']['p50'])} / "
        f"{fmt(e['ingest_latency_ms']['p99'])} |",
        f"| End to end: CPU ms per message: workers / gunicorn / PostgreSQL / Redis | – | "
        f"{fmt(per_req(me, 'workers', e['sent']), 2)} / {fmt(per_req(me, 'ours', e['sent']), 2)} / "
        f"{fmt(per_req(me, 'postgres', e['sent']), 2)} / {fmt(per_req(me, 'redis', e['sent']), 2)} |",
    ]
    return "\n".join(rows)


def render_markdown(r: dict) -> str:
    f = r["facts"]
    p = r["params"]
    v = verdicts(r)
    pk = ", ".join(f"{k} {val}" for k, val in f["packages"].items())
    runs = r.get("previous_runs", [])
    history = ""
    if runs:
        history = ("\n## Earlier runs (summary)\n\n| date (UTC) | bare req/s | ours req/s | ratio | ours p99 @200/s (ms) "
                   "| e2e p95 (ms) |\n|---|---:|---:|---:|---:|---:|\n" + "\n".join(
                       f"| {x['date']} | {fmt(x['bare_rps'], 0)} | {fmt(x['ours_rps'], 0)} | {x['ratio']:.2f} | "
                       f"{fmt(x['ours_p99'])} | {fmt(x['e2e_p95'])} |" for x in runs) + "\n")
    return f"""# Webhook performance

Generated by `bench/webhook_bench.py` (see `bench/README.md`); do not edit the numbers by hand,
run `.venv/bin/python bench/webhook_bench.py --out docs/performance.md` again.

- **Date:** {r['date']} (UTC), run took {fmt(r['elapsed_s'], 0)} s, commit `{f['git_commit']}`
- **Machine:** {f['nproc']} CPUs ({f['cpu_model']}), {f['memory']} RAM, Linux {f['kernel']};
  shared and noisy: load average at start {' '.join(f['loadavg_start'])}, at end {' '.join(r['loadavg_end'])}
- **Software:** Python {f['python']}; {pk}; PostgreSQL {f['postgresql']} (synchronous_commit
  {f.get('pg_synchronous_commit', '?')}); Redis {f['redis']}
- **App under test:** `{p['ours_app']}`{(' with ' + str(p['candidate_env'])) if p.get('candidate_env') else ''}
- **Settings:** `--duration {fmt(p['duration'], 0)}`, gunicorn `{p.get('gunicorn_args', '')}` for both apps,
  {p['clients']} closed-loop clients in {p['client_procs']} processes, open loop {fmt(p['rate'], 0)} req/s over
  {p['senders']} connections, end to end {fmt(p['e2e_rate'], 0)} msg/s with {p['rq_workers']} queue workers

## Results

{results_table(r)}

Requirements: ingest throughput ≥ 0.5 × bare: **{'PASS' if v['throughput'] else 'FAIL'}**;
ingest p99 < 50 ms at 200 req/s: **{'PASS' if v['ingest_p99'] else 'FAIL'}**;
end-to-end p95 < 500 ms at 20 msg/s: **{'PASS' if v['e2e_p95'] else 'FAIL'}**.

### Details

{details_table(r)}

## Method

Everything runs on this one machine and talks only to 127.0.0.1; the load generator, both servers,
PostgreSQL, Redis, the queue workers and the fake LINE server share its {f['nproc']} CPUs, so the
numbers are a floor for a dedicated host, and the machine is shared with other work (see the load
average above and machine busy / steal in the details).

- **Bare baseline** (`bench/bare_app.py`): a Flask app whose only route `POST /callback` does what
  every LINE webhook must: `linebot.v3.WebhookParser(secret).parse(body, signature)` (HMAC-SHA256
  signature check and parsing), then 200.
- **Ours** (`bench/ours_wsgi.py`): `bot.create_app` with `REDIS_URL=redis://127.0.0.1:6379/11`,
  `DATABASE_URL=postgresql+psycopg://…/zuozhen_bench` (a fresh database migrated with
  `services.migrate.upgrade`), `LOCAL_MODE=False`, `EMBEDDED_WORKER=False`, `LINE_API_BASE_URL`
  pointing at a `bot.dev.fakeline.FakeLineServer` running in the bench process. Its `/callback` verifies
  the signature with the SDK's `SignatureValidator` and parses the JSON (the SDK's typed models are
  built later, by the worker), then stores each event durably before answering 200: one PostgreSQL statement inserts
  it into `inbound_event` (`ON CONFLICT (webhook_event_id) DO NOTHING`, committed) and notifies the
  workers' feeder, which claims it in Redis and enqueues its RQ job (see `docs/architecture.md`).
- **Serving:** both apps run under gunicorn as subprocesses with the same arguments
  (`{p.get('gunicorn_args', '')}`), each on its own port, each warmed up for a few seconds of
  closed-loop traffic before it is measured. Between phases the bench database's tables are
  truncated and Redis db 11 is emptied, so every phase starts from the same state.
- **Requests:** every request is a distinct webhook body with one text-message event carrying every
  field LINE sends (built with `tests/helpers.text_event`: unique `webhookEventId`, `replyToken`,
  message id, quote token, a new user id), signed with the channel secret, sent over keep-alive
  HTTP/1.1 connections (`http.client`) from separate load-generator processes.
- **1. Throughput (closed loop):** {p['clients']} clients ({p['client_procs']} processes) each send a
  request, wait for its answer and send the next. Each app gets `--duration` seconds in total, split
  into {p.get('slices', 1)} slices that alternate between the apps (bare, ours, ours, bare, …) so that
  background load on this shared machine hits both alike. Requests/s = answers with status 200
  completed inside the slices ÷ their total length. Ratio = ours ÷ bare. "CPU ms per request" is
  read from `/proc` for each gunicorn process group, the PostgreSQL backends connected to the bench
  database and the Redis server (`INFO cpu`), and from `getrusage` in the load generator; "whole
  machine" is `/proc/stat` busy time ÷ requests, so it also includes anything else running.
- **2. Latency (open loop):** request *i* is due at start + *i*/{fmt(p['rate'], 0)} s, for
  `--duration` seconds ({int(round(p['rate'] * p['duration']))} requests), spread over
  {p['senders']} connections in {p['sender_procs']} processes. Each request's latency runs from its
  *due* time (not its actual send time) to the end of its response, so a send delayed by a busy
  connection or a slow server counts against the server (no coordinated omission). "Load
  generator's own send lag" shows how late the load generator itself was in sending.
- **3. End to end:** our app plus {p['rq_workers']} worker processes (`bench/worker_main.py`, i.e.
  `bot.worker.run(app)`), after a short warm-up; {fmt(p['e2e_rate'], 0)} messages/s open loop for
  `--duration` seconds, each from a distinct resident, alternating "你好" and "我的案件". Answer time
  = time the fake LINE server received `POST /v2/bot/message/reply` with that event's `replyToken`
  (`RecordedRequest.at`) − wall-clock time just before the webhook request was sent. Replies are
  awaited for at most {E2E_ANSWER_WAIT_S} s; an event without a reply makes the requirement fail.
- Percentiles are nearest-rank over all requests of the phase. Raw results of each run are kept in
  `bench/results/` (not committed).
{history}"""


def print_report(r: dict) -> None:
    print()
    print(results_table(r))
    print()
    print(details_table(r))
    print()


# -- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per measured phase (default 10)")
    ap.add_argument("--out", help="write the report to this Markdown file (e.g. docs/performance.md)")
    ap.add_argument("--clients", type=int, default=8, help="closed-loop clients (default 8)")
    ap.add_argument("--client-procs", type=int, default=4, help="processes the clients run in (default 4)")
    ap.add_argument("--rate", type=float, default=200.0, help="open-loop rate, requests/s (default 200)")
    ap.add_argument("--senders", type=int, default=8, help="open-loop connections (default 8)")
    ap.add_argument("--sender-procs", type=int, default=2, help="processes they run in (default 2)")
    ap.add_argument("--e2e-rate", type=float, default=20.0, help="end-to-end messages/s (default 20)")
    ap.add_argument("--rq-workers", type=int, default=2, help="queue worker processes (default 2)")
    ap.add_argument("--slices", type=int, default=5,
                    help="closed loop: split --duration into this many alternating slices per app (default 5)")
    ap.add_argument("--warmup", type=float, default=3.0, help="closed-loop warm-up seconds per app (default 3)")
    ap.add_argument("--gunicorn-args", default=" ".join(GUNICORN_WORKER_ARGS),
                    help=f"worker settings for BOTH apps (default: {' '.join(GUNICORN_WORKER_ARGS)!r})")
    ap.add_argument("--ours-app", default="bench.ours_wsgi:app",
                    help="WSGI entry of the app under test (default bench.ours_wsgi:app; "
                         "bench.candidate_wsgi:app measures the proposed optimisations)")
    args = ap.parse_args(argv)
    GUNICORN_WORKER_ARGS[:] = args.gunicorn_args.split()
    if any(a in ("-b", "--bind") or a.startswith("--bind=") for a in GUNICORN_WORKER_ARGS):
        ap.error("--gunicorn-args must not bind; the bench picks 127.0.0.1 ports itself")
    if not 1 <= args.duration <= MAX_DURATION_S:
        ap.error(f"--duration must be between 1 and {MAX_DURATION_S}")
    if not (1 <= args.clients <= 64 and 1 <= args.senders <= 64 and 1 <= args.rq_workers <= 8
            and 1 <= args.rate <= 5000 and 0.5 <= args.e2e_rate <= 500 and 0 <= args.warmup <= 30
            and 1 <= args.slices <= 20 and args.duration / args.slices >= 1):
        ap.error("a setting is out of range")

    def _term(signum, frame):
        raise SystemExit(f"stopped by signal {signum}")
    signal.signal(signal.SIGTERM, _term)

    import logging
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fake LINE server's access log
    from bot.dev.fakeline import FakeLineServer, FakeLineStore

    ctx = mp.get_context("spawn")
    t_start = time.monotonic()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    log_dir = RESULTS_DIR / f"logs-{stamp}"
    log_dir.mkdir(parents=True, exist_ok=True)
    media_dir = tempfile.mkdtemp(prefix="zuozhen-bench-media-")
    procs: list[Proc] = []
    fake = FakeLineServer(FakeLineStore())
    results: dict = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M"),
                     "params": {"duration": args.duration, "clients": args.clients,
                                "client_procs": min(args.client_procs, args.clients), "rate": args.rate,
                                "senders": args.senders, "sender_procs": min(args.sender_procs, args.senders),
                                "e2e_rate": args.e2e_rate, "rq_workers": args.rq_workers, "slices": args.slices,
                                "ours_app": args.ours_app, "gunicorn_args": " ".join(GUNICORN_WORKER_ARGS),
                                "candidate_env": {k: v for k, v in os.environ.items() if k.startswith("CANDIDATE_")}},
                     "meters": {}}
    try:
        print("machine facts ...", flush=True)
        results["facts"] = machine_facts()
        print(f"database zuozhen_bench and redis db {REDIS_DB} ...", flush=True)
        reset_database()
        flush_redis()
        fake.start()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "DATABASE_", "REDIS_"))}
        env.update({"PYTHONPATH": str(ROOT), "LINE_CHANNEL_SECRET": SECRET,
                    "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN, "LINE_API_BASE_URL": fake.base_url,
                    "SECRET_KEY": BENCH_SECRET_KEY, "DATABASE_URL": DB_URL, "REDIS_URL": REDIS_URL,
                    "MEDIA_DIR": media_dir, "PYTHONUNBUFFERED": "1"})
        bare_port, ours_port = free_port(), free_port()
        bare = gunicorn("bare", "bench.bare_app:app", bare_port, env, log_dir)
        procs.append(bare)
        ours = gunicorn("ours", args.ours_app, ours_port, env, log_dir)
        procs.append(ours)
        wait_http_ready(bare, bare_port, "/", {404, 405})
        wait_http_ready(ours, ours_port, "/readyz", {200})
        pg = {"bare": bare.pgid, "ours": ours.pgid}
        targets = {"bare": bare_port, "ours": ours_port}

        # 1. closed loop: the duration is split into slices that alternate between the two apps,
        #    so background load on this shared machine hits both alike
        for name in ("bare", "ours"):
            if args.warmup:
                clear_state()
                print(f"warm-up {name} ({args.warmup:.0f} s) ...", flush=True)
                run_closed_loop(ctx, targets[name], args.clients, args.client_procs, args.warmup)
        slice_s = args.duration / args.slices
        parts: dict[str, list[dict]] = {"bare": [], "ours": []}
        mparts: dict[str, list[dict]] = {"bare": [], "ours": []}
        for k in range(args.slices):
            for name in (("bare", "ours") if k % 2 == 0 else ("ours", "bare")):
                clear_state()
                meter = Meter(pg)
                res = run_closed_loop(ctx, targets[name], args.clients, args.client_procs, slice_s, meter)
                parts[name].append(res)
                mparts[name].append(meter.as_dict())
                print(f"closed loop {name}, slice {k + 1}/{args.slices} ({slice_s:.1f} s): {res['rps']:.0f} req/s, "
                      f"errors {res['errors']}", flush=True)
        results["closed"] = {name: merge_closed(parts[name]) for name in ("bare", "ours")}
        for name in ("bare", "ours"):
            results["meters"][f"closed_{name}"] = merge_meters(mparts[name])

        # 2. open loop
        results["open"] = {}
        for name in ("ours", "bare"):
            clear_state()
            print(f"open loop {name} at {args.rate:.0f} req/s ({args.duration:.0f} s) ...", flush=True)
            meter = Meter(pg)
            res = run_open_loop(ctx, targets[name], args.rate, args.duration, args.senders, args.sender_procs,
                                (INGEST_TEXT,), meter)
            res.pop("_rows")
            results["open"][name] = res
            results["meters"][f"open_{name}"] = meter.as_dict()
            m = res["latency_ms"]
            print(f"  p50 {m['p50']:.1f} p95 {m['p95']:.1f} p99 {m['p99']:.1f} max {m['max']:.1f} ms, "
                  f"errors {res['errors']}", flush=True)

        # 3. end to end
        bare.stop()  # not needed any more
        clear_state()
        workers = []
        for k in range(args.rq_workers):
            w = Proc(f"worker-{k + 1}", [sys.executable, "-m", "bench.worker_main"], env, log_dir)
            procs.append(w)
            workers.append(w)
        print(f"end to end: {args.rq_workers} workers, warm-up ...", flush=True)
        warm_n = max(4, int(args.e2e_rate))
        warm = run_open_loop(ctx, ours_port, min(args.e2e_rate, 10.0), warm_n / min(args.e2e_rate, 10.0),
                             min(args.senders, 4), 1, E2E_TEXTS)
        warm_tokens = {r[5] for r in warm["_rows"] if r[4] == 200}
        got = wait_replies(fake.store, warm_tokens, READY_TIMEOUT_S)
        if len(got) < len(warm_tokens):
            dead = [w.name for w in workers if not w.alive()]
            raise RuntimeError(f"warm-up: {len(got)} of {len(warm_tokens)} replies (dead workers: {dead})\n"
                               + (workers[0].tail() if workers else ""))
        time.sleep(0.5)
        fake.store.reset()
        wg = {"ours": ours.pgid, **{f"w{k}": w.pgid for k, w in enumerate(workers)}}
        print(f"end to end at {args.e2e_rate:.0f} msg/s ({args.duration:.0f} s) ...", flush=True)
        meter = Meter(wg)
        results["e2e"] = run_e2e(ctx, ours_port, fake.store, args.e2e_rate, args.duration,
                                 min(args.senders, 4), 1, meter)
        md = meter.as_dict()
        md["server_cpu_s"]["workers"] = sum(v for k, v in md["server_cpu_s"].items() if k.startswith("w"))
        results["meters"]["e2e"] = md
        a = results["e2e"]["answer_ms"]
        print(f"  answered {results['e2e']['answered']}/{results['e2e']['sent']}, p50 {a['p50']:.1f} "
              f"p95 {a['p95']:.1f} p99 {a['p99']:.1f} ms", flush=True)
    finally:
        for proc in reversed(procs):
            try:
                proc.stop()
            except Exception as exc:  # noqa: BLE001
                print(f"could not stop {proc.name}: {exc}", file=sys.stderr)
        try:
            fake.stop()
        except Exception:  # noqa: BLE001
            pass
        try:
            drop_database()
        except Exception as exc:  # noqa: BLE001
            print(f"could not drop {DB_NAME}: {exc}", file=sys.stderr)
        try:
            flush_redis()
        except Exception as exc:  # noqa: BLE001
            print(f"could not flush redis db {REDIS_DB}: {exc}", file=sys.stderr)
        import shutil
        shutil.rmtree(media_dir, ignore_errors=True)

    results["elapsed_s"] = time.monotonic() - t_start
    results["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    results["verdicts"] = verdicts(results)
    (RESULTS_DIR / f"webhook-{stamp}.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print_report(results)
    v = results["verdicts"]
    print(f"throughput ratio {v['ratio']:.2f}: {'PASS' if v['throughput'] else 'FAIL'}; "
          f"ingest p99: {'PASS' if v['ingest_p99'] else 'FAIL'}; e2e p95: {'PASS' if v['e2e_p95'] else 'FAIL'}")
    if args.out:
        out = Path(args.out)
        if not out.is_absolute():
            out = Path.cwd() / out
        results["previous_runs"] = previous_runs(stamp, args.ours_app)
        notes = ""
        if out.exists():
            old = out.read_text(encoding="utf-8")
            if NOTES_BEGIN in old and NOTES_END in old:
                # The hand-written notes and whatever follows them (bench/routing_bench.py's
                # section) are kept.
                notes = old[old.index(NOTES_BEGIN):].rstrip("\n")
        text = render_markdown(results)
        if notes:
            text = text.rstrip("\n") + "\n\n" + notes + "\n"
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}")
    return 0 if all((v["throughput"], v["ingest_p99"], v["e2e_p95"])) else 1


def previous_runs(current_stamp: str, ours_app: str, keep: int = 5) -> list[dict]:
    """Summaries of the earlier runs of the same app kept in bench/results/, newest first."""
    out = []
    for path in sorted(RESULTS_DIR.glob("webhook-*.json"), reverse=True):
        if current_stamp in path.name:
            continue
        try:
            r = json.loads(path.read_text())
            if r["params"].get("ours_app") != ours_app or r["params"].get("candidate_env"):
                continue
            out.append({"date": r["date"], "bare_rps": r["closed"]["bare"]["rps"],
                        "ours_rps": r["closed"]["ours"]["rps"], "ratio": r["verdicts"]["ratio"],
                        "ours_p99": r["open"]["ours"]["latency_ms"]["p99"],
                        "e2e_p95": r["e2e"]["answer_ms"]["p95"]})
        except (OSError, ValueError, KeyError):
            continue
        if len(out) >= keep:
            break
    return out


if __name__ == "__main__":
    sys.exit(main())
