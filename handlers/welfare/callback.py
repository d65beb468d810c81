"""After the result: a call-back from 社會課 (consent, a phone number, then a ``W-`` case holding the
screening as the resident saw it and the facts staff need), or done."""
from __future__ import annotations

from typing import Any

from handlers import parsers
from handlers.flow import Accept, Context, Finish, Incoming, Invalid, Step, Submit
from handlers.welfare.card import counts_text, groups, result_flex, results_for
from handlers.welfare.plan import FLOW_ID, VERSION, as_of_day, facts_of
from handlers.welfare.reading import parse_words
from handlers.welfare.steps import value_of
from services import kinds
from services import welfare as rules
from services.knowledge import t
from services.messages import Text, postback, step_data
from services.submissions import SubmissionDraft


def _ask_result(a: dict[str, Any]) -> list[Text]:
    results = results_for(a)
    alt = t("welfare.result.alt", counts=counts_text(groups(results), t("welfare.result.alt_sep")))
    items = (postback(t("welfare.result.callback"), step_data(FLOW_ID, "result", "callback")),
             postback(t("welfare.result.done"), step_data(FLOW_ID, "result", "done")))
    return [Text(alt, flex=result_flex(a, results)), Text(t("welfare.result.after"), items)]


def _parse_result(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = value_of(inc, "result")
    if inc.kind == "text":
        typed = parsers.normalize(inc.text)
        if typed in (t("welfare.result.callback"), t("welfare.result.callback_button")) or any(
                w in typed for w in parse_words("callback_words")):
            value = "callback"
        elif typed == t("welfare.result.done") or parsers.is_no(typed) or typed in parse_words("done_words"):
            value = "done"
    if value == "callback":
        return Accept({"callback": True}, goto="consent")
    if value == "done":
        return Finish((Text(t("welfare.result.finished")),))
    return Invalid()


def _ask_consent(a: dict[str, Any]) -> list[Text]:
    items = (postback(t("welfare.consent.agree"), step_data(FLOW_ID, "consent", "yes")),
             postback(t("welfare.consent.decline"), step_data(FLOW_ID, "consent", "no")))
    return [Text(t("welfare.consent.ask"), items)]


def _parse_consent(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = value_of(inc, "consent")
    if inc.kind == "text":
        typed = parsers.normalize(inc.text)
        if typed == t("welfare.consent.agree") or parsers.is_yes(typed):
            value = "yes"
        elif typed == t("welfare.consent.decline") or parsers.is_no(typed):
            value = "no"
    if value == "yes":
        return Accept({"consented": True}, goto="phone")
    if value == "no":
        return Finish((Text(t("welfare.consent.declined")),))
    return Invalid()


def _ask_phone(a: dict[str, Any]) -> list[Text]:
    return [Text(t("welfare.phone.ask"))]


def _parse_phone(inc: Incoming, a: dict[str, Any], ctx: Context):
    if inc.kind == "text":
        phone = parsers.phone_in(inc.text)
        if phone:
            return Submit(draft(inc, a, phone), (Text(t("welfare.done", ref="{ref}")),))
    return Invalid()


def draft(inc: Incoming, a: dict[str, Any], phone: str) -> SubmissionDraft:
    """The call-back case: the screening as the resident saw it and the facts staff need."""
    results = rules.screen(facts_of(a), as_of_day(a))
    answers = rules.case_answers(facts_of(a), results, a.get("relation"))
    likely = [r.name for r in rules.ordered(results) if r.outcome == "likely_eligible"]
    review = [r.name for r in rules.ordered(results) if r.outcome == "needs_review"]
    summary = "；".join(x for x in (
        f"{t('welfare.outcome.likely_eligible')}：{'、'.join(likely)}" if likely else "",
        f"{t('welfare.outcome.needs_review')}：{'、'.join(review)}" if review else "") if x)
    return SubmissionDraft(
        kind=FLOW_ID, source_event_id=inc.event_id, line_user_id=inc.user_id, chat_id=inc.chat_id,
        flow_version=VERSION, category="callback", phone=phone, description=summary[:1000] or None,
        owner_section=kinds.owner(FLOW_ID), answers=answers)


STEPS = (
    Step("result", _ask_result, _parse_result),
    Step("consent", _ask_consent, _parse_consent, when=lambda a: bool(a.get("callback"))),
    Step("phone", _ask_phone, _parse_phone, when=lambda a: bool(a.get("consented"))),
)
