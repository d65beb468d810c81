"""POST /callback as LINE specifies it: signature, verify call, dedupe, durable storage
before 200, no LINE call inside the request, unknown events and standby ignored."""
from __future__ import annotations

import json

from linebot.v3.webhook import SignatureValidator
from sqlalchemy import select

from bot import events
from bot.extensions import get_services
from services.models import InboundEvent
from tests.helpers import BOT_ID, OFFICE_PHONE, Resident, ZUOZHEN_LI, body, follow_event, sign, text_event, user_id

# LINE's documented test vector (line-platform.md section 0).
VECTOR_BODY = '{"destination":"U8e742f61d673b39c7fff3cecb7536ef0","events":[]}'
VECTOR_SECRET = "8c570fa6dd201bb328f1c1eac23a96d8"
VECTOR_SIGNATURE = "GhRKmvmHys4Pi8DxkF4+EayaH0OqtJtaZxgTD9fMDLs="


def stored(app):
    with get_services(app).db.session() as s:
        return list(s.execute(select(InboundEvent)).scalars())


def test_signature_test_vector():
    assert sign(VECTOR_BODY, VECTOR_SECRET) == VECTOR_SIGNATURE
    assert SignatureValidator(VECTOR_SECRET).validate(VECTOR_BODY, VECTOR_SIGNATURE)


def test_the_vector_is_accepted_by_the_endpoint(db_url, redis_url, fake_line, tmp_path):
    from tests.conftest import make_app
    app = make_app(db_url, redis_url, fake_line, tmp_path, LINE_CHANNEL_SECRET=VECTOR_SECRET)
    resp = app.test_client().post("/callback", data=VECTOR_BODY, headers={"X-Line-Signature": VECTOR_SIGNATURE})
    assert resp.status_code == 200


def test_missing_or_bad_signature_is_400(client, app):
    raw = body(text_event(user_id(), "你好"))
    assert client.post("/callback", data=raw).status_code == 400
    assert client.post("/callback", data=raw, headers={"X-Line-Signature": "AAAA"}).status_code == 400
    wrong_secret = sign(raw, "ffffffffffffffffffffffffffffffff")
    assert client.post("/callback", data=raw, headers={"x-line-signature": wrong_secret}).status_code == 400
    tampered = raw.replace("你好".encode(), "您好".encode())
    assert client.post("/callback", data=tampered, headers={"X-Line-Signature": sign(raw)}).status_code == 400
    assert stored(app) == []


def test_console_verify_call_is_200(client, app, fake_line):
    raw = json.dumps({"destination": BOT_ID, "events": []})
    resp = client.post("/callback", data=raw, headers={"X-Line-Signature": sign(raw)})
    assert resp.status_code == 200
    assert stored(app) == [] and fake_line.store.requests == []


def test_signed_but_malformed_bodies_are_400_not_500(client):
    for raw in (b"not json", b'{"destination": "x"}', b'{"events": [{"type": "message"}]}', b"\xff\xfe"):
        resp = client.post("/callback", data=raw, headers={"X-Line-Signature": sign(raw)})
        assert resp.status_code == 400, raw


def test_event_is_stored_before_200_and_nothing_is_sent_in_the_request(app, fake_line):
    r = Resident(app, fake_line.store)
    ev = text_event(r.user, "路燈壞了")
    assert r.post(ev).status_code == 200
    [row] = stored(app)
    assert row.webhook_event_id == ev["webhookEventId"] and row.status == "received"
    assert fake_line.store.requests == []                             # no LINE call from the webhook
    r.run_worker()
    [row] = stored(app)
    assert row.status == "processed" and row.payload is None
    assert len(fake_line.store.sent()) == 1


def test_several_events_in_one_body(app, fake_line):
    a, b = Resident(app, fake_line.store), Resident(app, fake_line.store)
    ev_a, ev_b = text_event(a.user, "我的案件"), follow_event(b.user)
    assert a.post(ev_a, ev_b).status_code == 200
    a.run_worker()
    assert len(stored(app)) == 2
    assert "沒有案件" in a.new_texts()[0]
    assert "左鎮區公所" in b.new_texts()[0]


