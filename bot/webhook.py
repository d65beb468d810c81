"""``POST /callback``: verify, store, enqueue, answer 200. No LINE call and no slow work here.

1. 400 for a missing or wrong ``X-Line-Signature`` (HMAC-SHA256 of the raw body);
2. the console's verify call (no events) gets 200;
3. each event is claimed in Redis (SET NX EX 24 h) and, in the same round trip, its id is put on
   the inbox list that the workers' feeder turns into RQ jobs (with retries) once the row exists;
4. the claimed events are inserted with a unique ``webhookEventId`` in the database before the
   answer, so a Redis loss loses nothing: the sweeper enqueues stored events that no job took;
5. unknown event types and ``mode: standby`` are acknowledged and ignored.
"""
from __future__ import annotations

import json
import logging

from flask import Blueprint, current_app, jsonify, request
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.models import UnknownEvent

from bot import ingest
from bot.events import HANDLED_TYPES
from bot.extensions import get_services
from services import inbound

log = logging.getLogger(__name__)
bp = Blueprint("line", __name__)


def _parser() -> WebhookParser:
    parser = current_app.extensions.get("line_parser")
    if parser is None:
        parser = current_app.extensions["line_parser"] = WebhookParser(current_app.config["LINE_CHANNEL_SECRET"])
    return parser


@bp.post("/callback")
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
