"""The fake's HTTP side: a blueprint answering LINE API paths (``/v2/bot/...``) with LINE's status
codes and error bodies. One function per group of endpoints: messages, content, the account
(profile, bot info, webhook endpoint, quota) and rich menus."""
from __future__ import annotations

import json
import time
import uuid
from typing import Any

from flask import Blueprint, Response, request

from bot.dev.fakeline.store import FakeLineStore, LineApiError, RecordedRequest, _Content
from bot.dev.fakeline.validation import validate_messages

MAX_BODY_BYTES = 2 * 1024 * 1024
# The bot's own account (GET /v2/bot/info).
BOT_USER_ID = "U" + "f" * 32
BOT_NAME = "Zuozhen District Office (fake)"

AUTH_FAILED = ("Authentication failed. Confirm that the access token in the authorization header"
               " is valid.")
_ENTRY = "fakeline.entry"   # the request's RecordedRequest, in the WSGI environ


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


def _body() -> dict:
    payload = request.environ[_ENTRY].json
    if not isinstance(payload, dict):
        raise LineApiError(400, "The request body could not be parsed as JSON")
    return payload


def create_fake_line_blueprint(store: FakeLineStore, url_prefix: str = "",
                               name: str = "fake_line") -> Blueprint:
    """A blueprint answering LINE API paths (``/v2/bot/...``) under ``url_prefix``."""
    bp = Blueprint(name, __name__, url_prefix=url_prefix or None)
    _checks(bp, store, (url_prefix or "").rstrip("/"))
    _message_routes(bp, store)
    _content_routes(bp, store)
    _account_routes(bp, store)
    _rich_menu_routes(bp, store)
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]

    @bp.route("/", defaults={"rest": ""}, methods=methods)
    @bp.route("/<path:rest>", methods=methods)
    def not_found(rest: str) -> Response:
        return _json_response(404, {"message": "Not found"})

    return bp


def _checks(bp: Blueprint, store: FakeLineStore, prefix: str) -> None:
    """Record every call, then what LINE checks before any endpoint: the token, the body's size,
    an injected failure, JSON."""

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
        entry = RecordedRequest(method=request.method, path=path,
                                headers={k.lower(): v for k, v in request.headers.items()},
                                json=payload, at=time.time())
        store._record(entry)
        request.environ[_ENTRY] = entry
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
        if raw and payload is None and request.mimetype not in ("image/png", "image/jpeg"):
            return _json_response(400, {"message": "The request body could not be parsed as JSON"})
        return None

    @bp.after_request
    def _remember_status(response: Response) -> Response:
        entry = request.environ.get(_ENTRY)
        if entry is not None:
            entry.status = response.status_code
        return response

    @bp.errorhandler(LineApiError)
    def _line_error(exc: LineApiError) -> Response:
        return _json_response(exc.status, exc.body, exc.headers)


def _message_routes(bp: Blueprint, store: FakeLineStore) -> None:
    """Reply, push, the loading animation and mark-as-read."""

    @bp.post("/v2/bot/message/reply")
    def reply() -> Response:
        if "X-Line-Retry-Key" in request.headers:
            raise LineApiError(400, "The retry key is not supported for this API")
        payload = _body()
        token = payload.get("replyToken")
        if not isinstance(token, str) or not token:
            raise _invalid([{"message": "must be specified", "property": "replyToken"}])
        errors = validate_messages(payload.get("messages"))
        if errors:
            raise _invalid(errors)
        return _json_response(200, {"sentMessages": store._reply(token, payload["messages"])})

    @bp.post("/v2/bot/message/push")
    def push() -> Response:
        retry_key = request.headers.get("X-Line-Retry-Key")
        if retry_key is not None and not _is_uuid(retry_key):
            raise LineApiError(400, "The value of the X-Line-Retry-Key header is invalid")
        payload = _body()
        to = payload.get("to")
        if not isinstance(to, str) or not to or to[0] not in "UCR":
            raise LineApiError(400, "The property, 'to', in the request body is invalid")
        errors = validate_messages(payload.get("messages"))
        if errors:
            raise _invalid(errors)
        request_id, sent_messages = store._push(to, payload["messages"], retry_key)
        return _json_response(200, {"sentMessages": sent_messages}, {"x-line-request-id": request_id})

    @bp.post("/v2/bot/chat/loading/start")
    def loading_start() -> Response:
        payload = _body()
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
        if not _body().get("markAsReadToken"):
            raise _invalid([{"message": "must be specified", "property": "markAsReadToken"}])
        return _json_response(200, {})


def _content_routes(bp: Blueprint, store: FakeLineStore) -> None:
    """A message's content (a photo, a voice message): ready, still preparing (202), unknown (404)
    or unsent (410)."""

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
        return _json_response(200, {"status": "processing" if content.status == 202 else "succeeded"})


def _account_routes(bp: Blueprint, store: FakeLineStore) -> None:
    """A resident's profile, the bot's own account, its webhook endpoint and the push quota."""

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
        endpoint = _body().get("endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith("https://") or len(endpoint) > 500:
            raise _invalid([{"message": "invalid endpoint", "property": "endpoint"}])
        with store._lock:
            store.webhook_endpoint, store.webhook_active = endpoint, True
        return _json_response(200, {})


def _rich_menu_routes(bp: Blueprint, store: FakeLineStore) -> None:
    """Create a rich menu, upload its image, make it the default."""

    @bp.post("/v2/bot/richmenu")
    def create_rich_menu() -> Response:
        payload = _body()
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
