"""The welfare screener (flow id ``welfare``, call-back case prefix ``W``).

who -> age -> residence -> household -> income -> movable -> real_estate -> children -> newborn
-> care -> other_allowance -> crisis -> special -> result -> [consent -> phone -> W- case].

At most 8 questions: a question is skipped when the first message already answered it (an age,
a relation, "獨居"), when earlier answers make it irrelevant (no baby questions for an 82-year-old,
no asset questions when the income is above every line), and when 8 have been asked. Answers are
choices and ranges; a range maps to facts conservatively (see services.welfare). The result is a
Flex carousel; nothing is stored unless the resident asks for a call-back, and then only the
screening as the resident saw it and the facts 社會課 needs.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import re
from typing import Any

from handlers import parsers
from handlers.flow import (Accept, Context, Finish, Flow, Incoming, Invalid, Outcome, Step, Submit, begin)
from services import knowledge, nlu
from services import welfare as rules
from services.knowledge import t
from services.messages import QuickReply, Text, postback
from services.submissions import SubmissionDraft

FLOW_ID = "welfare"
VERSION = 1
LABELS = ("welfare",)
MAX_QUESTIONS = 8
QUESTIONS = ("who", "age", "residence", "household", "income", "movable", "real_estate", "children", "newborn",
             "care", "other_allowance", "crisis", "special")
STRUCTURED_STEPS = set(QUESTIONS) | {"result", "consent"}
MEANS_TESTED = ("low_income_household", "middle_low_income_household", "senior_living_allowance",
                "disability_living_subsidy", "national_pension_basic_guarantee")
MAX_BUBBLES = 12
RESULT_DATA = rules.RESULT_MARK


# -- reading the first message ---------------------------------------------------------------------

def _p(key: str) -> Any:
    return knowledge.raw(f"welfare.parse.{key}")


def _words(key: str) -> tuple[str, ...]:
    return tuple(_p(key))


def chinese_number(text: str) -> int | None:
    """Chinese numerals (eighty-two, one hundred and two) as an int."""
    digits, ten, hundred = _p("digits"), _p("ten"), _p("hundred")
    if not text or any(c not in digits and c not in (ten, hundred) for c in text):
        return None
    total, current = 0, 0
    for c in text:
        if c == hundred:
            total += (current or 1) * 100
            current = 0
        elif c == ten:
            total += (current or 1) * 10
            current = 0
        else:
            current = digits[c]
    return total + current


@functools.cache
def _age_re() -> re.Pattern[str]:
    numerals = "".join(_p("digits")) + _p("ten") + _p("hundred")
    units = "|".join(re.escape(u) for u in _words("age_units"))
    return re.compile(rf"([0-9０-９]{{1,3}}|[{numerals}]{{1,5}})\s*(?:{units})")


@functools.cache
def _self_age_re() -> re.Pattern[str]:
    numerals = "".join(_p("digits")) + _p("ten") + _p("hundred")
    units = "|".join(re.escape(u) for u in _words("age_units"))
    return re.compile(rf"{_p('self_prefix')}({_p('this_year')})?\s*([0-9０-９]+|[{numerals}]+)\s*(?:{units})")


def age_in(text: str) -> int | None:
    for m in _age_re().finditer(text or ""):
        raw = parsers.normalize(m.group(1))
        value = int(raw) if raw.isdigit() else chinese_number(raw)
        if value is not None and 0 <= value <= 120:
            return value
    return None


def relation_in(text: str) -> str | None:
    """The person asked about, by the first relation word in the message."""
    text = text or ""
    if _self_age_re().search(text):
        return "self"
    best: tuple[int, str] | None = None
    for rel, words in knowledge.raw("welfare.relation_words").items():
        for w in words:
            i = text.find(w)
            if i >= 0 and (best is None or i < best[0]):
                best = (i, rel)
    return best[1] if best else None


def facts_from_text(text: str) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    age = age_in(text)
    if age is not None:
        facts["age"] = age
    if any(w in (text or "") for w in knowledge.words("welfare.alone_words")):
        facts["lives_alone"] = True
    if any(w in (text or "") for w in _words("indigenous_words")):
        facts["indigenous"] = True
    return facts


def wants_screening(text: str) -> bool:
    """A question about what someone can get (not about one named service)."""
    norm = nlu.normalize(text or "")
    return (age_in(text) is not None or relation_in(text) is not None
            or any(nlu.normalize_word(w) in norm for w in knowledge.words("welfare.screen_words")))


# -- helpers ---------------------------------------------------------------------------------------

def _facts(a: dict[str, Any]) -> dict[str, Any]:
    return dict(a.get("facts") or {})


def _as_of(a: dict[str, Any]) -> dt.date:
    return dt.date.fromisoformat(a["as_of"]) if a.get("as_of") else rules.today_taipei()


def subject(a: dict[str, Any]) -> str:
    return t(f"welfare.subject.{a.get('relation') or 'family'}")


def _asked(a: dict[str, Any]) -> list[str]:
    return list(a.get("asked") or [])


def _budget(a: dict[str, Any]) -> bool:
    return len(_asked(a)) < MAX_QUESTIONS


def _age(a: dict[str, Any]) -> tuple[float, float | None] | None:
    return rules.as_range(_facts(a).get("age"))


def _age_may_be(a: dict[str, Any], lo: float, hi: float | None) -> bool:
    """Whether the age (range) overlaps [lo, hi]; unknown age: yes."""
    r = _age(a)
    if r is None:
        return True
    return (hi is None or r[0] <= hi) and (r[1] is None or r[1] >= lo)


def _means_relevant(a: dict[str, Any]) -> bool:
    """Some means-tested programme is still possible with what we know."""
    facts, as_of = _facts(a), _as_of(a)
    return any(rules.screen_one(p, facts, as_of).outcome != "not_eligible" for p in MEANS_TESTED)


def _choice(step: str, value: str, label: str) -> QuickReply:
    return postback(label, f"flow=welfare&step={step}&value={value}", label)


def _unsure(step: str) -> QuickReply:
    return _choice(step, "unsure", t("welfare.unsure"))


def _accept(a: dict[str, Any], step: str, facts: dict[str, Any] | None = None, **more: Any) -> Accept:
    merged = {**_facts(a), **(facts or {})}
    return Accept({"facts": merged, "asked": _asked(a) + [step], **more})


def _value(inc: Incoming, step: str) -> str | None:
    if inc.kind == "postback" and inc.data.get("step") == step:
        return inc.data.get("value")
    return None


def _by_label(inc: Incoming, options: dict[str, str]) -> str | None:
    """A typed answer: the option's number or its words."""
    if inc.kind != "text":
        return None
    keys = list(options)
    n = parsers.choice_number(inc.text, len(keys))
    if n is not None:
        return keys[n]
    typed = parsers.normalize(inc.text)
    for k, label in options.items():
        if typed == label or (len(typed) >= 2 and typed in label):
            return k
    if typed in _words("unsure_words"):
        return "unsure"
    return None


