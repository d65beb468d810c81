"""LINE's edges (issue 14, items 9-12), through the real webhook, the real SDK and the fake LINE
server:

9. a group member on LINE for desktop (no ``userId`` in the source) who mentions the bot gets an
   answer in the group that needs no user: an FAQ answer, the 1:1 pointer, 119 for danger;
10. an event the SDK's models reject is kept as ``failed`` with its reason (never the message text),
    counted in ``/readyz`` and announced in the staff digest;
11. in a group the bot offers no 1:1 conversation (road, welfare, dengue, case look-ups) and no 1:1
    menu buttons; the disaster report stays;
12. an event that cannot be stored (a lone surrogate, a ``webhookEventId`` longer than the column) is
    refused alone: the rest of its body and the other requests of its batch are stored and answered.
"""
from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import select

from bot import ingest
from bot.extensions import get_services
from services.models import InboundEvent, Submission
from tests.helpers import (BOT_ID, OFFICE_PHONE, Resident, group_id, group_postback_event, group_text_event, sign,
                           text_event, user_id)

ONE_TO_ONE = "私訊"
MENU_DATA = ("flow=road", "flow=welfare", "flow=dengue", "action=my_cases", "dengue=subscribe")


def stored(app) -> list[InboundEvent]:
    with get_services(app).db.session() as s:
        return list(s.execute(select(InboundEvent).order_by(InboundEvent.id)).scalars())


def desktop_text(group: str, text: str) -> dict:
    """A mention of the bot from LINE for desktop: the group source carries no userId."""
    ev = group_text_event(user_id(), group, text)
    ev["source"] = {"type": "group", "groupId": group}
    return ev


def said_in(fake_line, group: str) -> list[dict]:
    return [m["message"] for m in fake_line.store.sent(to=group)]


def button_data(message: dict) -> list[str]:
    items = ((message.get("quickReply") or {}).get("items")) or []
    return [i["action"].get("data") or i["action"].get("text") or "" for i in items]


# --- 9. a member on LINE for desktop ----------------------------------------------------------------

def test_a_desktop_member_who_mentions_the_bot_gets_an_faq_answer_in_the_group(app, fake_line):
    r = Resident(app, fake_line.store)
    group = group_id()
    r.deliver(desktop_text(group, "兵役要怎麼辦"))
    [answer] = said_in(fake_line, group)
    assert "兵役" in answer["text"] and answer.get("quoteToken")     # quoted, in the group
    assert not any(d.startswith(MENU_DATA) for d in button_data(answer))
    assert {row.status for row in stored(app)} == {"processed"}


def test_a_desktop_member_gets_the_one_to_one_pointer_and_no_conversation(app, fake_line):
    r = Resident(app, fake_line.store)
    group = group_id()
    for text in ("報修道路路燈", "路燈壞了", "我的案件", "福利補助試算"):
        r.deliver(desktop_text(group, text))
        said = said_in(fake_line, group)[-1]["text"]
        assert ONE_TO_ONE in said, text
    r.deliver(desktop_text(group, "中正路55號"))                     # not taken as a step of anything
    assert "地點" not in said_in(fake_line, group)[-1]["text"]
    with get_services(app).db.session() as s:
        assert s.execute(select(Submission)).first() is None
    assert get_services(app).redis.keys("conv:*") == []


def test_a_desktop_member_who_says_someone_is_trapped_gets_119(app, fake_line):
    r = Resident(app, fake_line.store)
    group = group_id()
    r.deliver(desktop_text(group, "有人受困在土石流裡"))
    texts = "\n".join(m["text"] for m in said_in(fake_line, group))
    assert "119" in texts and ONE_TO_ONE in texts
    assert get_services(app).redis.keys("conv:*") == []


def test_a_desktop_member_without_a_mention_is_left_alone(app, fake_line):
    r = Resident(app, fake_line.store)
    group = group_id()
    ev = desktop_text(group, "今天好熱")
    del ev["message"]["mention"]
    ev["message"]["text"] = "今天好熱"
    r.deliver(ev)
    assert said_in(fake_line, group) == []


# --- 11. no 1:1 conversations and no 1:1 menu in groups ---------------------------------------------

