"""The questions of the welfare screener: each step's question (choices and ranges whose edges are
the household's own lines) and how its answer, tapped or typed, becomes facts."""
from __future__ import annotations

import math
from typing import Any

from handlers import parsers
from handlers.flow import Accept, Context, Incoming, Invalid
from handlers.welfare.plan import FLOW_ID, accept, as_of_day, asked_of, facts_of, next_question, subject
from handlers.welfare.reading import age_in, amount_fact, chinese_number, parse_words, people_in, relation_in
from services import knowledge
from services import welfare as rules
from services.knowledge import t
from services.messages import QuickReply, Text, postback, step_data


def choice(step: str, value: str, label: str) -> QuickReply:
    return postback(label, step_data(FLOW_ID, step, value), label)


def unsure(step: str, label: str | None = None) -> QuickReply:
    return choice(step, "unsure", t(label) if label else t("welfare.unsure"))


def value_of(inc: Incoming, step: str) -> str | None:
    if inc.kind == "postback" and inc.data.get("step") == step:
        return inc.data.get("value")
    return None


def by_label(inc: Incoming, options: dict[str, str], numbered: bool = False) -> str | None:
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
    if typed in parse_words("unsure_words"):
        return "unsure"
    return None


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
    r = rules.as_range(facts_of(a).get("household_size"))
    return int(r[0]) if r and r[1] == r[0] else None


def income_ranges(a: dict[str, Any]) -> list[tuple[str, dict]]:
    """Ranges whose edges are the household's own lines, so that a range never straddles one."""
    n, as_of = _exact_size(a), as_of_day(a)
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
    n, as_of = _exact_size(a), as_of_day(a)
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
    as_of = as_of_day(a)
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
        items = tuple(choice(name, str(i), label) for i, (label, _) in enumerate(ranges_fn(a)))
        size = _exact_size(a)
        words = t("welfare.household.people", n=size) if size else t("welfare.income.everyone")
        return [Text(t(f"welfare.{name}.ask", subject=subject(a), size=words), items + (unsure(name),))]

    def parse(inc: Incoming, a: dict[str, Any], ctx: Context):
        ranges = ranges_fn(a)
        value = value_of(inc, name)
        if value is None and inc.kind == "text":
            labels = {str(i): label for i, (label, _) in enumerate(ranges)}
            value = by_label(inc, labels)
            if value is None:
                amount = amount_fact(inc.text)
                if amount is not None:
                    return accept(a, name, {_FACT[name]: amount})
        if value == "unsure":
            return accept(a, name)
        if value is not None and value.isdigit() and int(value) < len(ranges):
            return accept(a, name, {_FACT[name]: ranges[int(value)][1]})
        return Invalid()
    return ask, parse


_FACT = {"income": "household_monthly_income", "movable": "household_movable_assets",
         "real_estate": "household_real_estate"}


# -- steps -----------------------------------------------------------------------------------------

def _ask_who(a: dict[str, Any]) -> list[Text]:
    options = knowledge.raw("welfare.who.options")
    return [Text(t("welfare.who.ask"), tuple(choice("who", k, v) for k, v in options.items()))]


def _parse_who(inc: Incoming, a: dict[str, Any], ctx: Context):
    options = knowledge.raw("welfare.who.options")
    value = value_of(inc, "who") or by_label(inc, options)
    if value is None and inc.kind == "text":
        value = relation_in(inc.text)
    if value in options or value in knowledge.raw("welfare.subject"):
        updates = {"relation": value, "asked": asked_of(a) + ["who"]}
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
                 tuple(choice("age", k, v) for k, v in _age_options(a).items()))]


def _age_accept(a: dict[str, Any], age: Any) -> Accept:
    facts: dict[str, Any] = {"age": age}
    r = rules.as_range(age)
    if a.get("relation") == "child" and r and r[1] is not None and r[1] < 2:
        facts["children_under_2"] = {"min": 1, "max": None}  # the family has a child under 2
        if r[0] >= 1:
            facts["newborn_in_last_60_days"] = False
    return accept(a, "age", facts)