@functools.cache
def _amount_re() -> re.Pattern[str]:
    wan, qian, yuan = (re.escape(_p(k)) for k in ("ten_thousand", "thousand", "dollar"))
    tail = "|".join(re.escape(w) for w in _words("approx_suffixes"))
    return re.compile(rf"^{re.escape(_p('approx_prefix'))}?([0-9]+(?:\.[0-9]+)?)\s*({wan}|{qian}|{yuan})?"
                      rf"\s*(?:([0-9]){qian}?)?\s*{yuan}?(?:{tail})?$")


def amount_in(text: str) -> int | None:
    """An amount typed in digits, with 10,000 / 1,000 units (e.g. 3 x 10,000 + 5 x 1,000)."""
    s = parsers.normalize(text).replace(",", "").replace(" ", "")
    m = _amount_re().match(s)
    if not m:
        return None
    n = float(m.group(1))
    unit = m.group(2)
    if unit == _p("ten_thousand"):
        n *= 10000
        if m.group(3):
            n += int(m.group(3)) * 1000
    elif unit == _p("thousand"):
        n *= 1000
    return int(n)


def _fmt(n: float) -> str:
    n = int(n)
    if n >= 10000 and n % 10000 == 0:
        return f"{n // 10000}{_p('ten_thousand')}"
    return f"{n:,}"


