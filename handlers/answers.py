"""What a text outside any flow gets, by its routing label: the table ``QUESTION`` (first match
wins), used by the router's ``question`` rule and by 「先回答問題」 inside a flow (handlers/router.py)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from handlers import buttons, case_status, common, faq
from handlers.conversations import INTENT_FLOW, LABEL_ANSWERS, STARTERS
from handlers.flow import Context, Incoming, Outcome
from services import faq as faq_data
from services import nlu
from services.knowledge import t
from services.messages import Text
from services.nlu import CONFIDENT, Intent

MAX_QUICK_REPLIES = buttons.MAX_QUICK_REPLIES


@dataclass(frozen=True)
class Question:
    """A row of ``QUESTION``: a text's label (and what else it says) -> its answer."""

    name: str
    match: Callable[[Incoming, Intent], Any]
    answer: Callable[[Incoming, Intent, Context, float, bool], Outcome]


def _faq_or_unsure(inc: Incoming, intent: Intent, ctx: Context, now: float, active: bool) -> Outcome:
    if intent.topic and intent.confidence >= CONFIDENT:
        return faq.answer(intent.topic, active)
    return _unsure(inc, intent, active)


def _unsure(inc: Incoming, intent: Intent, active: bool, ctx: Context | None = None) -> Outcome:
    """Not sure: a problem told (a report's words, or 壞了, 很臭…) is asked "report it?" with the
    report's button; otherwise the best guesses and the office phone; with no guess at all (only
    when ``ctx`` is given: a message not understood) the general fallback."""
    hint = nlu.report_hint(inc.text, intent)
    if hint:
        return faq.report_offer(inc.text, intent, hint, active)
    if ctx is not None and not intent.guesses:
        out = common.fallback(None, None, ctx)
        return replace(out, question={"text": inc.text, "label": "unknown", "guesses": [], "confidence": None})
    return faq.unsure(inc.text, intent, active)


def _confident_programme(inc: Incoming, intent: Intent) -> bool:
    """A sure FAQ answer about a programme the welfare screener checks (``screener: true`` in its entry),
    unless the message is about a death (the screener would ask the age of the person who died)."""
    if not intent.topic or intent.confidence < CONFIDENT or nlu.deceased(nlu.normalize(inc.text)):
        return False
    entry = faq_data.base().get(intent.topic)
    return entry is not None and entry.screener


def _faq_programme(inc: Incoming, intent: Intent, ctx: Context, now: float, active: bool) -> Outcome:
    """The programme's answer, with 「福利補助試算」 first among its buttons to start the screener."""
    from services.messages import postback
    out = faq.answer(intent.topic, active)
    first = out.replies[0]
    screen = postback(t("flows.welfare"), "flow=welfare")
    items = ((screen,) + first.quick_replies)[:MAX_QUICK_REPLIES]
    return replace(out, replies=(replace(first, quick_replies=items), *out.replies[1:]))


def _unknown(inc: Incoming, intent: Intent, ctx: Context, now: float, active: bool) -> Outcome:
    if intent.elsewhere is not None:
        # Another city's or district's matter: whose it is and how to reach them, not 「不太懂」.
        out = common.fallback(None, None, ctx)
        first = replace(out.replies[0], text=t("common.elsewhere"))
        return replace(out, replies=(first, *out.replies[1:]))
    return _unsure(inc, intent, active, ctx)


def _other_service(inc: Incoming, intent: Intent, ctx: Context, now: float, active: bool) -> Outcome:
    # A service whose conversation is not built yet: its FAQ entry when one fits, else a person to call.
    if intent.best_faq and intent.best_faq[1] >= FAQ_FALLBACK_SCORE:
        return faq.answer(intent.best_faq[0], active)
    return not_ready()


def _case_status(inc: Incoming, intent: Intent, ctx: Context, now: float, active: bool) -> Outcome:
    return case_status.answer(ctx, inc.user_id, intent.ref, active=active, chat_type=inc.chat_type)


def _outage(inc: Incoming, intent: Intent) -> bool:
    """A power or water cut told (the lexicon's ``outage_words``) and its entry found (``outage_entries``)."""
    rules = nlu.lexicon().rules
    return intent.label == "faq" and nlu.normalize_word(intent.topic or "") in rules.get("outage_entries", ()) \
        and nlu.has_any(nlu.normalize(inc.text), rules.get("outage_words", ()))


def _outage_answer(inc: Incoming, intent: Intent, ctx: Context, now: float, active: bool) -> Outcome:
    """In a village chiefs' group or while the disaster mode is on, a cut is damage to report (the
    disaster report starts); to a resident otherwise, the entry (Taipower's 1911, the water company),
    sure: a cut was told and its entry found."""
    if inc.chat_type != "user" or common.disaster_mode(ctx):
        return STARTERS[INTENT_FLOW["disaster_report"]](inc, ctx, now)
    return faq.answer(intent.topic, active)


def _greeting(inc: Incoming, intent: Intent, ctx: Context, now: float, active: bool) -> Outcome:
    return common.thanks(ctx) if common.is_thanks(inc.text) else common.welcome(ctx)


QUESTION: tuple[Question, ...] = (
    Question("answers", lambda inc, i: i.label in LABEL_ANSWERS,
             lambda inc, i, ctx, now, active: LABEL_ANSWERS[i.label](inc, i, ctx, now, active)),
    Question("start", lambda inc, i: i.label in INTENT_FLOW,
             lambda inc, i, ctx, now, active: STARTERS[INTENT_FLOW[i.label]](inc, ctx, now)),
    Question("complaint", lambda inc, i: i.label == "case_status" and nlu.complaint(inc.text),
             lambda inc, i, ctx, now, active: case_status.with_person(
                 _case_status(inc, i, ctx, now, active), active=active, chat_type=inc.chat_type)),
    Question("case_status", lambda inc, i: i.label == "case_status", _case_status),
    Question("human", lambda inc, i: i.label == "human", lambda inc, i, ctx, now, active: common.human(None, None, ctx)),
    Question("greeting", lambda inc, i: i.label == "greeting", _greeting),
    Question("outage", _outage, _outage_answer),
    Question("faq_programme", lambda inc, i: i.label == "faq" and _confident_programme(inc, i), _faq_programme),
    Question("faq", lambda inc, i: i.label == "faq", _faq_or_unsure),
    Question("unknown", lambda inc, i: i.label == "unknown", _unknown),
    Question("other_service", lambda inc, i: True, _other_service),
)


def answer_text(inc: Incoming, intent: Intent, ctx: Context, now: float, active: bool = False) -> Outcome:
    """What a text outside any flow gets, by its label (``QUESTION``, first match)."""
    for q in QUESTION:
        if q.match(inc, intent):
            out = q.answer(inc, intent, ctx, now, active)
            return out if out.rule else replace(out, rule=f"question.{q.name}")
    raise AssertionError("the last question always answers")


FAQ_FALLBACK_SCORE = 3.0


def with_meta(out: Outcome, intent: Intent) -> Outcome:
    meta = {"intent": intent.label, "topic": intent.topic, "confidence": intent.confidence}
    return replace(out, meta=meta)


def not_ready(active: bool = False) -> Outcome:
    """A service whose conversation is not built yet: give the person to call."""
    text = Text(t("common.not_ready"), common.menu_buttons(active=active))
    return Outcome(replies=(text,), keep_state=True)

