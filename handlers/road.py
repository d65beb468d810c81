"""The road and infrastructure report (flow id ``road``, case prefix ``R``).

category -> place -> village (only if not known) -> "is it this one?" (only if an open
case of the same kind is near) -> photos -> description -> [phone] -> confirm.
The first message may already carry the category, the description and a photo or
a location; those steps are then skipped.
"""
from __future__ import annotations

import re
from typing import Any

from handlers import parsers
from handlers.flow import (Accept, Context, Finish, Flow, Incoming, Invalid, Outcome, Step, Submit, begin)
from services import knowledge, nlu, villages
from services.knowledge import t
from services.messages import Text, camera, camera_roll, location, postback
from services.submissions import SubmissionDraft

FLOW_ID = "road"
VERSION = 1
LABELS = ("road_report",)  # routing labels that begin this flow


def _cfg() -> dict[str, Any]:
    return knowledge.road()


def category_label(cat_id: str | None) -> str:
    labels = knowledge.raw("road.categories")
    return labels.get(cat_id or "other", labels["other"])


def detect_category(text: str) -> str | None:
    """The category a message names (typos and simplified characters included)."""
    norm = nlu.normalize(text)
    for cat in _cfg()["categories"]:
        if any(nlu.normalize_word(w) in norm for w in cat["words"]):
            return cat["id"]
    return None


def is_danger(text: str) -> bool:
    norm = nlu.normalize(text)
    return any(nlu.normalize_word(w) in norm for w in _cfg()["danger_words"])


def _request_words() -> re.Pattern[str]:
    words = "|".join(re.escape(w) for w in _cfg()["request_words"])
    return re.compile(rf"({words}|[\W_])")


def description_from_entry(text: str) -> str | None:
    """Keep the first message as the description when it says more than "I want to report"."""
    core = _request_words().sub("", text)
    for cat in _cfg()["categories"]:
        for w in sorted(cat["words"], key=len, reverse=True):
            if core == w:
                return None
    return text.strip()[: _cfg()["max_description_chars"]] if len(core) >= 6 else None


# --- steps -------------------------------------------------------------------------------

def _ask_category(a: dict[str, Any]) -> list[Text]:
    labels = knowledge.raw("road.categories")
    items = tuple(postback(labels[c["id"]], f"flow=road&step=category&value={c['id']}")
                  for c in _cfg()["categories"])
    return [Text(t("road.category.ask"), items)]


def _parse_category(inc: Incoming, a: dict[str, Any], ctx: Context):
    ids = [c["id"] for c in _cfg()["categories"]]
    if inc.kind == "postback" and inc.data.get("step") == "category" and inc.data.get("value") in ids:
        return Accept({"category": inc.data["value"]})
    if inc.kind == "text":
        choice = parsers.choice_number(inc.text, len(ids))
        if choice is not None:
            return Accept({"category": ids[choice]})
        labels = knowledge.raw("road.categories")
        for cid in ids:
            if inc.text.strip() == labels[cid]:
                return Accept({"category": cid})
        found = detect_category(inc.text)
        if found:
            extra = _danger_replies(inc, a)
            return Accept({"category": found, **extra[0]}, replies=extra[1])
    if inc.kind == "image":
        return _photo_aside(inc, a)
    return Invalid()


def _place_known(a: dict[str, Any]) -> bool:
    return a.get("lat") is not None or bool(a.get("place_text"))


def _ask_place(a: dict[str, Any]) -> list[Text]:
    return [Text(t("road.place.ask"), (location(t("road.labels.send_location")),))]


