"""Answers about the office's services, from knowledge/faq/. Stateless: never opens a flow.

Sure of the topic: the answer, with the menu under it. Not sure: "I am not sure", the best
2-3 guesses as buttons and the office phone; the question is kept (without the user id) for
staff to improve the knowledge.
"""
from __future__ import annotations

from handlers.common import menu_buttons
from handlers.flow import Outcome
from services import faq as faq_data
from services import knowledge
from services.knowledge import t
from services.messages import MAX_QUICK_REPLIES, Text, postback, say
from services.nlu import Intent

MAX_GUESSES = 3
MAX_MESSAGE_ACTION = 300  # LINE: the text of a message action


def answer(entry_id: str, active: bool = False) -> Outcome:
    entry = faq_data.base().get(entry_id)
    if entry is None:
        return Outcome(replies=(Text(t("faq.missing"), menu_buttons(active)),), keep_state=True)
    # The menu under the answer includes 常見問題 for the next question.
    return Outcome(replies=(Text(entry.text(), menu_buttons(active)),), keep_state=True)


def unsure(text: str, intent: Intent, active: bool = False) -> Outcome:
    """Say so, offer the best guesses and the phone, and keep the question for staff."""
    base = faq_data.base()
    guesses = [g for g in intent.guesses if base.get(g)][:MAX_GUESSES]
    items = tuple(postback(base.get(g).title, f"faq={g}", base.get(g).title) for g in guesses)
    key = "faq.unsure_with_guesses" if guesses else "faq.unsure"
    note = {"text": text, "label": intent.label, "guesses": guesses, "confidence": intent.confidence}
    return Outcome(replies=(Text(t(key), items + menu_buttons(active)),), keep_state=True, question=note)


def report_offer(text: str, intent: Intent, label: str, active: bool = False) -> Outcome:
    """A message not understood that may be a report (``nlu.report_hint``): ask whether to report it,
    with the report's button first, the best guesses after it and a person; the question is kept
    for staff like an unsure one."""
    from services import kinds
    kind = next(k for k in kinds.registry() if label in k.labels)
    base = faq_data.base()
    guesses = [g for g in intent.guesses if base.get(g)][:2]
    if intent.scores.get(label, 0.0) >= 1.0:
        from handlers.common import flow_name
        name = flow_name(kind.id)
        reply = t("faq.report_offer", flow_name=name)
    else:
        name = t("faq.label.report_problem")
        reply = t("faq.report_offer_general", button=name)
    # The button sends the resident's words again after 「我要報修：」, so the report starts with them
    # as its description (a postback would lose them); LINE allows 300 characters.
    said = f"{t(f'faq.report_offer_say.{kind.id}')}：{text.strip()}"[:MAX_MESSAGE_ACTION]
    items = (say(name, said),)
    items += tuple(postback(base.get(g).title, f"faq={g}", base.get(g).title) for g in guesses)
    items += (postback(t("common.label.human"), "cmd=human"),)  # a person, as under the FAQ menu
    note = {"text": text, "label": intent.label, "guesses": guesses, "confidence": intent.confidence}
    return Outcome(replies=(Text(reply, items[:MAX_QUICK_REPLIES]),), keep_state=True, question=note)


def menu(active: bool = False) -> Outcome:
    """The common questions as buttons (the rich menu's 常見問題)."""
    base = faq_data.base()
    ids = [i for i in knowledge.load("nlu/faq_menu")["topics"] if base.get(i)]
    items = tuple(postback(base.get(i).title, f"faq={i}", base.get(i).title) for i in ids[:12])
    items += (postback(t("common.label.human"), "cmd=human"),)
    return Outcome(replies=(Text(t("faq.menu"), items[:MAX_QUICK_REPLIES]),), keep_state=True)
