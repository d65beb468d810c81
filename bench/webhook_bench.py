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
import json
import logging
import multiprocessing as mp
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.webhook_load import (  # noqa: E402
    ACCESS_TOKEN, BENCH_SECRET_KEY, DB_NAME, DB_URL, E2E_TEXTS, GUNICORN_WORKER_ARGS, INGEST_TEXT, MAX_DURATION_S,
    READY_TIMEOUT_S, REDIS_DB, REDIS_URL, RESULTS_DIR, SECRET, merge_closed, merge_meters, run_closed_loop,
    run_open_loop,
)
from bench.webhook_procs import (  # noqa: E402
    Meter, Proc, clear_state, drop_database, flush_redis, free_port, gunicorn, machine_facts, reset_database,
    run_e2e, wait_http_ready, wait_replies,
)
from bench.webhook_report import NOTES_BEGIN, NOTES_END, previous_runs, print_report, render_markdown, verdicts  # noqa: E402,E501


# -- the command line -------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
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
    return args


def new_results(args: argparse.Namespace) -> dict:
    return {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M"),
            "params": {"duration": args.duration, "clients": args.clients,
                       "client_procs": min(args.client_procs, args.clients), "rate": args.rate,
                       "senders": args.senders, "sender_procs": min(args.sender_procs, args.senders),
                       "e2e_rate": args.e2e_rate, "rq_workers": args.rq_workers, "slices": args.slices,
                       "ours_app": args.ours_app, "gunicorn_args": " ".join(GUNICORN_WORKER_ARGS),
                       "candidate_env": {k: v for k, v in os.environ.items() if k.startswith("CANDIDATE_")}},
            "meters": {}}


# -- the phases -------------------------------------------------------------------------------