def place_from_location(inc: Incoming, a: dict[str, Any], ctx: Context) -> Accept | Invalid:
    """A LINE location: place it in a village, or say it is not ours."""
    try:
        match = villages.locate(inc.lat, inc.lng)
    except ValueError:
        return Invalid()
    if match.status == "outside":
        return Accept({}, replies=(Text(t("road.place.outside")),), stay=True)
    updates: dict[str, Any] = {"lat": round(inc.lat, 6), "lng": round(inc.lng, 6),
                               "address": (inc.address or "")[:100] or None}
    if match.status == "inside":
        updates["village"] = match.village
        updates["village_candidates"] = None
    else:
        updates["village"] = None
        updates["village_candidates"] = list(match.candidates)
    updates["nearby"] = [
        {"ref": c.ref, "category": c.category, "distance": round(c.distance_m or 0),
         "date": c.created_at.strftime("%m/%d")}
        for c in ctx.nearby_open_cases(FLOW_ID, a.get("category"), inc.lat, inc.lng,
                                       _cfg()["duplicate_radius_m"], _cfg()["duplicate_days"])
    ]
    return Accept(updates)


def _parse_place(inc: Incoming, a: dict[str, Any], ctx: Context):
    if inc.kind == "location" and inc.lat is not None and inc.lng is not None:
        return place_from_location(inc, a, ctx)
    if inc.kind == "text":
        text = inc.text.strip()
        if len(text) < 2 or parsers.choice_number(text, 99) is not None:
            return Invalid()
        village = villages.find_village_in_text(text)
        extra = _danger_replies(inc, a)
        return Accept({"place_text": text[:200], "village": village, **extra[0]}, replies=extra[1])
    if inc.kind == "image":
        return _photo_aside(inc, a)
    return Invalid()


def _ask_village(a: dict[str, Any]) -> list[Text]:
    names = a.get("village_candidates") or list(villages.village_names())
    key = "road.place.boundary" if a.get("village_candidates") else "road.village.ask"
    return [Text(t(key), tuple(postback(n, f"flow=road&step=village&value={n}") for n in names))]


def _parse_village(inc: Incoming, a: dict[str, Any], ctx: Context):
    names = villages.village_names()
    value = None
    if inc.kind == "postback" and inc.data.get("step") == "village":
        value = inc.data.get("value")
    elif inc.kind == "text":
        value = villages.find_village_in_text(inc.text) or inc.text.strip()
    if value in names:
        return Accept({"village": value})
    if inc.kind == "image":
        return _photo_aside(inc, a)
    return Invalid()


def _ask_duplicate(a: dict[str, Any]) -> list[Text]:
    lines = "\n".join(t("road.duplicate.item", ref=n["ref"], category=category_label(n["category"]),
                        distance=n["distance"], date=n["date"]) for n in a["nearby"])
    items = tuple(postback(n["ref"], f"flow=road&step=duplicate&value={n['ref']}") for n in a["nearby"])
    items += (postback(t("road.duplicate.new"), "flow=road&step=duplicate&value=new"),)
    return [Text(t("road.duplicate.ask", cases=lines), items)]


def _parse_duplicate(inc: Incoming, a: dict[str, Any], ctx: Context):
    refs = {n["ref"] for n in a["nearby"]}
    value = inc.data.get("value") if inc.kind == "postback" else None
    if inc.kind == "text":
        from services.submissions import normalize_ref
        value = normalize_ref(inc.text) or ("new" if parsers.is_no(inc.text) else None)
    if value in refs:
        return Finish((Text(t("road.duplicate.followed", ref=value)),), follow_ref=value)
    if value == "new":
        return Accept({"nearby": [], "nearby_declined": True})
    return Invalid()


def _photo_buttons() -> tuple:
    return (camera(t("road.labels.camera")), camera_roll(t("road.labels.camera_roll")))


def _ask_photo(a: dict[str, Any]) -> list[Text]:
    return [Text(t("road.photo.ask"), _photo_buttons() + (postback(t("common.label.skip"), "flow=road&step=photo&value=skip"),))]


def _add_photo(inc: Incoming, a: dict[str, Any]) -> tuple[dict[str, Any], tuple[Text, ...], tuple[str, ...]]:
    photos = list(a.get("photos") or [])
    if inc.message_id in photos:
        return {}, (), ()
    if len(photos) >= _cfg()["max_photos"]:
        return {}, (Text(t("road.photo.full")),), ()
    photos.append(inc.message_id)
    return {"photos": photos}, (Text(t("road.photo.more", count=len(photos))),), (inc.message_id,)


