"""The disaster report's questions and how a typed or tapped answer is read, up to the phone
(the confirmation is handlers/disaster/confirm.py)."""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from handlers import parsers
from handlers.disaster.reading import (FLOW_ID, category_ids, category_label, config, danger_first, detect_category,
                                       hints_in, notice_for, people_in, with_hints, word_answer)
from handlers.flow import Accept, Context, Incoming, Invalid
from handlers.report import ReportSteps
from services import knowledge, villages
from services.knowledge import t
from services.messages import Text, location, postback, step_data

# The steps shared with the other reports (handlers/report.py): place, village, photos, description,
# phone; with 119 first whenever a typed answer says a life is in danger.
STEPS = ReportSteps(FLOW_ID, config, extra=danger_first, duplicates_by_category=False)


def group_hint(a: dict[str, Any], text: str) -> str:
    return f"{text}\n{t('disaster.group_hint')}" if a.get("group") else text


def pb(step: str, value: Any) -> str:
    return step_data(FLOW_ID, step, value)


def posted(inc: Incoming, step: str) -> str | None:
    if inc.kind == "postback" and inc.data.get("step") == step:
        return inc.data.get("value")
    return None


def _option_from_text(text: str, options: dict[str, str]) -> str | None:
    """A typed answer that is an option's label (or its number)."""
    keys = list(options)
    choice = parsers.choice_number(text, len(keys))
    if choice is not None:
        return keys[choice]
    bare = parsers.normalize(text)
    for k, label in options.items():
        if bare == label or bare == label.split("（")[0]:
            return k
    return None


# --- steps -------------------------------------------------------------------------------------

def ask_category(a: dict[str, Any]) -> list[Text]:
    return [Text(t("disaster.category.ask"),
                 tuple(postback(category_label(c), pb("category", c)) for c in category_ids()))]


def parse_category(inc: Incoming, a: dict[str, Any], ctx: Context):
    ids = category_ids()
    value = posted(inc, "category")
    if value in ids:
        return _category_chosen(value, inc, a)
    if inc.kind == "text":
        choice = parsers.choice_number(inc.text, len(ids))
        if choice is not None:
            return _category_chosen(ids[choice], inc, a)
        for cid in ids:
            if inc.text.strip() == category_label(cid):
                return _category_chosen(cid, inc, a)
        found = detect_category(inc.text)
        if found:
            return _category_chosen(found, inc, a)
    if inc.kind == "image":
        return STEPS.photo_aside(inc, a)
    return Invalid()


def _category_chosen(cid: str, inc: Incoming, a: dict[str, Any]) -> Accept:
    updates, replies = danger_first(inc, a)
    if cid == "people" and not a.get("danger_told") and not updates:
        updates, replies = {"danger_told": True}, (Text(t("disaster.danger")),)
    if inc.kind == "text" and "people" not in a:
        found = people_in(inc.text)
        if found:
            updates["people"] = found
    if inc.kind == "text":
        a = {**a, "hints": {**(a.get("hints") or {}), **hints_in(inc.text)}}
        updates["hints"] = a["hints"]
    updates.update(with_hints(a, cid))
    told, notice = notice_for(a, cid)
    return Accept({"category": cid, **updates, **told}, replies=replies + notice)


def _people_options() -> dict[str, str]:
    return {k: t(f"disaster.people.{k}") for k in ("trapped", "injured", "both", "none", "unknown")}


def ask_people(a: dict[str, Any]) -> list[Text]:
    return [Text(t("disaster.people.ask"), tuple(postback(v, pb("people", k)) for k, v in _people_options().items()))]