def test_unknown_event_types_and_standby_are_acknowledged_and_ignored(app, fake_line):
    r = Resident(app, fake_line.store)
    unknown = {"type": "somethingNew", "mode": "active", "timestamp": 1, "webhookEventId": "01UNKNOWNEVENT0000000000000",
               "deliveryContext": {"isRedelivery": False}, "source": {"type": "user", "userId": r.user}}
    standby = text_event(r.user, "你好")
    standby["mode"] = "standby"
    standby.pop("replyToken")
    edited = text_event(r.user, "你好")
    edited["type"] = "messageEdited"
    assert r.post(unknown, standby, edited).status_code == 200
    r.run_worker()
    assert stored(app) == [] and fake_line.store.requests == []


def test_an_incomplete_event_is_refused_by_the_bot_with_a_reason_that_quotes_nothing():
    """The SDK trap (a text message without quoteToken is silently an UnknownEvent to the SDK's
    parser): the bot's own reading (bot/events.py) refuses it, names the model and the field for the
    failed row, never the text, and hands the handlers nothing to answer."""
    ev = text_event(user_id(), "SECRET-你好")
    assert events.rejection(ev) is None and events.to_incoming(ev).kind == "text"
    del ev["message"]["quoteToken"]
    reason = events.rejection(ev)
    assert reason is not None and "TextMessageContent.quoteToken" in reason and "SECRET" not in reason
    assert events.to_incoming(ev).kind == "other"


def test_an_event_the_sdk_cannot_read_is_stored_then_kept_as_failed_by_the_worker(app, fake_line):
    """The request checks only what it stores; the worker's SDK models turn away the rest, which
    is kept as failed with its reason (tests/test_line_edges.py) and the resident told so."""
    r = Resident(app, fake_line.store)
    broken = text_event(r.user, "你好")
    del broken["message"]["quoteToken"]          # LINE always sends it; the SDK requires it
    fine = text_event(r.user, "我的案件")
    assert r.post(broken, fine).status_code == 200
    assert len(stored(app)) == 2
    r.run_worker()
    assert sorted(row.status for row in stored(app)) == ["failed", "processed"]
    sorry, answer = r.new_texts()
    assert "沒有處理好" in sorry and "沒有案件" in answer


def test_signed_events_with_odd_fields_are_stored_and_kept_as_failed_not_500(app, fake_line):
    r = Resident(app, fake_line.store)
    odd_time, odd_context = text_event(r.user, "你好"), text_event(r.user, "你好")
    odd_time["timestamp"] = "yesterday"
    odd_context["deliveryContext"] = "again"
    assert r.post(odd_time, odd_context).status_code == 200
    r.run_worker()
    assert {row.status for row in stored(app)} == {"failed"} and len(stored(app)) == 2
    assert all("沒有處理好" in text for text in r.new_texts())   # told, never answered as if read


def test_signed_bodies_with_odd_shapes_are_400(client, app):
    for raw in (b"[]", b'{"events": {}}', b'{"events": ["x"]}', b'{"events": [{"type": "message", "webhookEventId": 7}]}',
                b'{"events": [{"type": "message", "webhookEventId": ""}]}', b"[" * 100000):
        resp = client.post("/callback", data=raw, headers={"X-Line-Signature": sign(raw)})
        assert resp.status_code == 400, raw[:60]
    assert stored(app) == []


def test_duplicate_events_are_stored_once_even_without_redis_claims(app, fake_line):
    r = Resident(app, fake_line.store)
    ev = text_event(r.user, "你好")
    r.post(ev)
    get_services(app).redis.delete(f"evt:v1:{ev['webhookEventId']}")   # Redis lost the claim
    ev["deliveryContext"]["isRedelivery"] = True
    assert r.post(ev).status_code == 200
    r.run_worker()
    assert len(stored(app)) == 1
    assert len(fake_line.store.sent()) == 1


