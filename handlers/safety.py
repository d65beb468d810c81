"""Safety first: a message that says a person is in danger now gets 119 first, whatever else it is.

``urgent`` is the router's first hook (before the welfare, dengue and disaster hooks, in any
conversation); ``first_119`` is the router's safety net over every answer to a text.

What ``urgent`` does, by what ``services.safety.assess`` finds (word lists in knowledge/safety.yaml):

- collapse, not waking, not breathing, bleeding (and someone hurt that nothing else answers): its
  own answer, 119 now and what to do while waiting (generic first aid, no diagnosis). With a fever
  or dengue named, dengue's warning answers instead (the emergency room / 119 first, and T.O.C.C.);
  a fall or stroke at home is the welfare emergency answer (119 first, then gently 長照 1966);
  a report about a road with someone hurt is the report, with its danger notice first.
- someone in the water, a fire, a gas leak: their own answers (119, and what not to do).
- water or mud coming into a house, a house hit or fallen, someone trapped by a disaster, someone
  hurt, cut off or unable to get out in a storm, flood or landslide happening now (屋頂被吹走 + 流血,
  坍方 + 上面的人下不來), a power line down and sparking: 119 first, then the disaster report
  (outside a conversation, labelled ``disaster_report``) or a button to start it (inside another
  one). Words handlers/disaster/ already answers are left to it.
- someone locked or stuck in (a car, a bathroom, a washing machine) with no disaster: 119's own
  answer for a person trapped.
- someone who wants to die or to end their life (不想活了, 今天就想結束): the 1925 line's entry, which
  says 119 or 110 first when the danger is now, whatever else the message asked (急難救助).

Inside a disaster report the report's steps give 119 themselves (and the safety net checks them).
In a group the bot only sees texts that mention it (bot/events.py), so it stays quiet otherwise.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from handlers import disaster
from handlers.flow import Context, Incoming, Outcome
from services import dengue as dengue_domain
from services import faq as faq_data
from services import kinds
from services import safety
from services.knowledge import t
from services.messages import MAX_QUICK_REPLIES, QuickReply, Text, postback
from services.nlu import normalize
from services.nlu_lexicon import has as lexicon_has
from services.nlu_text import has_any

OWN_ANSWERS = ("medical", "water", "fire", "gas")
FAQ_RULES = ("question.faq", "question.faq_programme")   # the router's rules that answer with an entry
MAX_REPLIES = 5  # LINE's limit for one reply
# Kinds whose words also fit a person caught in a disaster (hit by a flying roof: 被打到; cut off by a
# landslide: 下不來, 走不動, 出不來): in a disaster happening now, the disaster's answer.
IN_A_DISASTER = ("violence", "medical", "collapse", "hurt", "missing")
# The reports whose own danger notice answers someone hurt at the problem (a pothole, a drain).
REPAIRS = tuple(label for label in kinds.report_labels() if label != "disaster_report")
SELF_HARM_ENTRY = "office.mental_1925"   # the 1925 line's entry: the answer to wanting to die


def _call_button() -> QuickReply:
    return QuickReply("uri", t("safety.call"), uri="tel:119")


def _label(text: str, understood=None) -> str:
    """The text's routing label by words and rules (``Intent.by_rules``, not the examples' votes):
    the router's (classified once per message) when it passes it."""
    if understood is not None:
        return understood().by_rules
    from services.nlu import classify
    return classify(text).by_rules


