"""Screening: the facts (normalised, and those that follow from others), every programme's
checks, and its result as the resident sees it."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from services.knowledge import t
from services.welfare.checks import OUTCOMES, Check, Screening, outcome
from services.welfare.params import PROGRAMMES, parameter_files
from services.welfare.programmes import RULES
from services.welfare.values import as_range, roc

FACTS = {
    "age": "number", "registered_in_tainan": "bool", "months_registered_in_tainan": "number",
    "days_in_taiwan_last_year": "number", "household_size": "number", "household_monthly_income": "number",
    "household_movable_assets": "number", "household_real_estate": "number",
    "disability_level": ("none", "mild", "moderate", "severe", "profound"),
    "lives_alone": "bool", "needs_daily_care": "bool", "has_foreign_caregiver": "bool", "in_institution": "bool",
    "publicly_funded_placement": "bool",
    "receives_other_allowance": "bool", "children_under_2": "number", "child_birth_order": "number",
    "newborn_in_last_60_days": "bool",
    "crisis": ("none", "death_in_family", "injury_or_illness", "lost_income", "disaster", "other"),
    "single_parent_or_special_circumstance": "bool", "annual_personal_income": "number", "indigenous": "bool",
}


@dataclass
class Result:
    programme: str
    name: str
    outcome: str
    amount: int | None
    amount_unit: str
    reasons: list[str]
    params_version: str
    as_of: str
    stale: bool
    checks: list[Check] = field(default_factory=list)
    amount_notes: list[str] = field(default_factory=list)   # the amount's own lines (also in reasons)
    where: str | None = None              # None: no source says where; the bot gives the office phone
    documents: list[str] | None = None    # None: no source says what to bring; the phone instead

    def public(self) -> dict[str, Any]:
        """The CLI's contract: programme, outcome, amount, reasons, params_version."""
        return {"programme": self.programme, "outcome": self.outcome, "amount": self.amount,
                "reasons": self.reasons, "params_version": self.params_version}

    def summary(self) -> dict[str, Any]:
        """What staff need on a call-back case: what the resident saw, and the checks."""
        return {"programme": self.programme, "name": self.name, "outcome": self.outcome, "amount": self.amount,
                "amount_unit": self.amount_unit, "reasons": self.reasons, "params_version": self.params_version,
                "as_of": self.as_of, "stale": self.stale,
                "checks": [{k: v for k, v in asdict(c).items() if k != "reason"} for c in self.checks]}


def normalize_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """Only known facts, of the right kind; an unknown value is dropped (so: unknown)."""
    out: dict[str, Any] = {}
    for key, value in (facts or {}).items():
        kind = FACTS.get(key)
        if kind is None or value is None:
            continue
        if kind == "bool" and isinstance(value, bool):
            out[key] = value
        elif kind == "number" and as_range(value) is not None:
            out[key] = value
        elif isinstance(kind, tuple) and value in kind:
            out[key] = value
    return out


def alone_household(facts: dict[str, Any]) -> bool:
    """A household counted as this one person, aged 2 or more: there is no child under 2 in it."""
    size, age = as_range(facts.get("household_size")), as_range(facts.get("age"))
    return size == (1.0, 1.0) and age is not None and age[0] >= 2


def infer_facts(facts: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Facts that follow from others, as a social worker would read them, and which were inferred:
    - a household of one person aged 2+ has no child under 2 and no newborn (全家人口 counts
      children even when they live elsewhere);
    - a person with a foreign caregiver needs help in daily life (a caregiver is only approved
      for someone assessed as needing care)."""
    out, inferred = dict(facts), set()
    if alone_household(facts):
        for key, value in (("children_under_2", 0), ("newborn_in_last_60_days", False)):
            if key not in out:
                out[key] = value
                inferred.add(key)
    if out.get("has_foreign_caregiver") is True and "needs_daily_care" not in out:
        out["needs_daily_care"] = True
        inferred.add("needs_daily_care")
    return out, inferred


def _sourced(meta: dict[str, Any], key: str) -> Any:
    """``where`` / ``documents`` only when their source is recorded (None: the bot gives the phone)."""
    value = meta.get(key)
    return value if value is not None and meta.get(f"{key}_source") else None


def screen_one(programme: str, facts: dict[str, Any], as_of: dt.date, directory: Path | None = None) -> Result:
    facts, inferred = infer_facts(normalize_facts(facts))
    meta = parameter_files(directory)[programme]
    s = Screening(programme, facts, as_of, directory, inferred)
    amount, amount_notes = RULES[programme](s)
    verdict = outcome(s.checks, s.used)
    stale = any(p.stale for p in s.used)
    reasons = [c.reason for c in s.checks]
    if stale:
        reasons.append(t("welfare.reason.stale", year=roc(as_of)))
        amount = None
    if verdict == "not_eligible":
        amount, amount_notes = None, []
    else:
        reasons += amount_notes
    reasons += s.notes
    common = parameter_files(directory)["common"]["version"]
    documents = _sourced(meta, "documents")
    return Result(programme, meta["name"], verdict, amount, meta.get("amount_unit", "none"), reasons,
                  f"{programme}@{meta['version']}+common@{common}", as_of.isoformat(), stale, s.checks,
                  list(amount_notes), _sourced(meta, "where"), None if documents is None else list(documents))


def screen(facts: dict[str, Any], as_of: dt.date, directory: Path | None = None) -> list[Result]:
    """Every programme, in the fixed order of PROGRAMMES."""
    return [screen_one(p, facts, as_of, directory) for p in PROGRAMMES]


def ordered(results: list[Result]) -> list[Result]:
    """Likely first, then those the office should check, then those that do not fit."""
    rank = {o: i for i, o in enumerate(OUTCOMES)}
    return sorted(results, key=lambda r: (rank[r.outcome], PROGRAMMES.index(r.programme)))


