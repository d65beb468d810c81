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
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from handlers import parsers
from handlers.common import disaster_mode, menu_buttons
from handlers.flow import (Accept, Action, Context, Flow, Incoming, Invalid, Outcome, Step, Submit, begin)
from handlers.report import ReportSteps
from services import knowledge, nlu, villages
from services.knowledge import t
from services.messages import Text, location, postback, step_data
from services.submissions import SubmissionDraft

FLOW_ID = "disaster"
VERSION = 1
SEVERITY_STEPS = ("water_depth", "passable", "households", "evacuation")


def _cfg() -> dict[str, Any]:
    return knowledge.load("disaster")


def _query(ctx: Context, name: str, default: Any = None, **kwargs: Any) -> Any:
    """A read-only look-up; contexts without a database (the ``route`` command) get the default."""
    query = getattr(ctx, "query", None)
    return default if query is None else query(name, **kwargs)


def category_ids() -> list[str]:
    return [c["id"] for c in _cfg()["categories"]]


def category_label(cat_id: str | None) -> str:
    return knowledge.category_label(FLOW_ID, cat_id or "other")


def _asks(category: str | None) -> list[str]:
    for c in _cfg()["categories"]:
        if c["id"] == category:
            return list(c["asks"])
    return []


def detect_category(text: str) -> str | None:
    norm = nlu.normalize(text)
    by_id = {c["id"]: c for c in _cfg()["categories"]}
    for cid in _cfg()["detect_order"]:
        if nlu.has_any(norm, by_id[cid]["words"]):
            return cid
    return None


def _without_negations(text: str) -> str:
    norm = nlu.normalize(text)
    for w in sorted(_cfg()["negations"], key=len, reverse=True):
        norm = norm.replace(nlu.normalize_word(w), "")
    return norm


def life_danger(text: str) -> bool:
    norm = _without_negations(text)
    return nlu.has_any(norm, _cfg()["life_danger_words"])


def _people_in(text: str) -> str | None:
    """trapped | injured | both, from words in a text (negations removed)."""
    norm = _without_negations(text)
    trapped = _has(norm, "trapped")
    injured = _has(norm, "injured")
    if trapped and injured:
        return "both"
    return "trapped" if trapped else "injured" if injured else None


def _has(norm: str, which: str) -> bool:
    return nlu.has_word(norm, f"disaster.people.words_{which}")


def _word_answer(step: str, text: str) -> str | None:
    """The answer to ``passable`` / ``water_depth`` a text already gives (「路斷了」 -> "no")."""
    norm = nlu.normalize(text)
    for value, words in _cfg()["first_message"][step].items():
        if nlu.has_any(norm, words):
            return str(value)
    return None


def _hints(text: str) -> dict[str, str]:
    """Answers a first message gives, kept until the category says whether they are asked."""
    found = {step: _word_answer(step, text) for step in ("passable", "water_depth")}
    return {k: v for k, v in found.items() if v}


def _with_hints(a: dict[str, Any], category: str) -> dict[str, Any]:
    """The hinted answers the category asks and that are not answered yet."""
    asks = _asks(category)
    return {k: v for k, v in (a.get("hints") or {}).items() if k in asks and k not in a}


def place_in_text(text: str) -> str | None:
    """A road or bridge named in a text (「南171線」, 「南168線 12K」), to keep as the place."""
    norm = parsers.normalize(text)
    for pattern in _cfg()["first_message"]["place_patterns"]:
        m = re.search(pattern, norm)
        if m:
            return m.group(0).strip()
    return None


def _notice(a: dict[str, Any], category: str | None) -> tuple[dict[str, Any], tuple[Text, ...]]:
    """The category's one-line notice, once per report (a road said to be cut counts as a hazard)."""
    if a.get("notice_told"):
        return {}, ()
    kind = _cfg()["notices"].get(category or "")
    if kind is None and (a.get("hints") or {}).get("passable") == "no":
        kind = "hazard"
    if kind is None:
        return {}, ()
    phones = {p["key"]: p["phone"] for p in _cfg()["emergency_phones"]}
    return {"notice_told": True}, (Text(t(f"disaster.notice.{kind}", taipower=phones["taipower"])),)


def _danger(inc: Incoming, a: dict[str, Any]) -> tuple[dict[str, Any], tuple[Text, ...]]:
    """The first time a typed answer says a life is in danger: 119 before anything else."""
    if inc.kind == "text" and not a.get("danger_told") and life_danger(inc.text):
        return {"danger_told": True}, (Text(t("disaster.danger")),)
    return {}, ()