def urgent(state: dict[str, Any] | None, inc: Incoming, ctx: Context, now: float,
           understood=None) -> Outcome | None:
    if inc.kind != "text":
        return None
    danger = safety.assess(inc.text)
    if danger is None:
        return None
    kind = danger.kind
    bodily = {"medical", "collapse", "hurt"}
    if state and state.get("flow") == disaster.FLOW_ID and not danger.kinds & {"medical", "collapse"}:
        return None  # the report's steps give 119; the router's safety net checks their answer
    if danger.kinds <= bodily and dengue_domain.fever_or_dengue(inc.text):
        return None  # dengue's warning: the emergency room / 119 first
    if kind == "trapped" and disaster.urgent_words_in(inc.text):
        return None  # disaster's own answer: 119 first, then the report
    if kind == "self_harm":
        return _self_harm(state)
    place = disaster.detect_category(inc.text)
    if kind == "trapped" and place in (None, "people"):
        return _answer("trapped", state)  # locked in a car, a bathroom, a lift: no disaster to report
    if kind in ("trapped", "house") or (kind == "hurt" and place not in (None, "people")):
        return _disaster(state, inc, ctx, now)
    if (kind in IN_A_DISASTER and _disaster_now(inc.text, place)) or (kind == "fire" and _sparking_wire(inc.text)):
        # Hurt, cut off or unable to get out in a storm, a flood or a landslide (「屋頂被吹走 我媽頭被打到
        # 在流血」, 「坍方 上面的人下不來」): 119 first, then the disaster report - not first aid for a
        # collapse, nor the answer to an attacker. A wire down and sparking is Taipower's and the
        # report's (1911, keep away), not a house fire.
        return _disaster(state, inc, ctx, now)
    if kind in bodily:
        if kind == "hurt" and _welfare_emergency(inc.text):
            return None  # a fall or an illness at home: welfare's 119 answer
        if kind != "collapse" and _label(inc.text, understood) in REPAIRS:
            # A report with someone hurt: the report's danger notice, and the safety net. (A storm
            # only named, with no damage that is the disaster's: 「颱風天阿公在家昏倒」 is the ambulance's.)
            return None
        # Someone lying on the road, hit by a car or not responding: the ambulance's answer, not a
        # road report.
        kind = "medical"
    return _answer(kind, state)


def _disaster_now(text: str, category: str | None) -> bool:
    """A landslide, or a flood, a fallen tree, a power line, a building or a road (``category``, the
    disaster report's reading of the text) in a storm now."""
    if category == "landslide":
        return True
    norm = normalize(text)
    storm = lexicon_has(norm, "storm_now") or (safety.says(text, "storm_named") and not lexicon_has(norm, "storm_past"))
    return category not in (None, "people") and storm


def _sparking_wire(text: str) -> bool:
    """A power line down or sparking (電線 … 冒火花), with no house or field burning."""
    return has_any(normalize(text), disaster.category_words("power")) \
        and not safety.words_found(text, "fire", without="sparks")


def _welfare_emergency(text: str) -> bool:
    from handlers import welfare
    return welfare.is_emergency(text)


# How an emergency answered here is labelled (``route --json``, ``nlu-eval``): the message is for
# people now (119's), not for a service's answer or a form, whatever its words' label.
EMERGENCY_META = {"intent": "human", "topic": None, "confidence": 1.0}
# ... and one answered with 119 and the disaster report that follows it: the report's label.
DISASTER_META = {"intent": "disaster_report", "topic": None, "confidence": 1.0}


def _answer(kind: str, state: dict[str, Any] | None) -> Outcome:
    # Quick replies show under the last message only: the call button goes there.
    if state and state.get("flow"):
        items = (_call_button(), postback(t("common.label.continue"), "cmd=continue"),
                 postback(t("common.label.cancel"), "cmd=cancel"))
        return Outcome(replies=(Text(t(f"safety.{kind}")), Text(t("safety.back_to_flow"), items)),
                       keep_state=True, meta=dict(EMERGENCY_META))
    return Outcome(replies=(Text(t(f"safety.{kind}"), (_call_button(),)),), keep_state=True,
                   meta=dict(EMERGENCY_META))


def _self_harm(state: dict[str, Any] | None) -> Outcome:
    """Wanting to die or to end one's life: the 1925 line's entry (119 or 110 first when the danger is
    now, then 1925 and the office), whatever else the message asked, with the call button."""
    entry = faq_data.base().get(SELF_HARM_ENTRY)
    text = entry.text() if entry is not None else t("safety.heard")
    # Labelled as the entry it answers with (a question about counselling gets the same answer).
    meta = {"intent": "faq", "topic": SELF_HARM_ENTRY, "confidence": 1.0} if entry is not None else dict(EMERGENCY_META)
    if state and state.get("flow"):
        items = (_call_button(), postback(t("common.label.continue"), "cmd=continue"),
                 postback(t("common.label.cancel"), "cmd=cancel"))
        return Outcome(replies=(Text(text), Text(t("safety.back_to_flow"), items)), keep_state=True, meta=meta)
    return Outcome(replies=(Text(text, (_call_button(),)),), keep_state=True, meta=meta)



