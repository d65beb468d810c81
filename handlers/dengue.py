"""Dengue (flow id ``dengue``, case prefix ``D``): breeding-site reports, symptom advice,
information from knowledge/, and the weekly 巡倒清刷 reminder.

The report: kind of site -> place (LINE location or typed address) -> village (only if not
known) -> photos (0-3) -> a short note ->
named or anonymous (1:1 chats) -> [phone, named only] -> confirm, which shows the 巡倒清刷
self-check first ("I cleared it myself" ends it without a case). The shared steps come from
handlers/report.py.

An anonymous report stores no LINE user id, no chat, no phone, and its case cannot be joined to
the reporter's event or photos (``services.dengue.anonymise`` runs in the same transaction);
the reporter still gets the case number, and is told there are no status pushes.

Hooks (handlers/router.py):
- ``urgent``: a message describing a fever with the typical signs gets "see a doctor, tell them
  T.O.C.C., NS1, 1922"; any warning sign gets "go to the emergency room now / call 119" first,
  in the middle of any conversation. It never says whether someone has dengue.
- ``intercept``: 「訂閱防疫提醒」/「取消提醒」 and the postbacks ``dengue=...`` (information topics,
  subscribe with a village, unsubscribe); the final "send" of an anonymous report (to add the
  anonymising action).
- ``ANSWERS["dengue_info"]``: prevention, fines, the golden week after rain, symptoms, the
  volunteer team, each an entry of knowledge/faq/ with its sources.
"""
from __future__ import annotations

from dataclasses import replace

from typing import Any

from handlers import parsers
from handlers.flow import (Accept, Action, Context, Finish, Flow, Incoming, Invalid, Outcome, Step, Submit, ask,
                           begin)
from handlers.report import ReportSteps
from services import dengue as domain
from services import faq as faq_data
from services import nlu, villages
from services.knowledge import t
from services.messages import MAX_QUICK_REPLIES, QuickReply, Text, postback
from services.nlu import Intent
from services.submissions import SubmissionDraft

FLOW_ID = "dengue"
VERSION = 1
SUBSCRIBE_STEP = "subscribe"


def _cfg() -> dict[str, Any]:
    return domain.cfg()


# No "is it this one?": a dengue report is never offered to another resident to follow, nor is its
# existence near a place told (the person reported could drop a pin at their own house). Staff
# mark duplicates in the dashboard. The step stays in the flow only for conversations saved before.
STEPS = ReportSteps(FLOW_ID, _cfg, duplicates_by_category=False, offer_nearby=False)


# --- named or anonymous --------------------------------------------------------------------------

def _ask_identity(a: dict[str, Any]) -> list[Text]:
    return [Text(t("dengue.identity.ask"),
                 (postback(t("dengue.identity.named"), STEPS.pb("identity", "named")),
                  postback(t("dengue.identity.anonymous"), STEPS.pb("identity", "anonymous"))))]