# The steps shared with the other reports (handlers/report.py): place, village, photos, description,
# phone; with 119 first whenever a typed answer says a life is in danger.
STEPS = ReportSteps(FLOW_ID, _cfg, extra=_danger, duplicates_by_category=False)


def _hint(a: dict[str, Any], text: str) -> str:
    return f"{text}\n{t('disaster.group_hint')}" if a.get("group") else text


def _pb(step: str, value: Any) -> str:
    return step_data(FLOW_ID, step, value)


def _value(inc: Incoming, step: str) -> str | None:
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

def _ask_category(a: dict[str, Any]) -> list[Text]:
    return [Text(t("disaster.category.ask"),
                 tuple(postback(category_label(c), _pb("category", c)) for c in category_ids()))]


def _parse_category(inc: Incoming, a: dict[str, Any], ctx: Context):
    ids = category_ids()
    value = _value(inc, "category")
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
    updates, replies = _danger(inc, a)
    if cid == "people" and not a.get("danger_told") and not updates:
        updates, replies = {"danger_told": True}, (Text(t("disaster.danger")),)
    if inc.kind == "text" and "people" not in a:
        found = _people_in(inc.text)
        if found:
            updates["people"] = found
    if inc.kind == "text":
        a = {**a, "hints": {**(a.get("hints") or {}), **_hints(inc.text)}}
        updates["hints"] = a["hints"]
    updates.update(_with_hints(a, cid))
    told, notice = _notice(a, cid)
    return Accept({"category": cid, **updates, **told}, replies=replies + notice)


def _people_options() -> dict[str, str]:
    return {k: t(f"disaster.people.{k}") for k in ("trapped", "injured", "both", "none", "unknown")}


def _ask_people(a: dict[str, Any]) -> list[Text]:
    return [Text(t("disaster.people.ask"), tuple(postback(v, _pb("people", k)) for k, v in _people_options().items()))]