def _range_items(step: str, cuts: list[int], unit: str, zero_label: str | None = None) -> list[tuple[str, dict]]:
    """Buttons for ranges between the cuts (each cut is the top of a range, inclusive)."""
    cuts = sorted(set(c for c in cuts if c > 0))
    items: list[tuple[str, dict]] = []
    if zero_label:
        items.append((zero_label, {"min": 0, "max": 0}))
    low = 0
    for c in cuts:
        label = t("welfare.range.at_most", high=_fmt(c) + unit) if low == 0 else \
            t("welfare.range.between", low=_fmt(low + 1), high=_fmt(c) + unit)
        items.append((label, {"min": low if low == 0 else low + 1, "max": c}))
        low = c
    items.append((t("welfare.range.above", low=_fmt(low) + unit), {"min": low + 1, "max": None}))
    return items


def _exact_size(a: dict[str, Any]) -> int | None:
    r = rules.as_range(_facts(a).get("household_size"))
    return int(r[0]) if r and r[1] == r[0] else None


def income_ranges(a: dict[str, Any]) -> list[tuple[str, dict]]:
    """Ranges whose edges are the household's own lines, so that a range never straddles one."""
    n, as_of = _exact_size(a), _as_of(a)
    mlc = rules.lookup("common", "min_living_cost", as_of)
    line = rules.lookup("common", "middle_low_line", as_of)
    avg = rules.lookup("common", "avg_consumption", as_of)
    if n and mlc.usable and line.usable:
        top = 2.5 * mlc.value if not avg.usable else min(2.5 * mlc.value, 1.5 * avg.value)
        cuts = [math.floor(n * mlc.value), math.floor(n * line.value), math.ceil(n * top) - 1]
    else:
        cuts = [20000, 40000, 60000, 100000]
    return _range_items("income", cuts, t("welfare.unit.ntd"))


def movable_ranges(a: dict[str, Any]) -> list[tuple[str, dict]]:
    n, as_of = _exact_size(a), _as_of(a)
    cuts = []
    li = rules.lookup("low_income_household", "movable_assets_per_person", as_of)
    if n and li.usable:
        cuts.append(int(n * li.value))
    for pid in ("disability_living_subsidy", "senior_living_allowance"):
        base = rules.lookup(pid, "movable_assets_base", as_of)
        extra = rules.lookup(pid, "movable_assets_per_extra_person", as_of)
        if n and base.usable and extra.usable:
            cuts.append(int(base.value + extra.value * (n - 1)))
    if not cuts:
        cuts = [100000, 2000000, 2500000]
    return _range_items("movable", cuts, t("welfare.unit.ntd"))


def real_estate_ranges(a: dict[str, Any]) -> list[tuple[str, dict]]:
    as_of = _as_of(a)
    cuts = []
    for pid, name, strict in (("low_income_household", "real_estate_per_household", False),
                              ("national_pension_basic_guarantee", "real_estate_limit", True),
                              ("senior_living_allowance", "real_estate_cap", False),
                              ("disability_living_subsidy", "real_estate_cap", False)):
        p = rules.lookup(pid, name, as_of)
        if p.usable:
            cuts.append(int(p.value) - (1 if strict else 0))
    return _range_items("real_estate", cuts or [5000000], t("welfare.unit.ntd"), zero_label=t("welfare.range.none"))