def _disaster(state: dict[str, Any] | None, inc: Incoming, ctx: Context, now: float) -> Outcome:
    if state is None or not state.get("flow"):
        out = disaster.start(inc, ctx, now)
        if out.replies and out.replies[0].text == t("disaster.danger"):
            return replace(out, meta=dict(DISASTER_META))  # the report's own 119 answer
        # The hazard notice would repeat what the 119 line says.
        kept = tuple(r for r in out.replies if r.text != _hazard_notice())
        return replace(out, replies=(Text(t("safety.house")), *kept)[:MAX_REPLIES], meta=dict(DISASTER_META))
    items = (_call_button(), postback(t("disaster.labels.report_new"), "cmd=switch&flow=disaster"),
             postback(t("common.label.continue"), "cmd=continue"))
    return Outcome(replies=(Text(t("safety.house"), items),), keep_state=True)


def _hazard_notice() -> str:
    from services.knowledge import load
    phones = {p["key"]: p["phone"] for p in load("disaster")["emergency_phones"]}
    return t("disaster.notice.hazard", taipower=phones["taipower"])


def first_119(inc: Incoming, out: Outcome, in_conversation: bool = False) -> Outcome:
    """The router's safety net: an answer to a text that says, or sounds like, a person is in danger
    (``safety.alarm``) starts with 119. An answer whose first number already is 119 is left as it
    is; a silent outcome stays silent; an answer that only guessed, or gave a service's answer, becomes
    119's own (``safety.heard``, labelled human) with the guesses or the service as buttons."""
    if inc.kind != "text" or not out.replies or not _heard(inc.text, words_only=in_conversation):
        return out
    first = out.replies[0]
    if safety.starts_with_119(first.text):
        return out
    if first.text in (t("common.fallback"), t("faq.unsure"), t("faq.unsure_with_guesses")):
        # Nothing else understood it, or only guessed at a service: a patient clerk would not say
        # 「不太懂」 to a call for help. 119 and how to call it; the guesses stay as buttons, after the
        # call button, for a resident who meant something else. (The report offer keeps its question,
        # under the 119 line: a problem told may be both.)
        heard = replace(first, text=t("safety.heard"), quick_replies=_call_first(first.quick_replies))
        return replace(out, replies=(heard, *out.replies[1:]), meta=dict(EMERGENCY_META))
    entry = _answered_entry(out)
    if entry is not None:
        # A service's answer to a call for help (「工人從鐵皮屋頂掉下來 沒在動」 found 違章建築 by 鐵皮屋):
        # 119's answer instead, the service one tap away as a button after the call button.
        items = _call_first((postback(entry.title, f"faq={entry.id}", entry.title), *first.quick_replies))
        return replace(out, replies=(Text(t("safety.heard"), items),), meta=dict(EMERGENCY_META))
    line = t("safety.line")
    if len(out.replies) < MAX_REPLIES:
        return replace(out, replies=(Text(line), *out.replies))
    if first.flex is None:
        return replace(out, replies=(replace(first, text=f"{line}\n{first.text}"), *out.replies[1:]))
    return replace(out, replies=(Text(line), *out.replies[:MAX_REPLIES - 1]))


def _answered_entry(out: Outcome):
    """The FAQ entry an outcome answers with, sure of it (a text answered by an entry, not a guess and
    not a conversation's step): what the safety net turns into a button. None for anything else."""
    if out.rule not in FAQ_RULES or not out.meta.get("topic") or out.question is not None:
        return None
    return faq_data.base().get(out.meta["topic"])


def _call_first(items: tuple[QuickReply, ...]) -> tuple[QuickReply, ...]:
    """The call-119 button, then the other buttons (no second call button), within LINE's limit."""
    return (_call_button(), *(q for q in items if q.uri != "tel:119"))[:MAX_QUICK_REPLIES]


def _heard(text: str, words_only: bool = False) -> bool:
    """The words' danger, or the danger model's alarm (``safety.alarm``) - except for a fever or
    dengue, whose own answer decides how urgent it is (warning signs: the emergency room, 119). Inside
    a conversation (``words_only``: 「跟我們住」 answers the welfare screener's household question) by the
    words alone: the model learned from messages, not from answers to a step."""
    if safety.assess(text) is not None:
        return True
    return not words_only and safety.model_alarm(text) and not dengue_domain.fever_or_dengue(text)
