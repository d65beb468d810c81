"""The webhook bench's settings and its load generator: signed events, keep-alive clients, the
closed and open loops (run in child processes) and their statistics.
"""
from __future__ import annotations

import http.client
import math
import os
import resource
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.helpers import SECRET, body as make_body, sign, text_event, user_id  # noqa: E402

if TYPE_CHECKING:
    from bench.webhook_procs import Meter


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
