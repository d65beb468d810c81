"""The welfare screener (flow id ``welfare``, call-back case prefix ``W``).

who -> age -> residence -> household -> income -> movable -> real_estate -> children -> newborn
-> care -> other_allowance -> crisis -> special -> result -> [consent -> phone -> W- case].

At most 8 questions: a question is skipped when the first message already answered it (an age,
a relation, "獨居"), when earlier answers make it irrelevant (no baby questions for an 82-year-old,
no asset questions when the income is above every line), and when 8 have been asked. Answers are
choices and ranges; a range maps to facts conservatively (see services.welfare). The result is a
Flex carousel; nothing is stored unless the resident asks for a call-back, and then only the
screening as the resident saw it and the facts 社會課 needs.

The package: ``reading`` (what a typed message says: an age, who, a baby, an amount, an emergency),
``plan`` (which question comes next), ``steps`` (the questions and their answers), ``card`` (the
result's Flex carousel), ``callback`` (after the result: the call-back case); this module holds the
flow and the router's hooks (``urgent``, ``intercept``, ``start``, ``ANSWERS``).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from handlers.flow import Accept, Context, Flow, Incoming, Outcome, Step, advance, begin
from handlers.welfare import callback
from handlers.welfare.plan import FLOW_ID, QUESTIONS, VERSION, next_question, subject
from handlers.welfare.reading import (amount_fact, baby_in, facts_from_text, is_emergency, mentioned, relation_in,
                                      wants_screening)
from handlers.welfare.steps import STEP_FUNCS
from services import clock, knowledge
from services import welfare as rules
from services.knowledge import t
from services.messages import MAX_QUICK_REPLIES, QuickReply, Text, postback

__all__ = ["ANSWERS", "FAQ_SCORE", "FLOW", "FLOW_ID", "QUESTIONS", "VERSION", "amount_fact", "answer",
           "intercept", "is_emergency", "start", "urgent"]


def _answered_by_others(state: dict[str, Any] | None, inc: Incoming, ctx: Context, now: float) -> bool:
    """Dengue's warning signs and disaster's trapped-person words have their own urgent answers;
    inside a disaster report its steps give 119 themselves."""
    from handlers import dengue, disaster
    if state and state.get("flow") == disaster.FLOW_ID:
        return True
    return any(hook(state, inc, ctx, now) is not None for hook in (dengue.urgent, disaster.urgent))


def urgent(state: dict[str, Any] | None, inc: Incoming, ctx: Context, now: float) -> Outcome | None:
    """「我爸中風了怎麼辦」: call 119 / go to the emergency room now; only then, gently, what the
    office can help with afterwards (長照 1966, the screener) — never the quiz straight away."""
    if inc.kind != "text" or not is_emergency(inc.text):
        return None
    if _answered_by_others(state, inc, ctx, now):
        return None
    fire = knowledge.contacts()["emergency"]["fire_ambulance"]
    ltc = rules.contact("long_term_care")
    who = mentioned(inc.text) or "family"
    items: tuple[QuickReply, ...] = (QuickReply("uri", t("welfare.emergency.call_fire", fire=fire), uri=f"tel:{fire}"),)
    after = t("welfare.emergency.after", subject=t(f"welfare.subject.{who}"), ltc=ltc)
    if state:
        items += (postback(t("common.label.continue"), "cmd=continue"),)
        after += "\n" + t("welfare.emergency.back_to_flow")
    else:
        items += (QuickReply("uri", t("welfare.emergency.call_ltc", ltc=ltc), uri=f"tel:{ltc}"),
                  postback(t("flows.welfare"), "flow=welfare"))
    replies = (Text(t("welfare.emergency.call", fire=fire)), Text(after, items))
    return Outcome(replies=replies, keep_state=True,
                   meta={"intent": "human", "topic": "emergency", "confidence": 1.0})


def _q(name: str) -> Step:
    ask, parse = STEP_FUNCS[name]
    return Step(name, ask, parse, when=lambda a: next_question(a) == name)


FLOW = Flow(
    id=FLOW_ID,
    version=VERSION,
    steps=(
        *(_q(name) for name in QUESTIONS),
        *callback.STEPS,
    ),
)


def intercept(state: dict[str, Any] | None, inc: Incoming, ctx: Context, now: float) -> Outcome | None:
    """A typed answer that fits the question asked (「一個人住」, 「兩個人」) is that answer, even when
    it also reads like a new question to the router."""
    if not state or state.get("flow") != FLOW_ID or inc.kind != "text" or state.get("step") not in QUESTIONS:
        return None
    step = FLOW.step(state["step"])
    if step is None or not isinstance(step.parse(inc, dict(state.get("answers") or {}), ctx), Accept):
        return None
    return advance(FLOW, state, inc, ctx, now)


def start(inc: Incoming, ctx: Context, now: float) -> Outcome:
    """Open the screener from the rich menu, 「福利補助試算」, or a message labelled ``welfare``."""
    answers: dict[str, Any] = {"as_of": clock.today(now).isoformat(), "facts": {}, "asked": []}
    pre: list[Text] = []
    if inc.kind == "postback" and inc.data.get("step"):
        pre.append(Text(t("welfare.expired_button")))  # a button of a screening that has ended
    if inc.kind == "text":
        relation = relation_in(inc.text)
        if relation:
            answers["relation"] = relation
        answers["facts"] = facts_from_text(inc.text)
        if baby_in(inc.text):
            answers["baby"] = True  # a parent asking for a young family
    if answers.get("relation"):
        pre.append(Text(t("welfare.intro_known", subject=subject(answers))))
    else:
        pre.append(Text(t("welfare.intro")))
    return begin(FLOW, answers, pre, now)


def answer(inc: Incoming, intent: Any, ctx: Context, now: float, active: bool) -> Outcome:
    """A message labelled ``welfare``: the screener, unless it asks about one named service that
    the FAQ answers well (then that answer, with a button to screen)."""
    from handlers import faq
    if not wants_screening(inc.text) and intent.best_faq and intent.best_faq[1] >= FAQ_SCORE:
        out = faq.answer(intent.best_faq[0], active)
        first = out.replies[0]
        screen_button = postback(t("flows.welfare"), "flow=welfare")
        buttons = ((screen_button,) + first.quick_replies)[:MAX_QUICK_REPLIES]
        return replace(out, replies=(replace(first, quick_replies=buttons), *out.replies[1:]))
    return start(inc, ctx, now)


FAQ_SCORE = 3.0
ANSWERS = {"welfare": answer}