def test_tapping_the_road_button_in_a_group_points_to_the_one_to_one_chat(app, fake_line):
    r = Resident(app, fake_line.store)
    group = group_id()
    r.deliver(group_text_event(r.user, group, "報修道路路燈"))       # the menu's words, typed or tapped
    said = said_in(fake_line, group)[-1]
    assert ONE_TO_ONE in said["text"] and "哪一種問題" not in said["text"]
    r.deliver(group_postback_event(r.user, group, "flow=road"))      # an old button of the 1:1 menu
    assert ONE_TO_ONE in said_in(fake_line, group)[-1]["text"]
    for text in ("路燈壞了 中正路", "福利補助試算", "我要通報登革熱孳生源"):
        r.deliver(group_text_event(r.user, group, text))
        said = said_in(fake_line, group)[-1]
        assert ONE_TO_ONE in said["text"], text
        assert not any(d.startswith(MENU_DATA) for d in button_data(said)), text
    assert get_services(app).redis.keys("conv:*") == []
    # In the resident's own chat the same words start the report.
    assert "哪一種問題" in r.says("報修道路路燈")[-1]


def test_group_answers_carry_no_one_to_one_menu_buttons(app, fake_line):
    r = Resident(app, fake_line.store)
    group = group_id()
    for text in ("兵役要怎麼辦", "你好", "選單", "取消", "真人", "asdfgh"):
        r.deliver(group_text_event(r.user, group, text))
        said = said_in(fake_line, group)[-1]
        assert not any(d.startswith(MENU_DATA) or d.startswith(("action=faq", "cmd=human")) for d in button_data(said)), \
            (text, button_data(said))
    assert "點下面的按鈕" not in said_in(fake_line, group)[1]["text"]  # the greeting does not point to buttons


def test_the_disaster_report_still_works_in_a_group(app, fake_line):
    r = Resident(app, fake_line.store)
    group = group_id()
    r.deliver(group_text_event(r.user, group, "回報災情"))
    said = said_in(fake_line, group)[-1]
    assert "flow=disaster&step=category" in " ".join(button_data(said))


# --- 10. events the SDK's models reject -------------------------------------------------------------

def test_an_event_the_sdk_rejects_is_kept_as_failed_counted_and_announced(app, fake_line, client):
    r = Resident(app, fake_line.store)
    broken = text_event(r.user, "我家門口的水溝阻塞了很臭")
    del broken["message"]["quoteToken"]                         # LINE always sends it; the SDK requires it
    assert r.post(broken).status_code == 200
    r.run_worker()
    [row] = stored(app)
    assert row.status == "failed" and row.payload is None
    assert "quoteToken" in row.last_error and "水溝" not in row.last_error
    [sorry] = r.new_texts()                                     # the resident is told, with the phone
    assert "沒有處理好" in sorry and OFFICE_PHONE in sorry
    details = client.get("/readyz").get_json()
    assert client.get("/readyz").status_code == 200
    assert details["details"]["events_failed_24h"] == 1
    from bot import jobs
    texts = jobs.build_digest(get_services(app))
    assert any("1" in x and "無法處理" in x for x in texts)
    assert not any("水溝" in x for x in texts)


def test_the_digest_says_nothing_about_events_when_none_failed(app, client):
    from bot import jobs
    assert not any("無法處理" in x for x in jobs.build_digest(get_services(app)))
    assert client.get("/readyz").get_json()["details"]["events_failed_24h"] == 0


# --- 12. an event that cannot be stored is refused alone --------------------------------------------

def _surrogate_event(user: str) -> dict:
    return text_event(user, "路燈\ud800壞了")


def _raw(*events: dict) -> bytes:
    # ensure_ascii: a lone surrogate is written as the escape \ud800, as a sender could
    return json.dumps({"destination": BOT_ID, "events": list(events)}).encode()


def _post(app, fake_line, raw: bytes, events: list[dict]):
    for ev in events:
        fake_line.store.issue_reply_token(ev["replyToken"], to=ev["source"]["userId"])
    return app.test_client().post("/callback", data=raw, headers={"X-Line-Signature": sign(raw)})


