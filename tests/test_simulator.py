"""The local simulator: every resident action becomes a complete, signed LINE webhook body."""

from __future__ import annotations

import base64
import json

import pytest
from flask import Flask, request
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.models import UnknownEvent
from linebot.v3.webhooks import (
    AudioMessageContent,
    FileMessageContent,
    FollowEvent,
    ImageMessageContent,
    LocationMessageContent,
    MessageEvent,
    PostbackEvent,
    StickerMessageContent,
    TextMessageContent,
    UnfollowEvent,
    VideoMessageContent,
)

from bot import simulator
from bot.config import LOCAL_SECRET

SECRET = "8c570fa6dd201bb328f1c1eac23a96d8"
RESIDENT = "U1a2b3c4d5e6f708192a3b4c5d6e7f809"
AUTH = {"Authorization": "Bearer local"}


class Callback:
    """A stand-in for the bot's /callback: verifies, parses and keeps what LINE would send."""

    def __init__(self, secret: str = LOCAL_SECRET) -> None:
        self.parser = WebhookParser(secret)
        self.bodies: list[bytes] = []
        self.events: list = []

    def view(self):
        body = request.get_data()
        self.bodies.append(body)
        try:
            self.events.extend(self.parser.parse(body.decode("utf-8"),
                                                 request.headers["X-Line-Signature"]))
        except InvalidSignatureError:
            return "bad signature", 400
        return "OK"


def _make_app(local_mode: bool = True, secret: str = LOCAL_SECRET) -> tuple[Flask, Callback]:
    app = Flask(__name__)
    app.config.update(TESTING=True, LOCAL_MODE=local_mode, LINE_CHANNEL_SECRET=secret)
    callback = Callback(secret)
    app.add_url_rule("/callback", "callback", callback.view, methods=["POST"])
    simulator.init_app(app)
    return app, callback


@pytest.fixture
def app_and_callback():
    return _make_app()


@pytest.fixture
def client(app_and_callback):
    return app_and_callback[0].test_client()


@pytest.fixture
def callback(app_and_callback):
    return app_and_callback[1]


@pytest.fixture
def store(app_and_callback):
    return app_and_callback[0].extensions["fake_line_store"]


def send(client, **spec):
    response = client.post("/simulator/api/send", json=spec)
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert result["status"] == 200
    return result


PNG = simulator.PLACEHOLDER_PNG


@pytest.mark.parametrize("spec, event_class, content_class", [
    ({"kind": "text", "text": "中正路有一個大坑洞"}, MessageEvent, TextMessageContent),
    ({"kind": "location", "lat": 23.0571, "lng": 120.4073, "title": "位置資訊",
      "address": "713臺南市左鎮區"}, MessageEvent, LocationMessageContent),
    ({"kind": "image", "image_b64": base64.b64encode(PNG).decode(), "content_type": "image/png"},
     MessageEvent, ImageMessageContent),
    ({"kind": "sticker"}, MessageEvent, StickerMessageContent),
    ({"kind": "audio"}, MessageEvent, AudioMessageContent),
    ({"kind": "video"}, MessageEvent, VideoMessageContent),
    ({"kind": "file"}, MessageEvent, FileMessageContent),
    ({"kind": "postback", "data": "flow=road&step=when", "params": {"date": "2026-11-27"}},
     PostbackEvent, None),
    ({"kind": "follow"}, FollowEvent, None),
    ({"kind": "unfollow"}, UnfollowEvent, None),
])
def test_each_kind_is_a_signed_complete_event(client, callback, spec, event_class, content_class):
    result = send(client, user=RESIDENT, **spec)

    [event] = callback.events
    assert not isinstance(event, UnknownEvent)
    assert type(event) is event_class
    if content_class is not None:
        assert type(event.message) is content_class
    assert event.webhook_event_id == result["event_id"]
    assert len(event.webhook_event_id) == 26 and event.webhook_event_id.isupper()
    assert event.mode == "active"
    assert event.delivery_context.is_redelivery is False
    assert event.source.user_id == RESIDENT
    if event_class is UnfollowEvent:
        assert not getattr(event, "reply_token", None)
    else:
        assert len(event.reply_token) == 32
        int(event.reply_token, 16)


