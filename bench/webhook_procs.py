"""The webhook bench's machinery: CPU meters, machine facts, the database, Redis, the gunicorn and
worker subprocesses, and the end-to-end phase.
"""
from __future__ import annotations

import http.client
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.webhook_load import (CLK_TCK, DB_NAME, DB_URL, E2E_ANSWER_WAIT_S, E2E_TEXTS, GUNICORN_WORKER_ARGS, HOST,
                                 PG_ADMIN_URL, READY_TIMEOUT_S, REDIS_DB, REDIS_URL, ROOT, run_open_loop, summarize)



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
    return sum(cpu for _, group, cpu in all_proc_cpu().values() if group == pgid)


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


def _proc_stats():
    """(pid, the text of /proc/<pid>/stat) of every process that can still be read."""
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    yield int(d), f.read()
            except OSError:
                continue


def all_proc_cpu() -> dict[int, tuple[str, int, float]]:
    """pid -> (command name, process group, CPU seconds) for every process (read-only, from /proc)."""
    out = {}
    for pid, data in _proc_stats():
        try:
            comm = data[data.index("(") + 1:data.rfind(")")]
            rest = data[data.rfind(")") + 2:].split()
            out[pid] = (comm, int(rest[2]), (int(rest[11]) + int(rest[12])) / CLK_TCK)
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
