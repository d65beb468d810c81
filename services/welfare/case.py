"""Call-back cases: what a welfare case stores (the screening as the resident saw it and the few
facts staff need) and how the dashboard shows it."""
from __future__ import annotations

from typing import Any

from services.knowledge import t
from services.welfare.checks import OUTCOMES
from services.welfare.screen import FACTS, Result, normalize_facts, ordered
from services.welfare.values import as_range, ntd, range_text

# The few facts staff need with a call-back case (answers hold nothing else).
CASE_FACTS = ("age", "registered_in_tainan", "household_size", "household_monthly_income",
              "household_movable_assets", "household_real_estate", "disability_level", "needs_daily_care",
              "lives_alone", "has_foreign_caregiver", "in_institution", "publicly_funded_placement",
              "receives_other_allowance",
              "children_under_2", "child_birth_order", "crisis", "single_parent_or_special_circumstance")


def case_answers(facts: dict[str, Any], results: list[Result], relation: str | None) -> dict[str, Any]:
    """What a call-back case stores: the screening as the resident saw it, and the minimal facts."""
    kept = {k: v for k, v in normalize_facts(facts).items() if k in CASE_FACTS}
    return {"screening": [r.summary() for r in ordered(results)], "facts": kept, "relation": relation,
            "as_of": results[0].as_of if results else None,
            "params_version": sorted({r.params_version for r in results})}


def case_view(answers: dict[str, Any] | None) -> dict[str, Any] | None:
    """The screening section of a welfare case page (staff see the same reasons as the resident)."""
    if not answers or "screening" not in answers:
        return None
    labels = {o: t(f"welfare.outcome.{o}") for o in OUTCOMES}
    rows = []
    for r in answers["screening"]:
        rows.append({**r, "outcome_label": labels.get(r["outcome"], r["outcome"]),
                     "amount_text": amount_text(r.get("amount"), r.get("amount_unit", "none"))})
    facts = [(t(f"welfare.fact_labels.{k}"), fact_text(k, v)) for k, v in (answers.get("facts") or {}).items()]
    return {"rows": rows, "facts": facts, "as_of": answers.get("as_of"),
            "relation": t(f"welfare.relation_staff.{answers.get('relation') or 'unknown'}"),
            "params_version": ", ".join(answers.get("params_version") or [])}


def amount_text(amount: int | None, unit: str) -> str:
    if amount is None:
        return t("welfare.amount.none_text")
    return t(f"welfare.amount.unit_{unit if unit in ('month', 'once', 'year') else 'once'}", amount=ntd(amount))


def fact_text(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return t("welfare.yes_label") if value else t("welfare.no_label")
    kind = FACTS.get(key)
    if isinstance(kind, tuple):
        return t(f"welfare.enum.{value}")
    r = as_range(value)
    unit = t("welfare.unit.years") if key == "age" else t("welfare.unit.people") if key in (
        "household_size", "children_under_2") else "" if key == "child_birth_order" else t("welfare.unit.ntd")
    return range_text(r, unit) if r else str(value)