def _range_step(name: str, ranges_fn):
    def ask(a: dict[str, Any]) -> list[Text]:
        items = tuple(_choice(name, str(i), label) for i, (label, _) in enumerate(ranges_fn(a)))
        size = _exact_size(a)
        words = t("welfare.household.people", n=size) if size else t("welfare.income.everyone")
        return [Text(t(f"welfare.{name}.ask", subject=subject(a), size=words), items + (_unsure(name),))]

    def parse(inc: Incoming, a: dict[str, Any], ctx: Context):
        ranges = ranges_fn(a)
        value = _value(inc, name)
        if value is None and inc.kind == "text":
            labels = {str(i): label for i, (label, _) in enumerate(ranges)}
            value = _by_label(inc, labels)
            if value is None:
                amount = amount_in(inc.text)
                if amount is not None:
                    return _accept(a, name, {_FACT[name]: amount})
        if value == "unsure":
            return _accept(a, name)
        if value is not None and value.isdigit() and int(value) < len(ranges):
            return _accept(a, name, {_FACT[name]: ranges[int(value)][1]})
        return Invalid()
    return ask, parse


_FACT = {"income": "household_monthly_income", "movable": "household_movable_assets",
         "real_estate": "household_real_estate"}


# -- steps -----------------------------------------------------------------------------------------

def _ask_who(a: dict[str, Any]) -> list[Text]:
    options = knowledge.raw("welfare.who.options")
    return [Text(t("welfare.who.ask"), tuple(_choice("who", k, v) for k, v in options.items()))]


def _parse_who(inc: Incoming, a: dict[str, Any], ctx: Context):
    options = knowledge.raw("welfare.who.options")
    value = _value(inc, "who") or _by_label(inc, options)
    if value is None and inc.kind == "text":
        value = relation_in(inc.text)
    if value in options or value in knowledge.raw("welfare.subject"):
        return Accept({"relation": value, "asked": _asked(a) + ["who"]})
    return Invalid()


AGE_BUCKETS = {"under_18": {"min": 0, "max": 17}, "18_49": {"min": 18, "max": 49}, "50_54": {"min": 50, "max": 54},
               "55_64": {"min": 55, "max": 64}, "65_79": {"min": 65, "max": 79}, "80_89": {"min": 80, "max": 89},
               "90_99": {"min": 90, "max": 99}, "100_up": {"min": 100, "max": None}}


def _ask_age(a: dict[str, Any]) -> list[Text]:
    options = knowledge.raw("welfare.age.options")
    return [Text(t("welfare.age.ask", subject=subject(a)), tuple(_choice("age", k, v) for k, v in options.items()))]


