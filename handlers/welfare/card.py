"""The welfare screener's result: a Flex carousel of a summary, one card per programme likely or
to check, one card of programmes that need a fact we did not ask, and one of those that do not fit
(each with its first failed check)."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from handlers.welfare.plan import FLOW_ID, as_of_day, facts_of, subject
from services import knowledge
from services import welfare as rules
from services.knowledge import t
from services.messages import step_data

MAX_BUBBLES = 12   # LINE's limit of bubbles in a carousel
MAX_REASONS = 12
MARKS = ("✅", "❌", "❓")    # the status mark a check's reason begins with (welfare.yaml)
OLDER_AGE = 65     # the age named when no failed age check gives one


def results_for(a: dict[str, Any]) -> list[rules.Result]:
    return rules.ordered(rules.screen(facts_of(a), as_of_day(a)))


def _txt(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "text", "text": text or " ", "wrap": True, **style}


def _section(title: str, lines: list[str]) -> list[dict[str, Any]]:
    return [_txt(title, weight="bold", size="md", color="#555555", margin="lg"),
            *[_txt(x, size="md", margin="sm") for x in lines]]


COLORS = {"likely_eligible": "#1E7B34", "needs_review": "#B35C00", "not_eligible": "#666666"}


def _programme_bubble(r: rules.Result, as_of: dt.date) -> dict[str, Any]:
    amount = [rules.amount_text(r.amount, r.amount_unit)] if r.amount is not None else []
    amount += r.amount_notes                      # 「金額：…」 and the special act's extra, with its end
    reasons = [x for x in r.reasons if x not in r.amount_notes][:MAX_REASONS]
    body = []
    if amount:
        body += _section(t("welfare.result.amount"), amount)
    body += _section(t("welfare.result.why"), reasons)
    # what to bring and where to apply only from a source; otherwise the office phone
    bring = t("welfare.result.bring_ask") if r.documents is None else \
        ("、".join(r.documents) or t("welfare.result.nothing_to_bring"))
    body += _section(t("welfare.result.bring"), [bring])
    body += _section(t("welfare.result.where"),
                     [knowledge.fill(r.where) if r.where else t("welfare.result.where_ask")])
    body.append(_txt(t("welfare.result.year", year=rules.roc(as_of)), size="sm", color="#888888", margin="lg"))
    return {"type": "bubble", "size": "mega",
            "header": {"type": "box", "layout": "vertical", "backgroundColor": COLORS[r.outcome], "paddingAll": "16px",
                       "contents": [_txt(t(f"welfare.outcome.{r.outcome}"), color="#FFFFFF", size="md", weight="bold"),
                                    _txt(r.name, color="#FFFFFF", size="xl", weight="bold")]},
            "body": {"type": "box", "layout": "vertical", "contents": body}}


def _buttons() -> list[dict[str, Any]]:
    phone = knowledge.contacts()["office"]["phone"]
    return [{"type": "button", "style": "primary", "height": "md",
             "action": {"type": "postback", "label": t("welfare.result.callback_button"),
                        "data": step_data(FLOW_ID, "result", "callback"), "displayText": t("welfare.result.callback_button")}},
            {"type": "button", "style": "secondary", "height": "md", "margin": "md",
             "action": {"type": "uri", "label": t("welfare.result.call_office"),
                        "uri": "tel:" + re.sub(r"\D", "", phone)}}]


def _gate_unknown(r: rules.Result) -> bool:
    """Needs review only because the fact that opens the programme was not asked (no baby, no crisis…)."""
    return r.outcome == "needs_review" and bool(r.checks) and r.checks[0].status == "unknown" \
        and r.checks[0].value is None and r.checks[0].name in GATES


GATES = ("crisis", "child_under_2", "newborn", "special_circumstance", "disability_certificate", "care_group")


SENIOR_GATES = ("age", "born_before_cutoff", "born_for_gift", "born_for_gift_native", "care_group")


def _too_young(r: rules.Result, results: list[rules.Result]) -> bool:
    """Does not fit because it is for older people (the first failed check is about age, or it
    needs the senior allowance, which does not fit because of age)."""
    failed = [c for c in r.checks if c.status == "failed"]
    if not failed:
        return False
    if failed[0].name == "receives_senior_allowance":
        base = next((x for x in results if x.programme == "senior_living_allowance"), None)
        return base is not None and _too_young(base, results)
    return failed[0].name in SENIOR_GATES and failed[0].fact == "age"


def groups(results: list[rules.Result]) -> dict[str, list[rules.Result]]:
    """The cards, by title: likely, to check, "ask if needed" (only a fact we did not ask), not fitting.
    The counts on the summary are the sizes of these groups, so counts and card titles agree."""
    other = [r for r in results if _gate_unknown(r)]
    return {"likely_eligible": [r for r in results if r.outcome == "likely_eligible"],
            "needs_review": [r for r in results if r.outcome == "needs_review" and r not in other],
            "ask_if_needed": other,
            "not_eligible": [r for r in results if r.outcome == "not_eligible"]}


def counts_text(g: dict[str, list[rules.Result]], sep: str) -> str:
    return sep.join(t(f"welfare.result.count.{k}", n=len(v)) for k, v in g.items()
                    if v or k == "likely_eligible")


def without_mark(reason: str) -> str:
    """A check's reason without its status mark (the card it is on says the status)."""
    for mark in MARKS:
        if reason.startswith(mark):
            return reason[len(mark):].lstrip()
    return reason


