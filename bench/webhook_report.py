"""The webhook bench's report: verdicts against the requirements, the tables, and the Markdown page
(docs/performance.md).
"""
from __future__ import annotations

import json
import math

from bench.webhook_load import E2E_ANSWER_WAIT_S, RESULTS_DIR



# A hand-written block of docs/performance.md between these markers is kept when the file is rewritten.
NOTES_BEGIN = "<!-- notes: kept by bench/webhook_bench.py -->"
NOTES_END = "<!-- end of notes -->"

REQUIREMENTS = {
    "throughput_ratio": 0.5,   # ours >= 0.5 x bare
    "ingest_p99_ms": 50.0,     # at 200 requests/s
    "e2e_p95_ms": 500.0,       # at 20 messages/s
}


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


def _per_req(meter: dict, key: str, n: int) -> float:
    return 1000.0 * meter["server_cpu_s"].get(key, 0.0) / n if n else float("nan")


def _machine(meter: dict, n: int, ncpu: int) -> float:
    return 1000.0 * meter["machine_busy_pct"] / 100.0 * ncpu * meter["wall_s"] / n if n else float("nan")


def _cpu_split(meter: dict, server: str, n: int, client_cpu_s: float | None, ncpu: int) -> str:
    parts = [_per_req(meter, server, n), _per_req(meter, "postgres", n), _per_req(meter, "redis", n)]
    parts.append(1000.0 * client_cpu_s / n if (client_cpu_s is not None and n) else float("nan"))
    parts.append(_machine(meter, n, ncpu))
    return " / ".join(fmt(x, 2) for x in parts)


def _closed_rows(r: dict, ncpu: int) -> list[str]:
    cb, co = r["closed"]["bare"], r["closed"]["ours"]
    mb, mo = r["meters"]["closed_bare"], r["meters"]["closed_ours"]
    return [
        f"| Closed loop: answers 200 / errors | {cb['ok']} / {cb['errors']} | {co['ok']} / {co['errors']} |",
        f"| Closed loop: requests/s per slice | {' '.join(fmt(x, 0) for x in cb.get('slice_rps', []))} | "
        f"{' '.join(fmt(x, 0) for x in co.get('slice_rps', []))} |",
        f"| Closed loop: ratio ours/bare per slice pair (min – max) | – | {slice_ratio_range(cb, co)} |",
        f"| Closed loop: per-request latency p50 / p99 (ms) | {fmt(cb['latency_ms']['p50'])} / "
        f"{fmt(cb['latency_ms']['p99'])} | {fmt(co['latency_ms']['p50'])} / {fmt(co['latency_ms']['p99'])} |",
        f"| Closed loop: CPU ms per request: gunicorn / PostgreSQL / Redis / load generator / whole machine | "
        f"{_cpu_split(mb, 'bare', cb['requests'], cb['client_cpu_s'], ncpu)} | "
        f"{_cpu_split(mo, 'ours', co['requests'], co['client_cpu_s'], ncpu)} |",
        f"| Closed loop: machine CPU busy / steal (% of {ncpu} CPUs) | {fmt(mb['machine_busy_pct'], 0)} / "
        f"{fmt(mb['machine_steal_pct'], 0)} | {fmt(mo['machine_busy_pct'], 0)} / {fmt(mo['machine_steal_pct'], 0)} |",
    ]


def _open_rows(r: dict, ncpu: int) -> list[str]:
    ob, oo = r["open"]["bare"], r["open"]["ours"]
    pb, po = r["meters"]["open_bare"], r["meters"]["open_ours"]
    return [
        f"| Open loop: sent / scheduled / errors / given up late | {ob['sent']} / {ob['scheduled']} / "
        f"{ob['errors']} / {ob['skipped_late']} | {oo['sent']} / {oo['scheduled']} / {oo['errors']} / "
        f"{oo['skipped_late']} |",
        f"| Open loop: achieved rate (req/s) | {fmt(ob['achieved_rps'])} | {fmt(oo['achieved_rps'])} |",
        f"| Open loop: mean latency (ms) | {fmt(ob['latency_ms']['mean'], 2)} | {fmt(oo['latency_ms']['mean'], 2)} |",
        f"| Open loop: load generator's own send lag p99 / max (ms) | {fmt(ob['send_lag_ms']['p99'], 2)} / "
        f"{fmt(ob['send_lag_ms']['max'], 2)} | {fmt(oo['send_lag_ms']['p99'], 2)} / {fmt(oo['send_lag_ms']['max'], 2)} |",
        f"| Open loop: CPU ms per request: gunicorn / PostgreSQL / Redis / load generator / whole machine | "
        f"{_cpu_split(pb, 'bare', ob['sent'], ob['client_cpu_s'], ncpu)} | "
        f"{_cpu_split(po, 'ours', oo['sent'], oo['client_cpu_s'], ncpu)} |",
        f"| Open loop: machine CPU busy / steal (% of {ncpu} CPUs) | {fmt(pb['machine_busy_pct'], 0)} / "
        f"{fmt(pb['machine_steal_pct'], 0)} | {fmt(po['machine_busy_pct'], 0)} / {fmt(po['machine_steal_pct'], 0)} |",
    ]