def _parse_people(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = _value(inc, "people")
    if inc.kind == "text":
        value = _option_from_text(inc.text, _people_options()) or _people_in(inc.text)
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
    counts = list(_cfg()["people_counts"])
    items = [postback(t("disaster.count_label", count=n) if n != counts[-1] else t("disaster.count_more"),
                      _pb(step, n)) for n in counts]
    items.append(postback(t("disaster.count_unknown"), _pb(step, "unknown")))
    return tuple(items)


def _count_step(step: str):
    def ask(a: dict[str, Any]) -> list[Text]:
        return [Text(_hint(a, t(f"disaster.{step}.ask")), _count_buttons(step))]

    def parse(inc: Incoming, a: dict[str, Any], ctx: Context):
        key = step.removesuffix("_count")
        value = _value(inc, step)
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
        texts[-1] = replace(texts[-1], text=_hint(a, texts[-1].text))
    return texts


def _ask_place(a: dict[str, Any]) -> list[Text]:
    return _with_hint(a, STEPS.ask_place(a))


def _parse_place(inc: Incoming, a: dict[str, Any], ctx: Context):
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


def _ask_village(a: dict[str, Any]) -> list[Text]:
    """The village; when the place came with the first message, say it and offer a location too."""
    if a.get("place_from_text") and a.get("place_text") and not a.get("village_candidates"):
        items = (location(t("disaster.labels.send_location")),) + tuple(
            postback(n, _pb("village", n)) for n in villages.village_names())
        return [Text(_hint(a, t("disaster.village.ask_with_place", place=a["place_text"])), items)]
    return _with_hint(a, STEPS.ask_village(a))


def _parse_village(inc: Incoming, a: dict[str, Any], ctx: Context):
    if inc.kind == "location" and inc.lat is not None and inc.lng is not None:
        result = STEPS.place_from_location(inc, a, ctx)
        if isinstance(result, Accept):
            updates = dict(result.updates)
            updates.pop("nearby", None)
            result = replace(result, updates=updates)
        return result
    return STEPS.parse_village(inc, a, ctx)


def _ask_description(a: dict[str, Any]) -> list[Text]:
    return _with_hint(a, STEPS.ask_description(a))


def _options(step: str) -> dict[str, str]:
    return dict(knowledge.raw(f"disaster.{step}.options"))


def _option_step(step: str):
    def ask(a: dict[str, Any]) -> list[Text]:
        return [Text(t(f"disaster.{step}.ask"), tuple(postback(v, _pb(step, k)) for k, v in _options(step).items()))]

    def parse(inc: Incoming, a: dict[str, Any], ctx: Context):
        opts = _options(step)
        value = _value(inc, step)
        if inc.kind == "text":
            value = _option_from_text(inc.text, opts)
            if value is None and step in ("passable", "water_depth"):
                value = _word_answer(step, inc.text)
            digits = re.sub(r"\D", "", parsers.normalize(inc.text))
            if value is None and digits and step in ("water_depth", "households") and int(digits) < 100000:
                return Accept({f"{step}_value": int(digits), step: "typed"})
        if value not in opts:
            if inc.kind == "image":
                return STEPS.photo_aside(inc, a)
            return Invalid()
        return Accept({step: value})

    return ask, parse


def _ask_behalf(a: dict[str, Any]) -> list[Text]:
    return [Text(t("disaster.behalf.ask"), (postback(t("disaster.behalf.self"), _pb("behalf", "self")),
                                            postback(t("disaster.behalf.resident"), _pb("behalf", "resident"))))]


def _parse_behalf(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = _value(inc, "behalf")
    if inc.kind == "text":
        value = {t("disaster.behalf.self"): "self", t("disaster.behalf.resident"): "resident"}.get(inc.text.strip())
    if value == "self":
        return Accept({"on_behalf": False})
    if value == "resident":
        if a.get("group"):
            return Accept({"on_behalf": True})
        return Accept({"on_behalf": True, "asking_phone": True})
    return Invalid()


def _ask_phone(a: dict[str, Any]) -> list[Text]:
    key = "disaster.phone.ask_resident" if a.get("on_behalf") else "disaster.phone.ask"
    return [Text(t(key), (postback(t("disaster.phone.skip"), _pb("phone", "skip")),))]


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
            value = f"{a.get(step + '_value')}" if v == "typed" else _options(step)[v]
            lines.append(t(f"disaster.confirm.{key}", value=value))
    if a.get("on_behalf"):
        lines.append(t("disaster.confirm.detail_behalf"))
    return "\n".join(lines)


def _ask_confirm(a: dict[str, Any]) -> list[Text]:
    text = t("disaster.confirm.ask", category=category_label(a.get("category")), place=STEPS.place_summary(a),
             details=_details(a), photos=len(a.get("photos") or []),
             description=STEPS.description_summary(a),
             phone=a.get("phone") or t("disaster.confirm.no_phone"))
    text = "\n".join(line for line in text.splitlines() if line.strip())
    items = [postback(t("disaster.confirm.submit"), _pb("confirm", "yes"))]
    if not a.get("phone") and not a.get("group"):
        items.append(postback(t("disaster.confirm.add_phone"), _pb("confirm", "phone")))
    return [Text(text, tuple(items))]


def _parse_confirm(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = _value(inc, "confirm")
    if inc.kind == "text":
        phone = parsers.phone_in(inc.text) if not a.get("group") else None
        if phone:
            return Accept({"phone": phone}, goto="confirm")
        if inc.text.strip() == t("disaster.confirm.add_phone") and not a.get("group"):
            value = "phone"
        elif parsers.is_yes(inc.text):
            value = "yes"
    if inc.kind == "image" and inc.message_id:
        updates, replies, media = STEPS.add_photo(inc, a)
        return Accept(updates, replies=replies, goto="confirm", media=media)
    if inc.kind == "audio" and inc.message_id:
        updates, replies, media = STEPS.add_voice(inc, a)
        return Accept(updates, replies=replies, goto="confirm", media=media)
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
    cfg = _cfg()
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
        danger=bool(f["trapped"] or f["injured"]), owner_section=_cfg()["owner_section"],
        photo_message_ids=STEPS.media_ids(a),
        answers={**{k: v for k, v in a.items() if k in kept}, **{k: f[k] for k in ("trapped", "injured")}},
    )


def _needs(step: str):
    return lambda a: step in _asks(a.get("category")) and step not in a


_trapped_ask, _trapped_parse = _count_step("trapped_count")
_injured_ask, _injured_parse = _count_step("injured_count")
_severity_steps = tuple(Step(s, *_option_step(s), when=_needs(s)) for s in SEVERITY_STEPS)

FLOW = Flow(
    id=FLOW_ID,
    version=VERSION,
    steps=(
        Step("category", _ask_category, _parse_category, when=lambda a: not a.get("category")),
        Step("people", _ask_people, _parse_people, when=lambda a: not a.get("people")),
        Step("trapped_count", _trapped_ask, _trapped_parse,
             when=lambda a: a.get("people") in ("trapped", "both") and "trapped" not in a),
        Step("injured_count", _injured_ask, _injured_parse,
             when=lambda a: a.get("people") in ("injured", "both") and "injured" not in a),
        Step("place", _ask_place, _parse_place, when=lambda a: not STEPS.place_known(a), free_text=True,
             location=True),
        Step("village", _ask_village, _parse_village, when=lambda a: not a.get("village")),
        *_severity_steps,
        *STEPS.steps("photo"),
        Step("description", _ask_description, STEPS.parse_description, when=lambda a: "description" not in a,
             free_text=True),
        Step("behalf", _ask_behalf, _parse_behalf, when=lambda a: bool(a.get("chief")) and "on_behalf" not in a),
        Step("phone", _ask_phone, STEPS.parse_phone, when=lambda a: bool(a.get("asking_phone")) and not a.get("group")),
        Step("confirm", _ask_confirm, _parse_confirm, lenient=True),
    ),
)


# --- entry and hooks ---------------------------------------------------------------------------

def _request_core(text: str) -> str:
    words = list(_cfg()["request_words"])
    pattern = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.sub(rf"({pattern}|[\W_])", "", text)


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
        people = _people_in(inc.text)
        if people:
            answers["people"] = people
        if life_danger(inc.text) or cat == "people":
            answers["danger_told"] = True
            pre.append(Text(t("disaster.danger")))
        hints = _hints(inc.text)
        if hints:
            answers["hints"] = hints
        if cat:
            answers.update(_with_hints(answers, cat))
        told, notice = _notice(answers, cat)
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
        if len(_request_core(inc.text)) >= 6:
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
    if inc.kind != "text" or not _urgent_words(inc.text):
        return None
    if state is None:
        return start(inc, ctx, now)
    if state.get("flow") != FLOW_ID:
        items = (postback(t("disaster.labels.report_new"), "cmd=switch&flow=disaster"),
                 postback(t("common.label.continue"), "cmd=continue"))
        return Outcome(replies=(Text(t("disaster.danger"), items),), keep_state=True)
    return None  # inside a disaster report the steps give 119 themselves


def in_danger(text: str) -> bool:
    """Does a text say that someone is in danger now (119 first)?"""
    return life_danger(text) or _urgent_words(text)


def _urgent_words(text: str) -> bool:
    norm = _without_negations(text)
    return nlu.has_word(norm, "disaster.urgent_words")


urgent_words_in = _urgent_words  # handlers/safety.py leaves these messages to ``urgent``


def _is_safe_word(text: str) -> bool:
    bare = re.sub(r"[\W_]+", "", parsers.normalize(text))
    return bare in knowledge.words("disaster.checkin.words")


def intercept(state: dict[str, Any] | None, inc: Incoming, ctx: Context, now: float) -> Outcome | None:
    if inc.kind == "text":
        from services.disaster.chiefs import parse_bind
        code = parse_bind(inc.text)
        # meta: what `route --json` and the evaluation call these (their replies come from the actions)
        meta = {"intent": "disaster_report", "topic": None, "confidence": 1.0}
        if code is not None:
            return Outcome(replies=(), actions=(Action("services.disaster.chiefs:bind", {"code": code}),), keep_state=True,
                           meta={**meta, "topic": "bind"})
        if _is_safe_word(inc.text) and (state is None or (state.get("flow") == FLOW_ID
                                                          and state.get("step") in ("category", "people"))):
            out = Outcome(replies=(), actions=(Action("services.disaster:checkin_safe"),),
                          meta={**meta, "topic": "checkin"})
            return out if state is not None else replace(out, keep_state=True)
    if inc.kind == "postback" and inc.data.get("action") == "disaster_info":
        return info(inc.data.get("topic", ""), active=state is not None, ctx=ctx)
    return None


def info(topic: str, active: bool = False, ctx: Context | None = None) -> Outcome:
    """The disaster menu's info buttons: shelters and sandbags, emergency phones."""
    cfg = _cfg()
    if topic == "danger":
        text = t("disaster.danger")
    elif topic == "shelter":
        depots = cfg["sandbag_depots"]
        text = t("disaster.shelter", year=str(depots["source_year"]), depots="、".join(depots["places"]))
    else:
        phones = {p["key"]: p["phone"] for p in cfg["emergency_phones"]}
        text = t("disaster.phones", water_resources=phones["water_resources"], taipower=phones["taipower"])
    return Outcome(replies=(Text(text, menu_buttons(active=active, ctx=ctx)),), keep_state=True)
