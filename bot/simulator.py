"""The local LINE simulator: a chat page at ``/simulator`` for laptops without a LINE account.

Only registered in local mode (``LOCAL_MODE``) with the built-in simulator credentials: it signs
webhook bodies for anyone who can reach the page, so it never signs with a real channel's secret
(local mode with real LINE credentials has no simulator). It mounts the fake LINE API
(:mod:`bot.dev.fakeline`) at ``/simulator/line``, where the app's own LINE gateway sends its calls,
and offers a small JSON API for the page:

* ``POST /simulator/api/send`` builds a complete, signed LINE webhook body for one resident
  action (text, postback, location, photo, sticker, ...) and delivers it to ``/callback``
  in-process, exactly as LINE would send it.
* ``GET /simulator/api/messages?user=...&after=SEQ`` lists what the bot sent to that chat.
* ``GET /simulator/api/villages`` lists the village centroids for the location picker.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request

from bot.config import LOCAL_SECRET
from bot.dev.fakeline import FakeLineStore, create_fake_line_blueprint
from services import knowledge

FAKE_LINE_PREFIX = "/simulator/line"
STORE_KEY = "fake_line_store"
WEBHOOK_PATH = "/callback"

# The bot's own user id (``destination``) and the resident used when the page names none.
BOT_USER_ID = "U0123456789abcdef0123456789abcdef"
DEFAULT_USER_ID = "Ud15c0de0d15c0de0d15c0de0d15c0de0"

USER_ID_RE = re.compile(r"U[0-9a-f]{32}")
GROUP_ID_RE = re.compile(r"C[0-9a-f]{32}")
KINDS = ("text", "postback", "location", "image", "sticker", "audio", "video", "file",
         "follow", "unfollow")
MAX_CONTENT_BYTES = 10 * 1024 * 1024

# Used when the page sends a photo without bytes: a 1x1 PNG.
PLACEHOLDER_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
# Used when the page sends a voice message without bytes: a real 2-second m4a (a 440 Hz tone, AAC),
# so that the case page's player plays something. Also the tests' voice message.
SAMPLE_VOICE = Path(__file__).resolve().parent / "samples" / "voice-2s.m4a"
SAMPLE_VOICE_MS = 2000
DEFAULT_CONTENT_TYPES = {"image": "image/jpeg", "audio": "audio/m4a", "video": "video/mp4",
                         "file": "application/pdf"}
DEFAULT_DURATIONS_MS = {"audio": SAMPLE_VOICE_MS, "video": 5000}

SHARED_CENTROIDS_CSV = (Path(__file__).resolve().parent.parent.parent
                        / "shared" / "data" / "zuozhen-village-centroids.csv")

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

bp = Blueprint("simulator", __name__, url_prefix="/simulator",
               template_folder="templates", static_folder="static", static_url_path="/static")


class SimulatorInputError(ValueError):
    """The page (or a script) asked for an event the simulator cannot build."""


def init_app(app: Flask) -> None:
    """Mount the fake LINE API and the simulator, in local mode with the simulator's secret only."""
    if not app.config.get("LOCAL_MODE") or app.config.get("LINE_CHANNEL_SECRET") != LOCAL_SECRET:
        return
    store = FakeLineStore()
    app.extensions[STORE_KEY] = store
    app.register_blueprint(create_fake_line_blueprint(store, url_prefix=FAKE_LINE_PREFIX))
    app.register_blueprint(bp)


# -- webhook bodies -------------------------------------------------------------------------