def test_text_event_fields(client, callback):
    send(client, user=RESIDENT, kind="text", text="你好\n請問")

    [event] = callback.events
    assert event.message.text == "你好\n請問"
    assert event.message.quote_token and event.message.mark_as_read_token
    assert event.message.id.isdigit()
    body = json.loads(callback.bodies[0])
    assert body["destination"].startswith("U")
    assert abs(body["events"][0]["timestamp"] - event.timestamp) == 0


def test_body_is_sent_as_utf8_and_the_signature_covers_the_exact_bytes(client, callback):
    send(client, user=RESIDENT, kind="text", text="草山里")

    body = callback.bodies[0]
    assert "草山里".encode() in body
    parser = WebhookParser(SECRET)
    with pytest.raises(InvalidSignatureError):
        parser.parse(body.decode().replace("草山里", "二寮里"), simulator.sign(body, SECRET))


def test_signature_matches_lines_test_vector():
    body = b'{"destination":"U8e742f61d673b39c7fff3cecb7536ef0","events":[]}'
    assert simulator.sign(body, SECRET) == "GhRKmvmHys4Pi8DxkF4+EayaH0OqtJtaZxgTD9fMDLs="


def test_postback_params_and_location_values(client, callback):
    send(client, user=RESIDENT, kind="postback", data="flow=road&step=when",
         params={"datetime": "2026-11-27T07:30"})
    send(client, user=RESIDENT, kind="location", lat=22.9917, lng=120.185)

    postback, location = callback.events
    assert postback.postback.data == "flow=road&step=when"
    assert postback.postback.params == {"datetime": "2026-11-27T07:30"}
    assert (location.message.latitude, location.message.longitude) == (22.9917, 120.185)


def test_default_user_and_group_source(client, callback):
    send(client, kind="text", text="hi")
    send(client, user=RESIDENT, group="C9f8e7d6c5b4a39281706f5e4d3c2b1a0", kind="text", text="災情")

    default, group = callback.events
    assert default.source.user_id == simulator.DEFAULT_USER_ID
    assert group.source.type == "group"
    assert group.source.group_id == "C9f8e7d6c5b4a39281706f5e4d3c2b1a0"
    assert group.source.user_id == RESIDENT


def test_image_bytes_are_served_by_the_fake_line_content_endpoint(client, callback):
    photo = b"\xff\xd8\xff\xe0fake-jpeg-bytes"
    result = send(client, user=RESIDENT, kind="image",
                  image_b64="data:image/jpeg;base64," + base64.b64encode(photo).decode())

    [event] = callback.events
    assert event.message.content_provider.type == "line"
    assert event.message.id == result["message_id"]
    response = client.get(f"/simulator/line/v2/bot/message/{event.message.id}/content",
                          headers=AUTH)
    assert response.status_code == 200
    assert response.data == photo
    assert response.content_type == "image/jpeg"


@pytest.mark.parametrize("spec", [
    {"kind": "dance"},
    {"kind": "text"},
    {"kind": "text", "text": "hi", "user": "U123"},
    {"kind": "location", "lat": "north", "lng": 120.4},
    {"kind": "location", "lat": 123, "lng": 120.4},
    {"kind": "postback"},
    {"kind": "postback", "data": "a", "params": {"date": 5}},
    {"kind": "image", "image_b64": "!!not base64!!"},
    {"kind": "follow", "group": "C9f8e7d6c5b4a39281706f5e4d3c2b1a0"},
])
def test_bad_requests_are_rejected_without_calling_the_webhook(client, callback, spec):
    response = client.post("/simulator/api/send", json=spec)

    assert response.status_code == 400
    assert response.get_json()["error"]
    assert callback.bodies == []


def test_webhook_status_is_reported():
    app, _ = _make_app()
    app.view_functions["callback"] = lambda: ("boom", 500)

    response = app.test_client().post("/simulator/api/send", json={"kind": "text", "text": "hi"})

    assert response.status_code == 200
    assert response.get_json()["status"] == 500


def _reply(client, token: str, text: str):
    return client.post("/simulator/line/v2/bot/message/reply", headers=AUTH, json={
        "replyToken": token, "messages": [{"type": "text", "text": text}]})