def test_events_survive_a_redis_loss_after_the_200(app, fake_line):
    """Redis loses everything after the 200: the stored event is still answered, once."""
    from bot import sweeper
    r = Resident(app, fake_line.store)
    r.post(text_event(r.user, "我的案件"))
    get_services(app).redis.flushdb()
    r.run_worker()                                   # PostgreSQL: the feeder catches up from the table
    sweeper.sweep(get_services(app), older_than_s=0)  # SQLite: the inbox was lost, the sweeper finds it
    r.run_worker()
    assert len(fake_line.store.sent()) == 1
    assert "沒有案件" in r.new_texts()[0]


def test_a_lost_job_is_recovered_by_the_sweeper(app, fake_line):
    """The event was claimed and its job enqueued, then the queue was lost: the sweeper re-enqueues."""
    from bot import sweeper
    from bot.extensions import EVENTS_QUEUE
    from bot.worker import Feeder
    svc = get_services(app)
    r = Resident(app, fake_line.store)
    r.post(text_event(r.user, "我的案件"))
    feeder = Feeder(svc)
    while feeder.run_once(burst=True):
        pass
    assert svc.queue(EVENTS_QUEUE).count == 1
    svc.queue(EVENTS_QUEUE).empty()
    r.run_worker()                                   # the claim is held: no feeder enqueues it again
    assert fake_line.store.sent() == []
    counts = sweeper.sweep(svc, older_than_s=0)
    assert counts["events"] == 1
    r.run_worker()
    assert "沒有案件" in r.new_texts()[0]
    assert len(fake_line.store.sent()) == 1


def test_database_down_means_500_so_line_redelivers(app, fake_line, monkeypatch):
    from services import inbound
    r = Resident(app, fake_line.store)
    ev = text_event(r.user, "你好")

    def broken(*a, **k):
        raise inbound.StorageError("OperationalError")
    monkeypatch.setattr(inbound, "store", broken)
    assert r.post(ev).status_code == 500
    monkeypatch.undo()
    assert r.post(ev).status_code == 200                               # the claim was released
    r.run_worker()
    assert len(stored(app)) == 1


def test_oversized_body_is_refused(client):
    raw = b'{"destination":"x","events":[' + b" " * (3 * 1024 * 1024) + b"]}"
    assert client.post("/callback", data=raw, headers={"X-Line-Signature": sign(raw)}).status_code == 413


def test_health_endpoints(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"] == {"database": "ok", "redis": "ok"}


def test_logs_hold_no_message_text_or_user_id(app, fake_line, caplog):
    import logging
    caplog.set_level(logging.DEBUG)
    r = Resident(app, fake_line.store)
    r.says("我家門口的路燈壞了 0912345678")
    r.sends_location(*ZUOZHEN_LI)
    text = caplog.text
    assert r.user not in text and "0912345678" not in text and "路燈壞了" not in text
    assert str(ZUOZHEN_LI[0]) not in text
    from bot.extensions import get_services
    assert get_services(app).user_hash(r.user) not in text                # not even hashed


def test_simulator_is_not_served_outside_local_mode(client):
    assert client.get("/simulator/").status_code == 404


def test_an_event_that_keeps_failing_gets_an_apology(app, fake_line, monkeypatch):
    from bot import dispatch, sweeper
    r = Resident(app, fake_line.store)
    r.post(text_event(r.user, "我的案件"))

    def boom(*a, **k):
        raise RuntimeError("bug")
    monkeypatch.setattr(dispatch, "route", boom)
    svc = get_services(app)
    for _ in range(10):
        try:
            dispatch.process_event(svc, stored(app)[0].id)
        except RuntimeError:
            pass
    assert stored(app)[0].attempts == 10
    counts = sweeper.sweep(svc, older_than_s=0)
    assert counts["failed"] == 1
    r.run_worker()
    [push] = [q for q in fake_line.store.requests if q.path == "/v2/bot/message/push"]
    assert OFFICE_PHONE in push.json["messages"][0]["text"] and push.headers["x-line-retry-key"]
    assert stored(app)[0].status == "failed" and stored(app)[0].payload is None
