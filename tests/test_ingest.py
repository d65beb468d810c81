"""The webhook's ingest path on PostgreSQL: the request only inserts (the durable dedupe) and
notifies; the workers' feeder hears the notice, claims the event in Redis and enqueues its job.

"A resident writes, LINE posts, the row is stored before the 200; a feeder that listens hands
it to the queue once, however many feeders listen and however often LINE redelivers it."
"""
from __future__ import annotations

import threading

import pytest

from bot.extensions import EVENTS_QUEUE, get_services
from bot.worker import Feeder, ThreadWorker, queues
from tests.helpers import Resident, text_event


@pytest.fixture
def pg_app(pg_database, redis_url, fake_line, tmp_path):
    from tests.conftest import _truncate, make_app
    _truncate(pg_database)
    app = make_app(pg_database, redis_url, fake_line, tmp_path)
    yield app
    get_services(app).close()


def _listening(app, n: int = 1) -> list[Feeder]:
    feeders = [Feeder(get_services(app)) for _ in range(n)]
    for f in feeders:
        f.run_once(block_s=0)              # connects, LISTENs and catches up (nothing yet)
    return feeders


def _work(app) -> None:
    from bot import jobs
    jobs.bind(app)
    svc = get_services(app)
    ThreadWorker(queues(svc), connection=svc.redis).work(burst=True, logging_level="WARNING")


def test_a_listening_feeder_enqueues_a_new_event_once(pg_app, fake_line):
    svc = get_services(pg_app)
    a, b = _listening(pg_app, 2)
    try:
        r = Resident(pg_app, fake_line.store)
        ev = text_event(r.user, "我的案件")
        assert r.post(ev).status_code == 200
        assert svc.redis.exists(f"evt:v1:{ev['webhookEventId']}") == 0   # no Redis call in the request
        assert a.run_once(block_s=5) == 1 and b.run_once(block_s=5) == 1  # both hear it ...
        assert svc.queue(EVENTS_QUEUE).count == 1                         # ... one claims and enqueues
        assert svc.redis.exists(f"evt:v1:{ev['webhookEventId']}") == 1

        ev["deliveryContext"]["isRedelivery"] = True                      # LINE redelivers
        assert r.post(ev).status_code == 200
        assert a.run_once(block_s=0.3) == 0                               # the insert did nothing: no notice
        _work(pg_app)
        assert "沒有案件" in r.new_texts()[0]
        assert len(fake_line.store.sent()) == 1
    finally:
        a.close()
        b.close()


def test_a_feeder_that_starts_late_catches_up(pg_app, fake_line):
    r = Resident(pg_app, fake_line.store)
    r.post(text_event(r.user, "我的案件"))      # nobody listens yet
    [feeder] = _listening(pg_app)
    try:
        assert get_services(pg_app).queue(EVENTS_QUEUE).count == 1
        _work(pg_app)
        assert "沒有案件" in r.new_texts()[0]
    finally:
        feeder.close()


def test_the_webhook_stores_events_while_redis_is_down(pg_app, fake_line, monkeypatch):
    """Nothing in the request needs Redis: the event is stored and answered once Redis is back."""
    svc = get_services(pg_app)
    r = Resident(pg_app, fake_line.store)

    class Down:
        def __getattr__(self, name):
            raise AssertionError(f"the webhook called Redis ({name})")
    monkeypatch.setattr(svc.state, "redis", Down())
    monkeypatch.setattr(svc, "redis", Down())
    assert r.post(text_event(r.user, "我的案件")).status_code == 200
    monkeypatch.undo()
    r.run_worker()
    assert "沒有案件" in r.new_texts()[0]


def test_a_lost_connection_is_reopened_and_nothing_is_missed(pg_app, fake_line):
    svc = get_services(pg_app)
    [feeder] = _listening(pg_app)
    try:
        feeder.listener.conn.close()                 # the database dropped the listener
        r = Resident(pg_app, fake_line.store)
        r.post(text_event(r.user, "我的案件"))
        with pytest.raises(Exception):
            feeder.run_once(block_s=0.1)
        assert feeder.listener is None
        assert feeder.run_once(block_s=0.1) == 1     # reconnects and catches up
        assert svc.queue(EVENTS_QUEUE).count == 1
    finally:
        feeder.close()


def test_concurrent_requests_share_commits_and_keep_their_answers(pg_app, fake_line):
    """Group commit: many threads post at once, each event is stored once, each request answers
    200, and a redelivery racing its original is stored once."""
    from bot import ingest
    svc = get_services(pg_app)
    residents = [Resident(pg_app, fake_line.store) for _ in range(12)]
    events = [text_event(r.user, "我的案件") for r in residents]
    events.append(dict(events[0]))                    # the same event twice, concurrently
    results: list[list[bool]] = [None] * len(events)  # type: ignore[list-item]
    barrier = threading.Barrier(len(events))

    def post(i: int) -> None:
        barrier.wait()
        results[i] = ingest.ingestor(svc).submit([events[i]])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(events))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sum(1 for res in results if res == [True]) == 12
    assert sorted(map(tuple, results)).count((False,)) == 1
    residents[0].run_worker()
    assert len(fake_line.store.sent()) == 12


def test_a_worker_builds_what_understanding_needs_before_the_first_message(pg_app):
    """bot.worker.run (not in burst) and the embedded worker warm up first: the first resident of a
    new process does not wait for the examples index and the danger model."""
    from bot import worker
    from services import safety
    safety.danger_model.cache_clear()
    worker.warm_up(pg_app)
    assert safety.danger_model.cache_info().currsize == 1
    assert safety.alarm("龜殼花咬到我兒子的腳")