def _photo_aside(inc: Incoming, a: dict[str, Any]) -> Accept:
    """A photo sent at another step is kept; the step is asked again."""
    updates, replies, media = _add_photo(inc, a)
    return Accept(updates, replies=replies, stay=True, media=media)


def _parse_photo(inc: Incoming, a: dict[str, Any], ctx: Context):
    if inc.kind == "image" and inc.message_id:
        updates, replies, media = _add_photo(inc, a)
        return Accept({**updates, "photos_done": True}, replies=replies, media=media)
    if inc.kind == "postback" and inc.data.get("value") in ("skip", "done"):
        return Accept({"photos_done": True})
    if inc.kind == "text":
        if inc.text.strip() in (t("common.label.skip"), *knowledge.words("road.photo.none_words")):
            return Accept({"photos_done": True})
        if len(inc.text.strip()) >= 2:  # a description typed instead of a photo
            extra = _danger_replies(inc, a)
            return Accept({"photos_done": True, "description": _clip(inc.text), **extra[0]}, replies=extra[1])
    return Invalid()


def _clip(text: str) -> str:
    return text.strip()[: _cfg()["max_description_chars"]]


def _ask_description(a: dict[str, Any]) -> list[Text]:
    return [Text(t("road.description.ask"), _photo_buttons() + (postback(t("common.label.skip"), "flow=road&step=description&value=skip"),))]


def _parse_description(inc: Incoming, a: dict[str, Any], ctx: Context):
    if inc.kind == "image" and inc.message_id:
        return _photo_aside(inc, a)
    if inc.kind == "postback" and inc.data.get("value") == "skip":
        return Accept({"description": ""})
    if inc.kind == "text" and inc.text.strip():
        replies: tuple[Text, ...] = ()
        if len(inc.text.strip()) > _cfg()["max_description_chars"] or inc.truncated:
            replies = (Text(t("road.description.too_long")),)
        extra = _danger_replies(inc, a)
        return Accept({"description": _clip(inc.text), **extra[0]}, replies=extra[1] + replies)
    return Invalid()


def _ask_phone(a: dict[str, Any]) -> list[Text]:
    return [Text(t("road.phone.ask"), (postback(t("road.phone.skip"), "flow=road&step=phone&value=skip"),))]


def _parse_phone(inc: Incoming, a: dict[str, Any], ctx: Context):
    if inc.kind == "postback" and inc.data.get("value") == "skip":
        return Accept({"phone": None, "asking_phone": False}, goto="confirm")
    if inc.kind == "text":
        if inc.text.strip() in (t("road.phone.skip"), *knowledge.words("common.no_words")):
            return Accept({"phone": None, "asking_phone": False}, goto="confirm")
        phone = parsers.tw_phone(inc.text)
        if phone:
            return Accept({"phone": phone, "asking_phone": False}, goto="confirm")
    return Invalid()


def place_summary(a: dict[str, Any]) -> str:
    parts = [a.get("village") or ""]
    if a.get("place_text"):
        parts.append(a["place_text"])
    elif a.get("lat") is not None:
        parts.append(t("road.labels.pinned"))
    return " ".join(p for p in parts if p)


def _ask_confirm(a: dict[str, Any]) -> list[Text]:
    text = t("road.confirm.ask", category=category_label(a.get("category")), place=place_summary(a),
             photos=len(a.get("photos") or []),
             description=a.get("description") or t("road.confirm.no_description"),
             phone=a.get("phone") or t("road.confirm.no_phone"))
    items = [postback(t("road.confirm.submit"), "flow=road&step=confirm&value=yes")]
    if not a.get("phone"):
        items.append(postback(t("road.confirm.add_phone"), "flow=road&step=confirm&value=phone"))
    return [Text(text, tuple(items))]


