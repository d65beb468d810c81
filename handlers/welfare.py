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
from handlers.flow import (Accept, Context, Finish, Flow, Incoming, Invalid, Outcome, Step, Submit, advance, begin)
from services import kinds, knowledge, nlu, safety
from services import welfare as rules
from services.knowledge import t
from services.messages import MAX_QUICK_REPLIES, QuickReply, Text, postback
from services.submissions import SubmissionDraft

FLOW_ID = "welfare"
VERSION = 2
MAX_QUESTIONS = 8
QUESTIONS = ("who", "age", "residence", "household", "income", "movable", "real_estate", "children", "order",
             "newborn", "care", "other_allowance", "crisis", "special")
MEANS_TESTED = ("low_income_household", "middle_low_income_household", "senior_living_allowance",
                "disability_living_subsidy", "national_pension_basic_guarantee")
MAX_BUBBLES = 12
MAX_REASONS = 12
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


def _mentioned(text: str) -> str | None:
    """The person a message is about, by the first relation word (not the asker's own role)."""
    text = text or ""
    if _self_age_re().search(text):
        return "self"
    prefixes = knowledge.words("welfare.asker_prefixes")
    weak = knowledge.words("welfare.weak_self_words")
    best: tuple[int, str] | None = None
    weak_self, asker_named = False, False
    for rel, words in knowledge.raw("welfare.relation_words").items():
        for w in words:
            for m in re.finditer(re.escape(w), text):
                if rel != "self" and any(p in text[max(0, m.start() - len(p) - 2):m.start()] for p in prefixes):
                    asker_named = True  # 「我是她女兒」: who is asking, not who is asked about
                    continue
                if rel == "self" and w in weak:
                    weak_self = True  # 「幫我…」 gives way to 「幫我的小孩問」
                    continue
                if best is None or m.start() < best[0]:
                    best = (m.start(), rel)
    if best:
        return best[1]
    return "self" if weak_self and not asker_named else None


def relation_in(text: str) -> str | None:
    """The person asked about. A baby born or expected: the parent, asking for the family.
    An injury or illness happening now is not a screening question (see ``urgent``)."""
    if is_emergency(text):
        return None
    if baby_in(text):
        return "self"
    return _mentioned(text)


def baby_in(text: str) -> bool:
    return nlu.has_word(nlu.normalize(text or ""), "welfare.baby.words")


def baby_facts(text: str) -> dict[str, Any]:
    """What a message about a baby says clearly: a baby under 2, born within 60 days, its birth order."""
    norm = nlu.normalize(text or "")
    facts: dict[str, Any] = {}
    if nlu.has_word(norm, "welfare.baby.expecting_words") and not nlu.has_word(norm, "welfare.baby.born_words"):
        return facts
    if nlu.has_word(norm, "welfare.baby.born_words"):
        facts["children_under_2"] = {"min": 1, "max": None}
    if nlu.has_word(norm, "welfare.baby.newborn_words"):
        facts["newborn_in_last_60_days"] = True
    for word, order in knowledge.raw("welfare.baby.order").items():
        if nlu.normalize_word(word) in norm:
            facts["child_birth_order"] = {"min": 5, "max": None} if order >= 5 else order
            break
    return facts


def facts_from_text(text: str) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    age = age_in(text)
    if age is not None and not baby_in(text):  # 「寶寶3個月」 is not the parent's age
        facts["age"] = age
    if any(w in (text or "") for w in knowledge.words("welfare.alone_words")):
        facts["lives_alone"] = True
    if any(w in (text or "") for w in _words("indigenous_words")):
        facts["indigenous"] = True
    if baby_in(text):
        facts.update(baby_facts(text))
    return facts


def wants_screening(text: str) -> bool:
    """A question about what someone can get (not about one named service). An injury or illness
    happening now is not one: it gets 119 first (``urgent``)."""
    if is_emergency(text):
        return False
    norm = nlu.normalize(text or "")
    return (age_in(text) is not None or relation_in(text) is not None
            or any(nlu.normalize_word(w) in norm for w in knowledge.words("welfare.screen_words")))


# -- an injury or illness happening now: 119 first ---------------------------------------------------

