"""The fake LINE API, driven through the real SDK (linebot.v3) as the bot would drive it."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import uuid

import pydantic
import pytest
from flask import Flask
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    MessagingApiBlob,
    PostbackAction,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
    TextMessage,
)
from werkzeug.serving import make_server

from bot.dev.fakeline import FakeLineServer, FakeLineStore, create_fake_line_blueprint

USER = "U1a2b3c4d5e6f708192a3b4c5d6e7f809"
TIMEOUT = (2, 5)


@pytest.fixture(scope="module")
def server():
    with FakeLineServer() as srv:
        yield srv


@pytest.fixture
def store(server):
    server.store.reset()
    return server.store


def _client(host: str, token: str = "test-token") -> ApiClient:
    return ApiClient(Configuration(host=host, access_token=token))


@pytest.fixture
def api_client(server, store):
    with _client(server.base_url) as client:
        yield client


@pytest.fixture
def line(api_client):
    return MessagingApi(api_client)


@pytest.fixture
def blob(api_client):
    return MessagingApiBlob(api_client)


def _push(line: MessagingApi, text: str, retry_key: str | None = None):
    request = PushMessageRequest(to=USER, messages=[TextMessage(text=text)])
    return line.push_message_with_http_info(request, x_line_retry_key=retry_key,
                                            _request_timeout=TIMEOUT)


def _raw_post(url: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json", "Authorization": "Bearer test-token",
        **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read() or b"{}")


def test_reply_is_delivered_and_recorded(line, store):
    response = line.reply_message(
        ReplyMessageRequest(reply_token="tok-1", messages=[TextMessage(text="已收到")]),
        _request_timeout=TIMEOUT)

    assert len(response.sent_messages) == 1
    assert response.sent_messages[0].id
    [sent] = store.sent()
    assert sent["via"] == "reply" and sent["reply_token"] == "tok-1"
    assert sent["message"] == {"type": "text", "text": "已收到"}
    assert store.requests[-1].path == "/v2/bot/message/reply"
    assert store.requests[-1].headers["authorization"] == "Bearer test-token"
    assert store.requests[-1].status == 200


def test_reply_token_is_single_use(line, store):
    request = ReplyMessageRequest(reply_token="tok-2", messages=[TextMessage(text="a")])
    line.reply_message(request, _request_timeout=TIMEOUT)

    with pytest.raises(ApiException) as exc:
        line.reply_message(request, _request_timeout=TIMEOUT)

    assert exc.value.status == 400
    assert json.loads(exc.value.body) == {"message": "Invalid reply token"}
    assert len(store.sent()) == 1


def test_issued_token_expires_and_is_attributed_to_its_chat(line, store):
    store.issue_reply_token("fresh", to=USER)
    store.issue_reply_token("old", to=USER)
    store.expire_reply_token("old")

    line.reply_message(ReplyMessageRequest(reply_token="fresh", messages=[TextMessage(text="a")]),
                       _request_timeout=TIMEOUT)
    with pytest.raises(ApiException) as exc:
        line.reply_message(ReplyMessageRequest(reply_token="old", messages=[TextMessage(text="b")]),
                           _request_timeout=TIMEOUT)

    assert exc.value.status == 400
    assert [m["message"]["text"] for m in store.sent(to=USER)] == ["a"]


def test_reply_rejects_retry_key(server, store):
    status, body = _raw_post(
        server.base_url + "/v2/bot/message/reply",
        {"replyToken": "tok-3", "messages": [{"type": "text", "text": "a"}]},
        {"X-Line-Retry-Key": str(uuid.uuid4())})

    assert status == 400 and body["message"]
    assert store.sent() == []


def test_push_with_retry_key_then_same_key_is_409(line, store):
    key = str(uuid.uuid4())
    first = _push(line, "案件已受理", key)
    assert first.status_code == 200
    assert first.headers["x-line-request-id"]

    with pytest.raises(ApiException) as exc:
        _push(line, "案件已受理", key)

    assert exc.value.status == 409
    assert exc.value.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    body = json.loads(exc.value.body)
    assert body["message"] == "The retry key is already accepted"
    assert body["sentMessages"][0]["id"] == first.data.sent_messages[0].id
    assert len(store.sent(to=USER)) == 1


def test_push_rejects_a_retry_key_that_is_not_a_uuid(server, store):
    status, _ = _raw_post(server.base_url + "/v2/bot/message/push",
                          {"to": USER, "messages": [{"type": "text", "text": "a"}]},
                          {"X-Line-Retry-Key": "not-a-uuid"})
    assert status == 400


def test_push_without_authorization_is_401(server, store):
    req = urllib.request.Request(
        server.base_url + "/v2/bot/message/push", method="POST",
        data=json.dumps({"to": USER, "messages": [{"type": "text", "text": "a"}]}).encode(),
        headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=5)
    with exc.value as err:
        assert err.code == 401
        assert json.loads(err.read())["message"]
    assert store.sent() == []


def test_injected_500_does_not_consume_the_retry_key(line, store):
    store.fail_next("/v2/bot/message/push", 500)
    key = str(uuid.uuid4())

    with pytest.raises(ApiException) as exc:
        _push(line, "進度更新", key)
    assert exc.value.status == 500
    assert store.sent() == []

    retried = _push(line, "進度更新", key)
    assert retried.status_code == 200
    assert [m["message"]["text"] for m in store.sent(to=USER)] == ["進度更新"]


def test_loading_animation(line, store):
    result = line.show_loading_animation(
        ShowLoadingAnimationRequest(chat_id=USER, loading_seconds=20), _request_timeout=TIMEOUT)

    assert result == {}
    assert store.requests[-1].status == 202
    assert store.requests[-1].json == {"chatId": USER, "loadingSeconds": 20}


@pytest.mark.parametrize("body", [
    {"chatId": "C9f8e7d6c5b4a39281706f5e4d3c2b1a0", "loadingSeconds": 20},
    {"chatId": USER, "loadingSeconds": 7},
    {"chatId": USER, "loadingSeconds": 65},
])
def test_loading_animation_rejects_groups_and_odd_durations(server, store, body):
    status, _ = _raw_post(server.base_url + "/v2/bot/chat/loading/start", body)
    assert status == 400


def test_content_round_trip(blob, store):
    store.put_content("578112233445566800", b"\xff\xd8jpeg-bytes", "image/jpeg")

    assert blob.get_message_content("578112233445566800", _request_timeout=TIMEOUT) \
        == b"\xff\xd8jpeg-bytes"


def test_content_still_preparing_returns_none(blob, store):
    store.set_content_status("578112233445566801", 202)

    assert blob.get_message_content("578112233445566801", _request_timeout=TIMEOUT) is None


@pytest.mark.parametrize("status", [404, 410])
def test_content_gone_or_unknown_raises(blob, store, status):
    store.put_content("578112233445566802", b"x")
    store.set_content_status("578112233445566802", status)

    with pytest.raises(ApiException) as exc:
        blob.get_message_content("578112233445566802", _request_timeout=TIMEOUT)
    assert exc.value.status == status


def test_unknown_content_is_404(blob, store):
    with pytest.raises(ApiException) as exc:
        blob.get_message_content("999", _request_timeout=TIMEOUT)
    assert exc.value.status == 404


def test_profile(line, store):
    profile = line.get_profile(USER, _request_timeout=TIMEOUT)
    assert profile.user_id == USER
    assert profile.display_name == "Test Resident"
    assert profile.language == "zh-TW"


def test_unknown_path_is_404_json(server, store):
    status, body = _raw_post(server.base_url + "/v2/bot/nothing/here", {})
    assert status == 404 and body["message"]


def _quick_reply_message(n_items: int, label: str = "選項") -> dict:
    items = [{"type": "action", "action": {"type": "postback", "label": label, "data": f"n={i}"}}
             for i in range(n_items)]
    return {"type": "text", "text": "請選擇", "quickReply": {"items": items}}


def test_quick_reply_with_14_items_is_rejected(server, line, store):
    items = [QuickReplyItem(action=PostbackAction(label="選項", data=f"n={i}")) for i in range(14)]
    with pytest.raises(pydantic.v1.ValidationError):  # the SDK refuses it client-side
        TextMessage(text="請選擇", quick_reply=QuickReply(items=items))

    status, body = _raw_post(server.base_url + "/v2/bot/message/push",
                             {"to": USER, "messages": [_quick_reply_message(14)]})

    assert status == 400
    assert body["details"][0]["property"] == "messages[0].quickReply.items"
    assert store.sent() == []


@pytest.mark.parametrize("message, bad_property", [
    (_quick_reply_message(2, label="這是一個超過二十個字的按鈕標籤文字內容喔喔"),
     "messages[0].quickReply.items[0].action.label"),
    ({"type": "text", "text": "字" * 5001}, "messages[0].text"),
    ({"type": "text", "text": "😀" * 2501}, "messages[0].text"),  # 5,002 UTF-16 code units
    ({"type": "flex", "altText": "a" * 1501, "contents": {"type": "bubble"}},
     "messages[0].altText"),
    ({"type": "text"}, "messages[0].text"),
])
def test_message_limits(server, store, message, bad_property):
    status, body = _raw_post(server.base_url + "/v2/bot/message/reply",
                             {"replyToken": "tok-limits", "messages": [message]})

    assert status == 400
    assert bad_property in [d["property"] for d in body["details"]]


def test_limits_are_inclusive(server, store):
    status, _ = _raw_post(server.base_url + "/v2/bot/message/push",
                          {"to": USER, "messages": [
                              {"type": "text", "text": "字" * 5000},
                              _quick_reply_message(13, label="二" * 20)]})
    assert status == 200


def test_six_messages_are_rejected(server, store):
    status, body = _raw_post(server.base_url + "/v2/bot/message/push",
                             {"to": USER, "messages": [{"type": "text", "text": "a"}] * 6})
    assert status == 400 and body["details"][0]["property"] == "messages"


def test_invalid_message_does_not_burn_the_reply_token(server, line, store):
    status, _ = _raw_post(server.base_url + "/v2/bot/message/reply",
                          {"replyToken": "tok-keep", "messages": [{"type": "text"}]})
    assert status == 400

    line.reply_message(
        ReplyMessageRequest(reply_token="tok-keep", messages=[TextMessage(text="ok")]),
        _request_timeout=TIMEOUT)
    assert len(store.sent()) == 1


def test_fail_next_counts_down(line, store):
    store.fail_next("/v2/bot/message/push", 429,
                    {"message": "The API rate limit has been exceeded."}, times=2)
    for _ in range(2):
        with pytest.raises(ApiException) as exc:
            _push(line, "a")
        assert exc.value.status == 429
    assert _push(line, "a").status_code == 200


def test_concurrent_pushes_with_one_retry_key_deliver_once(server, store):
    key = str(uuid.uuid4())
    statuses: list[int] = []

    def attempt():
        status, _ = _raw_post(server.base_url + "/v2/bot/message/push",
                              {"to": USER, "messages": [{"type": "text", "text": "a"}]},
                              {"X-Line-Retry-Key": key})
        statuses.append(status)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(statuses) == [200] + [409] * 7
    assert len(store.sent()) == 1


def test_blueprint_under_a_path_prefix():
    store = FakeLineStore()
    app = Flask(__name__)
    app.register_blueprint(create_fake_line_blueprint(store, url_prefix="/simulator/line"))

    @app.get("/other")
    def other():
        return "other"

    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        store.put_content("42", b"png", "image/png")
        with _client(f"http://127.0.0.1:{srv.server_port}/simulator/line") as client:
            line, blob = MessagingApi(client), MessagingApiBlob(client)
            line.reply_message(
                ReplyMessageRequest(reply_token="t", messages=[TextMessage(text="hi")]),
                _request_timeout=TIMEOUT)
            _push(line, "hi again", str(uuid.uuid4()))
            assert blob.get_message_content("42", _request_timeout=TIMEOUT) == b"png"

        assert [r.path for r in store.requests] == [
            "/v2/bot/message/reply", "/v2/bot/message/push", "/v2/bot/message/42/content"]
        assert [m["via"] for m in store.sent()] == ["reply", "push"]
        with app.test_client() as c:
            assert c.get("/other").data == b"other"
            assert c.get("/simulator/line/v2/bot/unknown",
                         headers={"Authorization": "Bearer t"}).status_code == 404
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)
