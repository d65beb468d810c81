"""Disaster reports (flow id ``disaster``, case prefix ``S``), village chiefs' binding and check-ins.

category -> people trapped or hurt (counts only if so) -> place -> village (only if not known)
-> how serious (per category: passable, water depth, households, evacuation) -> photos
-> description -> on behalf of a resident (bound chiefs only) -> [phone] -> confirm.

- People in danger get 119 first, before any question: from the first message, at the category
  「人員受困/受傷」, at the people question, or in any typed answer that says so.
- A road cut, landslide or flood gets a one-line safety notice (stay away, no crossing flowing water,
  detour; 1999 and the office), a power cut 台電 1911 (``notices`` in knowledge/disaster.yaml).
- What the first message already says is not asked again: a road named in it (南171線) is kept as the
  place and only the village or a location is asked; 「路斷了」 answers "can cars pass", 「淹到膝蓋」 the
  water depth (``first_message`` in knowledge/disaster.yaml).
- The receipt says what happens next by the mode: the EOC now, or the office in working hours.
- Anyone can report; a bound chief's report is marked verified when stored (``record_report``).
- Hooks: ``urgent`` keeps the bot quiet in groups (photos, locations and other people's buttons
  that are not for it) and answers "someone is trapped" with 119 outside a disaster report;
  ``intercept`` takes 「綁定 CODE」, 「平安」, the disaster menu's info buttons, and adds the
  report's facts (an action) to the confirmed case.
- In a group chat the bot never asks for a phone number, and typed answers need a mention.

The package: ``reading`` (what a message says: category, people, a road named, danger words, the
notices), ``steps`` (the questions up to the phone, and the report steps shared with the other
reports), ``confirm`` (the summary, the case draft and the board's facts); this module holds the flow
and the router's hooks (``start``, ``urgent``, ``intercept``) and the disaster menu's ``info``.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from handlers.common import menu_buttons
from handlers.disaster.confirm import ask_confirm, draft, facts, parse_confirm
from handlers.disaster.reading import (FLOW_ID, SEVERITY_STEPS, VERSION, asks_of, category_ids, category_label,
                                       category_words, config, detect_category, hints_in, in_danger, is_safe_word,
                                       life_danger, notice_for, people_in, place_in_text, request_core, urgent_words,
                                       urgent_words_in, with_hints)
from handlers.disaster.steps import (STEPS, ask_behalf, ask_category, ask_description, ask_people, ask_phone,
                                     ask_place, ask_village, count_step, option_step, parse_behalf, parse_category,
                                     parse_people, parse_place, parse_village)
from handlers.flow import Action, Context, Flow, Incoming, Outcome, Step, begin
from services import villages
from services.knowledge import t
from services.messages import Text, postback

__all__ = ["FLOW", "FLOW_ID", "STEPS", "VERSION", "category_ids", "category_label", "category_words",
           "detect_category", "draft", "facts", "in_danger", "info", "intercept", "life_danger", "place_in_text",
           "start", "urgent", "urgent_words_in"]


def _query(ctx: Context, name: str, default: Any = None, **kwargs: Any) -> Any:
    """A read-only look-up; contexts without a database (the ``route`` command) get the default."""
    query = getattr(ctx, "query", None)
    return default if query is None else query(name, **kwargs)


def _needs(step: str):
    return lambda a: step in asks_of(a.get("category")) and step not in a


_trapped_ask, _trapped_parse = count_step("trapped_count")
_injured_ask, _injured_parse = count_step("injured_count")
_severity_steps = tuple(Step(s, *option_step(s), when=_needs(s)) for s in SEVERITY_STEPS)

FLOW = Flow(
    id=FLOW_ID,
    version=VERSION,
    steps=(
        Step("category", ask_category, parse_category, when=lambda a: not a.get("category")),
        Step("people", ask_people, parse_people, when=lambda a: not a.get("people")),
        Step("trapped_count", _trapped_ask, _trapped_parse,
             when=lambda a: a.get("people") in ("trapped", "both") and "trapped" not in a),
        Step("injured_count", _injured_ask, _injured_parse,
             when=lambda a: a.get("people") in ("injured", "both") and "injured" not in a),
        Step("place", ask_place, parse_place, when=lambda a: not STEPS.place_known(a), free_text=True,
             location=True),
        Step("village", ask_village, parse_village, when=lambda a: not a.get("village")),
        *_severity_steps,
        *STEPS.steps("photo"),
        Step("description", ask_description, STEPS.parse_description, when=lambda a: "description" not in a,
             free_text=True),
        Step("behalf", ask_behalf, parse_behalf, when=lambda a: bool(a.get("chief")) and "on_behalf" not in a),
        Step("phone", ask_phone, STEPS.parse_phone, when=lambda a: bool(a.get("asking_phone")) and not a.get("group")),
        Step("confirm", ask_confirm, parse_confirm, lenient=True),
    ),
)


def start(inc: Incoming, ctx: Context, now: float) -> Outcome:
    """Open a disaster report: a menu tap, a check-in's 「回報災情」, a sentence, or a photo."""
    answers: dict[str, Any] = {}
    pre: list[Text] = []
    media: tuple[str, ...] = ()
    chief = _query(ctx, "services.disaster.chiefs:binding_for", user_id=inc.user_id) if inc.user_id else None
    if chief:
        answers["chief"] = {"village": chief["village"], "role": chief["role"], "villages": chief["villages"]}
    if inc.chat_type != "user":
        answers["group"] = True
    if inc.kind == "text":
        cat = detect_category(inc.text)
        if cat:
            answers["category"] = cat
        people = people_in(inc.text)
        if people:
            answers["people"] = people
        if life_danger(inc.text) or cat == "people":
            answers["danger_told"] = True
            pre.append(Text(t("disaster.danger")))
        hints = hints_in(inc.text)
        if hints:
            answers["hints"] = hints
        if cat:
            answers.update(with_hints(answers, cat))
        told, notice = notice_for(answers, cat)
        answers.update(told)
        pre.extend(notice)
        place = place_in_text(inc.text)
        village = villages.find_village_in_text(inc.text)
        if place:
            answers.update({"place_text": place, "place_from_text": True})
        if village:
            answers["village"] = village
        elif place and len((chief or {}).get("villages") or []) == 1:
            answers["village"] = chief["villages"][0]  # a chief reports the own village unless saying otherwise
        if len(request_core(inc.text)) >= 6:
            answers["description"] = STEPS.clip(inc.text)
    elif inc.kind == "image" and inc.message_id:
        answers["photos"] = [inc.message_id]
        media = (inc.message_id,)
    elif inc.kind == "postback" and inc.data.get("category") in category_ids():
        answers["category"] = inc.data["category"]
    answers.update(STEPS.voices_from_tap(inc))
    out = begin(FLOW, answers, pre, now)
    return Outcome(replies=out.replies, state=out.state, media=media)


