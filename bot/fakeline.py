"""An in-memory stand-in for the LINE Messaging API.

The real SDK is pointed at it with ``Configuration(host=BASE_URL, access_token=...)``; every
call, content downloads included, then goes to ``BASE_URL + "/v2/bot/..."``. It answers with
LINE's status codes and error bodies (``{"message": ..., "details": [...]}``) and records every
request and every delivered message, so tests, benchmarks and the local simulator can see what
the bot sent.

Behaviour follows LINE's documentation (see ../shared/reference/line-platform.md, section 3):
reply tokens are single-use and expire, ``X-Line-Retry-Key`` is accepted on push only and a key
seen before gives 409, the loading animation takes 5..60 s in steps of 5, content can still be
"preparing" (202), unknown (404) or unsent (410). Content is any message's: a photo, or a voice
message's m4a (``put_content(message_id, data, "audio/m4a")``), served with its own type.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, request
from werkzeug.serving import make_server

MAX_MESSAGES = 5
MAX_TEXT_UTF16 = 5000
MAX_ALT_TEXT = 1500
MAX_QUICK_REPLY_ITEMS = 13
MAX_ACTION_LABEL = 20
MAX_POSTBACK_DATA = 300
MAX_ACTION_TEXT = 300
MAX_URI = 1000
MAX_BODY_BYTES = 2 * 1024 * 1024

MESSAGE_TYPES = {
    "text", "textV2", "sticker", "image", "video", "audio", "location",
    "imagemap", "template", "flex",
}
QUICK_REPLY_ACTIONS = {
    "postback", "message", "uri", "datetimepicker", "camera", "cameraRoll", "location",
    "clipboard",
}
# Fields each message type must carry (LINE answers 400 without them).
REQUIRED_MESSAGE_FIELDS = {
    "text": ("text",),
    "textV2": ("text",),
    "sticker": ("packageId", "stickerId"),
    "image": ("originalContentUrl", "previewImageUrl"),
    "video": ("originalContentUrl", "previewImageUrl"),
    "audio": ("originalContentUrl", "duration"),
    "location": ("title", "address", "latitude", "longitude"),
    "imagemap": ("baseUrl", "altText", "baseSize", "actions"),
    "template": ("altText", "template"),
    "flex": ("altText", "contents"),
}

# Canned profile display name.
DEFAULT_DISPLAY_NAME = "Test Resident"
# The bot's own account (GET /v2/bot/info).
BOT_USER_ID = "U" + "f" * 32
BOT_NAME = "左鎮區公所 (fake)"

AUTH_FAILED = ("Authentication failed. Confirm that the access token in the authorization header"
               " is valid.")


@dataclass
class RecordedRequest:
    """One call the fake received. ``path`` is relative to the mount point."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    at: float
    status: int | None = None  # filled in once the fake has answered


@dataclass
class _ReplyToken:
    to: str | None
    expires_at: float | None  # None: never issued, valid until used
    used: bool = False


@dataclass
class _Content:
    data: bytes = b""
    content_type: str = "application/octet-stream"
    status: int = 200


@dataclass
class _Failure:
    status: int
    body: dict | None
    times: int


@dataclass
class _Accepted:
    request_id: str
    sent_messages: list[dict]


class LineApiError(Exception):
    """An error answer: HTTP status, LINE error body and extra headers."""

    def __init__(self, status: int, message: str, details: list[dict] | None = None,
                 headers: dict[str, str] | None = None, extra: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message}
        if details:
            self.body["details"] = details
        if extra:
            self.body.update(extra)
        self.headers = headers or {}


