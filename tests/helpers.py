"""Building signed LINE webhook bodies, and a resident who talks to the bot.

Fixtures carry every field the SDK requires (see line-platform.md section 2.6), so the
real ``WebhookParser`` never turns them into ``UnknownEvent``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
from typing import Any

from services import knowledge

SECRET = "0123456789abcdef0123456789abcdef"
TOKEN = "test-channel-access-token"
BOT_ID = "U0123456789abcdef0123456789abcdef"
_counter = itertools.count(1)


def sign(body: bytes | str, secret: str = SECRET) -> str:
    if isinstance(body, str):
        body = body.encode("utf-8")
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def event_id() -> str:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return "01" + "".join(secrets.choice(alphabet) for _ in range(24))


def user_id() -> str:
    return "U" + secrets.token_hex(16)


def base_event(etype: str, user: str, *, reply: bool = True, redelivery: bool = False,
               ts_ms: int | None = None, source: dict | None = None) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "type": etype, "mode": "active", "timestamp": ts_ms or int(time.time() * 1000),
        "webhookEventId": event_id(), "deliveryContext": {"isRedelivery": redelivery},
        "source": source or {"type": "user", "userId": user},
    }
    if reply:
        ev["replyToken"] = secrets.token_hex(16)
    return ev


def message_id() -> str:
    return str(600000000000000000 + next(_counter))


def text_event(user: str, text: str, **kw) -> dict[str, Any]:
    ev = base_event("message", user, **kw)
    ev["message"] = {"type": "text", "id": message_id(), "quoteToken": "q-" + secrets.token_hex(8),
                     "markAsReadToken": "m-" + secrets.token_hex(8), "text": text}
    return ev


def location_event(user: str, lat: float, lng: float, address: str | None = None, **kw) -> dict[str, Any]:
    ev = base_event("message", user, **kw)
    ev["message"] = {"type": "location", "id": message_id(), "markAsReadToken": "m-x",
                     "title": "位置資訊", "address": address or "臺南市左鎮區", "latitude": lat, "longitude": lng}
    return ev


def image_event(user: str, mid: str | None = None, image_set: dict | None = None, **kw) -> dict[str, Any]:
    ev = base_event("message", user, **kw)
    ev["message"] = {"type": "image", "id": mid or message_id(), "quoteToken": "q-img", "markAsReadToken": "m-img",
                     "contentProvider": {"type": "line"}}
    if image_set:
        ev["message"]["imageSet"] = image_set
    return ev


def sticker_event(user: str, **kw) -> dict[str, Any]:
    ev = base_event("message", user, **kw)
    ev["message"] = {"type": "sticker", "id": message_id(), "quoteToken": "q-st", "markAsReadToken": "m-st",
                     "packageId": "446", "stickerId": "1988", "stickerResourceType": "STATIC"}
    return ev


def audio_event(user: str, mid: str | None = None, duration: int | None = 4000, **kw) -> dict[str, Any]:
    ev = base_event("message", user, **kw)
    ev["message"] = {"type": "audio", "id": mid or message_id(), "markAsReadToken": "m-au",
                     "contentProvider": {"type": "line"}}
    if duration is not None:
        ev["message"]["duration"] = duration
    return ev


def voice_m4a() -> bytes:
    """A real 2-second voice message (m4a, AAC): the simulator's sample."""
    from bot.simulator import SAMPLE_VOICE
    return SAMPLE_VOICE.read_bytes()


def video_event(user: str, **kw) -> dict[str, Any]:
    ev = base_event("message", user, **kw)
    ev["message"] = {"type": "video", "id": message_id(), "quoteToken": "q-v", "markAsReadToken": "m-v",
                     "duration": 8000, "contentProvider": {"type": "line"}}
    return ev


def file_event(user: str, **kw) -> dict[str, Any]:
    ev = base_event("message", user, **kw)
    ev["message"] = {"type": "file", "id": message_id(), "markAsReadToken": "m-f", "fileName": "申請書.pdf",
                     "fileSize": 20480}
    return ev