def _parse_age(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = _value(inc, "age")
    if value in AGE_BUCKETS:
        return _accept(a, "age", {"age": AGE_BUCKETS[value]})
    if inc.kind == "text":
        typed = parsers.normalize(inc.text).rstrip("".join(_words("age_units")))
        n = int(typed) if typed.isdigit() else chinese_number(typed)
        if n is None:
            n = age_in(inc.text)
        if n is not None and 0 <= n <= 120:
            return _accept(a, "age", {"age": n})
        label = _by_label(inc, knowledge.raw("welfare.age.options"))
        if label in AGE_BUCKETS:
            return _accept(a, "age", {"age": AGE_BUCKETS[label]})
    return Invalid()


RESIDENCE = {
    "alone": {"registered_in_tainan": True, "lives_alone": True, "in_institution": False,
              "days_in_taiwan_last_year": {"min": 184, "max": 366}},
    "family": {"registered_in_tainan": True, "lives_alone": False, "in_institution": False,
               "days_in_taiwan_last_year": {"min": 184, "max": 366}},
    "institution": {"registered_in_tainan": True, "lives_alone": False, "in_institution": True,
                    "days_in_taiwan_last_year": {"min": 184, "max": 366}},
    "abroad": {"registered_in_tainan": True, "days_in_taiwan_last_year": {"min": 0, "max": 183}},
    "elsewhere": {"registered_in_tainan": False},
}

def _ask_residence(a: dict[str, Any]) -> list[Text]:
    options = knowledge.raw("welfare.residence.options")
    items = tuple(_choice("residence", k, v) for k, v in options.items()) + (_unsure("residence"),)
    return [Text(t("welfare.residence.ask", subject=subject(a)), items)]


def _parse_residence(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = _value(inc, "residence") or _by_label(inc, knowledge.raw("welfare.residence.options"))
    if value == "unsure":
        return _accept(a, "residence")
    if value in RESIDENCE:
        facts = dict(RESIDENCE[value])
        if _facts(a).get("lives_alone") and value == "family":
            facts.pop("lives_alone")
        return _accept(a, "residence", facts)
    return Invalid()


def _ask_household(a: dict[str, Any]) -> list[Text]:
    items = tuple(_choice("household", str(n), t("welfare.household.people", n=n)) for n in range(1, 6))
    items += (_choice("household", "6", t("welfare.household.six_up")), _unsure("household"))
    return [Text(t("welfare.household.ask", subject=subject(a)), items)]


def _parse_household(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = _value(inc, "household")
    if value is None and inc.kind == "text":
        typed = parsers.normalize(inc.text).rstrip("".join(_words("count_suffixes")))
        value = typed if typed.isdigit() else (str(chinese_number(typed)) if chinese_number(typed) else None)
        if value is None and parsers.normalize(inc.text) in _words("unsure_words"):
            value = "unsure"
    if value == "unsure":
        return _accept(a, "household")
    if value and value.isdigit() and 1 <= int(value) <= 30:
        n = int(value)
        fact = {"min": 6, "max": None} if (n >= 6 and _value(inc, "household") == "6") else n
        return _accept(a, "household", {"household_size": fact})
    return Invalid()


_ask_income, _parse_income = _range_step("income", income_ranges)
_ask_movable, _parse_movable = _range_step("movable", movable_ranges)
_ask_real_estate, _parse_real_estate = _range_step("real_estate", real_estate_ranges)

CARE = {"ok": {"needs_daily_care": False, "disability_level": "none", "has_foreign_caregiver": False},
        "needs_care": {"needs_daily_care": True, "disability_level": "none", "has_foreign_caregiver": False},
        "foreign": {"needs_daily_care": True, "disability_level": "none", "has_foreign_caregiver": True},
        "mild": {"disability_level": "mild"}, "moderate": {"disability_level": "moderate"},
        "severe": {"disability_level": "severe"}}


def _simple_options(name: str, mapping: dict[str, dict], unsure: bool = True):
    def ask(a: dict[str, Any]) -> list[Text]:
        options = knowledge.raw(f"welfare.{name}.options")
        items = tuple(_choice(name, k, v) for k, v in options.items()) + ((_unsure(name),) if unsure else ())
        return [Text(t(f"welfare.{name}.ask", subject=subject(a)), items)]

    def parse(inc: Incoming, a: dict[str, Any], ctx: Context):
        value = _value(inc, name) or _by_label(inc, knowledge.raw(f"welfare.{name}.options"))
        if value == "unsure":
            return _accept(a, name)
        if value in mapping:
            return _accept(a, name, mapping[value])
        return Invalid()
    return ask, parse


_ask_care, _parse_care = _simple_options("care", CARE)
CHILDREN = {"none": {"children_under_2": 0, "newborn_in_last_60_days": False},
            **{k: {"children_under_2": {"min": 1, "max": None}, "child_birth_order": v}
               for k, v in (("first", 1), ("second", 2), ("third", 3), ("fourth", 4),
                            ("fifth", {"min": 5, "max": None}))}}
_ask_children, _parse_children = _simple_options("children", CHILDREN)
CRISIS = {k: {"crisis": k} for k in ("none", "death_in_family", "injury_or_illness", "lost_income", "disaster", "other")}
_ask_crisis, _parse_crisis = _simple_options("crisis", CRISIS)


def _yes_no(name: str, fact: str, yes_label: str | None = None, no_label: str | None = None):
    def ask(a: dict[str, Any]) -> list[Text]:
        items = (_choice(name, "yes", t(yes_label) if yes_label else t("welfare.yes_label")),
                 _choice(name, "no", t(no_label) if no_label else t("welfare.no_label")), _unsure(name))
        return [Text(t(f"welfare.{name}.ask", subject=subject(a)), items)]

    def parse(inc: Incoming, a: dict[str, Any], ctx: Context):
        value = _value(inc, name)
        if value is None and inc.kind == "text":
            typed = parsers.normalize(inc.text)
            if typed in (t(yes_label) if yes_label else "",) or parsers.is_yes(typed) or typed in _words("have_words"):
                value = "yes"
            elif typed in (t(no_label) if no_label else "",) or parsers.is_no(typed):
                value = "no"
            elif typed in _words("unsure_words"):
                value = "unsure"
        if value == "unsure":
            return _accept(a, name)
        if value in ("yes", "no"):
            return _accept(a, name, {fact: value == "yes"})
        return Invalid()
    return ask, parse


_ask_newborn, _parse_newborn = _yes_no("newborn", "newborn_in_last_60_days")
_ask_other, _parse_other = _yes_no("other_allowance", "receives_other_allowance",
                                   "welfare.other_allowance.have", "welfare.other_allowance.have_not")
_ask_special, _parse_special = _yes_no("special", "single_parent_or_special_circumstance")


# -- the result --------------------------------------------------------------------------------------

def results_for(a: dict[str, Any]) -> list[rules.Result]:
    return rules.ordered(rules.screen(_facts(a), _as_of(a)))


def _txt(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "text", "text": text or " ", "wrap": True, **style}


def _section(title: str, lines: list[str]) -> list[dict[str, Any]]:
    return [_txt(title, weight="bold", size="md", color="#555555", margin="lg"),
            *[_txt(x, size="md", margin="sm") for x in lines]]


COLORS = {"likely_eligible": "#1E7B34", "needs_review": "#B35C00", "not_eligible": "#666666"}


def _programme_bubble(r: rules.Result, as_of: dt.date) -> dict[str, Any]:
    amount = rules.amount_text(r.amount, r.amount_unit) if r.amount is not None else None
    reasons = r.reasons[:8]
    body = []
    if amount:
        body += _section(t("welfare.result.amount"), [amount])
    body += _section(t("welfare.result.why"), reasons)
    body += _section(t("welfare.result.bring"), ["、".join(r.documents) or t("welfare.result.nothing_to_bring")])
    body += _section(t("welfare.result.where"), [r.where])
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
                        "data": f"{RESULT_DATA}&value=callback", "displayText": t("welfare.result.callback_button")}},
            {"type": "button", "style": "secondary", "height": "md", "margin": "md",
             "action": {"type": "uri", "label": t("welfare.result.call_office"),
                        "uri": "tel:" + re.sub(r"\D", "", phone)}}]