def _parse_identity(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = inc.data.get("value") if inc.kind == "postback" and inc.data.get("step") == "identity" else None
    if inc.kind == "text":
        bare = nlu.normalize(inc.text)
        if bare in nlu.normalized_words("dengue.identity.anonymous_words"):
            value = "anonymous"
        elif bare in nlu.normalized_words("dengue.identity.named_words"):
            value = "named"
    if inc.kind == "image" and inc.message_id:
        return STEPS.photo_aside(inc, a)
    if value == "anonymous":
        return Accept({"anonymous": True, "phone": None})
    if value == "named":
        return Accept({"anonymous": False})
    return Invalid()


# --- confirm --------------------------------------------------------------------------------------

def _ask_confirm(a: dict[str, Any]) -> list[Text]:
    anonymous = bool(a.get("anonymous"))
    phone_line = "" if anonymous else t("dengue.confirm.phone_line",
                                         phone=a.get("phone") or t("dengue.confirm.no_phone"))
    text = t("dengue.confirm.ask", self_check=t("dengue.confirm.self_check"),
             category=STEPS.category_label(a.get("category")), place=STEPS.place_summary(a),
             photos=len(a.get("photos") or []),
             description=STEPS.description_summary(a),
             identity=t("dengue.confirm.anonymous" if anonymous else "dengue.confirm.named"), phone_line=phone_line)
    text = "\n".join(line for line in text.splitlines() if line.strip())
    items = [postback(t("dengue.confirm.submit"), STEPS.pb("confirm", "yes"))]
    if not anonymous and not a.get("phone"):
        items.append(postback(t("dengue.confirm.add_phone"), STEPS.pb("confirm", "phone")))
    if "anonymous" in a and not a.get("group"):
        key = "dengue.confirm.to_named" if anonymous else "dengue.confirm.to_anonymous"
        items.append(postback(t(key), STEPS.pb("confirm", "named" if anonymous else "anonymous")))
    items.append(postback(t("dengue.confirm.solved"), STEPS.pb("confirm", "solved")))
    return [Text(text, tuple(items))]


def _confirm_value(inc: Incoming) -> str | None:
    if inc.kind == "postback" and inc.data.get("step") == "confirm":
        return inc.data.get("value")
    if inc.kind == "text":
        text = inc.text.strip()
        for value, key in (("phone", "dengue.confirm.add_phone"), ("solved", "dengue.confirm.solved"),
                           ("anonymous", "dengue.confirm.to_anonymous"), ("named", "dengue.confirm.to_named")):
            if text == t(key):
                return value
        if parsers.is_yes(text):
            return "yes"
    return None


def _parse_confirm(inc: Incoming, a: dict[str, Any], ctx: Context):
    anonymous = bool(a.get("anonymous"))
    if inc.kind == "text" and not anonymous:
        phone = parsers.phone_in(inc.text)
        if phone:
            return Accept({"phone": phone}, goto="confirm")
    kept = STEPS.media_at_confirm(inc, a)
    if kept is not None:
        return kept
    value = _confirm_value(inc)
    if value == "phone" and not anonymous:
        return Accept({"asking_phone": True}, goto="phone")
    if value == "anonymous" and "anonymous" in a and not a.get("group"):
        return Accept({"anonymous": True, "phone": None}, goto="confirm")
    if value == "named" and "anonymous" in a:
        return Accept({"anonymous": False}, goto="confirm")
    if value == "solved":
        return Finish((Text(t("dengue.solved"), _after_buttons()),))
    if value == "yes":
        key = "dengue.done_anonymous" if anonymous else "dengue.done"
        return Submit(draft(inc, a), (Text(t(key, ref="{ref}"), _after_buttons()),))
    return Invalid()


def draft(inc: Incoming, a: dict[str, Any]) -> SubmissionDraft:
    anonymous = bool(a.get("anonymous"))
    answers = {k: v for k, v in a.items() if k in ("category", "village", "place_text", "address")}
    answers["anonymous"] = anonymous
    return SubmissionDraft(
        kind=FLOW_ID, source_event_id=inc.event_id,
        line_user_id=None if anonymous else inc.user_id, chat_id=None if anonymous else inc.chat_id,
        flow_version=VERSION, category=a.get("category") or "other", village=a.get("village"),
        lat=a.get("lat"), lng=a.get("lng"), place_text=a.get("place_text") or a.get("address"),
        description=a.get("description") or None, phone=None if anonymous else a.get("phone"),
        owner_section=_cfg()["owner_section"], photo_message_ids=STEPS.media_ids(a),
        answers=answers,
    )


# --- the subscribe step (reached only from 「訂閱防疫提醒」; answered in ``intercept``) ------------

def _village_buttons() -> tuple[QuickReply, ...]:
    items = tuple(postback(n, f"dengue=subscribe&village={n}") for n in villages.village_names())
    return (postback(t("dengue.subscribe.all"), "dengue=subscribe&village=all"),) + items


def _ask_subscribe(a: dict[str, Any]) -> list[Text]:
    return [Text(t("dengue.subscribe.ask"), _village_buttons()[:11])]


def _parse_subscribe(inc: Incoming, a: dict[str, Any], ctx: Context):
    return Invalid()  # answers are taken by ``intercept``; anything else asks again


FLOW = Flow(
    id=FLOW_ID,
    version=VERSION,
    steps=(
        *STEPS.steps("category", "place", "village", "duplicate", "photo", "description"),
        Step("identity", _ask_identity, _parse_identity, when=lambda a: "anonymous" not in a),
        *STEPS.steps("phone"),
        Step("confirm", _ask_confirm, _parse_confirm, lenient=True),
        Step(SUBSCRIBE_STEP, _ask_subscribe, _parse_subscribe, when=lambda a: False),
    ),
)


def start(inc: Incoming, ctx: Context, now: float) -> Outcome:
    """Open a report from the first message: a menu tap, a sentence, a photo or a location."""
    answers: dict[str, Any] = {}
    pre: list[Text] = []
    media: tuple[str, ...] = ()
    if inc.chat_type != "user":
        answers.update(anonymous=False, group=True)  # the group sees who writes: no anonymous reports
    if inc.kind == "text":
        cat = STEPS.detect_category(inc.text)
        if cat:
            answers["category"] = cat
        desc = STEPS.description_from_entry(inc.text)
        if desc:
            answers["description"] = desc
    elif inc.kind == "image" and inc.message_id:
        answers["photos"] = [inc.message_id]
        media = (inc.message_id,)
    elif inc.kind == "postback" and inc.data.get("category"):
        answers["category"] = inc.data["category"]
    answers.update(STEPS.voices_from_tap(inc))
    out = begin(FLOW, answers, pre, now)
    if inc.kind == "location" and inc.lat is not None:
        out.state["pending_location"] = {"lat": inc.lat, "lng": inc.lng, "address": inc.address}
    return Outcome(replies=out.replies, state=out.state, media=media)


# --- symptoms: checked before anything else ------------------------------------------------------

def _active(state: dict[str, Any] | None) -> bool:
    return bool(state and state.get("flow") and state.get("step"))


def _continue_buttons() -> tuple[QuickReply, ...]:
    return (postback(t("common.label.continue"), "cmd=continue"), postback(t("common.label.cancel"), "cmd=cancel"))


def urgent(state: dict[str, Any] | None, inc: Incoming, ctx: Context, now: float) -> Outcome | None:
    if inc.kind != "text":
        return None
    level = domain.symptom_level(inc.text)
    if level is None:
        return None
    if level == "warning":
        replies = [Text(t("dengue.symptoms.warning")), Text(t("dengue.symptoms.after_warning"))]
    else:
        replies = [Text(t("dengue.symptoms.advice")), Text(t("dengue.symptoms.watch"))]
    if _active(state):
        replies.append(Text(t("dengue.symptoms.back_to_flow"), _continue_buttons()))
    else:
        last = replies[-1]
        replies[-1] = Text(last.text, (postback(t("dengue.labels.info"), "dengue=info"),))
    return Outcome(replies=tuple(replies), keep_state=True, meta={"intent": "dengue_info", "topic": "symptoms",
                                                                 "confidence": 1.0})


# --- information ------------------------------------------------------------------------------------

def _after_buttons(active: bool = False, skip_topic: str | None = None) -> tuple[QuickReply, ...]:
    items: list[QuickReply] = []
    if active:
        items.append(postback(t("common.label.continue"), "cmd=continue"))
    for topic_id in _cfg()["info_menu"]:
        if topic_id != skip_topic:
            items.append(postback(t(f"dengue.info.topic.{topic_id}"), f"dengue=info&topic={topic_id}"))
    if not active:
        items.append(postback(t("dengue.labels.report"), "flow=dengue"))
    items.append(postback(t("dengue.labels.subscribe"), "dengue=subscribe"))
    return tuple(items[:MAX_QUICK_REPLIES])


def info(topic_id: str | None, active: bool = False) -> Outcome:
    entry = None
    found = domain.topic(topic_id) if topic_id else None
    if found:
        entry = faq_data.base().get(found["faq"])
    if entry is None:
        return Outcome(replies=(Text(t("dengue.info.menu"), _after_buttons(active)),), keep_state=True)
    return Outcome(replies=(Text(entry.text(), _after_buttons(active, skip_topic=topic_id)),), keep_state=True,
                   meta={"intent": "dengue_info", "topic": entry.id, "confidence": 1.0})


def answer_info(inc: Incoming, intent: Intent, ctx: Context, now: float, active: bool) -> Outcome:
    return info(domain.info_topic(inc.text), active)


ANSWERS = {"dengue_info": answer_info}


# --- subscribe, unsubscribe, topics, and the anonymous send -----------------------------------------

def _said(inc: Incoming, key: str) -> bool:
    if inc.kind != "text":
        return False
    bare = nlu.normalize(inc.text)
    return bool(bare) and bare in nlu.normalized_words(key)


def _reminder_request(inc: Incoming) -> str | None:
    """「訂閱防疫提醒」 or 「取消提醒」, also said a little more fully (「我要訂閱登革熱提醒」,
    「不要再提醒了」): "subscribe", "unsubscribe" or None. A question about reminders is not a
    request; when both fit (「取消登革熱提醒」), stopping wins."""
    if _said(inc, "dengue.unsubscribe.words"):
        return "unsubscribe"
    if _said(inc, "dengue.subscribe.words"):
        return "subscribe"
    if inc.kind != "text":
        return None
    bare = nlu.normalize(inc.text)
    if (not bare or len(bare) > 16 or any(q in inc.text for q in "?？")
            or nlu.has_word(bare, "dengue.subscribe.question_words")):
        return None
    if nlu.has_word(bare, "dengue.unsubscribe.negations"):
        about = ("dengue.unsubscribe.words", "dengue.subscribe.words", "dengue.subscribe.topic_words")
        return "unsubscribe" if any(nlu.has_word(bare, key) for key in about) else None
    if any(w in bare and len(bare) - len(w) <= 4 for w in nlu.normalized_words("dengue.subscribe.words")):
        return "subscribe"
    return None


def _ask_village(state: dict[str, Any] | None, inc: Incoming, ctx: Context, now: float) -> Outcome:
    if inc.chat_type != "user":
        return Outcome(replies=(Text(t("dengue.subscribe.group")),), keep_state=True)
    current = ctx.query("services.dengue:subscribed_village", user_id=inc.user_id) if inc.user_id else None

    def worded(texts: list[Text]) -> tuple[Text, ...]:
        if current is None:
            return tuple(texts)
        # Already subscribed: say so, and offer to change the village.
        name = current or t("dengue.subscribe.all_label")
        return (Text(t("dengue.subscribe.already", village=name)),
                *texts[:-1], replace(texts[-1], text=t("dengue.subscribe.change")))

    if _active(state):
        # Another conversation is open: keep it, and take the answer from the buttons.
        return Outcome(replies=worded(_ask_subscribe({})), keep_state=True)
    sub_state = {"flow": FLOW_ID, "version": VERSION, "step": SUBSCRIBE_STEP, "answers": {}, "history": [],
                 "attempts": 0, "started_at": now, "updated_at": now}
    return Outcome(replies=worded(ask(FLOW, sub_state)), state=sub_state)


def _subscribe(state: dict[str, Any] | None, village: str | None) -> Outcome:
    action = Action("services.dengue:subscribe", {"village": village})
    placeholder = (Text(t("dengue.subscribe.done_all")),)  # the action says which text fits
    if state and state.get("flow") == FLOW_ID and state.get("step") == SUBSCRIBE_STEP:
        return Outcome(replies=placeholder, state=None, actions=(action,))
    return Outcome(replies=placeholder, keep_state=True, actions=(action,))


def _village_from(inc: Incoming) -> tuple[bool, str | None]:
    """(answered, village) from a typed answer at the subscribe step."""
    if inc.kind != "text":
        return False, None
    if _said(inc, "dengue.subscribe.all_words"):
        return True, None
    found = villages.find_village_in_text(inc.text)
    return (True, found) if found else (False, None)


def intercept(state: dict[str, Any] | None, inc: Incoming, ctx: Context, now: float) -> Outcome | None:
    out = _intercept(state, inc, ctx, now)
    if out is not None and not out.meta and inc.kind == "text" and not (state and state.get("flow") == FLOW_ID
                                                                       and state.get("step") != SUBSCRIBE_STEP):
        # 訂閱防疫提醒 / 取消提醒 typed: what `route --json` and the evaluation call it
        out = replace(out, meta={"intent": "dengue_info", "topic": None, "confidence": 1.0})
    return out


def _intercept(state: dict[str, Any] | None, inc: Incoming, ctx: Context, now: float) -> Outcome | None:
    if inc.kind == "postback" and inc.data.get("dengue"):
        what = inc.data["dengue"]
        if what == "info":
            return info(inc.data.get("topic"), active=_active(state) and state.get("step") != SUBSCRIBE_STEP)
        if what == "subscribe":
            if "village" not in inc.data:
                return _ask_village(state, inc, ctx, now)
            village = inc.data.get("village")
            if village != "all" and village not in villages.village_names():
                return _ask_village(state, inc, ctx, now)
            return _subscribe(state, None if village == "all" else village)
        if what == "unsubscribe":
            return _unsubscribe(state)
        return None
    request = _reminder_request(inc)
    if request == "subscribe":
        return _ask_village(state, inc, ctx, now)
    if request == "unsubscribe":
        return _unsubscribe(state)
    if not state or state.get("flow") != FLOW_ID:
        return None
    if state.get("step") == SUBSCRIBE_STEP:
        answered, village = _village_from(inc)
        return _subscribe(state, village) if answered else None
    if state.get("step") == "confirm":
        result = _parse_confirm(inc, dict(state.get("answers") or {}), ctx)
        if isinstance(result, Submit) and result.draft.line_user_id is None and state["answers"].get("anonymous"):
            payload = {"photos": list(result.draft.photo_message_ids), "since": state.get("started_at")}
            return Outcome(replies=result.replies, state=None, submission=result.draft,
                           actions=(Action("services.dengue:anonymise", payload),))
    return None


def _unsubscribe(state: dict[str, Any] | None) -> Outcome:
    reply = (Text(t("dengue.unsubscribe.done")),)
    action = (Action("services.dengue:unsubscribe", {}),)
    if state and state.get("flow") == FLOW_ID and state.get("step") == SUBSCRIBE_STEP:
        return Outcome(replies=reply, state=None, actions=action)
    return Outcome(replies=reply, keep_state=True, actions=action)