def postback_event(user: str, data: str, params: dict | None = None, **kw) -> dict[str, Any]:
    ev = base_event("postback", user, **kw)
    ev["postback"] = {"data": data}
    if params:
        ev["postback"]["params"] = params
    return ev


def follow_event(user: str, **kw) -> dict[str, Any]:
    ev = base_event("follow", user, **kw)
    ev["follow"] = {"isUnblocked": False}
    return ev


def unsend_event(user: str, mid: str, **kw) -> dict[str, Any]:
    ev = base_event("unsend", user, reply=False, **kw)
    ev["unsend"] = {"messageId": mid}
    return ev


def group_id() -> str:
    return "C" + secrets.token_hex(16)


def group_source(group: str, user: str) -> dict[str, Any]:
    return {"type": "group", "groupId": group, "userId": user}


def group_text_event(user: str, group: str, text: str, mention: bool = True, bot_name: str = "@區公所小幫手",
                     **kw) -> dict[str, Any]:
    """A text in a group chat; with ``mention`` it starts with "@bot " and mentions the bot (isSelf)."""
    full = f"{bot_name} {text}" if mention else text
    ev = text_event(user, full, source=group_source(group, user), **kw)
    if mention:
        ev["message"]["mention"] = {"mentionees": [{"index": 0, "length": len(bot_name), "type": "user",
                                                    "userId": BOT_ID, "isSelf": True}]}
    return ev


def group_postback_event(user: str, group: str, data: str, **kw) -> dict[str, Any]:
    return postback_event(user, data, source=group_source(group, user), **kw)


def group_image_event(user: str, group: str, mid: str | None = None, **kw) -> dict[str, Any]:
    return image_event(user, mid, source=group_source(group, user), **kw)


def body(*events: dict[str, Any]) -> bytes:
    return json.dumps({"destination": BOT_ID, "events": list(events)}, ensure_ascii=False).encode("utf-8")


def tiny_jpeg(with_gps: bool = True) -> bytes:
    """A small JPEG photo, with EXIF GPS tags like a phone camera writes."""
    import io
    from PIL import Image
    img = Image.new("RGB", (64, 48), (120, 90, 60))
    out = io.BytesIO()
    if with_gps:
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"
        gps = exif.get_ifd(0x8825)
        gps[1], gps[2], gps[3], gps[4] = "N", (23.0, 3.0, 25.2), "E", (120.0, 24.0, 25.2)
        img.save(out, format="JPEG", exif=exif)
    else:
        img.save(out, format="JPEG")
    return out.getvalue()