def _gate_unknown(r: rules.Result) -> bool:
    """Needs review only because the fact that opens the programme was not asked (no baby, no crisis…)."""
    return r.outcome == "needs_review" and bool(r.checks) and r.checks[0].status == "unknown" \
        and r.checks[0].value is None and r.checks[0].name in GATES


GATES = ("crisis", "child_under_2", "newborn", "special_circumstance", "disability_certificate", "care_group")


def result_flex(a: dict[str, Any], results: list[rules.Result]) -> dict[str, Any]:
    as_of = _as_of(a)
    count = {o: sum(1 for r in results if r.outcome == o) for o in rules.OUTCOMES}
    head = [_txt(t("welfare.result.title"), size="xl", weight="bold"),
            _txt(t("welfare.result.who", subject=subject(a),
                   date=t("welfare.date", year=rules.roc(as_of), month=as_of.month, day=as_of.day)),
                 size="sm", color="#666666"),
            _txt(t("welfare.result.counts", likely=count["likely_eligible"], review=count["needs_review"],
                   no=count["not_eligible"]), size="lg", weight="bold", margin="lg"),
            _txt(t("welfare.result.disclaimer"), size="md", margin="lg", color="#B00020")]
    if any(r.stale for r in results):
        head.append(_txt(t("welfare.result.stale", year=rules.roc(as_of)), size="md", margin="lg"))
    summary = {"type": "bubble", "size": "mega",
               "body": {"type": "box", "layout": "vertical", "contents": head},
               "footer": {"type": "box", "layout": "vertical", "contents": _buttons()}}
    other = [r for r in results if _gate_unknown(r)]
    shown = [r for r in results if r.outcome != "not_eligible" and r not in other]
    room = MAX_BUBBLES - 3
    bubbles = [summary] + [_programme_bubble(r, as_of) for r in shown[:room]]
    if other:
        bubbles.append({"type": "bubble", "size": "mega",
                        "header": {"type": "box", "layout": "vertical", "backgroundColor": COLORS["needs_review"],
                                   "paddingAll": "16px",
                                   "contents": [_txt(t("welfare.result.other_title"), color="#FFFFFF",
                                                     size="xl", weight="bold")]},
                        "body": {"type": "box", "layout": "vertical",
                                 "contents": [_txt(f"・{r.name}：{r.reasons[0].lstrip('❓ ')}", size="md", margin="md")
                                              for r in other]}})
    rest = [r for r in results if r.outcome == "not_eligible"]
    lines = []
    for r in rest:
        why = next((x for x in r.reasons if x.startswith("❌")), "")
        lines.append(f"・{r.name}：{why.lstrip('❌ ')}" if why else f"・{r.name}")
    if len(shown) > room:
        lines.append(t("welfare.result.more", count=len(shown) - room))
    if lines:
        bubbles.append({"type": "bubble", "size": "mega",
                        "header": {"type": "box", "layout": "vertical", "backgroundColor": COLORS["not_eligible"],
                                   "paddingAll": "16px",
                                   "contents": [_txt(t("welfare.result.not_fit_title"), color="#FFFFFF",
                                                     size="xl", weight="bold")]},
                        "body": {"type": "box", "layout": "vertical",
                                 "contents": [_txt(x, size="md", margin="md") for x in lines]},
                        "footer": {"type": "box", "layout": "vertical", "contents": _buttons()}})
    return {"type": "carousel", "contents": bubbles}