def bench_env(fake_base_url: str, media_dir: str) -> dict[str, str]:
    """The environment of every subprocess: this machine's, without its LINE, database and Redis settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "DATABASE_", "REDIS_"))}
    env.update({"PYTHONPATH": str(ROOT), "LINE_CHANNEL_SECRET": SECRET,
                "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN, "LINE_API_BASE_URL": fake_base_url,
                "SECRET_KEY": BENCH_SECRET_KEY, "DATABASE_URL": DB_URL, "REDIS_URL": REDIS_URL,
                "MEDIA_DIR": media_dir, "PYTHONUNBUFFERED": "1"})
    return env


def start_apps(ours_app: str, env: dict[str, str], log_dir: Path, procs: list[Proc]) -> dict:
    """Serve the bare baseline and the app under test; wait until both answer."""
    bare_port, ours_port = free_port(), free_port()
    bare = gunicorn("bare", "bench.bare_app:app", bare_port, env, log_dir)
    procs.append(bare)
    ours = gunicorn("ours", ours_app, ours_port, env, log_dir)
    procs.append(ours)
    wait_http_ready(bare, bare_port, "/", {404, 405})
    wait_http_ready(ours, ours_port, "/readyz", {200})
    return {"procs": {"bare": bare, "ours": ours}, "ports": {"bare": bare_port, "ours": ours_port},
            "pg": {"bare": bare.pgid, "ours": ours.pgid}}


def closed_loop_phase(ctx, args: argparse.Namespace, apps: dict, results: dict) -> None:
    """The duration is split into slices that alternate between the two apps, so background load on
    this shared machine hits both alike."""
    targets, pg = apps["ports"], apps["pg"]
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


def open_loop_phase(ctx, args: argparse.Namespace, apps: dict, results: dict) -> None:
    results["open"] = {}
    for name in ("ours", "bare"):
        clear_state()
        print(f"open loop {name} at {args.rate:.0f} req/s ({args.duration:.0f} s) ...", flush=True)
        meter = Meter(apps["pg"])
        res = run_open_loop(ctx, apps["ports"][name], args.rate, args.duration, args.senders, args.sender_procs,
                            (INGEST_TEXT,), meter)
        res.pop("_rows")
        results["open"][name] = res
        results["meters"][f"open_{name}"] = meter.as_dict()
        m = res["latency_ms"]
        print(f"  p50 {m['p50']:.1f} p95 {m['p95']:.1f} p99 {m['p99']:.1f} max {m['max']:.1f} ms, "
              f"errors {res['errors']}", flush=True)


def start_workers(args: argparse.Namespace, env: dict[str, str], log_dir: Path, procs: list[Proc]) -> list[Proc]:
    workers = []
    for k in range(args.rq_workers):
        w = Proc(f"worker-{k + 1}", [sys.executable, "-m", "bench.worker_main"], env, log_dir)
        procs.append(w)
        workers.append(w)
    return workers


def warm_up_workers(ctx, args: argparse.Namespace, ours_port: int, fake, workers: list[Proc]) -> None:
    """A few messages through the whole path; every one must be answered before the measured phase."""
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


def e2e_phase(ctx, args: argparse.Namespace, apps: dict, fake, run: dict, results: dict) -> None:
    apps["procs"]["bare"].stop()  # not needed any more
    clear_state()
    ours, ours_port = apps["procs"]["ours"], apps["ports"]["ours"]
    workers = start_workers(args, run["env"], run["log_dir"], run["procs"])
    warm_up_workers(ctx, args, ours_port, fake, workers)
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


def clean_up(procs: list[Proc], fake, media_dir: str) -> None:
    """Stop every subprocess and the fake LINE server, drop the database, empty Redis."""
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
    shutil.rmtree(media_dir, ignore_errors=True)


def run_phases(ctx, args: argparse.Namespace, fake, run: dict, results: dict) -> None:
    print("machine facts ...", flush=True)
    results["facts"] = machine_facts()
    print(f"database zuozhen_bench and redis db {REDIS_DB} ...", flush=True)
    reset_database()
    flush_redis()
    fake.start()
    run["env"] = bench_env(fake.base_url, run["media_dir"])
    apps = start_apps(args.ours_app, run["env"], run["log_dir"], run["procs"])
    closed_loop_phase(ctx, args, apps, results)  # 1. closed loop
    open_loop_phase(ctx, args, apps, results)    # 2. open loop
    e2e_phase(ctx, args, apps, fake, run, results)  # 3. end to end


# -- the results ------------------------------------------------------------------------------


def save_and_print(results: dict, stamp: str) -> dict:
    results["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    results["verdicts"] = verdicts(results)
    (RESULTS_DIR / f"webhook-{stamp}.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print_report(results)
    v = results["verdicts"]
    print(f"throughput ratio {v['ratio']:.2f}: {'PASS' if v['throughput'] else 'FAIL'}; "
          f"ingest p99: {'PASS' if v['ingest_p99'] else 'FAIL'}; e2e p95: {'PASS' if v['e2e_p95'] else 'FAIL'}")
    return v


def write_markdown(out_arg: str, results: dict, stamp: str, ours_app: str) -> None:
    out = Path(out_arg)
    if not out.is_absolute():
        out = Path.cwd() / out
    results["previous_runs"] = previous_runs(stamp, ours_app)
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


# -- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def _term(signum, frame):
        raise SystemExit(f"stopped by signal {signum}")
    signal.signal(signal.SIGTERM, _term)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fake LINE server's access log
    from bot.dev.fakeline import FakeLineServer, FakeLineStore

    ctx = mp.get_context("spawn")
    t_start = time.monotonic()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    run = {"log_dir": RESULTS_DIR / f"logs-{stamp}", "media_dir": tempfile.mkdtemp(prefix="zuozhen-bench-media-"),
           "procs": []}
    run["log_dir"].mkdir(parents=True, exist_ok=True)
    fake = FakeLineServer(FakeLineStore())
    results = new_results(args)
    try:
        run_phases(ctx, args, fake, run, results)
    finally:
        clean_up(run["procs"], fake, run["media_dir"])
    results["elapsed_s"] = time.monotonic() - t_start
    v = save_and_print(results, stamp)
    if args.out:
        write_markdown(args.out, results, stamp, args.ours_app)
    return 0 if all((v["throughput"], v["ingest_p99"], v["e2e_p95"])) else 1


if __name__ == "__main__":
    sys.exit(main())