def _parse_confirm(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = inc.data.get("value") if inc.kind == "postback" and inc.data.get("step") == "confirm" else None
    if inc.kind == "text":
        phone = parsers.tw_phone(inc.text)
        if phone:
            return Accept({"phone": phone}, goto="confirm")
        if inc.text.strip() == t("road.confirm.add_phone"):
            value = "phone"
        elif parsers.is_yes(inc.text):
            value = "yes"
    if inc.kind == "image" and inc.message_id:
        updates, replies, media = _add_photo(inc, a)
        return Accept(updates, replies=replies, goto="confirm", media=media)
    if value == "phone":
        return Accept({"asking_phone": True}, goto="phone")
    if value == "yes":
        return Submit(draft(inc, a), (Text(t("road.done", ref="{ref}")),))
    return Invalid()


def draft(inc: Incoming, a: dict[str, Any]) -> SubmissionDraft:
    village = a.get("village")
    return SubmissionDraft(
        kind=FLOW_ID, source_event_id=inc.event_id, line_user_id=inc.user_id, chat_id=inc.chat_id,
        flow_version=VERSION, category=a.get("category") or "other", village=village,
        lat=a.get("lat"), lng=a.get("lng"),
        place_text=a.get("place_text") or a.get("address"), description=a.get("description") or None,
        phone=a.get("phone"), danger=bool(a.get("danger")), owner_section=_cfg()["owner_section"],
        photo_message_ids=tuple(a.get("photos") or ()),
        answers={k: v for k, v in a.items() if k in ("category", "village", "place_text", "address", "danger")},
    )


def _danger_replies(inc: Incoming, a: dict[str, Any]) -> tuple[dict[str, Any], tuple[Text, ...]]:
    """The first time a message says the road is dangerous, give the emergency numbers first."""
    if inc.kind == "text" and not a.get("danger") and is_danger(inc.text):
        return {"danger": True}, (Text(t("road.danger")),)
    return {}, ()


FLOW = Flow(
    id=FLOW_ID,
    version=VERSION,
    steps=(
        Step("category", _ask_category, _parse_category, when=lambda a: not a.get("category")),
        Step("place", _ask_place, _parse_place, when=lambda a: not _place_known(a)),
        Step("village", _ask_village, _parse_village, when=lambda a: not a.get("village")),
        Step("duplicate", _ask_duplicate, _parse_duplicate, when=lambda a: bool(a.get("nearby"))),
        Step("photo", _ask_photo, _parse_photo, when=lambda a: not a.get("photos_done") and not a.get("photos")),
        Step("description", _ask_description, _parse_description, when=lambda a: "description" not in a),
        Step("phone", _ask_phone, _parse_phone, when=lambda a: bool(a.get("asking_phone"))),
        Step("confirm", _ask_confirm, _parse_confirm),
    ),
)


def start(inc: Incoming, ctx: Context, now: float) -> Outcome:
    """Open a road report from the first message: a menu tap, a sentence, a photo or a location."""
    answers: dict[str, Any] = {}
    pre: list[Text] = []
    media: tuple[str, ...] = ()
    if inc.kind == "text":
        cat = detect_category(inc.text)
        if cat:
            answers["category"] = cat
        desc = description_from_entry(inc.text)
        if desc:
            answers["description"] = desc
        if is_danger(inc.text):
            answers["danger"] = True
            pre.append(Text(t("road.danger")))
    elif inc.kind == "image" and inc.message_id:
        answers["photos"] = [inc.message_id]
        media = (inc.message_id,)
        pre.append(Text(t("common.image_outside_flow")))
    elif inc.kind == "postback" and inc.data.get("category"):
        answers["category"] = inc.data["category"]
    out = begin(FLOW, answers, pre, now)
    if inc.kind == "location" and inc.lat is not None:
        # A location sent first: ask the category, then use the location.
        out.state["pending_location"] = {"lat": inc.lat, "lng": inc.lng, "address": inc.address}
    return Outcome(replies=out.replies, state=out.state, media=media)