def _ask_result(a: dict[str, Any]) -> list[Text]:
    results = results_for(a)
    count = {o: sum(1 for r in results if r.outcome == o) for o in rules.OUTCOMES}
    alt = t("welfare.result.alt", likely=count["likely_eligible"], review=count["needs_review"])
    items = (postback(t("welfare.result.callback"), f"{RESULT_DATA}&value=callback"),
             postback(t("welfare.result.done"), f"{RESULT_DATA}&value=done"))
    return [Text(alt, flex=result_flex(a, results)), Text(t("welfare.result.after"), items)]


def _parse_result(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = _value(inc, "result")
    if inc.kind == "text":
        typed = parsers.normalize(inc.text)
        if typed in (t("welfare.result.callback"), t("welfare.result.callback_button")) or any(
                w in typed for w in _words("callback_words")):
            value = "callback"
        elif typed == t("welfare.result.done") or parsers.is_no(typed) or typed in _words("done_words"):
            value = "done"
    if value == "callback":
        return Accept({"callback": True}, goto="consent")
    if value == "done":
        return Finish((Text(t("welfare.result.finished")),))
    return Invalid()


def _ask_consent(a: dict[str, Any]) -> list[Text]:
    items = (postback(t("welfare.consent.agree"), "flow=welfare&step=consent&value=yes"),
             postback(t("welfare.consent.decline"), "flow=welfare&step=consent&value=no"))
    return [Text(t("welfare.consent.ask"), items)]


def _parse_consent(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = _value(inc, "consent")
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
        phone = parsers.tw_phone(inc.text)
        if phone:
            return Submit(draft(inc, a, phone), (Text(t("welfare.done", ref="{ref}")),))
    return Invalid()


def draft(inc: Incoming, a: dict[str, Any], phone: str) -> SubmissionDraft:
    """The call-back case: the screening as the resident saw it and the facts staff need."""
    results = rules.screen(_facts(a), _as_of(a))
    answers = rules.case_answers(_facts(a), results, a.get("relation"))
    likely = [r.name for r in rules.ordered(results) if r.outcome == "likely_eligible"]
    review = [r.name for r in rules.ordered(results) if r.outcome == "needs_review"]
    summary = "；".join(x for x in (
        f"{t('welfare.outcome.likely_eligible')}：{'、'.join(likely)}" if likely else "",
        f"{t('welfare.outcome.needs_review')}：{'、'.join(review)}" if review else "") if x)
    return SubmissionDraft(
        kind=FLOW_ID, source_event_id=inc.event_id, line_user_id=inc.user_id, chat_id=inc.chat_id,
        flow_version=VERSION, category="callback", phone=phone, description=summary[:1000] or None,
        owner_section=knowledge.load("workflow")["owners"][FLOW_ID], answers=answers)


def _q(name: str, relevant) -> Step:
    ask, parse = STEP_FUNCS[name]
    return Step(name, ask, parse, when=lambda a: name not in _asked(a) and _budget(a) and relevant(a))


STEP_FUNCS = {
    "who": (_ask_who, _parse_who), "age": (_ask_age, _parse_age),
    "residence": (_ask_residence, _parse_residence), "household": (_ask_household, _parse_household),
    "income": (_ask_income, _parse_income), "movable": (_ask_movable, _parse_movable),
    "real_estate": (_ask_real_estate, _parse_real_estate), "children": (_ask_children, _parse_children),
    "newborn": (_ask_newborn, _parse_newborn), "care": (_ask_care, _parse_care),
    "other_allowance": (_ask_other, _parse_other), "crisis": (_ask_crisis, _parse_crisis),
    "special": (_ask_special, _parse_special),
}


def _has_baby(a: dict[str, Any]) -> bool:
    r = rules.as_range(_facts(a).get("children_under_2"))
    return bool(r and r[0] >= 1)


FLOW = Flow(
    id=FLOW_ID,
    version=VERSION,
    steps=(
        _q("who", lambda a: not a.get("relation")),
        _q("age", lambda a: "age" not in _facts(a)),
        _q("residence", lambda a: "registered_in_tainan" not in _facts(a)),
        _q("household", lambda a: "household_size" not in _facts(a)),
        _q("income", lambda a: "household_monthly_income" not in _facts(a)),
        _q("movable", lambda a: "household_movable_assets" not in _facts(a) and _means_relevant(a)),
        _q("real_estate", lambda a: "household_real_estate" not in _facts(a) and _means_relevant(a)),
        _q("children", lambda a: "children_under_2" not in _facts(a) and _age_may_be(a, 16, 49)),
        _q("newborn", lambda a: "newborn_in_last_60_days" not in _facts(a) and _has_baby(a)),
        _q("care", lambda a: "needs_daily_care" not in _facts(a) and "disability_level" not in _facts(a)),
        _q("other_allowance", lambda a: "receives_other_allowance" not in _facts(a) and _age_may_be(a, 65, None)),
        _q("crisis", lambda a: "crisis" not in _facts(a)),
        _q("special", lambda a: "single_parent_or_special_circumstance" not in _facts(a) and _age_may_be(a, 16, 64)),
        Step("result", _ask_result, _parse_result),
        Step("consent", _ask_consent, _parse_consent, when=lambda a: bool(a.get("callback"))),
        Step("phone", _ask_phone, _parse_phone, when=lambda a: bool(a.get("consented"))),
    ),
)


def start(inc: Incoming, ctx: Context, now: float) -> Outcome:
    """Open the screener from the rich menu, 「福利補助試算」, or a message labelled ``welfare``."""
    answers: dict[str, Any] = {"as_of": rules.today_taipei(now).isoformat(), "facts": {}, "asked": []}
    pre: list[Text] = []
    if inc.kind == "postback" and inc.data.get("step"):
        pre.append(Text(t("welfare.expired_button")))  # a button of a screening that has ended
    if inc.kind == "text":
        relation = relation_in(inc.text)
        if relation:
            answers["relation"] = relation
        answers["facts"] = facts_from_text(inc.text)
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
        from dataclasses import replace
        return replace(out, replies=(replace(first, quick_replies=((screen_button,) + first.quick_replies)[:13]),
                                     *out.replies[1:]))
    return start(inc, ctx, now)


FAQ_SCORE = 3.0
ANSWERS = {"welfare": answer}