class FakeLineStore:
    """Everything the fake LINE platform remembers. Thread-safe; one per app or test."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.display_name = DEFAULT_DISPLAY_NAME
        self.reset()

    # -- inspection -------------------------------------------------------------------------

    def sent(self, to: str | None = None) -> list[dict]:
        """Delivered message objects in order, optionally only those for one chat.

        Each item: ``{"via": "reply"|"push", "to", "reply_token", "message", "seq", "id", "at"}``.
        ``to`` is the push recipient, or for a reply the chat its token was issued to (``None``
        when the token was never issued or issued without a chat).
        """
        with self._lock:
            return [dict(m) for m in self._sent if to is None or m["to"] == to]

    # -- configuration ----------------------------------------------------------------------

    def issue_reply_token(self, token: str, to: str | None = None, ttl_s: float = 60.0) -> None:
        with self._lock:
            self._tokens[token] = _ReplyToken(to=to, expires_at=time.time() + ttl_s)

    def expire_reply_token(self, token: str) -> None:
        with self._lock:
            known = self._tokens.get(token)
            self._tokens[token] = _ReplyToken(to=known.to if known else None, expires_at=0.0)

    def put_content(self, message_id: str, data: bytes, content_type: str = "image/jpeg") -> None:
        with self._lock:
            self._content[message_id] = _Content(data=bytes(data), content_type=content_type)

    def set_content_status(self, message_id: str, status: int) -> None:
        """200 serves the stored bytes; 202 "still preparing"; 404 unknown; 410 unsent."""
        with self._lock:
            self._content.setdefault(message_id, _Content()).status = int(status)

    def fail_next(self, path: str, status: int, body: dict | None = None, times: int = 1) -> None:
        """Answer the next ``times`` calls to ``path`` (glob patterns allowed) with ``status``."""
        with self._lock:
            self._failures.append((path, _Failure(status=int(status), body=body, times=int(times))))

    def reset(self) -> None:
        with self._lock:
            self.requests: list[RecordedRequest] = []
            self._sent: list[dict] = []
            self._seq = itertools.count(1)
            self._message_ids = itertools.count(int(time.time() * 1000) * 1000)
            self._tokens: dict[str, _ReplyToken] = {}
            self._retry_keys: dict[str, _Accepted] = {}
            self._content: dict[str, _Content] = {}
            self._failures: list[tuple[str, _Failure]] = []
            self.rich_menus: dict[str, dict] = {}
            self.default_rich_menu: str | None = None
            # Channel settings that ``flask --app app doctor`` reads.
            self.access_tokens: set[str] | None = None  # None: any non-empty token is valid
            self.webhook_endpoint = ""
            self.webhook_active = False
            self.quota_limit: int | None = None  # None: {"type": "none"}
            self.quota_used_before = 0  # messages counted this month before this store existed

    # -- used by the blueprint --------------------------------------------------------------

    def _record(self, entry: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(entry)

    def _take_failure(self, path: str) -> _Failure | None:
        with self._lock:
            for i, (pattern, failure) in enumerate(self._failures):
                if pattern == path or fnmatch.fnmatchcase(path, pattern):
                    failure.times -= 1
                    if failure.times <= 0:
                        del self._failures[i]
                    return failure
        return None

    def _deliver(self, via: str, to: str | None, reply_token: str | None,
                 messages: list[dict]) -> list[dict]:
        """Record messages as sent (caller holds the lock) and build ``sentMessages``."""
        now = time.time()
        sent_messages = []
        for message in messages:
            message_id = str(next(self._message_ids))
            self._sent.append({
                "via": via, "to": to, "reply_token": reply_token, "message": message,
                "seq": next(self._seq), "id": message_id, "at": now,
            })
            sent_messages.append({"id": message_id, "quoteToken": uuid.uuid4().hex})
        return sent_messages

    def _reply(self, token: str, messages: list[dict]) -> list[dict]:
        with self._lock:
            entry = self._tokens.get(token)
            if entry is None:
                entry = self._tokens[token] = _ReplyToken(to=None, expires_at=None)
            if entry.used or (entry.expires_at is not None and time.time() > entry.expires_at):
                raise LineApiError(400, "Invalid reply token")
            entry.used = True
            return self._deliver("reply", entry.to, token, messages)

    def _push(self, to: str, messages: list[dict], retry_key: str | None) -> tuple[str, list[dict]]:
        with self._lock:
            if retry_key is not None and retry_key in self._retry_keys:
                accepted = self._retry_keys[retry_key]
                raise LineApiError(
                    409, "The retry key is already accepted",
                    headers={"x-line-accepted-request-id": accepted.request_id},
                    extra={"sentMessages": accepted.sent_messages},
                )
            request_id = str(uuid.uuid4())
            sent_messages = self._deliver("push", to, None, messages)
            if retry_key is not None:
                self._retry_keys[retry_key] = _Accepted(request_id, sent_messages)
            return request_id, sent_messages

    def _get_content(self, message_id: str) -> _Content | None:
        with self._lock:
            return self._content.get(message_id)

    def _push_count(self) -> int:
        with self._lock:
            return sum(1 for m in self._sent if m["via"] == "push")


# -- validation -----------------------------------------------------------------------------


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _validate_quick_reply_action(action: Any, prop: str, errors: list[dict]) -> None:
    if not isinstance(action, dict):
        errors.append({"message": "must be specified", "property": prop})
        return
    kind = action.get("type")
    if kind not in QUICK_REPLY_ACTIONS:
        errors.append({"message": "invalid action type", "property": f"{prop}.type"})
        return
    label = action.get("label")
    if not label:
        errors.append({"message": "must be specified", "property": f"{prop}.label"})
    elif not isinstance(label, str) or len(label) > MAX_ACTION_LABEL:
        errors.append({"message": f"Length must be between 0 and {MAX_ACTION_LABEL}",
                       "property": f"{prop}.label"})
    if kind == "postback":
        data = action.get("data")
        if not isinstance(data, str) or not data:
            errors.append({"message": "must be specified", "property": f"{prop}.data"})
        elif len(data) > MAX_POSTBACK_DATA:
            errors.append({"message": f"Length must be between 0 and {MAX_POSTBACK_DATA}",
                           "property": f"{prop}.data"})
        if len(action.get("displayText") or "") > MAX_ACTION_TEXT:
            errors.append({"message": f"Length must be between 0 and {MAX_ACTION_TEXT}",
                           "property": f"{prop}.displayText"})
    elif kind == "message":
        text = action.get("text")
        if not isinstance(text, str) or not text:
            errors.append({"message": "must be specified", "property": f"{prop}.text"})
        elif len(text) > MAX_ACTION_TEXT:
            errors.append({"message": f"Length must be between 0 and {MAX_ACTION_TEXT}",
                           "property": f"{prop}.text"})
    elif kind == "uri":
        uri = action.get("uri")
        if not isinstance(uri, str) or not uri:
            errors.append({"message": "must be specified", "property": f"{prop}.uri"})
        elif len(uri) > MAX_URI or uri.split(":", 1)[0] not in {"http", "https", "line", "tel"}:
            errors.append({"message": "invalid uri", "property": f"{prop}.uri"})
    elif kind == "datetimepicker":
        if action.get("mode") not in {"date", "time", "datetime"}:
            errors.append({"message": "invalid mode", "property": f"{prop}.mode"})
        if not action.get("data"):
            errors.append({"message": "must be specified", "property": f"{prop}.data"})


def validate_messages(messages: Any) -> list[dict]:
    """Check message objects the way LINE does; return error details (empty when valid)."""
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        return [{"message": f"Size must be between 1 and {MAX_MESSAGES}", "property": "messages"}]
    errors: list[dict] = []
    for i, message in enumerate(messages):
        prop = f"messages[{i}]"
        if not isinstance(message, dict) or message.get("type") not in MESSAGE_TYPES:
            errors.append({"message": "invalid message type", "property": f"{prop}.type"})
            continue
        for name in REQUIRED_MESSAGE_FIELDS[message["type"]]:
            if message.get(name) in (None, "", [], {}):
                errors.append({"message": "must be specified", "property": f"{prop}.{name}"})
        text = message.get("text")
        if message["type"] in {"text", "textV2"} and isinstance(text, str) \
                and _utf16_len(text) > MAX_TEXT_UTF16:
            errors.append({"message": f"Length must be between 0 and {MAX_TEXT_UTF16}",
                           "property": f"{prop}.text"})
        alt_text = message.get("altText")
        if isinstance(alt_text, str) and len(alt_text) > MAX_ALT_TEXT:
            errors.append({"message": f"Length must be between 0 and {MAX_ALT_TEXT}",
                           "property": f"{prop}.altText"})
        quick_reply = message.get("quickReply")
        if quick_reply is None:
            continue
        items = quick_reply.get("items") if isinstance(quick_reply, dict) else None
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_QUICK_REPLY_ITEMS:
            errors.append({"message": f"Size must be between 1 and {MAX_QUICK_REPLY_ITEMS}",
                           "property": f"{prop}.quickReply.items"})
            continue
        for j, item in enumerate(items):
            item_prop = f"{prop}.quickReply.items[{j}]"
            if not isinstance(item, dict) or item.get("type", "action") != "action":
                errors.append({"message": "invalid quick reply item", "property": item_prop})
                continue
            _validate_quick_reply_action(item.get("action"), f"{item_prop}.action", errors)
    return errors


# -- HTTP -----------------------------------------------------------------------------------


def _json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status,
                        mimetype="application/json")
    response.headers["x-line-request-id"] = str(uuid.uuid4())
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _invalid(details: list[dict]) -> LineApiError:
    return LineApiError(400, f"The request body has {len(details)} error(s)", details)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def create_fake_line_blueprint(store: FakeLineStore, url_prefix: str = "",
                               name: str = "fake_line") -> Blueprint:
    """A blueprint answering LINE API paths (``/v2/bot/...``) under ``url_prefix``."""
    bp = Blueprint(name, __name__, url_prefix=url_prefix or None)
    prefix = (url_prefix or "").rstrip("/")

    @bp.before_request
    def _check() -> Response | None:
        path = request.path[len(prefix):] if prefix else request.path
        raw = request.get_data(cache=True)
        payload = None
        if raw:
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = None
        entry = RecordedRequest(
            method=request.method, path=path,
            headers={k.lower(): v for k, v in request.headers.items()},
            json=payload, at=time.time(),
        )
        store._record(entry)
        request.environ["fakeline.entry"] = entry
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer "):].strip() if auth.startswith("Bearer ") else ""
        if not token or (store.access_tokens is not None and token not in store.access_tokens):
            return _json_response(401, {"message": AUTH_FAILED})
        if len(raw) > MAX_BODY_BYTES:
            return _json_response(413, {"message": "Request entity too large"})
        failure = store._take_failure(path)
        if failure is not None:
            body = failure.body if failure.body is not None else {"message": "Injected failure"}
            return _json_response(failure.status, body)
        if raw and payload is None and request.mimetype != "image/png" and request.mimetype != "image/jpeg":
            return _json_response(400, {"message": "The request body could not be parsed as JSON"})
        return None

    @bp.after_request
    def _remember_status(response: Response) -> Response:
        entry = request.environ.get("fakeline.entry")
        if entry is not None:
            entry.status = response.status_code
        return response

    @bp.errorhandler(LineApiError)
    def _line_error(exc: LineApiError) -> Response:
        return _json_response(exc.status, exc.body, exc.headers)

    def body() -> dict:
        payload = request.environ["fakeline.entry"].json
        if not isinstance(payload, dict):
            raise LineApiError(400, "The request body could not be parsed as JSON")
        return payload

    @bp.post("/v2/bot/message/reply")
    def reply() -> Response:
        if "X-Line-Retry-Key" in request.headers:
            raise LineApiError(400, "The retry key is not supported for this API")
        payload = body()
        token = payload.get("replyToken")
        if not isinstance(token, str) or not token:
            raise _invalid([{"message": "must be specified", "property": "replyToken"}])
        errors = validate_messages(payload.get("messages"))
        if errors:
            raise _invalid(errors)
        sent_messages = store._reply(token, payload["messages"])
        return _json_response(200, {"sentMessages": sent_messages})

    @bp.post("/v2/bot/message/push")
    def push() -> Response:
        retry_key = request.headers.get("X-Line-Retry-Key")
        if retry_key is not None and not _is_uuid(retry_key):
            raise LineApiError(400, "The value of the X-Line-Retry-Key header is invalid")
        payload = body()
        to = payload.get("to")
        if not isinstance(to, str) or not to or to[0] not in "UCR":
            raise LineApiError(400, "The property, 'to', in the request body is invalid")
        errors = validate_messages(payload.get("messages"))
        if errors:
            raise _invalid(errors)
        request_id, sent_messages = store._push(to, payload["messages"], retry_key)
        return _json_response(200, {"sentMessages": sent_messages},
                              {"x-line-request-id": request_id})

    @bp.post("/v2/bot/chat/loading/start")
    def loading_start() -> Response:
        payload = body()
        chat_id = payload.get("chatId")
        if not isinstance(chat_id, str) or not chat_id.startswith("U"):
            raise _invalid([{"message": "invalid chatId", "property": "chatId"}])
        seconds = payload.get("loadingSeconds", 20)
        if isinstance(seconds, bool) or not isinstance(seconds, int) \
                or not 5 <= seconds <= 60 or seconds % 5:
            raise _invalid([{"message": "must be a multiple of 5 between 5 and 60",
                                    "property": "loadingSeconds"}])
        return _json_response(202, {})

    @bp.post("/v2/bot/chat/markAsRead")
    def mark_as_read() -> Response:
        if not body().get("markAsReadToken"):
            raise _invalid([{"message": "must be specified", "property": "markAsReadToken"}])
        return _json_response(200, {})

    def content_or_error(message_id: str) -> _Content:
        content = store._get_content(message_id)
        if content is None or content.status == 404:
            raise LineApiError(404, "Not found")
        if content.status == 410:
            raise LineApiError(410, "Gone")
        if content.status not in (200, 202):
            raise LineApiError(content.status, "Content error")
        return content

    @bp.get("/v2/bot/message/<message_id>/content")
    def get_content(message_id: str) -> Response:
        content = content_or_error(message_id)
        if content.status == 202:
            return Response(b"", status=202)
        response = Response(content.data, status=200, content_type=content.content_type)
        response.headers["x-line-request-id"] = str(uuid.uuid4())
        return response

    @bp.get("/v2/bot/message/<message_id>/content/transcoding")
    def get_transcoding(message_id: str) -> Response:
        content = content_or_error(message_id)
        status = "processing" if content.status == 202 else "succeeded"
        return _json_response(200, {"status": status})

    @bp.get("/v2/bot/profile/<user_id>")
    def get_profile(user_id: str) -> Response:
        if not user_id.startswith("U"):
            raise LineApiError(404, "Not found")
        return _json_response(200, {"userId": user_id, "displayName": store.display_name,
                                    "language": "zh-TW"})

    @bp.get("/v2/bot/message/quota")
    def get_quota() -> Response:
        if store.quota_limit is None:
            return _json_response(200, {"type": "none"})
        return _json_response(200, {"type": "limited", "value": store.quota_limit})

    @bp.get("/v2/bot/message/quota/consumption")
    def get_quota_consumption() -> Response:
        return _json_response(200, {"totalUsage": store.quota_used_before + store._push_count()})

    @bp.get("/v2/bot/info")
    def get_bot_info() -> Response:
        return _json_response(200, {"userId": BOT_USER_ID, "basicId": "@000fake", "displayName": BOT_NAME,
                                    "chatMode": "bot", "markAsReadMode": "auto"})

    @bp.get("/v2/bot/channel/webhook/endpoint")
    def get_webhook_endpoint() -> Response:
        return _json_response(200, {"endpoint": store.webhook_endpoint, "active": store.webhook_active})

    @bp.put("/v2/bot/channel/webhook/endpoint")
    def set_webhook_endpoint() -> Response:
        endpoint = body().get("endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith("https://") or len(endpoint) > 500:
            raise _invalid([{"message": "invalid endpoint", "property": "endpoint"}])
        with store._lock:
            store.webhook_endpoint, store.webhook_active = endpoint, True
        return _json_response(200, {})

    @bp.post("/v2/bot/richmenu")
    def create_rich_menu() -> Response:
        payload = body()
        size = payload.get("size") or {}
        if size.get("width") != 2500 or size.get("height") not in (843, 1686):
            raise _invalid([{"message": "invalid size", "property": "size"}])
        if len(payload.get("chatBarText") or "") > 14 or not payload.get("areas"):
            raise _invalid([{"message": "invalid rich menu", "property": "chatBarText"}])
        rich_menu_id = "richmenu-" + uuid.uuid4().hex
        with store._lock:
            store.rich_menus[rich_menu_id] = {"menu": payload, "image": None}
        return _json_response(200, {"richMenuId": rich_menu_id})

    @bp.post("/v2/bot/richmenu/<rich_menu_id>/content")
    def upload_rich_menu_image(rich_menu_id: str) -> Response:
        if request.content_type not in ("image/png", "image/jpeg"):
            raise LineApiError(415, "Unsupported Media Type")
        data = request.get_data(cache=True)
        with store._lock:
            menu = store.rich_menus.get(rich_menu_id)
            if menu is None:
                raise LineApiError(404, "Not found")
            if menu["image"] is not None:
                raise LineApiError(400, "An image has already been uploaded to the richmenu")
            if len(data) > 1024 * 1024:
                raise LineApiError(400, "The image is too large")
            menu["image"] = data
        return _json_response(200, {})

    @bp.post("/v2/bot/user/all/richmenu/<rich_menu_id>")
    def set_default_rich_menu(rich_menu_id: str) -> Response:
        with store._lock:
            if rich_menu_id not in store.rich_menus or store.rich_menus[rich_menu_id]["image"] is None:
                raise LineApiError(400, "must upload richmenu image before applying it to user")
            store.default_rich_menu = rich_menu_id
        return _json_response(200, {})

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]

    @bp.route("/", defaults={"rest": ""}, methods=methods)
    @bp.route("/<path:rest>", methods=methods)
    def not_found(rest: str) -> Response:
        return _json_response(404, {"message": "Not found"})

    return bp


def create_fake_line_app(store: FakeLineStore) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.register_blueprint(create_fake_line_blueprint(store))
    return app


class FakeLineServer:
    """Runs the fake on 127.0.0.1 (a free port) in a daemon thread."""

    def __init__(self, store: FakeLineStore | None = None) -> None:
        self.store = store if store is not None else FakeLineStore()
        self.base_url = ""
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeLineServer:
        if self._server is not None:
            return self
        self._server = make_server("127.0.0.1", 0, create_fake_line_app(self.store), threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="fake-line", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeLineServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
