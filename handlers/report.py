"""Steps shared by the report conversations (road, dengue, disaster): category, place (a LINE location or a
typed address), village, "is it this one?", photos, description and the optional phone.

``ReportSteps(flow_id, cfg)`` gives the steps of one report. Texts are the keys
``<flow_id>.<step>.<purpose>`` of the messages files, quick-reply postbacks are
``flow=<flow_id>&step=<step>&value=...``, and ``cfg()`` returns the report's knowledge file
(categories with words, duplicate radius and days, max photos, max description length,
request words). ``extra(inc, answers)`` may add answers and replies to a typed text (the road's
danger notice). Pure: no I/O besides ``Context`` look-ups.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from handlers import parsers
from handlers.flow import Accept, Context, Finish, Incoming, Invalid, Step
from services import knowledge, nlu, villages
from services.knowledge import t
from services.messages import Text, camera, camera_roll, location, postback, step_data

# Voice messages kept with one report (each is heard by staff on the case page).
MAX_VOICES = 3

Extra = Callable[[Incoming, dict[str, Any]], tuple[dict[str, Any], tuple[Text, ...]]]


def _no_extra(inc: Incoming, a: dict[str, Any]) -> tuple[dict[str, Any], tuple[Text, ...]]:
    return {}, ()


def voice_received(duration_ms: int | None) -> str:
    """「收到您的語音（12秒）」; without a length, without the seconds."""
    if duration_ms is None:
        return t("common.voice.received_plain")
    return t("common.voice.received", seconds=max(1, round(duration_ms / 1000)))


class ReportSteps:
    def __init__(self, flow_id: str, cfg: Callable[[], dict[str, Any]], extra: Extra | None = None,
                 duplicates_by_category: bool = True, offer_nearby: bool = True):
        self.flow_id = flow_id
        self.cfg = cfg
        self.extra = extra or _no_extra
        self.duplicates_by_category = duplicates_by_category
        # False: open cases near the place are never looked up nor offered to follow (dengue: the
        # person reported could otherwise follow, or learn of, the report about them).
        self.offer_nearby = offer_nearby

    def steps(self, *names: str) -> tuple[Step, ...]:
        """The shared steps by name, each with its usual rule for when it is asked."""
        table = {
            "category": (self.ask_category, self.parse_category, lambda a: not a.get("category")),
            "place": (self.ask_place, self.parse_place, lambda a: not self.place_known(a)),
            "village": (self.ask_village, self.parse_village, lambda a: not a.get("village")),
            "duplicate": (self.ask_duplicate, self.parse_duplicate, lambda a: bool(a.get("nearby"))),
            "photo": (self.ask_photo, self.parse_photo,
                      lambda a: not a.get("photos_done") and not a.get("photos")),
            "description": (self.ask_description, self.parse_description, lambda a: "description" not in a),
            "phone": (self.ask_phone, self.parse_phone, lambda a: bool(a.get("asking_phone"))),
        }
        kinds = {"place": {"free_text": True, "location": True}, "description": {"free_text": True},
                 "photo": {"lenient": True}}
        return tuple(Step(name, *table[name], **kinds.get(name, {})) for name in names)

    # -- words ----------------------------------------------------------------------------
    def key(self, rest: str) -> str:
        return f"{self.flow_id}.{rest}"

    def pb(self, step: str, value: str) -> str:
        return step_data(self.flow_id, step, value)

    def category_label(self, cat_id: str | None) -> str:
        labels = knowledge.raw(self.key("categories"))
        return labels.get(cat_id or "other", labels["other"])

    def detect_category(self, text: str) -> str | None:
        """The category a message names (typos and simplified characters included)."""
        norm = nlu.normalize(text)
        for cat in self.cfg()["categories"]:
            if nlu.has_any(norm, cat["words"]):
                return cat["id"]
        return None

    def _request_words(self) -> re.Pattern[str]:
        words = "|".join(re.escape(w) for w in self.cfg()["request_words"])
        return re.compile(rf"({words}|[\W_])")

    def description_from_entry(self, text: str) -> str | None:
        """Keep the first message as the description when it says more than "I want to report"."""
        core = self._request_words().sub("", text)
        for cat in self.cfg()["categories"]:
            for w in sorted(cat["words"], key=len, reverse=True):
                if core == w:
                    return None
        return text.strip()[: self.cfg()["max_description_chars"]] if len(core) >= 6 else None

    def clip(self, text: str) -> str:
        return text.strip()[: self.cfg()["max_description_chars"]]

    # -- category -------------------------------------------------------------------------
    def ask_category(self, a: dict[str, Any]) -> list[Text]:
        labels = knowledge.raw(self.key("categories"))
        items = tuple(postback(labels[c["id"]], self.pb("category", c["id"])) for c in self.cfg()["categories"])
        return [Text(t(self.key("category.ask")), items)]

    def parse_category(self, inc: Incoming, a: dict[str, Any], ctx: Context):
        ids = [c["id"] for c in self.cfg()["categories"]]
        if inc.kind == "postback" and inc.data.get("step") == "category" and inc.data.get("value") in ids:
            return Accept({"category": inc.data["value"]})
        if inc.kind == "text":
            choice = parsers.choice_number(inc.text, len(ids))
            if choice is not None:
                return Accept({"category": ids[choice]})
            labels = knowledge.raw(self.key("categories"))
            for cid in ids:
                if inc.text.strip() == labels[cid]:
                    return Accept({"category": cid})
            found = self.detect_category(inc.text)
            if found:
                extra = self.extra(inc, a)
                return Accept({"category": found, **extra[0]}, replies=extra[1])
        if inc.kind == "image":
            return self.photo_aside(inc, a)
        return Invalid()

    # -- place and village ----------------------------------------------------------------
    @staticmethod
    def place_known(a: dict[str, Any]) -> bool:
        return a.get("lat") is not None or bool(a.get("place_text"))

    def ask_place(self, a: dict[str, Any]) -> list[Text]:
        return [Text(t(self.key("place.ask")), (location(t(self.key("labels.send_location"))),))]

    def place_from_location(self, inc: Incoming, a: dict[str, Any], ctx: Context) -> Accept | Invalid:
        """A LINE location: place it in a village, or say it is not ours."""
        try:
            match = villages.locate(inc.lat, inc.lng)
        except ValueError:
            return Invalid()
        if match.status == "outside":
            return Accept({}, replies=(Text(t(self.key("place.outside"))),), stay=True)
        updates: dict[str, Any] = {"lat": round(inc.lat, 6), "lng": round(inc.lng, 6),
                                   "address": (inc.address or "")[:100] or None}
        if match.status == "inside":
            updates["village"] = match.village
            updates["village_candidates"] = None
        else:
            updates["village"] = None
            updates["village_candidates"] = list(match.candidates)
        if not self.offer_nearby:
            return Accept(updates)
        category = a.get("category") if self.duplicates_by_category else None
        updates["nearby"] = [
            {"ref": c.ref, "category": c.category, "distance": round(c.distance_m or 0),
             "date": c.created_at.strftime("%m/%d")}
            for c in ctx.nearby_open_cases(self.flow_id, category, inc.lat, inc.lng,
                                           self.cfg()["duplicate_radius_m"], self.cfg()["duplicate_days"])
        ]
        return Accept(updates)

    def parse_place(self, inc: Incoming, a: dict[str, Any], ctx: Context):
        if inc.kind == "location" and inc.lat is not None and inc.lng is not None:
            return self.place_from_location(inc, a, ctx)
        if inc.kind == "text":
            text = inc.text.strip()
            if len(text) < 2 or parsers.choice_number(text, 99) is not None:
                return Invalid()
            village = villages.find_village_in_text(text)
            extra = self.extra(inc, a)
            return Accept({"place_text": text[:200], "village": village, **extra[0]}, replies=extra[1])
        if inc.kind == "image":
            return self.photo_aside(inc, a)
        if inc.kind == "audio" and inc.message_id:
            # The place told by voice (staff listen); the village is asked with buttons.
            updates, replies, media = self.add_voice(inc, a)
            return Accept({**updates, "place_text": t("common.voice.place"), "village": None},
                          replies=replies, media=media)
        return Invalid()

    def ask_village(self, a: dict[str, Any]) -> list[Text]:
        names = a.get("village_candidates") or list(villages.village_names())
        key = self.key("place.boundary") if a.get("village_candidates") else self.key("village.ask")
        return [Text(t(key), tuple(postback(n, self.pb("village", n)) for n in names))]

    def parse_village(self, inc: Incoming, a: dict[str, Any], ctx: Context):
        names = villages.village_names()
        value = None
        if inc.kind == "postback" and inc.data.get("step") == "village":
            value = inc.data.get("value")
        elif inc.kind == "text":
            value = villages.find_village_in_text(inc.text) or inc.text.strip()
        if value in names:
            return Accept({"village": value})
        if inc.kind == "image":
            return self.photo_aside(inc, a)
        return Invalid()

    def place_summary(self, a: dict[str, Any]) -> str:
        """The village and the place; the village is not repeated when the typed place names it."""
        village = a.get("village") or ""
        parts = [village]
        if a.get("place_text"):
            if village and village in a["place_text"]:
                parts = []
            parts.append(a["place_text"])
        elif a.get("lat") is not None:
            parts.append(t(self.key("labels.pinned")))
        return " ".join(p for p in parts if p)

    # -- "is it this one?" ----------------------------------------------------------------
    def ask_duplicate(self, a: dict[str, Any]) -> list[Text]:
        lines = "\n".join(t(self.key("duplicate.item"), ref=n["ref"], category=self.category_label(n["category"]),
                            distance=n["distance"], date=n["date"]) for n in a["nearby"])
        items = tuple(postback(n["ref"], self.pb("duplicate", n["ref"])) for n in a["nearby"])
        items += (postback(t(self.key("duplicate.new")), self.pb("duplicate", "new")),)
        return [Text(t(self.key("duplicate.ask"), cases=lines), items)]

    def parse_duplicate(self, inc: Incoming, a: dict[str, Any], ctx: Context):
        refs = {n["ref"] for n in a["nearby"]}
        value = inc.data.get("value") if inc.kind == "postback" else None
        if inc.kind == "text":
            from services.submissions import normalize_ref
            value = normalize_ref(inc.text) or ("new" if parsers.is_no(inc.text) else None)
        if value in refs:
            return Finish((Text(t(self.key("duplicate.followed"), ref=value)),), follow_ref=value)
        if value == "new":
            return Accept({"nearby": [], "nearby_declined": True})
        return Invalid()

    # -- photos and description -----------------------------------------------------------
    def photo_buttons(self) -> tuple:
        return (camera(t(self.key("labels.camera"))), camera_roll(t(self.key("labels.camera_roll"))))

    def ask_photo(self, a: dict[str, Any]) -> list[Text]:
        return [Text(t(self.key("photo.ask")),
                     self.photo_buttons() + (postback(t("common.label.skip"), self.pb("photo", "skip")),))]

    def add_photo(self, inc: Incoming, a: dict[str, Any]) -> tuple[dict[str, Any], tuple[Text, ...], tuple[str, ...]]:
        photos = list(a.get("photos") or [])
        if inc.message_id in photos:
            return {}, (), ()
        if len(photos) >= self.cfg()["max_photos"]:
            return {}, (Text(t(self.key("photo.full"))),), ()
        photos.append(inc.message_id)
        return {"photos": photos}, (Text(t(self.key("photo.more"), count=len(photos))),), (inc.message_id,)

    def photo_aside(self, inc: Incoming, a: dict[str, Any]) -> Accept:
        """A photo sent at another step is kept; the step is asked again."""
        updates, replies, media = self.add_photo(inc, a)
        return Accept(updates, replies=replies, stay=True, media=media)

    def parse_photo(self, inc: Incoming, a: dict[str, Any], ctx: Context):
        if inc.kind == "image" and inc.message_id:
            updates, replies, media = self.add_photo(inc, a)
            return Accept({**updates, "photos_done": True}, replies=replies, media=media)
        if inc.kind == "audio" and inc.message_id:  # the problem told by voice instead of a photo
            updates, replies, media = self.add_voice(inc, a)
            return Accept({**updates, "photos_done": True, "description": a.get("description") or ""},
                          replies=replies, media=media)
        if inc.kind == "postback" and inc.data.get("value") in ("skip", "done"):
            return Accept({"photos_done": True})
        if inc.kind == "text":
            typed = nlu.normalize(inc.text)
            none = [nlu.normalize_word(t("common.label.skip")), *nlu.normalized_words(self.key("photo.none_words"))]
            if typed in none or (len(typed) <= 8 and any(len(w) >= 3 and w in typed for w in none)):
                return Accept({"photos_done": True})  # 「没有」, 「我不會拍照」: no photo
            if len(typed) >= 2:  # more about the problem, typed instead of a photo
                extra = self.extra(inc, a)
                return Accept({"photos_done": True, "description": self.more_description(a, inc.text), **extra[0]},
                              replies=extra[1])
        return Invalid()

    def more_description(self, a: dict[str, Any], text: str) -> str:
        """The description with a later message added to it, never replaced by it."""
        before, added = (a.get("description") or "").strip(), text.strip()
        if added in before:
            return before
        return self.clip(before + "；" + added if before else added)

    def ask_description(self, a: dict[str, Any]) -> list[Text]:
        return [Text(t(self.key("description.ask")),
                     self.photo_buttons() + (postback(t("common.label.skip"), self.pb("description", "skip")),))]

    def parse_description(self, inc: Incoming, a: dict[str, Any], ctx: Context):
        if inc.kind == "image" and inc.message_id:
            return self.photo_aside(inc, a)
        if inc.kind == "audio" and inc.message_id:  # a voice message is the description
            updates, replies, media = self.add_voice(inc, a)
            return Accept({**updates, "description": a.get("description") or ""}, replies=replies, media=media)
        if inc.kind == "postback" and inc.data.get("value") == "skip":
            return Accept({"description": ""})
        if inc.kind == "text" and inc.text.strip():
            replies: tuple[Text, ...] = ()
            if len(inc.text.strip()) > self.cfg()["max_description_chars"] or inc.truncated:
                replies = (Text(t(self.key("description.too_long"))),)
            extra = self.extra(inc, a)
            return Accept({"description": self.clip(inc.text), **extra[0]}, replies=extra[1] + replies)
        return Invalid()

    # -- voice messages: kept as the description, heard by staff --------------------------------
    def add_voice(self, inc: Incoming, a: dict[str, Any]) -> tuple[dict[str, Any], tuple[Text, ...], tuple[str, ...]]:
        """Keep a voice message (at most MAX_VOICES): the answers' update, the acknowledgement, and
        the message id to fetch from LINE right away."""
        voices = list(a.get("voices") or [])
        if any(v.get("id") == inc.message_id for v in voices):
            return {}, (), ()
        if len(voices) >= MAX_VOICES:
            return {}, (Text(t("common.voice.full", max=MAX_VOICES)),), ()
        voices.append({"id": inc.message_id, "ms": inc.duration_ms})
        return {"voices": voices}, (Text(voice_received(inc.duration_ms)),), (inc.message_id,)

    def media_at_confirm(self, inc: Incoming, a: dict[str, Any]) -> Accept | None:
        """A photo or a voice message sent at the summary: kept, and the summary shown again."""
        if inc.kind not in ("image", "audio") or not inc.message_id:
            return None
        add = self.add_photo if inc.kind == "image" else self.add_voice
        updates, replies, media = add(inc, a)
        return Accept(updates, replies=replies, goto="confirm", media=media)

    def voice_aside(self, inc: Incoming, a: dict[str, Any]) -> Accept:
        """A voice message at a step that cannot take it as its answer: kept; the step is asked again."""
        updates, replies, media = self.add_voice(inc, a)
        return Accept(updates, replies=replies, stay=True, media=media)

    @staticmethod
    def voices_from_tap(inc: Incoming) -> dict[str, Any]:
        """A report started from the buttons under a voice message sent outside any report
        (``voice=<message id>&ms=<length>``): that voice, already fetched, is kept with it."""
        mid = inc.data.get("voice") if inc.kind == "postback" else None
        if not mid or not re.fullmatch(r"[0-9A-Za-z]{1,40}", mid):
            return {}
        ms = inc.data.get("ms", "")
        # The voice says what the problem is: the description step is not asked.
        return {"voices": [{"id": mid, "ms": int(ms) if ms.isdigit() else None}], "description": ""}

    @staticmethod
    def media_ids(a: dict[str, Any]) -> tuple[str, ...]:
        """The message ids of the report's photos and voice messages, linked to the case at commit."""
        return tuple(a.get("photos") or ()) + tuple(v["id"] for v in a.get("voices") or ())

    def description_summary(self, a: dict[str, Any]) -> str:
        """The description as the summary shows it: the text, the voice messages (「語音 2 段」), or
        the words for none."""
        text, count = (a.get("description") or "").strip(), len(a.get("voices") or ())
        if count and text:
            return t("common.voice.with_text", description=text, count=count)
        if count:
            return t("common.voice.summary", count=count)
        return text or t(self.key("confirm.no_description"))

    # -- the optional phone (asked only when the resident chooses to leave one) ------------
    def ask_phone(self, a: dict[str, Any]) -> list[Text]:
        return [Text(t(self.key("phone.ask")), (postback(t(self.key("phone.skip")), self.pb("phone", "skip")),))]

    def parse_phone(self, inc: Incoming, a: dict[str, Any], ctx: Context):
        if inc.kind == "postback" and inc.data.get("value") == "skip":
            return Accept({"phone": None, "asking_phone": False}, goto="confirm")
        if inc.kind == "text":
            if inc.text.strip() in (t(self.key("phone.skip")), *knowledge.words("common.no_words")):
                return Accept({"phone": None, "asking_phone": False}, goto="confirm")
            phone = parsers.phone_in(inc.text)
            if phone:
                return Accept({"phone": phone, "asking_phone": False}, goto="confirm")
        return Invalid()