def is_emergency(text: str) -> bool:
    """An acute injury or illness happening now (跌倒受傷, 中風, 胸痛…), not a past or lasting one
    (「以前中風過」, 「行動不便」). A word right after a negation (沒有跌倒) does not count."""
    norm = nlu.normalize(text or "")
    if not norm:
        return False
    negations = [nlu.normalize_word(w) for w in knowledge.words("welfare.emergency.negations")]
    needs_person = {nlu.normalize_word(w) for w in knowledge.words("welfare.emergency.needs_person")}
    hit = False
    for w in knowledge.words("welfare.emergency.words"):
        word = nlu.normalize_word(w)
        for m in re.finditer(re.escape(word), norm):
            if word in needs_person and not safety.person_near(norm, m.start(), len(word)):
                continue  # a tree or a sign on the ground, not a person
            if not any(norm[:m.start()].endswith(n) for n in negations):
                hit = True
                break
        if hit:
            break
    if not hit:
        return False
    if nlu.has_word(norm, "welfare.emergency.now_words"):
        return True
    return not nlu.has_word(norm, "welfare.emergency.past_words")


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
    who = _mentioned(inc.text) or "family"
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
                   meta={"intent": "welfare", "topic": "emergency", "confidence": 1.0})


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
    """Fewer than 8 questions asked; 「請問是幫誰問呢？」 does not count."""
    return len([q for q in _asked(a) if q != "who"]) < MAX_QUESTIONS


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


def _unsure(step: str, label: str | None = None) -> QuickReply:
    return _choice(step, "unsure", t(label) if label else t("welfare.unsure"))


def _accept(a: dict[str, Any], step: str, facts: dict[str, Any] | None = None, **more: Any) -> Accept:
    """The answer, and the next question by this person's priorities (or the result)."""
    merged = {**_facts(a), **(facts or {})}
    updates = {"facts": merged, "asked": _asked(a) + [step], **more}
    return Accept(updates, goto=next_question({**a, **updates}) or "result")


def _value(inc: Incoming, step: str) -> str | None:
    if inc.kind == "postback" and inc.data.get("step") == step:
        return inc.data.get("value")
    return None


def _by_label(inc: Incoming, options: dict[str, str], numbered: bool = False) -> str | None:
    """A typed answer: the option's words; its number only where the question shows numbered
    choices (none of the screener's buttons do: 「2」 on the residence question is not option 2)."""
    if inc.kind != "text":
        return None
    keys = list(options)
    n = parsers.choice_number(inc.text, len(keys)) if numbered else None
    if n is not None:
        return keys[n]
    typed = parsers.normalize(inc.text)
    for k, label in options.items():
        label = parsers.normalize(label)  # full-width 「，」 as typed text is normalised
        if typed == label or (len(typed) >= 2 and typed in label):
            return k
    if typed in _words("unsure_words"):
        return "unsure"
    return None


@functools.cache
def _amount_re() -> re.Pattern[str]:
    wan, qian, yuan = (re.escape(_p(k)) for k in ("ten_thousand", "thousand", "dollar"))
    head = "|".join(re.escape(w) for w in sorted(_words("approx_prefixes"), key=len, reverse=True))
    tail = "|".join(re.escape(w) for w in sorted(_words("approx_suffixes"), key=len, reverse=True))
    return re.compile(rf"^({head})?([0-9]+(?:\.[0-9]+)?)\s*({wan}|{qian}|{yuan})?"
                      rf"\s*(?:([0-9]){qian}?)?\s*{yuan}?((?:{tail})*)$")


def _amount(text: str) -> tuple[int, int, list[str]] | None:
    """(amount, the step of its last unit, the loose words said with it) of an amount typed in
    digits with 10,000 / 1,000 units (e.g. 3 x 10,000 + 5 x 1,000), or None."""
    s = parsers.normalize(text).replace(",", "").replace(" ", "")
    m = _amount_re().match(s)
    if not m:
        return None
    digits = m.group(2)
    if (digits.startswith("0") and len(digits) >= 8) or len(digits.split(".")[0]) > 10:
        return None  # a phone number typed on the wrong question (0912345678), not an amount
    n = float(digits)
    unit = m.group(3)
    step = 1
    if unit == _p("ten_thousand"):
        n, step = n * 10000, 10000
        if m.group(4):
            n, step = n + int(m.group(4)) * 1000, 1000
    elif unit == _p("thousand"):
        n, step = n * 1000, 1000
    tail = m.group(5) or ""
    said = ([m.group(1)] if m.group(1) else []) + [w for w in _words("approx_suffixes") if w in tail]
    return int(n), step, said


