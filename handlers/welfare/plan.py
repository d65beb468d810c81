"""The question plan of the welfare screener: which question comes next for this person (at most
8, in an order that fits who is asked about, each only while it can still change the result), and
the answers' helpers that the steps share."""
from __future__ import annotations

import datetime as dt
from typing import Any

from handlers.flow import Accept
from services import clock
from services import welfare as rules
from services.knowledge import t

FLOW_ID = "welfare"
VERSION = 2
MAX_QUESTIONS = 8
QUESTIONS = ("who", "age", "residence", "household", "income", "movable", "real_estate", "children", "order",
             "newborn", "care", "other_allowance", "crisis", "special")
MEANS_TESTED = ("low_income_household", "middle_low_income_household", "senior_living_allowance",
                "disability_living_subsidy", "national_pension_basic_guarantee")


def facts_of(a: dict[str, Any]) -> dict[str, Any]:
    return dict(a.get("facts") or {})


def as_of_day(a: dict[str, Any]) -> dt.date:
    return dt.date.fromisoformat(a["as_of"]) if a.get("as_of") else clock.today()


def subject(a: dict[str, Any]) -> str:
    return t(f"welfare.subject.{a.get('relation') or 'family'}")


def asked_of(a: dict[str, Any]) -> list[str]:
    return list(a.get("asked") or [])


def _budget(a: dict[str, Any]) -> bool:
    """Fewer than 8 questions asked; 「請問是幫誰問呢？」 does not count."""
    return len([q for q in asked_of(a) if q != "who"]) < MAX_QUESTIONS


def _age(a: dict[str, Any]) -> tuple[float, float | None] | None:
    return rules.as_range(facts_of(a).get("age"))


def _age_may_be(a: dict[str, Any], lo: float, hi: float | None) -> bool:
    """Whether the age (range) overlaps [lo, hi]; unknown age: yes."""
    r = _age(a)
    if r is None:
        return True
    return (hi is None or r[0] <= hi) and (r[1] is None or r[1] >= lo)


def _means_relevant(a: dict[str, Any]) -> bool:
    """Some means-tested programme is still possible with what we know."""
    facts, as_of = facts_of(a), as_of_day(a)
    return any(rules.screen_one(p, facts, as_of).outcome != "not_eligible" for p in MEANS_TESTED)


def accept(a: dict[str, Any], step: str, facts: dict[str, Any] | None = None, **more: Any) -> Accept:
    """The answer, and the next question by this person's priorities (or the result)."""
    merged = {**facts_of(a), **(facts or {})}
    updates = {"facts": merged, "asked": asked_of(a) + [step], **more}
    return Accept(updates, goto=next_question({**a, **updates}) or "result")


def _has_baby(a: dict[str, Any]) -> bool:
    r = rules.as_range(facts_of(a).get("children_under_2"))
    return bool(r and r[0] >= 1)


def _known(a: dict[str, Any], *facts: str) -> bool:
    return any(f in facts_of(a) for f in facts)


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
    and (a.get("baby") or not rules.alone_household(facts_of(a))),   # one person: no child under 2
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
        if name in asked_of(a) or not RELEVANT[name](a):
            continue
        if name == "who" or _budget(a):
            return name
    return None