def parse_people(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = posted(inc, "people")
    if inc.kind == "text":
        value = _option_from_text(inc.text, _people_options()) or people_in(inc.text)
        if value is None and parsers.is_no(inc.text):
            value = "none"
    if value not in _people_options():
        return Invalid()
    updates: dict[str, Any] = {"people": value}
    replies: tuple[Text, ...] = ()
    if value in ("trapped", "injured", "both") and not a.get("danger_told"):
        updates["danger_told"] = True
        replies = (Text(t("disaster.danger")),)
    return Accept(updates, replies=replies)


def _count_buttons(step: str) -> tuple:
    counts = list(config()["people_counts"])
    items = [postback(t("disaster.count_label", count=n) if n != counts[-1] else t("disaster.count_more"),
                      pb(step, n)) for n in counts]
    items.append(postback(t("disaster.count_unknown"), pb(step, "unknown")))
    return tuple(items)


def count_step(step: str):
    def ask(a: dict[str, Any]) -> list[Text]:
        return [Text(group_hint(a, t(f"disaster.{step}.ask")), _count_buttons(step))]

    def parse(inc: Incoming, a: dict[str, Any], ctx: Context):
        key = step.removesuffix("_count")
        value = posted(inc, step)
        if inc.kind == "text":
            digits = re.sub(r"\D", "", parsers.normalize(inc.text))
            if digits and 0 < int(digits) < 1000:
                value = digits
            elif inc.text.strip() == t("disaster.count_unknown"):
                value = "unknown"
        if value == "unknown":
            return Accept({key: 1, f"{key}_unknown": True})  # at least one, the reporter said so
        if value and str(value).isdigit() and int(value) > 0:
            return Accept({key: int(value)})
        return Invalid()

    return ask, parse


def _with_hint(a: dict[str, Any], texts: list[Text]) -> list[Text]:
    if a.get("group") and texts:
        texts[-1] = replace(texts[-1], text=group_hint(a, texts[-1].text))
    return texts


def ask_place(a: dict[str, Any]) -> list[Text]:
    return _with_hint(a, STEPS.ask_place(a))


def parse_place(inc: Incoming, a: dict[str, Any], ctx: Context):
    result = STEPS.parse_place(inc, a, ctx)
    if isinstance(result, Accept):
        updates = dict(result.updates)
        updates.pop("nearby", None)  # every disaster report is kept; the EOC marks duplicates
        chief = a.get("chief") or {}
        if "place_text" in updates and not updates.get("village") and a.get("village"):
            updates["village"] = a["village"]  # named in the first message
        if "place_text" in updates and not updates.get("village") and len(chief.get("villages") or []) == 1:
            updates["village"] = chief["villages"][0]  # a chief reports the own village unless saying otherwise
        result = replace(result, updates=updates)
    return result


def ask_village(a: dict[str, Any]) -> list[Text]:
    """The village; when the place came with the first message, say it and offer a location too."""
    if a.get("place_from_text") and a.get("place_text") and not a.get("village_candidates"):
        items = (location(t("disaster.labels.send_location")),) + tuple(
            postback(n, pb("village", n)) for n in villages.village_names())
        return [Text(group_hint(a, t("disaster.village.ask_with_place", place=a["place_text"])), items)]
    return _with_hint(a, STEPS.ask_village(a))


def parse_village(inc: Incoming, a: dict[str, Any], ctx: Context):
    if inc.kind == "location" and inc.lat is not None and inc.lng is not None:
        result = STEPS.place_from_location(inc, a, ctx)
        if isinstance(result, Accept):
            updates = dict(result.updates)
            updates.pop("nearby", None)
            result = replace(result, updates=updates)
        return result
    return STEPS.parse_village(inc, a, ctx)


def ask_description(a: dict[str, Any]) -> list[Text]:
    return _with_hint(a, STEPS.ask_description(a))


def step_options(step: str) -> dict[str, str]:
    return dict(knowledge.raw(f"disaster.{step}.options"))


def option_step(step: str):
    def ask(a: dict[str, Any]) -> list[Text]:
        return [Text(t(f"disaster.{step}.ask"), tuple(postback(v, pb(step, k)) for k, v in step_options(step).items()))]

    def parse(inc: Incoming, a: dict[str, Any], ctx: Context):
        opts = step_options(step)
        value = posted(inc, step)
        if inc.kind == "text":
            value = _option_from_text(inc.text, opts)
            if value is None and step in ("passable", "water_depth"):
                value = word_answer(step, inc.text)
            digits = re.sub(r"\D", "", parsers.normalize(inc.text))
            if value is None and digits and step in ("water_depth", "households") and int(digits) < 100000:
                return Accept({f"{step}_value": int(digits), step: "typed"})
        if value not in opts:
            if inc.kind == "image":
                return STEPS.photo_aside(inc, a)
            return Invalid()
        return Accept({step: value})

    return ask, parse


def ask_behalf(a: dict[str, Any]) -> list[Text]:
    return [Text(t("disaster.behalf.ask"), (postback(t("disaster.behalf.self"), pb("behalf", "self")),
                                            postback(t("disaster.behalf.resident"), pb("behalf", "resident"))))]


def parse_behalf(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = posted(inc, "behalf")
    if inc.kind == "text":
        value = {t("disaster.behalf.self"): "self", t("disaster.behalf.resident"): "resident"}.get(inc.text.strip())
    if value == "self":
        return Accept({"on_behalf": False})
    if value == "resident":
        if a.get("group"):
            return Accept({"on_behalf": True})
        return Accept({"on_behalf": True, "asking_phone": True})
    return Invalid()


def ask_phone(a: dict[str, Any]) -> list[Text]:
    key = "disaster.phone.ask_resident" if a.get("on_behalf") else "disaster.phone.ask"
    return [Text(t(key), (postback(t("disaster.phone.skip"), pb("phone", "skip")),))]