def amount_fact(text: str) -> int | dict[str, int] | None:
    """A typed amount as a fact: the number, or a range when it was said loosely (「大概8萬」 is
    72,000–88,000, 「8萬多」 80,000–89,999, 「8萬以下」 up to 80,000, 「將近8萬」 72,000–80,000), so
    that a loose amount near a line gives "ask the office", never "likely"."""
    found = _amount(text)
    if found is None:
        return None
    n, step, said = found
    if not said or any(w in _words("exact_words") for w in said):
        return n
    if any(w in _words("more_words") for w in said):
        return {"min": n, "max": n + max(step, 10 ** max(len(str(n)) - 2, 0)) - 1}
    if any(w in _words("below_words") for w in said):
        low = 0 if any(w in _words("approx_suffixes") for w in said) else n * 9 // 10
        return {"min": low, "max": n}
    return {"min": n * 9 // 10, "max": -(-n * 11 // 10)}


def _fmt(n: float) -> str:
    """Amounts on the buttons read like those in the reasons (services.welfare.ntd)."""
    return rules.ntd(n)


def _range_items(step: str, cuts: list[int], unit: str, zero_label: str | None = None) -> list[tuple[str, dict]]:
    """Buttons for ranges between the cuts (each cut is the top of a range, inclusive). The facts
    keep the exact edges; a label in 萬 shows the lower edge as the cut below it (「250萬～275萬元」)."""
    cuts = sorted(set(c for c in cuts if c > 0))
    items: list[tuple[str, dict]] = []
    if zero_label:
        items.append((zero_label, {"min": 0, "max": 0}))
    low = 0
    for c in cuts:
        shown_low = _fmt(low + 1) if c < 100000 else rules.ntd(low, wan=True)  # both ends in one format
        label = t("welfare.range.at_most", high=_fmt(c) + unit) if low == 0 else \
            t("welfare.range.between", low=shown_low, high=_fmt(c) + unit)
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
                amount = amount_fact(inc.text)
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
        updates = {"relation": value, "asked": _asked(a) + ["who"]}
        return Accept(updates, goto=next_question({**a, **updates}) or "result")
    return Invalid()


AGE_BUCKETS = {"under_18": {"min": 0, "max": 17}, "18_49": {"min": 18, "max": 49}, "50_54": {"min": 50, "max": 54},
               "55_64": {"min": 55, "max": 64}, "65_79": {"min": 65, "max": 79}, "80_89": {"min": 80, "max": 89},
               "90_99": {"min": 90, "max": 99}, "100_up": {"min": 100, "max": None},
               # a child asked about
               "under_2": {"min": 0, "max": 1}, "2_5": {"min": 2, "max": 5}, "6_11": {"min": 6, "max": 11},
               "12_17": {"min": 12, "max": 17}, "18_64": {"min": 18, "max": 64}, "65_up": {"min": 65, "max": None},
               # a parent of a baby
               "18_29": {"min": 18, "max": 29}, "30_39": {"min": 30, "max": 39}, "40_49": {"min": 40, "max": 49},
               "50_64": {"min": 50, "max": 64}}


def _age_kind(a: dict[str, Any]) -> str:
    """Which age buttons fit: a child's, a young parent's, or the usual (elders')."""
    if a.get("relation") == "child":
        return "child"
    return "young" if a.get("baby") else "other"


def _age_options(a: dict[str, Any]) -> dict[str, str]:
    kind = _age_kind(a)
    return knowledge.raw("welfare.age.options" if kind == "other" else f"welfare.age.{kind}_options")


def _ask_age(a: dict[str, Any]) -> list[Text]:
    example = knowledge.raw("welfare.age.examples")[_age_kind(a)]
    return [Text(t("welfare.age.ask", subject=subject(a), example=example),
                 tuple(_choice("age", k, v) for k, v in _age_options(a).items()))]


def _age_accept(a: dict[str, Any], age: Any) -> Accept:
    facts: dict[str, Any] = {"age": age}
    r = rules.as_range(age)
    if a.get("relation") == "child" and r and r[1] is not None and r[1] < 2:
        facts["children_under_2"] = {"min": 1, "max": None}  # the family has a child under 2
        if r[0] >= 1:
            facts["newborn_in_last_60_days"] = False
    return _accept(a, "age", facts)


def _parse_age(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = _value(inc, "age")
    if value in AGE_BUCKETS:
        return _age_accept(a, AGE_BUCKETS[value])
    if inc.kind == "text":
        typed = parsers.normalize(inc.text).rstrip("".join(_words("age_units")))
        n = int(typed) if typed.isdigit() else chinese_number(typed)
        if n is None:
            n = age_in(inc.text)
        if n is None and any(w in inc.text for w in knowledge.words("welfare.age.zero_words")):
            n = 0  # 「剛出生」, 「3個月」
        if n is not None and 0 <= n <= 120:
            return _age_accept(a, n)
        label = _by_label(inc, _age_options(a))
        if label in AGE_BUCKETS:
            return _age_accept(a, AGE_BUCKETS[label])
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
    if value is None and inc.kind == "text":  # 「跟我們住」, 「住安養院」
        value = next((k for k, words in knowledge.raw("welfare.residence.words").items()
                      if any(w in inc.text for w in words)), None)
    if value == "unsure":
        return _accept(a, "residence")
    if value in RESIDENCE:
        facts = dict(RESIDENCE[value])
        if _facts(a).get("lives_alone") and value == "family":
            facts.pop("lives_alone")
        if value == "institution" and inc.kind == "text":  # 「住安養院，自費」: who pays is said
            for kind, words in knowledge.raw("welfare.residence.placement_words").items():
                if any(w in inc.text for w in words):
                    facts["publicly_funded_placement"] = kind == "public"
                    break
        return _accept(a, "residence", facts)
    return Invalid()


def _ask_household(a: dict[str, Any]) -> list[Text]:
    items = tuple(_choice("household", str(n), t("welfare.household.people", n=n)) for n in range(1, 6))
    items += (_choice("household", "6", t("welfare.household.six_up")), _unsure("household"))
    return [Text(t("welfare.household.ask", subject=subject(a)), items)]


@functools.cache
def _count_re() -> re.Pattern[str]:
    numerals = "".join(_p("digits")) + _p("ten")
    units = "|".join(re.escape(u) for u in _words("count_suffixes"))
    return re.compile(rf"([0-9]{{1,2}}|[{numerals}]{{1,3}})\s*(?:{units})")


def people_in(text: str) -> int | None:
    """A number of people: 「2」, 「兩個人」, 「三個」, 「我跟我哥跟媽媽三個」."""
    typed = parsers.normalize(text).rstrip("".join(_words("count_suffixes")))
    if typed.isdigit():
        return int(typed)
    if chinese_number(typed):
        return chinese_number(typed)
    found = _count_re().findall(parsers.normalize(text))
    if found:
        raw = found[-1]
        return int(raw) if raw.isdigit() else chinese_number(raw)
    return None


def _parse_household(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = _value(inc, "household")
    if value is None and inc.kind == "text":
        n = people_in(inc.text)
        value = str(n) if n else None
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
ORDER = {k: {"child_birth_order": v} for k, v in (("first", 1), ("second", 2), ("third", 3), ("fourth", 4),
                                                 ("fifth", {"min": 5, "max": None}))}
_ask_order, _parse_order = _simple_options("order", ORDER)
CRISIS = {k: {"crisis": k} for k in ("none", "death_in_family", "injury_or_illness", "lost_income", "disaster", "other")}
_ask_crisis, _parse_crisis = _simple_options("crisis", CRISIS)


def _yes_no(name: str, fact: str, yes_label: str | None = None, no_label: str | None = None,
            unsure_label: str | None = None):
    def ask(a: dict[str, Any]) -> list[Text]:
        items = (_choice(name, "yes", t(yes_label) if yes_label else t("welfare.yes_label")),
                 _choice(name, "no", t(no_label) if no_label else t("welfare.no_label")),
                 _unsure(name, unsure_label))
        key = f"welfare.{name}.ask_family" if name == "special" and a.get("relation") == "child" else \
            f"welfare.{name}.ask"
        return [Text(t(key, subject=subject(a)), items)]

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
                                   "welfare.other_allowance.have", "welfare.other_allowance.have_not",
                                   "welfare.other_allowance.unsure")
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
                        "data": f"{RESULT_DATA}&value=callback", "displayText": t("welfare.result.callback_button")}},
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