def _silent() -> Outcome:
    return Outcome(keep_state=True)


def urgent(state: dict[str, Any] | None, inc: Incoming, ctx: Context, now: float) -> Outcome | None:
    in_group = inc.chat_type != "user"
    if in_group and state is None and inc.kind in ("image", "location"):
        return _silent()  # a photo or a place shared in the group, not an answer to the bot
    if in_group and inc.kind == "postback" and inc.data.get("step") and (
            state is None or state.get("flow") != inc.data.get("flow")):
        return _silent()  # another member's button: the question was not theirs
    if inc.kind != "text" or not urgent_words(inc.text):
        return None
    if state is None:
        return start(inc, ctx, now)
    if state.get("flow") != FLOW_ID:
        items = (postback(t("disaster.labels.report_new"), "cmd=switch&flow=disaster"),
                 postback(t("common.label.continue"), "cmd=continue"))
        return Outcome(replies=(Text(t("disaster.danger"), items),), keep_state=True)
    return None  # inside a disaster report the steps give 119 themselves



def intercept(state: dict[str, Any] | None, inc: Incoming, ctx: Context, now: float) -> Outcome | None:
    if inc.kind == "text":
        from services.disaster.chiefs import parse_bind
        code = parse_bind(inc.text)
        # meta: what `route --json` and the evaluation call these (their replies come from the actions)
        meta = {"intent": "disaster_report", "topic": None, "confidence": 1.0}
        if code is not None:
            return Outcome(replies=(), actions=(Action("services.disaster.chiefs:bind", {"code": code}),), keep_state=True,
                           meta={**meta, "topic": "bind"})
        if is_safe_word(inc.text) and (state is None or (state.get("flow") == FLOW_ID
                                                          and state.get("step") in ("category", "people"))):
            out = Outcome(replies=(), actions=(Action("services.disaster:checkin_safe"),),
                          meta={**meta, "topic": "checkin"})
            return out if state is not None else replace(out, keep_state=True)
    if inc.kind == "postback" and inc.data.get("action") == "disaster_info":
        return info(inc.data.get("topic", ""), active=state is not None, ctx=ctx)
    return None


def info(topic: str, active: bool = False, ctx: Context | None = None) -> Outcome:
    """The disaster menu's info buttons: shelters and sandbags, emergency phones."""
    cfg = config()
    if topic == "danger":
        text = t("disaster.danger")
    elif topic == "shelter":
        depots = cfg["sandbag_depots"]
        text = t("disaster.shelter", year=str(depots["source_year"]), depots="、".join(depots["places"]))
    else:
        phones = {p["key"]: p["phone"] for p in cfg["emergency_phones"]}
        text = t("disaster.phones", water_resources=phones["water_resources"], taipower=phones["taipower"])
    return Outcome(replies=(Text(text, menu_buttons(active=active, ctx=ctx)),), keep_state=True)