class Resident:
    """A resident chatting with the bot: each action goes through /callback and the worker,
    and returns the texts the bot sent back for it."""

    def __init__(self, app, store, user: str | None = None):
        self.app = app
        self.client = app.test_client()
        self.store = store
        self.user = user or user_id()
        self.seen = 0
        self.last_messages: list[dict] = []

    # sending ----------------------------------------------------------------------------
    def post(self, *events: dict[str, Any], signature: str | None = None):
        raw = body(*events)
        for ev in events:
            if ev.get("replyToken"):
                src = ev.get("source") or {}
                chat = src.get("groupId") or src.get("roomId") or src.get("userId") or self.user
                self.store.issue_reply_token(ev["replyToken"], to=chat)
        return self.client.post("/callback", data=raw,
                                headers={"X-Line-Signature": signature or sign(raw),
                                         "Content-Type": "application/json"})

    def run_worker(self) -> None:
        from bot.worker import run_burst
        run_burst(self.app)

    def deliver(self, *events: dict[str, Any]) -> list[str]:
        resp = self.post(*events)
        assert resp.status_code == 200, resp.data
        self.run_worker()
        return self.new_texts()

    def new_messages(self) -> list[dict]:
        sent = [m for m in self.store.sent() if m.get("to") in (self.user, None)]
        new = sent[self.seen:]
        self.seen = len(sent)
        if new:
            self.last_messages = [m["message"] for m in new]
        return new

    def new_texts(self) -> list[str]:
        return [m["message"].get("text", "") for m in self.new_messages()]

    def says(self, text: str) -> list[str]:
        return self.deliver(text_event(self.user, text))

    def sends_location(self, lat: float, lng: float, address: str | None = None) -> list[str]:
        return self.deliver(location_event(self.user, lat, lng, address))

    def sends_photo(self, data: bytes | None = None, mid: str | None = None) -> list[str]:
        mid = mid or message_id()
        self.store.put_content(mid, data or tiny_jpeg(), "image/jpeg")
        self.last_photo_id = mid
        return self.deliver(image_event(self.user, mid))

    def sends_voice(self, duration_ms: int | None = 12000, data: bytes | None = None,
                    mid: str | None = None) -> list[str]:
        """A voice message (LINE keeps its m4a for the bot to fetch)."""
        mid = mid or message_id()
        self.store.put_content(mid, data or voice_m4a(), "audio/m4a")
        self.last_voice_id = mid
        return self.deliver(audio_event(self.user, mid, duration=duration_ms))

    def sends(self, event: dict[str, Any]) -> list[str]:
        return self.deliver(event)

    def taps(self, label: str) -> list[str]:
        """Tap a quick-reply button of the last message by its label."""
        item = self.button(label)
        action = item["action"]
        if action["type"] == "postback":
            return self.deliver(postback_event(self.user, action["data"]))
        if action["type"] == "message":
            return self.says(action["text"])
        raise AssertionError(f"button {label} is a {action['type']} action")

    # reading ----------------------------------------------------------------------------
    def buttons(self) -> list[dict]:
        if not self.last_messages:
            return []
        return ((self.last_messages[-1].get("quickReply") or {}).get("items")) or []

    def labels(self) -> list[str]:
        return [i["action"].get("label", "") for i in self.buttons()]

    def button(self, label: str) -> dict:
        for item in self.buttons():
            if item["action"].get("label") == label:
                return item
        raise AssertionError(f"no button {label!r}; buttons are {self.labels()}")


# -- shared set-up of the conversation tests ------------------------------------------------------

ZUOZHEN_LI = (23.045671, 120.404987)     # centroid of 左鎮里
POTHOLE_OPENING = "我要報修道路坑洞"        # a road report whose category the first message gives
OFFICE_PHONE = knowledge.contacts()["office"]["phone"]   # the fallback of every answer


def first_line(key: str) -> str:
    """The first line of a message text up to its first placeholder: what a test looks for in an
    answer, so that a copy edit in knowledge/messages changes the test with the bot."""
    return knowledge.raw(key).split("\n")[0].split("{")[0].strip()


def ref_in(texts: list[str], prefix: str = "R") -> str | None:
    """The first case number of a kind (R road, D dengue, S disaster, W welfare) in the bot's answers."""
    m = re.search(rf"{prefix}-\d{{8}}-\d{{4}}", "\n".join(texts))
    return m.group(0) if m else None


def cases(app, kind: str | None = None) -> list:
    """The stored cases (of one kind), oldest first."""
    from sqlalchemy import select

    from bot.extensions import get_services
    from services.models import Submission
    query = select(Submission).order_by(Submission.id)
    if kind:
        query = query.where(Submission.kind == kind)
    with get_services(app).db.session() as s:
        return list(s.execute(query).scalars())


def start_pothole_report(r: Resident, at: tuple[float, float] = ZUOZHEN_LI) -> list[str]:
    """The usual opening of a road report: a pothole named in the first message, then the place.
    Returns the answer to the place (the photo step, or a nearby case to follow)."""
    r.says(POTHOLE_OPENING)
    return r.sends_location(*at)


def describe_pothole(r: Resident, description: str = "大洞") -> list[str]:
    """A pothole report up to its summary: the opening, no photo, a description. Returns the summary."""
    start_pothole_report(r)
    r.taps(knowledge.t("common.label.skip"))
    return r.says(description)