def result_flex(a: dict[str, Any], results: list[rules.Result]) -> dict[str, Any]:
    as_of = _as_of(a)
    g = groups(results)
    head = [_txt(t("welfare.result.title"), size="xl", weight="bold"),
            _txt(t("welfare.result.who", subject=subject(a),
                   date=t("welfare.date", year=rules.roc(as_of), month=as_of.month, day=as_of.day)),
                 size="sm", color="#666666"),
            _txt(counts_text(g, t("welfare.result.count_sep")), size="lg", weight="bold", margin="lg"),
            _txt(t("welfare.result.disclaimer"), size="md", margin="lg", color="#B00020")]
    if any(r.stale for r in results):
        head.append(_txt(t("welfare.result.stale", year=rules.roc(as_of)), size="md", margin="lg"))
    summary = {"type": "bubble", "size": "mega",
               "body": {"type": "box", "layout": "vertical", "contents": head},
               "footer": {"type": "box", "layout": "vertical", "contents": _buttons()}}
    other = g["ask_if_needed"]
    shown = g["likely_eligible"] + g["needs_review"]
    room = MAX_BUBBLES - 3
    bubbles = [summary] + [_programme_bubble(r, as_of) for r in shown[:room]]
    if other:
        bubbles.append({"type": "bubble", "size": "mega",
                        "header": {"type": "box", "layout": "vertical", "backgroundColor": COLORS["needs_review"],
                                   "paddingAll": "16px",
                                   "contents": [_txt(t("welfare.result.count.ask_if_needed", n=len(other)),
                                                     color="#FFFFFF",
                                                     size="xl", weight="bold")]},
                        "body": {"type": "box", "layout": "vertical",
                                 "contents": [_txt(f"・{r.name}：{r.reasons[0].lstrip('❓ ')}", size="md", margin="md")
                                              for r in other]}})
    rest = g["not_eligible"]
    young = [r for r in rest if _too_young(r, results)]
    young = young if len(young) >= 2 else []
    lines = []
    for r in rest:
        if r in young:
            continue
        why = next((x for x in r.reasons if x.startswith("❌")), "")
        lines.append(f"・{r.name}：{why.lstrip('❌ ')}" if why else f"・{r.name}")
    if young:  # programmes for older people: one line, not one "does not fit" each
        lowest = min(int(c.threshold) for r in young for c in r.checks
                     if c.status == "failed" and c.name in SENIOR_GATES and isinstance(c.threshold, (int, float)))\
            if any(isinstance(c.threshold, (int, float)) for r in young for c in r.checks
                   if c.status == "failed" and c.name in SENIOR_GATES) else 65
        lines.append(t("welfare.result.senior_skipped", count=len(young), age=lowest, subject=subject(a),
                       names=t("welfare.result.senior_names_sep").join(r.name for r in young)))
    if len(shown) > room:
        lines.append(t("welfare.result.more", count=len(shown) - room))
    if lines:
        bubbles.append({"type": "bubble", "size": "mega",
                        "header": {"type": "box", "layout": "vertical", "backgroundColor": COLORS["not_eligible"],
                                   "paddingAll": "16px",
                                   "contents": [_txt(t("welfare.result.count.not_eligible", n=len(rest)),
                                                     color="#FFFFFF",
                                                     size="xl", weight="bold")]},
                        "body": {"type": "box", "layout": "vertical",
                                 "contents": [_txt(x, size="md", margin="md") for x in lines]},
                        "footer": {"type": "box", "layout": "vertical", "contents": _buttons()}})
    return {"type": "carousel", "contents": bubbles}


