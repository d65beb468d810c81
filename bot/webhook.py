"""``POST /callback``: verify, store, answer 200. No LINE call and no slow work here.

1. 400 for a missing or wrong ``X-Line-Signature`` (HMAC-SHA256 of the raw body, checked by the
   SDK's ``SignatureValidator``), and for a signed body that is not a webhook body (not JSON, no
   ``events`` list, an event without its ``type`` or ``webhookEventId``);
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

The request reads only the fields it stores (``type``, ``mode``, ``webhookEventId``, the
redelivery flag, the timestamp) from the parsed JSON. The SDK's typed models are built by the
worker (``bot/events.py``), where they are used: building them costs more than the rest of the
request's Python work, and an event the SDK cannot read is then ignored there, as it was here.

LINE calls this URL with a signature, never with a browser session, so the app's cookie session
is not opened for it (``_WebhookWithoutSession``): that saves a signing-key derivation per call.
"""
from __future__ import annotations

import json
import logging
import time

from flask import Blueprint, current_app, jsonify, request
from flask.sessions import SessionInterface
from linebot.v3.webhook import SignatureValidator

from bot import ingest, logs
from bot.events import HANDLED_TYPES
from bot.extensions import get_services
from services import inbound, metrics

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


def _validator() -> SignatureValidator:
    validator = current_app.extensions.get("line_signature")
    if validator is None:
        validator = current_app.extensions["line_signature"] = SignatureValidator(
            current_app.config["LINE_CHANNEL_SECRET"])
    return validator


def _events(body: str) -> list[dict]:
    """The events of a webhook body; ValueError when the body is not one."""
    data = json.loads(body)
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        raise ValueError("no events list")
    for event in events:
        if not (isinstance(event, dict) and isinstance(event.get("type"), str)
                and isinstance(event.get("webhookEventId"), str) and event["webhookEventId"]):
            raise ValueError("an event without type or webhookEventId")
    return events


@bp.post(PATH)
def callback():
    """Counted and timed (``zuozhen_webhook_*`` in /metrics); the work is in ``_callback``."""
    start = time.perf_counter()
    result = _callback()
    status = result[1] if isinstance(result, tuple) else 200
    metrics.WEBHOOK_LATENCY.observe(time.perf_counter() - start)
    metrics.WEBHOOK_REQUESTS.labels(str(status)).inc()
    return result


def _callback():
    signature = request.headers.get("X-Line-Signature")
    if not signature:
        return jsonify(error="missing signature"), 400
    body = request.get_data(as_text=True)
    if not _validator().validate(body, signature):
        log.warning("webhook: bad signature")
        return jsonify(error="bad signature"), 400
    try:
        raw_events = _events(body)
    except (ValueError, RecursionError) as exc:  # signed but not a webhook body (json's errors are ValueErrors)
        log.warning("webhook: unreadable body (%s)", type(exc).__name__)
        return jsonify(error="malformed body"), 400

    wanted = []
    for raw in raw_events:
        etype, mode = raw["type"], raw.get("mode")
        if etype not in HANDLED_TYPES or mode == "standby":
            log.info("webhook: ignored event type=%s mode=%s", etype[:40], str(mode)[:20])
            metrics.event("ignored")
            continue
        raw[logs.EVENT_KEY] = logs.current()
        wanted.append(raw)
    if not wanted:
        return "OK", 200
    try:
        claimed = ingest.ingestor(get_services()).submit(wanted)
    except inbound.StorageError as exc:
        log.error("webhook: could not store events (%s); asking LINE to redeliver", exc)
        return jsonify(error="storage unavailable"), 500
    if not any(claimed):
        log.info("webhook: duplicate events ignored")
    else:
        log.info("webhook: stored %d new events", sum(claimed))
    return "OK", 200
