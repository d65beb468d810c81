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
    cfg = from_env({})
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
    assert set(data) == {"intent", "topic", "confidence", "reply"}
    out = run_flask("route", "訂閱防疫提醒", "--json")
    assert json.loads(out.stdout)["intent"] == "dengue_info"
    assert json.loads(run_flask("route", "路斷了 過不去", "--json").stdout)["intent"] == "disaster_report"
    out = run_flask("route", "平安", "--json")                 # answered by an action route does not run
    data = json.loads(out.stdout)
    assert data["intent"] == "disaster_report" and data["reply"] == "(services.disaster:checkin_safe)"


def test_knowledge_check_command():
    out = run_flask("knowledge", "check")
    assert out.returncode == 0 and "ok" in out.stdout