def _ask_result(a: dict[str, Any]) -> list[Text]:
    results = results_for(a)
    alt = t("welfare.result.alt", counts=counts_text(groups(results), t("welfare.result.alt_sep")))
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
        phone = parsers.phone_in(inc.text)
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
        owner_section=kinds.owner(FLOW_ID), answers=answers)


def _q(name: str) -> Step:
    ask, parse = STEP_FUNCS[name]
    return Step(name, ask, parse, when=lambda a: next_question(a) == name)


STEP_FUNCS = {
    "who": (_ask_who, _parse_who), "age": (_ask_age, _parse_age),
    "residence": (_ask_residence, _parse_residence), "household": (_ask_household, _parse_household),
    "income": (_ask_income, _parse_income), "movable": (_ask_movable, _parse_movable),
    "real_estate": (_ask_real_estate, _parse_real_estate), "children": (_ask_children, _parse_children),
    "order": (_ask_order, _parse_order),
    "newborn": (_ask_newborn, _parse_newborn), "care": (_ask_care, _parse_care),
    "other_allowance": (_ask_other, _parse_other), "crisis": (_ask_crisis, _parse_crisis),
    "special": (_ask_special, _parse_special),
}


def _has_baby(a: dict[str, Any]) -> bool:
    r = rules.as_range(_facts(a).get("children_under_2"))
    return bool(r and r[0] >= 1)