def failed_reason(r: rules.Result) -> str:
    """Why a programme does not fit: its first failed check."""
    return next((without_mark(c.reason) for c in r.checks if c.status == "failed"), "")


def _titled_bubble(color: str, title: str, lines: list[str], buttons: bool = False) -> dict[str, Any]:
    bubble: dict[str, Any] = {
        "type": "bubble", "size": "mega",
        "header": {"type": "box", "layout": "vertical", "backgroundColor": color, "paddingAll": "16px",
                   "contents": [_txt(title, color="#FFFFFF", size="xl", weight="bold")]},
        "body": {"type": "box", "layout": "vertical", "contents": [_txt(x, size="md", margin="md") for x in lines]}}
    if buttons:
        bubble["footer"] = {"type": "box", "layout": "vertical", "contents": _buttons()}
    return bubble


def _summary_bubble(a: dict[str, Any], results: list[rules.Result], g: dict[str, list[rules.Result]]) -> dict:
    as_of = as_of_day(a)
    head = [_txt(t("welfare.result.title"), size="xl", weight="bold"),
            _txt(t("welfare.result.who", subject=subject(a),
                   date=t("welfare.date", year=rules.roc(as_of), month=as_of.month, day=as_of.day)),
                 size="sm", color="#666666"),
            _txt(counts_text(g, t("welfare.result.count_sep")), size="lg", weight="bold", margin="lg"),
            _txt(t("welfare.result.disclaimer"), size="md", margin="lg", color="#B00020")]
    if any(r.stale for r in results):
        head.append(_txt(t("welfare.result.stale", year=rules.roc(as_of)), size="md", margin="lg"))
    return {"type": "bubble", "size": "mega",
            "body": {"type": "box", "layout": "vertical", "contents": head},
            "footer": {"type": "box", "layout": "vertical", "contents": _buttons()}}


def _not_fitting_lines(a: dict[str, Any], results: list[rules.Result], rest: list[rules.Result]) -> list[str]:
    """One line per programme that does not fit, with why; programmes for older people, when two or
    more do not fit because of age, in one line instead of one each."""
    young = [r for r in rest if _too_young(r, results)]
    young = young if len(young) >= 2 else []
    lines = []
    for r in rest:
        if r not in young:
            why = failed_reason(r)
            lines.append(f"・{r.name}：{why}" if why else f"・{r.name}")
    if young:
        ages = [int(c.threshold) for r in young for c in r.checks
                if c.status == "failed" and c.name in SENIOR_GATES and isinstance(c.threshold, (int, float))]
        lines.append(t("welfare.result.senior_skipped", count=len(young), age=min(ages, default=OLDER_AGE),
                       subject=subject(a), names=t("welfare.result.senior_names_sep").join(r.name for r in young)))
    return lines


def result_flex(a: dict[str, Any], results: list[rules.Result]) -> dict[str, Any]:
    g = groups(results)
    shown = g["likely_eligible"] + g["needs_review"]
    room = MAX_BUBBLES - 3     # the summary, "ask if needed" and "does not fit" take the other three
    bubbles = [_summary_bubble(a, results, g)] + [_programme_bubble(r, as_of_day(a)) for r in shown[:room]]
    other = g["ask_if_needed"]
    if other:
        lines = [f"・{r.name}：{without_mark(r.checks[0].reason)}" for r in other]   # the gate not asked
        bubbles.append(_titled_bubble(COLORS["needs_review"],
                                      t("welfare.result.count.ask_if_needed", n=len(other)), lines))
    rest = g["not_eligible"]
    lines = _not_fitting_lines(a, results, rest)
    if len(shown) > room:
        lines.append(t("welfare.result.more", count=len(shown) - room))
    if lines:
        bubbles.append(_titled_bubble(COLORS["not_eligible"], t("welfare.result.count.not_eligible", n=len(rest)),
                                      lines, buttons=True))
    return {"type": "carousel", "contents": bubbles}
