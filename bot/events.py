"""Turn a stored LINE event (its raw JSON) into the handlers' ``Incoming``.

The SDK's models validate the event first (``rejection``): an event the SDK cannot read, such as
a message type it does not know or a message without a field LINE always sends, is not handled;
the dispatcher keeps it as ``failed`` with the reason this module gives (the model, the field and
the kind of error: never a value from the event, so never a message text), and it is counted
in ``/readyz`` and the staff digest. This module then reads the few fields the bot uses from the
raw JSON.
"""
from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import parse_qsl

from linebot.v3.webhooks import Event

from handlers.flow import Incoming

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2000
HANDLED_TYPES = {"message", "postback", "follow", "unfollow", "unsend"}
MESSAGE_KINDS = {"text", "image", "location", "sticker", "audio", "video", "file"}


def chat_of(source: dict[str, Any]) -> tuple[str | None, str | None, str]:
    kind = source.get("type", "user")
    user = source.get("userId")
    chat = source.get("groupId") if kind == "group" else source.get("roomId") if kind == "room" else user
    return chat, user, kind


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}|\d{1,4}")


def rejection(raw: dict[str, Any]) -> str | None:
    """None when the SDK's models accept the event (the webhook stores it after a JSON check
    only); else why not, for the ``failed`` row and the logs: the model, the field and the kind
    of error, never a value (pydantic's and the SDK's messages quote the event's values)."""
    try:
        return None if Event.from_dict(raw) is not None else "unreadable: no event"
    except Exception as exc:  # pydantic's ValidationError, or ValueError for a type it does not know
        errors = getattr(exc, "errors", None)
        if callable(errors):
            try:
                first = errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ()) if _NAME.fullmatch(str(p)))
                kind = str(first.get("type", ""))
                model = getattr(getattr(exc, "model", None), "__name__", "")
                return f"unreadable: {type(exc).__name__} {model}.{where} {kind}"[:200]
            except Exception:  # an odd error object: its type is enough
                pass
        found = re.match(r"([A-Za-z]{1,40}) failed to lookup discriminator", str(exc))
        if found:
            return f"unreadable: {found.group(1)} of a type the SDK does not know"
        return f"unreadable: {type(exc).__name__}"


def readable(raw: dict[str, Any]) -> bool:
    """Whether the SDK's models accept the event."""
    return rejection(raw) is None


def to_incoming(raw: dict[str, Any], checked: bool = False) -> Incoming:
    """The event as the handlers see it; an event the SDK rejects is ``other``. ``checked``: the
    caller has asked ``rejection`` already (the SDK's models cost about 0.1 ms an event)."""
    if not checked and not readable(raw):
        return Incoming(kind="other", event_id=raw["webhookEventId"], user_id=None, chat_id=None, chat_type="user",
                        timestamp_ms=0)
    chat_id, user_id, chat_type = chat_of(raw.get("source") or {})
    base = dict(event_id=raw["webhookEventId"], user_id=user_id, chat_id=chat_id, chat_type=chat_type,
                timestamp_ms=int(raw.get("timestamp") or 0))
    etype = raw.get("type")
    if etype == "message":
        msg = raw.get("message") or {}
        mtype = msg.get("type")
        if mtype not in MESSAGE_KINDS:
            return Incoming(kind="other", **base)
        if chat_type != "user" and not _mentions_bot(msg) and mtype not in ("image", "location"):
            return Incoming(kind="other", **base)  # in groups the bot speaks only when called
        if mtype == "text":
            text = msg.get("text") or ""
            if chat_type != "user":
                text = _without_self_mention(text, msg)
            return Incoming(kind="text", text=text[:MAX_TEXT_CHARS], truncated=len(text) > MAX_TEXT_CHARS,
                            message_id=msg.get("id"), **base)
        if mtype == "location":
            return Incoming(kind="location", lat=msg.get("latitude"), lng=msg.get("longitude"),
                            address=msg.get("address") or msg.get("title"), message_id=msg.get("id"), **base)
        if mtype == "image":
            provider = (msg.get("contentProvider") or {}).get("type", "line")
            kind = "image" if provider == "line" else "other"
            return Incoming(kind=kind, message_id=msg.get("id"), **base)
        if mtype == "audio":
            provider = (msg.get("contentProvider") or {}).get("type", "line")
            duration = msg.get("duration")
            return Incoming(kind="audio" if provider == "line" else "other", message_id=msg.get("id"),
                            duration_ms=duration if isinstance(duration, int) and duration >= 0 else None, **base)
        return Incoming(kind=mtype, message_id=msg.get("id"), **base)
    if etype == "postback":
        pb = raw.get("postback") or {}
        data = dict(parse_qsl(pb.get("data") or "", keep_blank_values=True))
        return Incoming(kind="postback", data=data, params=pb.get("params") or {}, **base)
    if etype in ("follow", "unfollow"):
        return Incoming(kind=etype, **base)
    if etype == "unsend":
        return Incoming(kind="unsend", message_id=(raw.get("unsend") or {}).get("messageId"), **base)
    return Incoming(kind="other", **base)


def _mentions_bot(msg: dict[str, Any]) -> bool:
    mentionees = ((msg.get("mention") or {}).get("mentionees")) or []
    return any(m.get("isSelf") for m in mentionees)


def _without_self_mention(text: str, msg: dict[str, Any]) -> str:
    """The text of a group message without the "@bot" it starts with (or holds): LINE gives the
    mention's index and length in UTF-16 code units. Photos and locations in groups, which cannot
    mention anyone, are passed on so that a member's open report can use them; the disaster
    module's ``urgent`` hook keeps the bot quiet about those of members with no open report."""
    units = text.encode("utf-16-le")
    for m in sorted(((msg.get("mention") or {}).get("mentionees")) or [], key=lambda m: -int(m.get("index", 0))):
        if m.get("isSelf"):
            start, length = int(m.get("index", 0)) * 2, int(m.get("length", 0)) * 2
            units = units[:start] + units[start + length:]
    return units.decode("utf-16-le", errors="ignore").strip()
