"""The disaster report's confirmation: the summary, 「送出」, and what is stored (the case draft and
the facts the board counts)."""
from __future__ import annotations

from typing import Any

from handlers import parsers
from handlers.common import disaster_mode
from handlers.disaster.reading import FLOW_ID, VERSION, category_label, config
from handlers.disaster.steps import STEPS, pb, posted, step_options
from handlers.flow import Accept, Action, Context, Incoming, Invalid, Submit
from services.knowledge import t
from services.messages import Text, postback
from services.submissions import SubmissionDraft


def _count_text(a: dict[str, Any], key: str) -> str:
    return t("disaster.confirm.unknown_count") if a.get(f"{key}_unknown") else str(a.get(key) or 0)


def _details(a: dict[str, Any]) -> str:
    lines = []
    if a.get("trapped") or a.get("injured"):
        lines.append(t("disaster.confirm.detail_people", trapped=_count_text(a, "trapped"),
                       injured=_count_text(a, "injured")))
    for step, key in (("passable", "detail_passable"), ("water_depth", "detail_water"),
                      ("households", "detail_households"), ("evacuation", "detail_evacuation")):
        v = a.get(step)
        if v and v != "unknown":
            value = f"{a.get(step + '_value')}" if v == "typed" else step_options(step)[v]
            lines.append(t(f"disaster.confirm.{key}", value=value))
    if a.get("on_behalf"):
        lines.append(t("disaster.confirm.detail_behalf"))
    return "\n".join(lines)


def ask_confirm(a: dict[str, Any]) -> list[Text]:
    text = t("disaster.confirm.ask", category=category_label(a.get("category")), place=STEPS.place_summary(a),
             details=_details(a), photos=len(a.get("photos") or []),
             description=STEPS.description_summary(a),
             phone=a.get("phone") or t("disaster.confirm.no_phone"))
    text = "\n".join(line for line in text.splitlines() if line.strip())
    items = [postback(t("disaster.confirm.submit"), pb("confirm", "yes"))]
    if not a.get("phone") and not a.get("group"):
        items.append(postback(t("disaster.confirm.add_phone"), pb("confirm", "phone")))
    return [Text(text, tuple(items))]


def parse_confirm(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = posted(inc, "confirm")
    if inc.kind == "text":
        phone = parsers.phone_in(inc.text) if not a.get("group") else None
        if phone:
            return Accept({"phone": phone}, goto="confirm")
        if inc.text.strip() == t("disaster.confirm.add_phone") and not a.get("group"):
            value = "phone"
        elif parsers.is_yes(inc.text):
            value = "yes"
    kept = STEPS.media_at_confirm(inc, a)
    if kept is not None:
        return kept
    if value == "phone" and not a.get("group"):
        return Accept({"asking_phone": True}, goto="phone")
    if value == "yes":
        from services.disaster import receipt_next
        done = t("disaster.done", ref="{ref}", next=receipt_next(disaster_mode(ctx)))
        return Submit(draft(inc, a), (Text(done),),
                      actions=(Action("services.disaster:record_report", facts(a)),))
    return Invalid()


def facts(a: dict[str, Any]) -> dict[str, Any]:
    """What the board counts, from the answers (numbers from the options in knowledge/disaster.yaml)."""
    cfg = config()
    depth = a.get("water_depth")
    homes = a.get("households")
    return {
        "passable": a.get("passable") if a.get("passable") in cfg["passable"] else None,
        "water_depth_cm": a.get("water_depth_value") if depth == "typed" else cfg["water_depth_cm"].get(depth),
        "households": a.get("households_value") if homes == "typed" else cfg["households_min"].get(homes),
        "evacuation": a.get("evacuation") if a.get("evacuation") in cfg["evacuation"] else None,
        "trapped": int(a.get("trapped") or 0) if a.get("people") in ("trapped", "both") else 0,
        "injured": int(a.get("injured") or 0) if a.get("people") in ("injured", "both") else 0,
        "on_behalf": bool(a.get("on_behalf")),
    }


def draft(inc: Incoming, a: dict[str, Any]) -> SubmissionDraft:
    f = facts(a)
    kept = ("category", "village", "place_text", "address", "people", "passable", "water_depth", "households",
            "evacuation", "on_behalf", "group")
    return SubmissionDraft(
        kind=FLOW_ID, source_event_id=inc.event_id, line_user_id=inc.user_id, chat_id=inc.chat_id,
        flow_version=VERSION, category=a.get("category") or "other", village=a.get("village"),
        lat=a.get("lat"), lng=a.get("lng"), place_text=a.get("place_text") or a.get("address"),
        description=a.get("description") or None, phone=a.get("phone"),
        danger=bool(f["trapped"] or f["injured"]), owner_section=config()["owner_section"],
        photo_message_ids=STEPS.media_ids(a),
        answers={**{k: v for k, v in a.items() if k in kept}, **{k: f[k] for k in ("trapped", "injured")}},
    )

