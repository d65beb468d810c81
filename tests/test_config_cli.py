"""Start-up checks and the command line a newcomer and an operator use."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import create_app
from bot.config import ConfigError, from_env

ROOT = Path(__file__).resolve().parent.parent


def run_flask(*args: str, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def test_production_without_secrets_fails_with_a_clear_message(monkeypatch):
    for name in ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    with pytest.raises(ConfigError) as err:
        create_app()
    assert "LINE_CHANNEL_SECRET" in str(err.value) and "LINE_CHANNEL_ACCESS_TOKEN" in str(err.value)


def test_local_mode_has_embedded_defaults():
    cfg = from_env({"LOCAL_MODE": "1"})
    assert cfg["LOCAL_MODE"] and cfg["DATABASE_URL"].startswith("sqlite:///")
    assert cfg["LINE_API_BASE_URL"].endswith("/simulator/line") and cfg["REDIS_URL"] is None
    assert "instance" in cfg["MEDIA_DIR"] and "static" not in cfg["MEDIA_DIR"]


def test_db_upgrade_creates_the_schema(tmp_path):
    db = tmp_path / "cli.db"
    out = run_flask("db", "upgrade", env={"DATABASE_URL": f"sqlite:///{db}"})
    assert out.returncode == 0, out.stderr
    import sqlite3
    tables = {r[0] for r in sqlite3.connect(db).execute("select name from sqlite_master where type='table'")}
    assert {"inbound_event", "submission", "case_event", "attachment", "outbound_message"} <= tables


def test_commands_before_the_schema_exists_say_how_to_create_it(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"}
    for args in (("chief-code", "--village", "岡林里"), ("create-staff", "--username", "lin", "--role", "admin")):
        out = run_flask(*args, env=env)
        assert out.returncode == 1, out.stderr
        assert "db upgrade" in out.stderr and "Traceback" not in out.stderr
    assert run_flask("db", "upgrade", env=env).returncode == 0
    out = run_flask("chief-code", "--village", "岡林里", env=env)
    assert out.returncode == 0 and out.stdout.startswith("code: "), out.stderr


def test_route_prints_the_label_as_json():
    out = run_flask("route", "阮兜巷仔口彼支路燈袂光", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["intent"] == "road_report"
    out = run_flask("route", "查詢 R202611270001", "--json")
    data = json.loads(out.stdout)
    assert data["intent"] == "case_status" and "R-20261127-0001" in data["reply"]
    assert set(data) == {"intent", "topic", "confidence", "reply", "rule"}
    assert data["rule"] == "case_lookup"                      # the routing rule that answered (issue 13.1)
    out = run_flask("route", "訂閱防疫提醒", "--json")
    assert json.loads(out.stdout)["intent"] == "dengue_info"
    assert json.loads(run_flask("route", "路斷了 過不去", "--json").stdout)["intent"] == "disaster_report"
    out = run_flask("route", "平安", "--json")                 # answered by an action route does not run
    data = json.loads(out.stdout)
    assert data["intent"] == "disaster_report" and data["reply"] == "(services.disaster:checkin_safe)"


def test_knowledge_check_command():
    out = run_flask("knowledge", "check")
    assert out.returncode == 0 and "ok" in out.stdout


# -- local mode is asked for, never assumed (issue 14, item 4) -------------------------------------

PRODUCTION_ENV = {"LINE_CHANNEL_SECRET": "8c570fa6dd201bb328f1c1eac23a96d8",
                  "LINE_CHANNEL_ACCESS_TOKEN": "a-real-looking-channel-access-token",
                  "SECRET_KEY": "a-production-secret-key",
                  "DATABASE_URL": "postgresql+psycopg://zuozhen@db.example/zuozhen"}
CONFIG_NAMES = ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "SECRET_KEY", "DATABASE_URL",
                "REDIS_URL", "LOCAL_MODE", "LINE_API_BASE_URL", "PUBLIC_BASE_URL")


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in CONFIG_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)                          # no .env of the developer's is read
    return monkeypatch


def test_a_production_start_without_redis_url_stops_naming_it(clean_env):
    for name, value in PRODUCTION_ENV.items():
        clean_env.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        create_app()
    assert "REDIS_URL" in str(err.value) and "LOCAL_MODE" in str(err.value)
    assert from_env(PRODUCTION_ENV)["LOCAL_MODE"] is False
    # nothing set at all is no local mode either: gunicorn app:app on a bare machine stops
    for name in PRODUCTION_ENV:
        clean_env.delenv(name)
    with pytest.raises(ConfigError) as err:
        create_app()
    assert "REDIS_URL" in str(err.value)


def test_local_mode_is_asked_for_by_a_setting_or_by_serve_local(clean_env, tmp_path):
    assert from_env({"LOCAL_MODE": "1"})["LOCAL_MODE"] is True
    assert from_env({"LOCAL_MODE": "0"})["LOCAL_MODE"] is False
    for argv in (["/x/.venv/bin/flask", "--app", "app", "serve-local"],
                 ["/x/flask/__main__.py", "-A", "app", "serve-local", "--host", "0.0.0.0"],
                 ["/x/.venv/bin/flask", "--app", "app", "route", "路燈壞了", "--json"]):
        assert from_env({}, argv=argv)["LOCAL_MODE"] is True, argv
    for argv in (["/x/.venv/bin/flask", "--app", "app", "worker"], ["/x/.venv/bin/flask", "--app", "app", "run"],
                 ["/x/.venv/bin/gunicorn", "app:app"], ["/x/.venv/bin/flask"]):
        assert from_env({}, argv=argv)["LOCAL_MODE"] is False, argv
    # REDIS_URL set: serve-local does not turn it into local mode; LOCAL_MODE=0 beats the command
    assert from_env({"REDIS_URL": "redis://r/0"}, argv=["flask", "serve-local"])["LOCAL_MODE"] is False
    assert from_env({"LOCAL_MODE": "0"}, argv=["flask", "serve-local"])["LOCAL_MODE"] is False
    clean_env.setenv("LOCAL_MODE", "1")
    clean_env.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'local.db'}")
    app = create_app()
    assert app.config["LOCAL_MODE"] and "simulator.send" in app.view_functions
    assert app.config["SESSION_COOKIE_SECURE"] is False                # a local trial on plain http
    clean_env.delenv("LOCAL_MODE")
    for name, value in PRODUCTION_ENV.items():
        clean_env.setenv(name, value)
    clean_env.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.db'}")
    clean_env.setenv("REDIS_URL", "fakeredis://")
    app = create_app()
    assert not app.config["LOCAL_MODE"] and app.config["SESSION_COOKIE_SECURE"] is True
    assert "simulator.send" not in app.view_functions


def test_local_mode_with_real_line_secrets_needs_a_secret_key_and_has_no_simulator(clean_env, tmp_path):
    env = {**PRODUCTION_ENV, "LOCAL_MODE": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'l.db'}"}
    del env["SECRET_KEY"]
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        create_app()
    assert "SECRET_KEY" in str(err.value)
    clean_env.setenv("SECRET_KEY", "a-production-secret-key")
    app = create_app()
    assert app.config["LINE_API_BASE_URL"] is None                  # LINE's own, not the simulator's
    client = app.test_client()
    resp = client.post("/simulator/api/send", json={"type": "text", "text": "路燈壞了"})
    assert resp.status_code == 404                                  # never signed with the real secret


def test_a_worker_without_redis_url_stops_naming_it():
    out = run_flask("worker", "--burst", env=PRODUCTION_ENV)
    assert out.returncode != 0 and "REDIS_URL" in out.stderr