def _e2e_rows(r: dict) -> list[str]:
    e = r["e2e"]
    me = r["meters"]["e2e"]
    return [
        f"| End to end: sent / webhook 200 / answered by reply / pushes | – | {e['sent']} / {e['accepted']} / "
        f"{e['answered']} / {e['pushes']} |",
        f"| End to end: webhook latency p50 / p99 (ms) | – | {fmt(e['ingest_latency_ms']['p50'])} / "
        f"{fmt(e['ingest_latency_ms']['p99'])} |",
        f"| End to end: CPU ms per message: workers / gunicorn / PostgreSQL / Redis | – | "
        f"{fmt(_per_req(me, 'workers', e['sent']), 2)} / {fmt(_per_req(me, 'ours', e['sent']), 2)} / "
        f"{fmt(_per_req(me, 'postgres', e['sent']), 2)} / {fmt(_per_req(me, 'redis', e['sent']), 2)} |",
    ]


def details_table(r: dict) -> str:
    ncpu = r["facts"]["nproc"] or 1
    rows = [
        "| Detail | bare | ours |",
        "|---|---:|---:|",
    ]
    rows += _closed_rows(r, ncpu) + _open_rows(r, ncpu) + _e2e_rows(r)
    return "\n".join(rows)


def _history(runs: list[dict]) -> str:
    """The summary of earlier runs of the same app, or nothing."""
    if not runs:
        return ""
    return ("\n## Earlier runs (summary)\n\n| date (UTC) | bare req/s | ours req/s | ratio | ours p99 @200/s (ms) "
            "| e2e p95 (ms) |\n|---|---:|---:|---:|---:|---:|\n" + "\n".join(
                f"| {x['date']} | {fmt(x['bare_rps'], 0)} | {fmt(x['ours_rps'], 0)} | {x['ratio']:.2f} | "
                f"{fmt(x['ours_p99'])} | {fmt(x['e2e_p95'])} |" for x in runs) + "\n")


def _page_header(r: dict) -> str:
    """The title and the facts of the run: date, machine, software, settings."""
    f = r["facts"]
    p = r["params"]
    pk = ", ".join(f"{k} {val}" for k, val in f["packages"].items())
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
"""


def _method(r: dict) -> str:
    """How the run is set up: the machine, the two apps, serving and requests."""
    f = r["facts"]
    p = r["params"]
    return f"""## Method

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
"""


def _method_phases(r: dict) -> str:
    """How each of the three phases is measured."""
    p = r["params"]
    return f"""- **1. Throughput (closed loop):** {p['clients']} clients ({p['client_procs']} processes) each send a
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
"""


def render_markdown(r: dict) -> str:
    v = verdicts(r)
    return (_page_header(r) + f"""
## Results

{results_table(r)}

Requirements: ingest throughput ≥ 0.5 × bare: **{'PASS' if v['throughput'] else 'FAIL'}**;
ingest p99 < 50 ms at 200 req/s: **{'PASS' if v['ingest_p99'] else 'FAIL'}**;
end-to-end p95 < 500 ms at 20 msg/s: **{'PASS' if v['e2e_p95'] else 'FAIL'}**.

### Details

{details_table(r)}

""" + _method(r) + _method_phases(r) + _history(r.get("previous_runs", [])))


def print_report(r: dict) -> None:
    print()
    print(results_table(r))
    print()
    print(details_table(r))
    print()


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