def test_a_lone_surrogate_or_a_long_event_id_is_refused_alone(app, fake_line):
    r = Resident(app, fake_line.store)
    bad = _surrogate_event(r.user)
    long_id = text_event(r.user, "我的案件")
    long_id["webhookEventId"] = "01" + "X" * 80
    fine = text_event(r.user, "我的案件")
    raw = _raw(bad, long_id, fine)
    assert "\\ud800" in raw.decode()
    assert _post(app, fake_line, raw, [bad, long_id, fine]).status_code == 200
    r.run_worker()
    rows = stored(app)
    good = [row for row in rows if row.webhook_event_id == fine["webhookEventId"]]
    assert len(good) == 1 and good[0].status == "processed"
    refused = [row for row in rows if row.webhook_event_id != fine["webhookEventId"]]
    assert len(refused) == 2 and {row.status for row in refused} == {"failed"}
    assert all(row.payload is None and row.last_error for row in refused)
    assert [m["message"]["text"] for m in fake_line.store.sent()] and "沒有案件" in fake_line.store.sent()[0]["message"]["text"]
    # A redelivery of the same body is acknowledged and stores nothing new.
    assert _post(app, fake_line, raw, []).status_code == 200
    assert len(stored(app)) == 3


@pytest.mark.parametrize("kind", ["surrogate", "long_id"])
def test_a_refused_event_never_fails_another_request_in_its_batch(app, fake_line, kind):
    """Group commit: hold the write so that both requests join one batch, then let it go."""
    svc = get_services(app)
    a, b = Resident(app, fake_line.store), Resident(app, fake_line.store)
    bad = _surrogate_event(a.user) if kind == "surrogate" else text_event(a.user, "你好")
    if kind == "long_id":
        bad["webhookEventId"] = "01" + "Y" * 70
    fine = text_event(b.user, "我的案件")
    ing = ingest.ingestor(svc)
    with ing.lock:
        assert not ing.writing
        ing.writing = True                      # a write is in progress: the next requests wait as one batch
    answers: dict[str, int] = {}

    def send(name: str, ev: dict) -> None:
        answers[name] = _post(app, fake_line, _raw(ev), [ev]).status_code

    threads = [threading.Thread(target=send, args=("bad", bad)), threading.Thread(target=send, args=("fine", fine))]
    for t in threads:
        t.start()
    deadline = time.time() + 5
    while time.time() < deadline:
        with ing.lock:
            if len(ing.pending) == 2:
                break
        time.sleep(0.01)
    with ing.lock:
        assert len(ing.pending) == 2            # both requests are in the same batch
    ing._lead()                                 # the held write ends; this thread writes the batch
    for t in threads:
        t.join(10)
    assert answers == {"bad": 200, "fine": 200}
    b.run_worker()
    assert "沒有案件" in b.new_texts()[0]
    rows = {row.webhook_event_id: row for row in stored(app)}
    assert rows[fine["webhookEventId"]].status == "processed"
    [refused] = [row for key, row in rows.items() if key != fine["webhookEventId"]]
    assert refused.status == "failed" and refused.payload is None


def test_a_value_the_database_refuses_fails_only_its_own_row(pg_database, redis_url, fake_line, tmp_path,
                                                             monkeypatch):
    """Beyond the checks made before the insert: a batch statement that PostgreSQL refuses for
    one row's data (here an id longer than the column, let through on purpose) is run again row
    by row, so the other requests' events of the batch are stored."""
    from services import inbound
    from tests.conftest import _truncate, make_app
    _truncate(pg_database)
    app = make_app(pg_database, redis_url, fake_line, tmp_path)
    try:
        monkeypatch.setattr(inbound, "MAX_EVENT_ID", 500)
        a, b = Resident(app, fake_line.store), Resident(app, fake_line.store)
        bad, fine = text_event(a.user, "你好"), text_event(b.user, "我的案件")
        bad["webhookEventId"] = "01" + "Z" * 90
        assert inbound.store(get_services(app).db, [bad, fine])[1] is not None
        rows = {row.webhook_event_id: row for row in stored(app)}
        assert rows[fine["webhookEventId"]].status == "received"
        [refused] = [row for key, row in rows.items() if key != fine["webhookEventId"]]
        assert refused.status == "failed" and refused.last_error == "refused: database 22001"
        b.run_worker()
        assert "沒有案件" in b.new_texts()[0]
    finally:
        get_services(app).close()
