"""``POST /callback``: verify, store, answer 200. No LINE call and no slow work here.

1. 400 for a missing or wrong ``X-Line-Signature`` (HMAC-SHA256 of the raw body);
2. the console's verify call (no events) gets 200;
3. the events are stored before the answer (``bot/ingest.py``, group commit). PostgreSQL: one
   statement inserts them with their unique ``webhookEventId`` (a redelivery inserts nothing)
   and notifies the workers' feeder of each new row, which claims the event in Redis (SET NX EX 24 h)
   and enqueues its RQ job. The request makes no Redis call, so a Redis loss loses nothing: the
   feeder catches up when it reconnects and the sweeper enqueues stored events that no job took.
   Local mode (SQLite): the events are claimed in Redis and put on the inbox list in one round
   trip, then inserted; the feeder turns the inbox into jobs;
4. 500 when the database cannot store them, so that LINE redelivers;
5. unknown event types and ``mode: standby`` are acknowledged and ignored.

LINE calls this URL with a signature, never with a browser session, so the app's cookie session
is not opened for it (``_WebhookWithoutSession``): that saves a signing-key derivation per call.
"""
from __future__ import annotations

import json
import logging

from flask import Blueprint, current_app, jsonify, request
from flask.sessions import SessionInterface
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.models import UnknownEvent

from bot import ingest
from bot.events import HANDLED_TYPES
from bot.extensions import get_services
from services import inbound

log = logging.getLogger(__name__)
bp = Blueprint("line", __name__)
PATH = "/callback"


class _WebhookWithoutSession(SessionInterface):
    """The app's session interface, except that ``POST /callback`` gets the null session
    (nothing is read from a cookie or written back). Everything else is delegated."""

    def __init__(self, inner: SessionInterface):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def open_session(self, app, request):
        if request.path == PATH:
            return self.make_null_session(app)
        return self.inner.open_session(app, request)

    def save_session(self, app, session, response):
        return self.inner.save_session(app, session, response)

    def is_null_session(self, obj) -> bool:
        return self.inner.is_null_session(obj)

    def make_null_session(self, app):
        return self.inner.make_null_session(app)


@bp.record_once
def _skip_session(state) -> None:
    if not isinstance(state.app.session_interface, _WebhookWithoutSession):
        state.app.session_interface = _WebhookWithoutSession(state.app.session_interface)


def _parser() -> WebhookParser:
    parser = current_app.extensions.get("line_parser")
    if parser is None:
        parser = current_app.extensions["line_parser"] = WebhookParser(current_app.config["LINE_CHANNEL_SECRET"])
    return parser


@bp.post(PATH)
def callback():
    signature = request.headers.get("X-Line-Signature")
    if not signature:
        return jsonify(error="missing signature"), 400
    body = request.get_data(as_text=True)
    try:
        payload = _parser().parse(body, signature, as_payload=True)
        raw_events = json.loads(body)["events"]
    except InvalidSignatureError:
        log.warning("webhook: bad signature")
        return jsonify(error="bad signature"), 400
    except Exception as exc:  # signed but not a webhook body we can read
        log.warning("webhook: unreadable body (%s)", type(exc).__name__)
        return jsonify(error="malformed body"), 400

    svc = get_services()
    wanted = []
    for event, raw in zip(payload.events, raw_events):
        etype = raw.get("type")
        if isinstance(event, UnknownEvent) or etype not in HANDLED_TYPES or raw.get("mode") == "standby":
            log.info("webhook: ignored event type=%s mode=%s", etype, raw.get("mode"))
            continue
        wanted.append(raw)
    if not wanted:
        return "OK", 200
    try:
        claimed = ingest.ingestor(svc).submit(wanted)
    except inbound.StorageError as exc:
        log.error("webhook: could not store events (%s); asking LINE to redeliver", exc)
        return jsonify(error="storage unavailable"), 500
    if not any(claimed):
        log.info("webhook: duplicate events ignored")
    return "OK", 200
