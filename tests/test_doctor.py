"""`flask --app app doctor`: a deployment checked against the fake LINE server through the real SDK."""
from __future__ import annotations

import json

import pytest

from bot.extensions import get_services
from services.migrate import downgrade
from tests.conftest import make_app
from tests.helpers import TOKEN

PUBLIC = "https://bot.zuozhen.example"
GOOD_KEY = "k" * 48


@pytest.fixture
def healthy(db_url, redis_url, fake_line, tmp_path):
    """A deployment where everything is right: LINE knows the token and the webhook URL."""
    fake_line.store.access_tokens = {TOKEN}
    fake_line.store.webhook_endpoint, fake_line.store.webhook_active = PUBLIC + "/callback", True
    fake_line.store.quota_limit, fake_line.store.quota_used_before = 200, 12
    app = make_app(db_url, redis_url, fake_line, tmp_path, PUBLIC_BASE_URL=PUBLIC, SECRET_KEY=GOOD_KEY)
    (tmp_path / "media").mkdir(exist_ok=True)
    (tmp_path / "media").chmod(0o750)  # photos: not readable by the machine's other users
    yield app
    get_services(app).close()


def doctor(app, *args):
    result = app.test_cli_runner().invoke(args=["doctor", "--json", *args])
    return result.exit_code, json.loads(result.output)


def by_name(report):
    return {c["name"]: c for c in report["checks"]}


def test_all_is_well_exits_0(healthy, fake_line):
    code, report = doctor(healthy)
    assert code == 0, report
    assert report["ok"] is True
    checks = by_name(report)
    assert set(checks) == {"secrets", "public_url", "media_dir", "database", "redis",
                           "line_token", "line_webhook", "line_quota"}
    assert all(c["status"] == "ok" for c in checks.values()), checks
    assert "12 of this month's 200" in checks["line_quota"]["message"]
    paths = {r.path for r in fake_line.store.requests}
    assert {"/v2/bot/info", "/v2/bot/channel/webhook/endpoint", "/v2/bot/message/quota",
            "/v2/bot/message/quota/consumption"} <= paths


def test_plain_words_without_json(healthy):
    result = healthy.test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 0
    assert result.output.strip().endswith("all is well")
    assert "OK       line_webhook" in result.output


def test_a_bad_token_is_named_and_the_other_line_checks_wait(healthy, fake_line):
    fake_line.store.access_tokens = {"the-token-issued-yesterday"}
    code, report = doctor(healthy)
    assert code == 1 and report["ok"] is False
    checks = by_name(report)
    assert checks["line_token"]["status"] == "problem"
    assert "refused the channel access token" in checks["line_token"]["message"]
    assert checks["line_webhook"]["message"] == "not checked: the access token could not be confirmed (see line_token)"
    assert checks["database"]["status"] == "ok"


def test_a_wrong_webhook_url_says_which_url_to_set(healthy, fake_line):
    fake_line.store.webhook_endpoint = "https://old-host.example/callback"
    code, report = doctor(healthy)
    assert code == 1
    message = by_name(report)["line_webhook"]["message"]
    assert "https://old-host.example/callback" in message and PUBLIC + "/callback" in message


def test_media_open_to_everyone_is_a_warning_only(healthy, tmp_path):
    (tmp_path / "media").chmod(0o755)
    code, report = doctor(healthy)
    assert code == 0 and by_name(report)["media_dir"]["status"] == "warning"


def test_webhook_switched_off(healthy, fake_line):
    fake_line.store.webhook_active = False
    code, report = doctor(healthy)
    assert code == 1 and "'Use webhook' is off" in by_name(report)["line_webhook"]["message"]


def test_a_migration_not_applied(healthy, db_url):
    downgrade(db_url, "-1")
    try:
        code, report = doctor(healthy)
    finally:
        from services.migrate import upgrade
        upgrade(db_url)
    assert code == 1
    message = by_name(report)["database"]["message"]
    assert "flask --app app db upgrade" in message and "the code needs" in message


def test_quota_used_up(healthy, fake_line):
    fake_line.store.quota_used_before = 200
    code, report = doctor(healthy)
    assert code == 1 and "used up" in by_name(report)["line_quota"]["message"]


def test_configuration_problems(db_url, redis_url, fake_line, tmp_path):
    fake_line.store.webhook_endpoint, fake_line.store.webhook_active = "http://127.0.0.1:5000/callback", True
    static = tmp_path / "static"
    app = make_app(db_url, redis_url, fake_line, tmp_path, PUBLIC_BASE_URL="http://127.0.0.1:5000")
    app.static_folder = str(static)
    app.config["MEDIA_DIR"] = str(static / "media")
    try:
        code, report = doctor(app)
    finally:
        get_services(app).close()
    checks = by_name(report)
    assert code == 1
    assert checks["public_url"]["status"] == "problem" and "https" in checks["public_url"]["message"]
    assert checks["media_dir"]["status"] == "problem" and "never be public" in checks["media_dir"]["message"]
    assert "shorter than 32" in checks["secrets"]["message"]  # the tests' SECRET_KEY is short


def test_missing_settings_are_reported_not_raised(db_url, fake_line, tmp_path, monkeypatch):
    """`flask --app app doctor` with no access token and no Redis: the app still loads for doctor."""
    for name in ("LINE_CHANNEL_ACCESS_TOKEN", "REDIS_URL", "LOCAL_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.argv", ["flask", "--app", "app", "doctor"])
    app = make_app(db_url, None, fake_line, tmp_path, LINE_CHANNEL_ACCESS_TOKEN=None)
    try:
        code, report = doctor(app)
    finally:
        get_services(app).close()
    checks = by_name(report)
    assert code == 1
    assert "LINE_CHANNEL_ACCESS_TOKEN" in checks["config"]["message"]
    assert "LINE_CHANNEL_ACCESS_TOKEN" in checks["secrets"]["message"] and "REDIS_URL" in checks["secrets"]["message"]
    assert checks["redis"]["message"].startswith("REDIS_URL is not set")
    assert checks["line_token"]["message"] == "not checked: LINE_CHANNEL_ACCESS_TOKEN is not set"
    assert checks["database"]["status"] == "ok"
    assert not fake_line.store.requests  # nothing was sent to LINE without a token


def test_other_commands_still_refuse_to_start(db_url, fake_line, tmp_path, monkeypatch):
    from bot.config import ConfigError
    monkeypatch.setattr("sys.argv", ["flask", "--app", "app", "worker"])
    with pytest.raises(ConfigError, match="LINE_CHANNEL_ACCESS_TOKEN"):
        make_app(db_url, None, fake_line, tmp_path, LINE_CHANNEL_ACCESS_TOKEN=None)