def _parse_age(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = value_of(inc, "age")
    if value in AGE_BUCKETS:
        return _age_accept(a, AGE_BUCKETS[value])
    if inc.kind == "text":
        typed = parsers.normalize(inc.text).rstrip("".join(parse_words("age_units")))
        n = int(typed) if typed.isdigit() else chinese_number(typed)
        if n is None:
            n = age_in(inc.text)
        if n is None and any(w in inc.text for w in knowledge.words("welfare.age.zero_words")):
            n = 0  # 「剛出生」, 「3個月」
        if n is not None and 0 <= n <= 120:
            return _age_accept(a, n)
        label = by_label(inc, _age_options(a))
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
    items = tuple(choice("residence", k, v) for k, v in options.items()) + (unsure("residence"),)
    return [Text(t("welfare.residence.ask", subject=subject(a)), items)]


def _parse_residence(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = value_of(inc, "residence") or by_label(inc, knowledge.raw("welfare.residence.options"))
    if value is None and inc.kind == "text":  # 「跟我們住」, 「住安養院」
        value = next((k for k, words in knowledge.raw("welfare.residence.words").items()
                      if any(w in inc.text for w in words)), None)
    if value == "unsure":
        return accept(a, "residence")
    if value in RESIDENCE:
        facts = dict(RESIDENCE[value])
        if facts_of(a).get("lives_alone") and value == "family":
            facts.pop("lives_alone")
        if value == "institution" and inc.kind == "text":  # 「住安養院，自費」: who pays is said
            for kind, words in knowledge.raw("welfare.residence.placement_words").items():
                if any(w in inc.text for w in words):
                    facts["publicly_funded_placement"] = kind == "public"
                    break
        return accept(a, "residence", facts)
    return Invalid()


def _ask_household(a: dict[str, Any]) -> list[Text]:
    items = tuple(choice("household", str(n), t("welfare.household.people", n=n)) for n in range(1, 6))
    items += (choice("household", "6", t("welfare.household.six_up")), unsure("household"))
    return [Text(t("welfare.household.ask", subject=subject(a)), items)]


def _parse_household(inc: Incoming, a: dict[str, Any], ctx: Context):
    value = value_of(inc, "household")
    if value is None and inc.kind == "text":
        n = people_in(inc.text)
        value = str(n) if n else None
        if value is None and parsers.normalize(inc.text) in parse_words("unsure_words"):
            value = "unsure"
    if value == "unsure":
        return accept(a, "household")
    if value and value.isdigit() and 1 <= int(value) <= 30:
        n = int(value)
        fact = {"min": 6, "max": None} if (n >= 6 and value_of(inc, "household") == "6") else n
        return accept(a, "household", {"household_size": fact})
    return Invalid()


_ask_income, _parse_income = _range_step("income", income_ranges)
_ask_movable, _parse_movable = _range_step("movable", movable_ranges)
_ask_real_estate, _parse_real_estate = _range_step("real_estate", real_estate_ranges)

CARE = {"ok": {"needs_daily_care": False, "disability_level": "none", "has_foreign_caregiver": False},
        "needs_care": {"needs_daily_care": True, "disability_level": "none", "has_foreign_caregiver": False},
        "foreign": {"needs_daily_care": True, "disability_level": "none", "has_foreign_caregiver": True},
        "mild": {"disability_level": "mild"}, "moderate": {"disability_level": "moderate"},
        "severe": {"disability_level": "severe"}}


def _simple_options(name: str, mapping: dict[str, dict]):
    def ask(a: dict[str, Any]) -> list[Text]:
        options = knowledge.raw(f"welfare.{name}.options")
        items = tuple(choice(name, k, v) for k, v in options.items()) + (unsure(name),)
        return [Text(t(f"welfare.{name}.ask", subject=subject(a)), items)]

    def parse(inc: Incoming, a: dict[str, Any], ctx: Context):
        value = value_of(inc, name) or by_label(inc, knowledge.raw(f"welfare.{name}.options"))
        if value == "unsure":
            return accept(a, name)
        if value in mapping:
            return accept(a, name, mapping[value])
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
        items = (choice(name, "yes", t(yes_label) if yes_label else t("welfare.yes_label")),
                 choice(name, "no", t(no_label) if no_label else t("welfare.no_label")),
                 unsure(name, unsure_label))
        key = f"welfare.{name}.ask_family" if name == "special" and a.get("relation") == "child" else \
            f"welfare.{name}.ask"
        return [Text(t(key, subject=subject(a)), items)]

    def parse(inc: Incoming, a: dict[str, Any], ctx: Context):
        value = value_of(inc, name)
        if value is None and inc.kind == "text":
            typed = parsers.normalize(inc.text)
            if typed in (t(yes_label) if yes_label else "",) or parsers.is_yes(typed) or typed in parse_words("have_words"):
                value = "yes"
            elif typed in (t(no_label) if no_label else "",) or parsers.is_no(typed):
                value = "no"
            elif typed in parse_words("unsure_words"):
                value = "unsure"
        if value == "unsure":
            return accept(a, name)
        if value in ("yes", "no"):
            return accept(a, name, {fact: value == "yes"})
        return Invalid()
    return ask, parse


_ask_newborn, _parse_newborn = _yes_no("newborn", "newborn_in_last_60_days")
_ask_other, _parse_other = _yes_no("other_allowance", "receives_other_allowance",
                                   "welfare.other_allowance.have", "welfare.other_allowance.have_not",
                                   "welfare.other_allowance.unsure")
_ask_special, _parse_special = _yes_no("special", "single_parent_or_special_circumstance")
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