def _known(a: dict[str, Any], *facts: str) -> bool:
    return any(f in _facts(a) for f in facts)


# Whether a question can still change the result for this person.
RELEVANT = {
    "who": lambda a: not a.get("relation"),
    "age": lambda a: not _known(a, "age"),
    "residence": lambda a: not _known(a, "registered_in_tainan"),
    "household": lambda a: not _known(a, "household_size"),
    "income": lambda a: not _known(a, "household_monthly_income"),
    "movable": lambda a: not _known(a, "household_movable_assets") and _means_relevant(a),
    "real_estate": lambda a: not _known(a, "household_real_estate") and _means_relevant(a),
    "children": lambda a: not _known(a, "children_under_2") and a.get("relation") != "child"
    and _age_may_be(a, 16, 49)
    and (a.get("baby") or not rules.alone_household(_facts(a))),   # one person: no child under 2
    "order": lambda a: _has_baby(a) and not _known(a, "child_birth_order"),
    "newborn": lambda a: not _known(a, "newborn_in_last_60_days") and _has_baby(a)
    and (a.get("relation") != "child" or _age_may_be(a, 0, 0)),
    "care": lambda a: not _known(a, "needs_daily_care", "disability_level"),
    "other_allowance": lambda a: not _known(a, "receives_other_allowance") and _age_may_be(a, 65, None),
    "crisis": lambda a: not _known(a, "crisis"),
    "special": lambda a: not _known(a, "single_parent_or_special_circumstance")
    and (a.get("relation") == "child" or _age_may_be(a, 16, 64)),
}

# The order questions are asked in, by who is asked about: within 8 questions, the ones that decide
# the programmes likely for this person come first (an elder: assets, care, other allowances; a
# young family: the baby, single parent, a crisis; a child: health).
PLANS = {
    "elder": ("who", "age", "residence", "household", "income", "movable", "real_estate", "care",
              "other_allowance", "crisis", "special", "children", "order", "newborn"),
    "working_age": ("who", "age", "residence", "household", "income", "children", "order", "newborn", "special",
                    "crisis", "movable", "real_estate", "care", "other_allowance"),
    "baby": ("who", "residence", "household", "income", "children", "order", "newborn", "age", "special", "crisis",
             "movable", "real_estate", "care", "other_allowance"),
    "child": ("who", "age", "residence", "household", "income", "care", "order", "newborn", "special", "crisis",
              "movable", "real_estate", "other_allowance"),
}


def plan(a: dict[str, Any]) -> tuple[str, ...]:
    if a.get("relation") == "child":
        return PLANS["child"]
    if a.get("baby"):
        return PLANS["baby"]
    r = _age(a)
    return PLANS["working_age"] if r is not None and r[1] is not None and r[1] < 50 else PLANS["elder"]


def next_question(a: dict[str, Any]) -> str | None:
    """The next question for this person, or None when the result is due."""
    for name in plan(a):
        if name in _asked(a) or not RELEVANT[name](a):
            continue
        if name == "who" or _budget(a):
            return name
    return None


FLOW = Flow(
    id=FLOW_ID,
    version=VERSION,
    steps=(
        *(_q(name) for name in QUESTIONS),
        Step("result", _ask_result, _parse_result),
        Step("consent", _ask_consent, _parse_consent, when=lambda a: bool(a.get("callback"))),
        Step("phone", _ask_phone, _parse_phone, when=lambda a: bool(a.get("consented"))),
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
    answers: dict[str, Any] = {"as_of": rules.today_taipei(now).isoformat(), "facts": {}, "asked": []}
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
        from dataclasses import replace
        return replace(out, replies=(replace(first, quick_replies=((screen_button,) + first.quick_replies)[:MAX_QUICK_REPLIES]),
                                     *out.replies[1:]))
    return start(inc, ctx, now)


FAQ_SCORE = 3.0
ANSWERS = {"welfare": answer}
