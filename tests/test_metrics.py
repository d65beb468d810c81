"""`GET /metrics`: Prometheus text, parsed with prometheus_client's own parser."""
from __future__ import annotations

import datetime as dt

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from bot.extensions import get_services
from services.models import Submission
from tests.conftest import make_app
from tests.helpers import Resident, sticker_event
from tests.staff_helpers import make_case

TOKEN = "metrics-token-for-tests"


@pytest.fixture
def app(db_url, redis_url, fake_line, tmp_path):
    app = make_app(db_url, redis_url, fake_line, tmp_path, METRICS_TOKEN=TOKEN)
    yield app
    get_services(app).close()


def scrape(app) -> dict[tuple[str, tuple], float]:
    resp = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 200
    assert resp.content_type.startswith("text/plain; version=")
    out = {}
    for family in text_string_to_metric_families(resp.get_data(as_text=True)):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_without_the_token_there_is_nothing_to_see(app):
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401


def test_without_a_token_configured_only_this_machine(db_url, redis_url, fake_line, tmp_path):
    app = make_app(db_url, redis_url, fake_line, tmp_path)
    try:
        client = app.test_client()
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 404
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    finally:
        get_services(app).close()


def test_a_conversation_moves_the_counters(app, fake_line):
    before = scrape(app)
    resident = Resident(app, fake_line.store)
    resident.says("路燈壞了")                       # understood: the road report starts
    resident.says("取消")
    resident.says("qwpoeiru zmxncbv")              # not understood
    resident.post(dict(sticker_event(resident.user), mode="standby"))  # ignored by the webhook
    after = scrape(app)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("zuozhen_webhook_requests_total", status="200") == 4
    assert delta("zuozhen_webhook_latency_seconds_count") == 4
    assert delta("zuozhen_events_total", outcome="processed") == 3
    assert delta("zuozhen_events_total", outcome="ignored") == 1
    assert delta("zuozhen_routing_total", outcome="answered") == 2
    assert delta("zuozhen_routing_total", outcome="not_understood") == 1
    assert delta("zuozhen_line_sends_total", via="reply") == 3
    assert value(after, "zuozhen_source_up", source="database") == 1


def test_a_bad_signature_is_counted_as_400(app):
    before = scrape(app)
    app.test_client().post("/callback", data=b'{"events": []}', headers={"X-Line-Signature": "bad"})
    after = scrape(app)
    key = ("zuozhen_webhook_requests_total", (("status", "400"),))
    assert after[key] - before.get(key, 0) == 1


def test_queues_cases_and_budget_are_read_at_scrape_time(app, fake_line):
    fake_line.store.quota_limit, fake_line.store.quota_used_before = 500, 42
    old = make_case(app)
    make_case(app)
    make_case(app, kind="dengue", category="container")
    with get_services(app).db.session() as s:
        s.execute(update(Submission).where(Submission.ref == old).values(due_date=dt.date(2020, 1, 1)))
    get_services(app).queue("media").enqueue("bot.jobs.fetch_media", 999999)
    samples = scrape(app)
    assert value(samples, "zuozhen_queue_jobs", queue="media", state="queued") == 1
    assert value(samples, "zuozhen_queue_jobs", queue="events", state="queued") == 0
    road = {labels: v for (name, labels), v in samples.items() if name == "zuozhen_cases_open"}
    assert sum(road.values()) == 3
    overdue = {labels: v for (name, labels), v in samples.items() if name == "zuozhen_cases_overdue"}
    assert list(overdue.values()) == [1]
    assert value(samples, "zuozhen_push_month_limit") == 500
    assert value(samples, "zuozhen_push_month_used") == 42
    assert value(samples, "zuozhen_source_up", source="line") == 1
    assert value(samples, "zuozhen_source_up", source="redis") == 1