def test_messages_lists_replies_and_pushes_for_that_user_only(client, callback, store):
    other = "U" + "f" * 32
    send(client, user=RESIDENT, kind="text", text="我要報修")
    send(client, user=other, kind="text", text="hello")
    mine, theirs = callback.events

    assert _reply(client, mine.reply_token, "請傳送位置").status_code == 200
    assert _reply(client, theirs.reply_token, "不是給你的").status_code == 200
    assert client.post("/simulator/line/v2/bot/message/push", headers=AUTH, json={
        "to": RESIDENT, "messages": [{"type": "text", "text": "案件已受理"}]}).status_code == 200

    listed = client.get(f"/simulator/api/messages?user={RESIDENT}").get_json()["messages"]
    assert [(m["via"], m["message"]["text"]) for m in listed] == [
        ("reply", "請傳送位置"), ("push", "案件已受理")]
    later = client.get(f"/simulator/api/messages?user={RESIDENT}&after={listed[0]['seq']}")
    assert [m["message"]["text"] for m in later.get_json()["messages"]] == ["案件已受理"]


def test_reply_tokens_issued_by_the_simulator_are_single_use(client, callback):
    send(client, user=RESIDENT, kind="text", text="hi")
    token = callback.events[0].reply_token

    assert _reply(client, token, "a").status_code == 200
    second = _reply(client, token, "b")
    assert second.status_code == 400
    assert second.get_json() == {"message": "Invalid reply token"}


def test_loading_indicator_shows_until_the_bot_answers(client, callback):
    send(client, user=RESIDENT, kind="text", text="hi")
    assert client.get(f"/simulator/api/messages?user={RESIDENT}").get_json()["loading"] is False

    client.post("/simulator/line/v2/bot/chat/loading/start", headers=AUTH,
                json={"chatId": RESIDENT, "loadingSeconds": 20})
    assert client.get(f"/simulator/api/messages?user={RESIDENT}").get_json()["loading"] is True

    _reply(client, callback.events[0].reply_token, "done")
    assert client.get(f"/simulator/api/messages?user={RESIDENT}").get_json()["loading"] is False


def test_villages_for_the_location_picker(client):
    villages = client.get("/simulator/api/villages").get_json()["villages"]

    assert len(villages) == 10
    assert len({v["name"] for v in villages}) == 10
    for v in villages:
        assert 22.9 < v["lat"] < 23.1 and 120.3 < v["lng"] < 120.5


def test_villages_fall_back_to_the_shared_csv(tmp_path, monkeypatch):
    csv_path = tmp_path / "centroids.csv"
    csv_path.write_text("name,lat,lng\n草山里,22.992238,120.437402\n", encoding="utf-8")

    def missing(name):
        raise FileNotFoundError(name)

    monkeypatch.setattr(simulator.knowledge, "load", missing)
    assert simulator.load_villages(csv_path) == [
        {"name": "草山里", "lat": 22.992238, "lng": 120.437402}]
    assert simulator.load_villages(tmp_path / "absent.csv") == []


def test_page_is_served_with_its_assets(client):
    page = client.get("/simulator/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="chat"' in html
    assert "/simulator/static/simulator.js" in html
    from services.richmenu import layout
    for area in layout()["areas"]:  # the mock rich menu is the real one
        assert area["label"] in html and area["data"] in html
    assert client.get("/simulator").status_code in (200, 308)
    for asset in ("simulator.js", "simulator.css"):
        with client.get(f"/simulator/static/{asset}") as response:
            assert response.status_code == 200


def test_simulator_is_absent_outside_local_mode():
    app, _ = _make_app(local_mode=False)
    client = app.test_client()

    assert "fake_line_store" not in app.extensions
    assert client.get("/simulator").status_code == 404
    assert client.get("/simulator/").status_code == 404
    sent = client.post("/simulator/api/send", json={"kind": "text", "text": "hi"})
    assert sent.status_code == 404
    assert client.post("/simulator/line/v2/bot/message/push", headers=AUTH).status_code == 404


def test_the_simulator_never_signs_with_a_real_channel_secret():
    """Local mode with a real channel's secret (a developer testing with LINE itself): no simulator,
    so nobody can have events signed with that secret."""
    app, callback = _make_app(local_mode=True, secret=SECRET)
    client = app.test_client()
    assert "fake_line_store" not in app.extensions
    assert client.post("/simulator/api/send", json={"kind": "text", "text": "hi"}).status_code == 404
    assert client.get("/simulator/").status_code == 404
    # and should the secret change after start, the page refuses rather than sign with it
    app, callback = _make_app()
    app.config["LINE_CHANNEL_SECRET"] = SECRET
    resp = app.test_client().post("/simulator/api/send", json={"kind": "text", "text": "hi"})
    assert resp.status_code == 403 and callback.bodies == []
