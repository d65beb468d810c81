"""Logs as JSON lines, and a request id that follows an event from the webhook to the worker."""
from __future__ import annotations

import io
import json
import logging

import pytest
from rq.job import Job

from bot import logs, queueing
from bot.extensions import get_services
from tests.conftest import make_app
from tests.helpers import Resident


@pytest.fixture
def json_lines():
    """What the root logger writes, through the production formatter and filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.RequestIdFilter())
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_one_json_object_per_line(json_lines):
    with logs.bound("0123456789abcdef"):
        logging.getLogger("bot.test").warning("two\nlines %s", 42)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("bot.test").exception("failed")
    first, second = json_lines()
    assert first["msg"] == "two\nlines 42" and first["level"] == "WARNING" and first["logger"] == "bot.test"
    assert first["request_id"] == "0123456789abcdef" and first["ts"].endswith("Z")
    assert "request_id" not in second and "ValueError: boom" in second["exc"]


def test_the_request_id_follows_an_event_to_the_worker(db_url, redis_url, fake_line, tmp_path, json_lines):
    app = make_app(db_url, redis_url, fake_line, tmp_path, LOG_FORMAT="json")
    try:
        resident = Resident(app, fake_line.store)
        said = "我家門口的路燈壞了"
        from tests.helpers import text_event
        resp = resident.post(text_event(resident.user, said))
        request_id = resp.headers["X-Request-Id"]
        resident.run_worker()
        assert resident.new_texts()
    finally:
        get_services(app).close()
    lines = [line for line in json_lines() if line.get("request_id") == request_id]
    loggers = {line["logger"] for line in lines}
    assert {"bot.webhook", "bot.dispatch"} <= loggers, lines
    everything = json.dumps(json_lines(), ensure_ascii=False)
    assert said not in everything and resident.user not in everything  # the no-personal-data rule holds


def test_a_proxy_request_id_is_kept_only_behind_a_trusted_proxy(db_url, redis_url, fake_line, tmp_path):
    for proxies, kept in ((0, False), (1, True)):
        app = make_app(db_url, redis_url, fake_line, tmp_path, TRUSTED_PROXIES=proxies)
        try:
            resp = app.test_client().get("/healthz", headers={"X-Request-Id": "caddy-0123456789"})
        finally:
            get_services(app).close()
        assert (resp.headers["X-Request-Id"] == "caddy-0123456789") is kept


def test_jobs_enqueued_for_an_event_carry_its_request_id(app):
    svc = get_services(app)
    with logs.bound("feedfacefeedface"):
        queueing.enqueue_media(svc, 4242)
    job = Job.fetch("media-4242", connection=svc.redis)
    assert job.meta[logs.META_KEY] == "feedfacefeedface"


def test_log_format_is_checked(db_url, redis_url, fake_line, tmp_path):
    from bot.config import ConfigError
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        make_app(db_url, redis_url, fake_line, tmp_path, LOG_FORMAT="xml")
