"""The deployment package (docs/deploy/): no container runtime here, so what its files call is run
as they would run it: the entry point's roles (migrate, web under gunicorn, worker, a flask
command), the health check against gunicorn, /metrics in multiprocess mode, JSON logs; and the
compose file, Dockerfile and systemd units name only commands and files that exist."""
from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT
from tests.helpers import SECRET, TOKEN, body, sign, text_event, user_id

DEPLOY = ROOT / "docs" / "deploy"
ENTRY = ["/bin/sh", str(DEPLOY / "entrypoint.sh")]
VENV_BIN = str(Path(sys.executable).parent)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def env(tmp_path, real_redis_url, fake_line):
    """A production environment as the image has it (SQLite here instead of PostgreSQL)."""
    return {**os.environ, "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "REDIS_URL": real_redis_url,
            "LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
            "LINE_API_BASE_URL": fake_line.base_url, "SECRET_KEY": "s" * 48,
            "MEDIA_DIR": str(tmp_path / "media"), "PUBLIC_BASE_URL": "https://bot.example.gov.tw",
            "LOG_FORMAT": "json", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
            "METRICS_TOKEN": "scrape-me", "LOCAL_MODE": "0"}


def run(args, env, **kw):
    return subprocess.run(ENTRY + args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, **kw)


def test_migrate_then_web_worker_and_a_flask_command(env, tmp_path, fake_line):
    fake_line.store.webhook_endpoint, fake_line.store.webhook_active = "https://bot.example.gov.tw/callback", True
    migrated = run(["migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    doctor = run(["doctor", "--json"], env)  # the pass-through role: any flask command
    report = json.loads(doctor.stdout)
    assert report["ok"] is True, report

    port = free_port()
    web = subprocess.Popen(ENTRY + ["web"], cwd=ROOT, env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        health = [sys.executable, str(DEPLOY / "healthcheck.py"), base + "/readyz"]
        for _ in range(100):
            if subprocess.run(health, capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        else:
            pytest.fail("gunicorn never became ready")
        raw = body(text_event(user_id(), "路燈壞了"))
        resp = requests.post(base + "/callback", data=raw, timeout=5,
                             headers={"X-Line-Signature": sign(raw), "Content-Type": "application/json"})
        assert resp.status_code == 200 and resp.headers["X-Request-Id"]
        worker = run(["worker", "--burst"], env)
        assert worker.returncode == 0, worker.stderr
        metrics = requests.get(base + "/metrics", headers={"Authorization": "Bearer scrape-me"}, timeout=5)
        assert requests.get(base + "/metrics", timeout=5).status_code == 401
    finally:
        web.send_signal(signal.SIGTERM)
        _, web_log = web.communicate(timeout=30)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(metrics.text) for s in f.samples}
    # Added up over the gunicorn worker and the separate worker process (multiprocess mode).
    assert samples[("zuozhen_webhook_requests_total", (("status", "200"),))] == 1
    assert samples[("zuozhen_events_total", (("outcome", "processed"),))] == 1
    assert samples[("zuozhen_line_sends_total", (("via", "reply"),))] == 1
    assert list((tmp_path / "metrics").glob("*.db"))
    lines = [json.loads(line) for line in web_log.splitlines() if line.strip()]
    assert any(line["logger"] == "gunicorn.error" for line in lines)
    assert any(line.get("request_id") == resp.headers["X-Request-Id"] for line in lines)


def flask_commands() -> set[str]:
    from tests.conftest import make_app  # noqa: F401 - the app's CLI as the units call it
    from bot import create_app
    app = create_app({"LOCAL_MODE": True, "DATABASE_URL": "sqlite://"})
    return set(app.cli.list_commands(app.cli.make_context("flask", [], resilient_parsing=True)))


def test_every_unit_and_service_calls_a_command_that_exists():
    commands = flask_commands()
    called = []
    for unit in (DEPLOY / "systemd").iterdir():
        for line in unit.read_text().splitlines():
            for m in re.finditer(r"flask --app app ([a-z-]+)", line):
                called.append((unit.name, m.group(1)))
            if line.startswith("ExecStart=") and "gunicorn" in line:
                config = shlex.split(line)[shlex.split(line).index("--config") + 1]
                assert (ROOT / config).is_file(), unit.name
    assert {c for _, c in called} >= {"db", "worker", "backup", "doctor"}
    assert all(c in commands for _, c in called), called
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert set(compose["services"]) == {"db", "redis", "migrate", "web", "worker", "caddy"}
    roles = {compose["services"][s]["command"][0] for s in ("migrate", "web", "worker")}
    entry = (DEPLOY / "entrypoint.sh").read_text()
    assert all(f"  {role})" in entry for role in roles)
    check = compose["services"]["web"]["healthcheck"]["test"]
    assert check[2] == "/app/deploy/healthcheck.py" and check[3].endswith("/readyz")


def test_the_dockerfile_copies_what_exists_and_runs_as_a_user():
    text = (DEPLOY / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    assert re.search(r"^USER app$", text, re.M)
    for line in text.splitlines():
        if line.startswith("COPY"):
            for src in [p for p in shlex.split(line)[1:-1] if not p.startswith("--")]:
                assert (ROOT / src).exists(), src