def new_event_id(now_ms: int | None = None) -> str:
    """A ULID: 48-bit millisecond time and 80 random bits, 26 Crockford base-32 characters."""
    if now_ms is None:
        now_ms = int(time.time() * 1000)
    value = ((now_ms & (2**48 - 1)) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _message_id() -> str:
    return str(secrets.randbelow(9 * 10**17) + 10**17)  # 18 digits, like LINE's


def _token() -> str:
    return secrets.token_urlsafe(24)


def _number(spec: dict, key: str, low: float, high: float) -> float:
    try:
        value = float(spec[key])
    except (KeyError, TypeError, ValueError):
        raise SimulatorInputError(f"'{key}' must be a number") from None
    if not low <= value <= high:
        raise SimulatorInputError(f"'{key}' must be between {low} and {high}")
    return value


def _optional_str(spec: dict, key: str, limit: int) -> str | None:
    value = spec.get(key)
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise SimulatorInputError(f"'{key}' must be a string of at most {limit} characters")
    return value


def _decode_b64(value: Any, key: str) -> tuple[bytes, str | None]:
    """Decode base64, also accepting a ``data:<type>;base64,`` URL; return bytes and type."""
    if not isinstance(value, str):
        raise SimulatorInputError(f"'{key}' must be a base64 string")
    content_type = None
    if value.startswith("data:") and "," in value:
        header, value = value.split(",", 1)
        content_type = header[5:].split(";", 1)[0] or None
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SimulatorInputError(f"'{key}' is not valid base64") from None
    if len(data) > MAX_CONTENT_BYTES:
        raise SimulatorInputError(f"'{key}' is larger than {MAX_CONTENT_BYTES} bytes")
    return data, content_type


def _content(spec: dict, kind: str) -> tuple[bytes, str]:
    """The bytes LINE would hold for a media message: sent by the page, else a placeholder."""
    key = "image_b64" if kind == "image" else "content_b64"
    if spec.get(key):
        data, data_type = _decode_b64(spec[key], key)
    elif kind == "image":
        data, data_type = PLACEHOLDER_PNG, "image/png"
    elif kind == "audio":
        data, data_type = SAMPLE_VOICE.read_bytes(), "audio/m4a"
    else:
        data, data_type = b"\0" * 64, None
    content_type = spec.get("content_type") or data_type or DEFAULT_CONTENT_TYPES[kind]
    if not isinstance(content_type, str):
        raise SimulatorInputError("'content_type' must be a string")
    return data, content_type


def _duration(spec: dict, kind: str) -> int:
    value = spec.get("duration", DEFAULT_DURATIONS_MS[kind])
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SimulatorInputError("'duration' must be a positive number of milliseconds")
    return value


def _message(spec: dict, kind: str, message_id: str) -> tuple[dict, tuple[bytes, str] | None]:
    """The ``message`` object of a message event, and the content LINE would store for it."""
    base = {"type": kind, "id": message_id}
    read_token = {"markAsReadToken": _token()}
    if kind == "text":
        text = spec.get("text")
        if not isinstance(text, str) or not text.strip():
            raise SimulatorInputError("'text' is required")
        return {**base, "quoteToken": _token(), **read_token, "text": text}, None
    if kind == "location":
        message = {**base, **read_token,
                   "latitude": _number(spec, "lat", -90, 90),
                   "longitude": _number(spec, "lng", -180, 180)}
        for key in ("title", "address"):
            value = _optional_str(spec, key, 100)
            if value is not None:
                message[key] = value
        return message, None
    if kind == "sticker":
        return {**base, "quoteToken": _token(), **read_token,
                "packageId": str(spec.get("packageId") or "446"),
                "stickerId": str(spec.get("stickerId") or "1988"),
                "stickerResourceType": "STATIC", "keywords": ["hello"]}, None
    content = _content(spec, kind)
    provider = {"contentProvider": {"type": "line"}}
    if kind == "image":
        return {**base, "quoteToken": _token(), **read_token, **provider}, content
    if kind == "video":
        return {**base, "quoteToken": _token(), **read_token,
                "duration": _duration(spec, kind), **provider}, content
    if kind == "audio":
        return {**base, **read_token, "duration": _duration(spec, kind), **provider}, content
    file_name = _optional_str(spec, "fileName", 255) or "document.pdf"
    return {**base, **read_token, "fileName": file_name, "fileSize": len(content[0])}, content


def build_event(spec: dict, now_ms: int | None = None) -> tuple[dict, tuple[bytes, str] | None]:
    """One webhook event for a simulator request, with every field LINE sends.

    Returns the event and, for media messages, the ``(bytes, content_type)`` LINE would serve
    for its message id. Raises :class:`SimulatorInputError` on bad input.
    """
    kind = spec.get("kind", "text")
    if kind not in KINDS:
        raise SimulatorInputError(f"'kind' must be one of {', '.join(KINDS)}")
    user = spec.get("user") or DEFAULT_USER_ID
    if not isinstance(user, str) or not USER_ID_RE.fullmatch(user):
        raise SimulatorInputError("'user' must be 'U' followed by 32 lower-case hex digits")
    source: dict[str, str] = {"type": "user", "userId": user}
    group = spec.get("group")
    if group:
        if kind in ("follow", "unfollow"):
            raise SimulatorInputError("follow and unfollow happen in 1:1 chats only")
        if not isinstance(group, str) or not GROUP_ID_RE.fullmatch(group):
            raise SimulatorInputError("'group' must be 'C' followed by 32 lower-case hex digits")
        source = {"type": "group", "groupId": group, "userId": user}
    if now_ms is None:
        now_ms = int(time.time() * 1000)

    event: dict[str, Any] = {
        "type": "message" if kind not in ("postback", "follow", "unfollow") else kind,
        "mode": "active",
        "timestamp": now_ms,
        "webhookEventId": new_event_id(now_ms),
        "deliveryContext": {"isRedelivery": False},
        "source": source,
    }
    if kind != "unfollow":
        event["replyToken"] = secrets.token_hex(16)
    content = None
    if kind == "postback":
        data = spec.get("data")
        if not isinstance(data, str) or not data or len(data) > 300:
            raise SimulatorInputError("'data' is required (at most 300 characters)")
        event["postback"] = {"data": data}
        params = spec.get("params")
        if params:
            if not isinstance(params, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in params.items()):
                raise SimulatorInputError("'params' must map strings to strings")
            event["postback"]["params"] = params
    elif kind == "follow":
        event["follow"] = {"isUnblocked": bool(spec.get("isUnblocked", False))}
    elif kind != "unfollow":
        event["message"], content = _message(spec, kind, _message_id())
    return event, content


def sign(body: bytes, channel_secret: str) -> str:
    """LINE's ``X-Line-Signature``: base64 HMAC-SHA256 of the exact body bytes."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


# -- villages for the location picker -------------------------------------------------------


def _villages_from_knowledge() -> list[dict]:
    villages = []
    for entry in knowledge.load("places/villages").get("villages") or []:
        centroid = entry.get("centroid") or {}
        villages.append({"name": str(entry["name"]), "lat": float(centroid["lat"]),
                         "lng": float(centroid["lng"])})
    return villages


def _villages_from_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [{"name": row["name"], "lat": float(row["lat"]), "lng": float(row["lng"])}
                for row in csv.DictReader(fh)]


def load_villages(csv_path: Path = SHARED_CENTROIDS_CSV) -> list[dict]:
    """Village names and centroids: ``knowledge/places/villages.yaml``, else the shared CSV."""
    for source in (_villages_from_knowledge, lambda: _villages_from_csv(csv_path)):
        try:
            villages = source()
        except (OSError, KeyError, TypeError, ValueError, AttributeError, yaml.YAMLError):
            continue
        if villages:
            return villages
    return []


# -- views ----------------------------------------------------------------------------------


def _store() -> FakeLineStore:
    return current_app.extensions[STORE_KEY]


def _bad_request(message: str) -> tuple[Response, int]:
    return jsonify(error=message), 400


@bp.get("/")
def index() -> str:
    from services.richmenu import layout
    return render_template("simulator.html", default_user=DEFAULT_USER_ID, menu=layout()["areas"])


@bp.post("/api/send")
def send() -> Response | tuple[Response, int]:
    spec = request.get_json(silent=True)
    if not isinstance(spec, dict):
        return _bad_request("expected a JSON object")
    try:
        event, content = build_event(spec)
    except SimulatorInputError as exc:
        return _bad_request(str(exc))
    secret = current_app.config.get("LINE_CHANNEL_SECRET")
    if secret != LOCAL_SECRET:  # never sign for anyone with a real channel's secret
        return jsonify(error="the simulator signs only with the local simulator's secret"), 403

    store = _store()
    if content is not None:
        store.put_content(event["message"]["id"], *content)
    if "replyToken" in event:
        chat = event["source"].get("groupId") or event["source"]["userId"]
        store.issue_reply_token(event["replyToken"], to=chat)

    body = json.dumps({"destination": BOT_USER_ID, "events": [event]},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    response = current_app.test_client().post(
        current_app.config.get("SIMULATOR_WEBHOOK_PATH", WEBHOOK_PATH), data=body, headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "LineBotWebhook/2.0",
            "X-Line-Signature": sign(body, secret),
        })
    result: dict[str, Any] = {"status": response.status_code,
                              "event_id": event["webhookEventId"]}
    if "message" in event:
        result["message_id"] = event["message"]["id"]
    return jsonify(result)


def _loading(store: FakeLineStore, chat: str, sent: list[dict]) -> bool:
    """Whether the loading animation the bot started for ``chat`` would still be showing."""
    for entry in reversed(list(store.requests)):
        if (entry.path == "/v2/bot/chat/loading/start" and entry.status == 202
                and isinstance(entry.json, dict) and entry.json.get("chatId") == chat):
            seconds = entry.json.get("loadingSeconds", 20)
            answered = any(m["at"] >= entry.at for m in sent)
            return not answered and time.time() < entry.at + seconds
    return False


@bp.get("/api/messages")
def messages() -> Response | tuple[Response, int]:
    chat = request.args.get("user") or DEFAULT_USER_ID
    try:
        after = int(request.args.get("after", 0))
    except ValueError:
        return _bad_request("'after' must be an integer")
    store = _store()
    sent = store.sent(to=chat)
    return jsonify(
        messages=[{"seq": m["seq"], "via": m["via"], "message": m["message"]}
                  for m in sent if m["seq"] > after],
        loading=_loading(store, chat, sent),
    )


@bp.get("/api/villages")
def villages() -> Response:
    return jsonify(villages=load_villages())
