"""The road and infrastructure report (flow id ``road``, case prefix ``R``).

category -> place -> village (only if not known) -> "is it this one?" (only if an open
case of the same kind is near) -> photos -> description -> [phone] -> confirm.
The first message may already carry the category, the description and a photo or
a location; those steps are then skipped.
"""
from __future__ import annotations

from typing import Any

from handlers import parsers
from handlers.flow import Accept, Context, Flow, Incoming, Invalid, Outcome, Step, Submit, begin
from handlers.report import ReportSteps
from services import knowledge, nlu
from services.knowledge import t
from services.messages import Text, postback, step_data
from services.submissions import SubmissionDraft

FLOW_ID = "road"
VERSION = 1


def _cfg() -> dict[str, Any]:
    return knowledge.road()


def _danger_replies(inc: Incoming, a: dict[str, Any]) -> tuple[dict[str, Any], tuple[Text, ...]]:
    """The first time a message says the road is dangerous, give the emergency numbers first."""
    if inc.kind == "text" and not a.get("danger") and is_danger(inc.text):
        return {"danger": True}, (Text(t("road.danger")),)
    return {}, ()


# The steps shared with the other reports (handlers/report.py), with the road's danger notice.
STEPS = ReportSteps(FLOW_ID, _cfg, extra=_danger_replies)
category_label = STEPS.category_label
detect_category = STEPS.detect_category
description_from_entry = STEPS.description_from_entry
place_from_location = STEPS.place_from_location
place_summary = STEPS.place_summary


def is_danger(text: str) -> bool:
    norm = nlu.normalize(text)
    return nlu.has_any(norm, _cfg()["danger_words"])


def _ask_confirm(a: dict[str, Any]) -> list[Text]:
    text = t("road.confirm.ask", category=category_label(a.get("category")), place=place_summary(a),
             photos=len(a.get("photos") or []),
             description=STEPS.description_summary(a),
             phone=a.get("phone") or t("road.confirm.no_phone"))
    items = [postback(t("road.confirm.submit"), step_data(FLOW_ID, "confirm", "yes"))]
    if not a.get("phone"):
        items.append(postback(t("road.confirm.add_phone"), step_data(FLOW_ID, "confirm", "phone")))
    return [Text(text, tuple(items))]


def _parse_confirm(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = inc.data.get("value") if inc.kind == "postback" and inc.data.get("step") == "confirm" else None
    if inc.kind == "text":
        phone = parsers.phone_in(inc.text)
        if phone:
            return Accept({"phone": phone}, goto="confirm")
        if inc.text.strip() == t("road.confirm.add_phone"):
            value = "phone"
        elif parsers.is_yes(inc.text):
            value = "yes"
        elif len(nlu.normalize(inc.text)) >= 4 and not parsers.is_no(inc.text):
            # more detail typed at the summary (「整條路都擋住了」): added to the description, shown again
            return Accept({"description": STEPS.more_description(a, inc.text)}, goto="confirm")
    kept = STEPS.media_at_confirm(inc, a)
    if kept is not None:
        return kept
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
        photo_message_ids=STEPS.media_ids(a),
        answers={k: v for k, v in a.items() if k in ("category", "village", "place_text", "address", "danger")},
    )


FLOW = Flow(
    id=FLOW_ID,
    version=VERSION,
    steps=(
        *STEPS.steps("category", "place", "village", "duplicate", "photo", "description", "phone"),
        Step("confirm", _ask_confirm, _parse_confirm, lenient=True),
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
    answers.update(STEPS.voices_from_tap(inc))
    out = begin(FLOW, answers, pre, now)
    if inc.kind == "location" and inc.lat is not None:
        # A location sent first: ask the category, then use the location.
        out.state["pending_location"] = {"lat": inc.lat, "lng": inc.lng, "address": inc.address}
    return Outcome(replies=out.replies, state=out.state, media=media)
