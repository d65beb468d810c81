"""Welfare screening: rules as code over dated parameters (knowledge/welfare/*.yaml).

``screen(facts, as_of)`` runs one small function per programme. Each function reads the facts and
the parameters in force on ``as_of`` and records every check it makes: passed, failed or unknown,
with the fact, the threshold and the date the threshold took effect. Then:

- any failed check (on a confirmed, current threshold) -> ``not_eligible``;
- else any unknown check -> ``needs_review`` (a missing fact never gives ``not_eligible``);
- else ``likely_eligible``, unless a parameter used is stale (past its last confirmed period, or
  verified more than 13 months before ``as_of``): then ``needs_review`` with the reason that the
  year's figures are not confirmed yet.

Facts are all optional; a number may be given as a range ``{"min": a, "max": b}`` (either end
open), which is what the chat's quick replies produce. A range that straddles a threshold gives
``unknown`` for that check, never a guess. Parameters marked ``unverified`` or ``proposed`` are
recorded but never used as if in force: a check that depends on them is unknown, and an amount
that depends on them is not told (the office phone is).

Pure functions (no Flask, no database) except the few helpers at the end that the dispatcher and
the dashboard call with a session.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from services.knowledge import KNOWLEDGE_DIR, t

PARAMS_DIR = KNOWLEDGE_DIR / "welfare"
CONFIRMED = ("verified-official", "verified-secondary", "derived")
STATUSES = CONFIRMED + ("unverified", "proposed")
STALE_MONTHS = 13
OUTCOMES = ("likely_eligible", "needs_review", "not_eligible")
PROGRAMMES = (
    "low_income_household", "middle_low_income_household", "senior_living_allowance",
    "senior_special_care_allowance", "disability_living_subsidy", "emergency_assistance",
    "senior_meal_service", "national_pension_basic_guarantee", "childcare_allowance",
    "tainan_birth_bonus", "special_circumstances_family", "double_ninth_gift", "long_term_care",
)
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
# The few facts staff need with a call-back case (answers hold nothing else).
CASE_FACTS = ("age", "registered_in_tainan", "household_size", "household_monthly_income",
              "household_movable_assets", "household_real_estate", "disability_level", "needs_daily_care",
              "lives_alone", "has_foreign_caregiver", "in_institution", "publicly_funded_placement",
              "receives_other_allowance",
              "children_under_2", "child_birth_order", "crisis", "single_parent_or_special_circumstance")


# -- parameters ----------------------------------------------------------------------------------

@functools.cache
def _load(directory: str) -> dict[str, dict]:
    out = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
        out[data["id"]] = data
    return out


def parameter_files(directory: Path | None = None) -> dict[str, dict]:
    return _load(str(directory or PARAMS_DIR))


def contact(name: str) -> str:
    """A phone number the screener gives (``contacts`` in common.yaml, with its source)."""
    return str(parameter_files()["common"]["contacts"][name]["phone"])


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


@dataclass(frozen=True)
class Param:
    """One parameter as of a date: the confirmed value in force and what may have replaced it."""

    programme: str
    name: str
    value: Any = None                     # the confirmed value in force (None: none confirmed)
    effective_from: dt.date | None = None
    status: str | None = None
    source: str | None = None
    verified_on: dt.date | None = None
    pending: tuple = ()                   # values of later unconfirmed entries (None: value unknown)
    pending_from: dt.date | None = None
    stale: str | None = None              # "period" | "verification"
    stale_since: dt.date | None = None
    pending_status: str | None = None     # "proposed" (a planned change) or "unverified"
    valid_to: dt.date | None = None       # the last day the value in force is confirmed for (its ``to``)
    # A value confirmed only for an earlier period and carried forward unverified (an entry of
    # status ``unverified`` repeating it): ``confirmed_to`` is the last day it was confirmed for,
    # ``undated`` that its source shows no year at all.
    carried: bool = False
    confirmed_to: dt.date | None = None
    undated: bool = False

    @property
    def usable(self) -> bool:
        return self.value is not None and not self.pending

    def candidates(self) -> list[Any]:
        return [self.value, *self.pending]


def lookup(programme: str, name: str, as_of: dt.date, directory: Path | None = None) -> Param:
    entries = parameter_files(directory)[programme]["parameters"][name]
    entries = sorted(entries, key=lambda e: _as_date(e["from"]))
    applicable = [e for e in entries if _as_date(e["from"]) <= as_of]
    if not applicable:
        return Param(programme, name)
    confirmed = [e for e in applicable if e["status"] in CONFIRMED and e.get("value") is not None]
    base = confirmed[-1] if confirmed else None
    later = [e for e in applicable if e not in confirmed
             and (base is None or _as_date(e["from"]) > _as_date(base["from"]))]
    latest = applicable[-1]
    stale, since = None, None
    to = _as_date(latest.get("to"))
    if to is not None and as_of > to:
        stale, since = "period", to
    used = [e for e in (base, latest) if e is not None]
    oldest = min(_as_date(e["verified_on"]) for e in used)
    if stale is None and as_of > add_months(oldest, STALE_MONTHS):
        stale, since = "verification", oldest
    pending_status = later[0]["status"] if later else None
    if base is not None and later and all(e["status"] == "unverified" and e.get("value") == base["value"]
                                          for e in later):
        # the earlier confirmed value carried forward: known, but not confirmed for this period
        return Param(programme, name, base["value"], _as_date(base["from"]), "unverified", base.get("source"),
                     _as_date(base.get("verified_on")), (), None, stale, since, None, None, True,
                     _as_date(base.get("to")), bool(base.get("undated")))
    if base is None:
        return Param(programme, name, None, None, latest["status"], latest.get("source"),
                     _as_date(latest.get("verified_on")), tuple(e.get("value") for e in later),
                     _as_date(later[0]["from"]) if later else None, stale, since, pending_status)
    return Param(programme, name, base["value"], _as_date(base["from"]), base["status"], base.get("source"),
                 _as_date(base.get("verified_on")), tuple(e.get("value") for e in later),
                 _as_date(later[0]["from"]) if later else None, stale, since, pending_status,
                 _as_date(base.get("to")))


# -- facts ---------------------------------------------------------------------------------------

Range = tuple[float, float | None]  # (low, high); high None = no upper end


def as_range(value: Any) -> Range | None:
    """A number, [a, b] or {"min": a, "max": b} as (low, high)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value), float(value)
    if isinstance(value, (list, tuple)) and len(value) == 2:
        lo, hi = value
    elif isinstance(value, dict):
        lo, hi = value.get("min"), value.get("max")
    else:
        return None
    return float(lo or 0), (None if hi is None else float(hi))


def _mul(r: Range, k: Range) -> Range:
    hi = None if r[1] is None or k[1] is None else r[1] * k[1]
    return r[0] * k[0], hi


def money(n: float | None) -> str:
    """A whole number with commas; a fraction is dropped (38,787.5 -> 38,787)."""
    return "" if n is None else f"{math.floor(float(n) + 1e-9):,}"


def ntd(n: float | None, wan: bool = False) -> str:
    """An amount of money as an elder reads it, one format everywhere (buttons and reasons):
    under 100,000 whole 元 with commas (15,515); from 100,000 in 萬 with at most one decimal
    (250萬, 353.3萬). Rounded down (the safe side of a "… or less" line, with 1 元 of slack so
    that 4,999,999 reads 500萬); 約 when rounding changed the number."""
    if n is None:
        return ""
    n = float(n)
    if n < 100000 and not (wan and n >= 10000):
        shown, exact = money(n), float(n).is_integer()
    else:
        tenths = math.floor((n + 1) / 1000)
        shown = f"{tenths // 10:,}" + (f".{tenths % 10}" if tenths % 10 else "") + t("welfare.unit.wan")
        exact = abs(tenths * 1000 - n) <= 1
    return shown if exact else t("welfare.about") + shown


def _num(n: float | None, unit: str) -> str:
    return ntd(n) if unit == t("welfare.unit.ntd") else money(n)


def roc(day: dt.date) -> int:
    return day.year - 1911


def since_text(day: dt.date | None) -> str:
    return t("welfare.since", year=roc(day), month=day.month) if day else ""


def carried_text(p: "Param") -> str:
    """The period a carried-forward value was confirmed for, and that today's is not confirmed."""
    if p.undated or p.confirmed_to is None:
        return t("welfare.since_undated")
    return t("welfare.since_carried", year=roc(p.confirmed_to))


# -- checks ---------------------------------------------------------------------------------------

@dataclass
class Check:
    """One condition of one programme, as the resident and staff see it."""

    name: str
    status: str                 # passed | failed | unknown
    fact: str | None            # the fact key(s) it reads
    value: Any                  # the fact as given
    threshold: Any = None
    op: str | None = None
    effective_from: str | None = None
    param_status: str | None = None
    reason: str = ""
    stale: bool = False


def _range_text(r: Range | None, unit: str) -> str:
    if r is None:
        return ""
    lo, hi = r
    if hi is not None and lo == hi:
        return t("welfare.value.exact", value=_num(lo, unit), unit=unit)
    if hi is None:
        return t("welfare.value.at_least", value=_num(lo, unit), unit=unit)
    if lo <= 0:
        return t("welfare.value.at_most", value=_num(hi, unit), unit=unit)
    return t("welfare.value.between", low=_num(lo, unit), high=_num(hi, unit), unit=unit)


def _rule_text(op: str, threshold: Any, unit: str) -> str:
    return t(f"welfare.op.{ {'<=': 'le', '<': 'lt', '>=': 'ge', '>': 'gt'}[op] }",
             value=_num(threshold, unit), unit=unit)


def compare(r: Range, op: str, lo_t: float, hi_t: float) -> str:
    """passed / failed / unknown for ``fact op threshold`` where the threshold lies in [lo_t, hi_t]."""
    lo, hi = r
    if op == "<=":
        if hi is not None and hi <= lo_t:
            return "passed"
        return "failed" if lo > hi_t else "unknown"
    if op == "<":
        if hi is not None and hi < lo_t:
            return "passed"
        return "failed" if lo >= hi_t else "unknown"
    if op == ">=":
        if lo >= hi_t:
            return "passed"
        return "failed" if hi is not None and hi < lo_t else "unknown"
    if op == ">":
        if lo > hi_t:
            return "passed"
        return "failed" if hi is not None and hi <= lo_t else "unknown"
    raise ValueError(op)


class Screening:
    """The checks of one programme as of one date."""

    def __init__(self, programme: str, facts: dict[str, Any], as_of: dt.date, directory: Path | None = None,
                 inferred: set[str] | None = None):
        self.programme = programme
        self.facts = facts
        self.as_of = as_of
        self.directory = directory
        self.checks: list[Check] = []
        self.notes: list[str] = []
        self.used: list[Param] = []
        self.inferred: set[str] = set(inferred or ())   # facts that follow from others (infer_facts)

    # parameters
    def p(self, name: str, programme: str | None = None) -> Param:
        param = lookup(programme or self.programme, name, self.as_of, self.directory)
        self.used.append(param)
        return param

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    # numeric checks: fact (range) op threshold. ``scale`` (the household size) turns a per-person
    # threshold into a household one; ``per_extra`` adds an amount for each person after the first.
    def numeric(self, name: str, fact: str, op: str, param: Param, unit: str, value: Range | None = None,
                given: Any = "__from_facts__", scale: Range | None = None, per_extra: Param | None = None) -> Check:
        label = t(f"welfare.checks.{name}.label")
        given = self.facts.get(fact) if given == "__from_facts__" else given
        r = as_range(given) if value is None else value
        carried = next((p for p in (param, per_extra) if p is not None and p.carried), None)
        since = carried_text(carried) if carried else since_text(param.effective_from)
        rec = dict(name=name, fact=fact, value=given, op=op, threshold=param.value,
                   effective_from=param.effective_from.isoformat() if param.effective_from else None,
                   param_status="unverified" if carried else param.status, stale=bool(param.stale))
        rule = _rule_text(op, param.value, unit) if param.value is not None else ""
        size_known = self._extra_size is not None and self._extra_size[1] == self._extra_size[0]
        if per_extra is not None and per_extra.value is not None and param.value is not None and size_known \
                and not param.pending and not per_extra.pending:
            # total with total: this household's own line, and how it is made
            n = int(self._extra_size[0])
            total = float(param.value) + float(per_extra.value) * (n - 1)
            rule = t("welfare.rule_household", size=n, rule=_rule_text(op, total, unit),
                     base=_num(param.value, unit), extra=_num(per_extra.value, unit))
        elif per_extra is not None and per_extra.value is not None:
            rule = t("welfare.rule_plus", rule=rule, extra=_num(per_extra.value, unit))
        elif scale is not None:
            rule = t("welfare.rule_per_person", rule=rule)
        pieces = [param] + ([per_extra] if per_extra is not None else [])
        if any(p.value is None and not p.pending for p in pieces) or any(
                v is None for p in pieces for v in p.candidates()):
            return self.add(Check(status="unknown", reason=t("welfare.reason.no_threshold", label=label,
                                                               year=roc(self.as_of)), **rec))
        if r is None:
            return self.add(Check(status="unknown", reason=t("welfare.reason.missing", label=label, rule=rule),
                                  **rec))

        def bounds(confirmed_only: bool) -> tuple[float, float]:
            base = [param.value] if confirmed_only else param.candidates()
            lo_t, hi_t = float(min(base)), float(max(base))
            if scale is not None:
                lo_t *= scale[0]
                hi_t = float("inf") if scale[1] is None else hi_t * scale[1]
            if per_extra is not None:
                extra = [per_extra.value] if confirmed_only else per_extra.candidates()
                size = scale_for_extra or (1.0, 1.0)
                lo_t += float(min(extra)) * max(size[0] - 1, 0)
                hi_t = float("inf") if size[1] is None else hi_t + float(max(extra)) * max(size[1] - 1, 0)
            return lo_t, hi_t

        scale_for_extra = self._extra_size if per_extra is not None else None
        status = compare(r, op, *bounds(False))
        fact_text = _range_text(r, unit)
        if scale is not None:
            # per person with per person: the household's amount divided by its size, then the total
            per_person = (r[0] / scale[1] if scale[1] else 0.0, None if r[1] is None else r[1] / scale[0])
            fact_text = t("welfare.value.per_person", value=_range_text(per_person, unit), total=fact_text,
                          size=_range_text(scale, t("welfare.unit.people")))
        if status == "unknown" and (param.pending or (per_extra is not None and per_extra.pending)) \
                and compare(r, op, *bounds(True)) != "unknown":
            reason = t("welfare.reason.pending", label=label, fact=fact_text, rule=rule, since=since,
                       pending_since=since_text(param.pending_from or (per_extra.pending_from if per_extra else None)))
        elif status == "unknown":
            reason = t("welfare.reason.straddle", label=label, fact=fact_text, rule=rule, since=since)
        else:
            reason = t(f"welfare.reason.{status}", label=label, fact=fact_text, rule=rule, since=since)
        if status == "failed" and param.stale:
            status, reason = "unknown", t("welfare.reason.stale_check", label=label, year=roc(self.as_of))
        elif status == "failed" and carried:
            # over a cap confirmed only for an earlier period: today's cap may differ, never a hard no
            status, reason = "unknown", t("welfare.reason.carried", label=label, fact=fact_text, rule=rule,
                                          since=since)
        return self.add(Check(status=status, reason=reason, **rec))

    _extra_size: Range | None = None

    # yes/no checks: the fact must be ``want`` (or must not be, with ``want=False``)
    def flag(self, name: str, fact: str, want: bool, value: Any = "__from_facts__") -> Check:
        given = self.facts.get(fact) if value == "__from_facts__" else value
        if given is None:
            status = "unknown"
        else:
            status = "passed" if bool(given) == want else "failed"
        return self.add(Check(name=name, status=status, fact=fact, value=given,
                              reason=t(f"welfare.checks.{name}.{status}")))

    def custom(self, name: str, status: str, fact: str | None, value: Any, **values: Any) -> Check:
        return self.add(Check(name=name, status=status, fact=fact, value=value,
                              reason=t(f"welfare.checks.{name}.{status}", **values)))

    def birth_on_or_before(self, name: str, cutoff_lo: dt.date, cutoff_hi: dt.date, param: Param | None,
                           age: Range | None = None) -> Check:
        """Born on or before a cutoff day (known to lie in [cutoff_lo, cutoff_hi]), from an age as of as_of."""
        r = as_range(self.facts.get("age")) if age is None else age
        given = self.facts.get("age")
        rec = dict(name=name, fact="age", value=given, op="born<=", threshold=cutoff_lo.isoformat(),
                   effective_from=param.effective_from.isoformat() if param and param.effective_from else None,
                   param_status=param.status if param else None)
        cutoff_text = t("welfare.date", year=roc(cutoff_lo), month=cutoff_lo.month, day=cutoff_lo.day) \
            if cutoff_lo == cutoff_hi else t("welfare.year_only", year=roc(cutoff_lo))
        if r is None:
            return self.add(Check(status="unknown", reason=t(f"welfare.checks.{name}.unknown", cutoff=cutoff_text),
                                  **rec))
        latest_birth = _years_before(self.as_of, int(r[0]))
        earliest_birth = None if r[1] is None else _years_before(self.as_of, int(r[1]) + 1) + dt.timedelta(days=1)
        if latest_birth <= cutoff_lo:
            status = "passed"
        elif earliest_birth is not None and earliest_birth > cutoff_hi:
            status = "failed"
        else:
            status = "unknown"
        return self.add(Check(status=status, reason=t(f"welfare.checks.{name}.{status}", cutoff=cutoff_text), **rec))


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# -- programmes -----------------------------------------------------------------------------------
# Each function records its checks on ``s`` and returns (amount, amount_notes).

def _size(s: Screening) -> Range | None:
    r = as_range(s.facts.get("household_size"))
    return None if r is None else (max(r[0], 1.0), None if r[1] is None else max(r[1], 1.0))


def _residence(s: Screening, days: bool = True) -> None:
    s.flag("registered_in_tainan", "registered_in_tainan", True)
    if days:
        s.numeric("days_in_taiwan", "days_in_taiwan_last_year", ">", s.p("min_days_in_taiwan", "common"),
                  t("welfare.unit.days"))


def _income(s: Screening, name: str, param: Param, op: str = "<=") -> Check:
    """Household income per person against a per-person line (compared as household totals)."""
    size = _size(s)
    income = as_range(s.facts.get("household_monthly_income"))
    if size is None and income is not None:
        label = t(f"welfare.checks.{name}.label")
        return s.add(Check(name=name, status="unknown", fact="household_size", value=None, op=op,
                           threshold=param.value, reason=t("welfare.reason.missing_size", label=label)))
    return s.numeric(name, "household_monthly_income", op, param, t("welfare.unit.ntd"), scale=size)


def _income_cap_senior(s: Screening, name: str, op: str) -> list[Check]:
    """2.5 x 最低生活費 and 1.5 x average consumption per person (the lower binds)."""
    mlc = s.p("min_living_cost", "common")
    avg = s.p("avg_consumption", "common")
    checks = [_income(s, name, _scaled(mlc, 2.5), op)]
    checks.append(_income(s, name + "_consumption", _scaled(avg, 1.5), "<="))
    return checks


def _scaled(p: Param, k: float) -> Param:
    from dataclasses import replace
    return replace(p, value=None if p.value is None else p.value * k,
                   pending=tuple(None if v is None else v * k for v in p.pending))


def _tier(s: Screening, param: Param, op: str = "<") -> str:
    """Whether income per person is under a line: yes / no / unknown (for amount tiers)."""
    size, income = _size(s), as_range(s.facts.get("household_monthly_income"))
    if size is None or income is None or not param.usable:
        return "unknown"
    hi_t = float("inf") if size[1] is None else param.value * size[1]
    status = compare(income, op, param.value * size[0], hi_t)
    return {"passed": "yes", "failed": "no"}.get(status, "unknown")


def _amount(s: Screening, param: Param) -> tuple[int | None, list[str]]:
    """A confirmed amount in force, or None with the reason it is not told."""
    if param.pending and param.pending_status == "proposed":
        return None, [t("welfare.amount.pending", since=since_text(param.pending_from))]
    if param.pending:
        return None, [t("welfare.amount.unconfirmed")]
    if param.value is None:
        return None, [t("welfare.amount.unconfirmed")]
    if param.stale:
        return None, [t("welfare.amount.stale", year=roc(s.as_of))]
    return int(param.value), []


def low_income_household(s: Screening):
    _residence(s)
    _income(s, "income_per_person_mlc", s.p("min_living_cost", "common"))
    size = _size(s)
    if size is None and s.facts.get("household_movable_assets") is not None:
        s.p("movable_assets_per_person")
        s.add(Check(name="movable_assets", status="unknown", fact="household_size", value=None,
                    reason=t("welfare.reason.missing_size", label=t("welfare.checks.movable_assets.label"))))
    else:
        s.numeric("movable_assets", "household_movable_assets", "<=", s.p("movable_assets_per_person"),
                  t("welfare.unit.ntd"), scale=size or (1.0, None))
    s.numeric("real_estate", "household_real_estate", "<=", s.p("real_estate_per_household"), t("welfare.unit.ntd"))
    return None, [t("welfare.amount.by_category")] + _special_act(s, per_person=True)


def middle_low_income_household(s: Screening):
    _residence(s)
    _income(s, "income_per_person_mli", s.p("middle_low_line", "common"))
    s.numeric("movable_assets", "household_movable_assets", "<=", s.p("movable_assets_cap"), t("welfare.unit.ntd"))
    s.numeric("real_estate", "household_real_estate", "<=", s.p("real_estate_cap"), t("welfare.unit.ntd"))
    return None, [t("welfare.amount.not_cash")] + _special_act(s, per_person=True)


def senior_living_allowance(s: Screening):
    s.numeric("age", "age", ">=", s.p("min_age"), t("welfare.unit.years"))
    _residence(s)
    _income_cap_senior(s, "income_per_person_senior", "<=")
    _movable_with_extra(s)
    s.numeric("real_estate", "household_real_estate", "<=", s.p("real_estate_cap"), t("welfare.unit.ntd"))
    _public_placement(s)
    _one_allowance(s, "senior")
    if s.facts.get("receives_other_allowance"):
        # one or the other, never both: the amount is not "extra" money, the office compares them
        return None, [t("welfare.amount.choose_one")]
    amount, notes = _senior_amount(s)
    return amount, notes + _special_act(s)


def _movable_with_extra(s: Screening) -> Check:
    """Deposits and investments at most base + extra x (household size - 1)."""
    size = _size(s)
    base, extra = s.p("movable_assets_base"), s.p("movable_assets_per_extra_person")
    if size is None:
        if s.facts.get("household_movable_assets") is not None:
            return s.add(Check(name="movable_assets", status="unknown", fact="household_size", value=None,
                               reason=t("welfare.reason.missing_size",
                                        label=t("welfare.checks.movable_assets.label"))))
        size = (1.0, None)
    s._extra_size = size
    return s.numeric("movable_assets", "household_movable_assets", "<=", base, t("welfare.unit.ntd"),
                     per_extra=extra)


def _public_placement(s: Screening, name: str = "not_publicly_placed", self_paid: str = "passed") -> Check:
    """Excluded by a placement the government pays for (公費安置; domain-facts 2.3, 2.9), not by
    living in an institution as such: an institution whose payer is not known is for the office to
    check. ``self_paid`` is the outcome for an institution the family pays for."""
    placed, public = s.facts.get("in_institution"), s.facts.get("publicly_funded_placement")
    if public is not None:
        status = "failed" if public else (self_paid if placed else "passed")
        key = status if status != "unknown" else "self_paid"
        return s.add(Check(name=name, status=status, fact="publicly_funded_placement", value=public,
                           reason=t(f"welfare.checks.{name}.{key}")))
    if placed is False:
        return s.custom(name, "passed", "in_institution", placed)
    key = "institution" if placed else "unknown"
    return s.add(Check(name=name, status="unknown", fact="in_institution", value=placed,
                       reason=t(f"welfare.checks.{name}.{key}")))


def _one_allowance(s: Screening, kind: str) -> Check:
    """Only one monthly living allowance at a time. 「有」 to the chat's question does not say which
    allowance (the exclusions differ by programme, and a family may switch to the higher one), so
    it is for the office to check, never a hard no; 「沒有」 passes."""
    given = s.facts.get("receives_other_allowance")
    status = "passed" if given is False else "unknown"
    key = {True: "drawn", False: "passed", None: "unknown"}[given]
    return s.add(Check(name="no_other_allowance", status=status, fact="receives_other_allowance", value=given,
                       reason=t(f"welfare.checks.no_other_allowance.{kind}.{key}")))


def _special_act(s: Screening, per_person: bool = False) -> list[str]:
    """The special act's extra (加發生活補助, January 2026 to January 2027, paid automatically), as
    an amount note with its end month, only while it is paid (``special_act_extra`` in the
    programme's file). If the July 2026 raise started, the raised amount includes it (a ``proposed``
    0 from 2026-07-01, domain-facts 2.1): then the note says so. Not paid in a publicly funded
    placement."""
    extra = s.p("special_act_extra")
    if not extra.value or extra.stale or s.facts.get("publicly_funded_placement"):
        return []
    end = extra.valid_to
    key = "special_act_person" if per_person else "special_act"
    start = extra.effective_from
    note = t(f"welfare.notes.{key}", amount=ntd(extra.value),
             start=t("welfare.year_month", year=roc(start), month=start.month),
             end=t("welfare.year_month", year=roc(end), month=end.month) if end else "")
    if extra.pending_status == "proposed":
        note += t("welfare.notes.special_act_raised", since=since_text(extra.pending_from))
    if s.facts.get("in_institution"):
        note += t("welfare.notes.special_act_placement")
    return [note]


def _senior_amount(s: Screening):
    line = s.p("middle_low_line", "common")
    tier = _tier(s, line, "<")
    if tier == "yes":
        return _amount(s, s.p("amount_higher"))
    if tier == "no":
        return _amount(s, s.p("amount_lower"))
    return None, [t("welfare.amount.by_income")]


def senior_special_care_allowance(s: Screening):
    sub = Screening("senior_living_allowance", s.facts, s.as_of, s.directory, s.inferred)
    senior_living_allowance(sub)
    s.used.extend(sub.used)
    base = _outcome(sub.checks, sub.used)
    status = {"likely_eligible": "passed", "not_eligible": "failed"}.get(base, "unknown")
    s.custom("receives_senior_allowance", status, None, None)
    s.flag("needs_daily_care", "needs_daily_care", True)
    s.flag("not_in_institution", "in_institution", False)
    s.flag("no_foreign_caregiver", "has_foreign_caregiver", False)
    s.notes.append(t("welfare.notes.carer"))
    return _amount(s, s.p("amount"))


def disability_living_subsidy(s: Screening):
    level = s.facts.get("disability_level")
    s.custom("disability_certificate", "unknown" if level is None else ("failed" if level == "none" else "passed"),
             "disability_level", level)
    s.flag("registered_in_tainan", "registered_in_tainan", True)
    _income_cap_senior(s, "income_per_person_disability", "<")
    _movable_with_extra(s)
    s.numeric("real_estate", "household_real_estate", "<=", s.p("real_estate_cap"), t("welfare.unit.ntd"))
    # 麻豆's page: not "placed" (安置) in a welfare institution, nursing home… — a government
    # placement excludes; a home the family pays for is for the office to check.
    _public_placement(s, "not_placed_disability", self_paid="unknown")
    _one_allowance(s, "disability")
    if s.facts.get("receives_other_allowance"):
        return None, [t("welfare.amount.choose_one")]
    if level in ("moderate", "severe", "profound"):
        amount, notes = _amount(s, s.p("amount_moderate_or_worse"))
    elif level == "mild":
        amount, notes = _amount(s, s.p("amount_mild"))
    else:
        amount, notes = None, [t("welfare.amount.by_level")]
    return amount, notes + _special_act(s)


def emergency_assistance(s: Screening):
    s.p("rule")
    crisis = s.facts.get("crisis")
    s.custom("crisis", "unknown" if crisis is None else ("failed" if crisis == "none" else "passed"), "crisis", crisis)
    s.flag("registered_in_tainan", "registered_in_tainan", True)
    if crisis not in (None, "none"):
        s.custom("office_visit", "unknown", None, None)
    if crisis == "disaster":
        s.notes.append(t("welfare.notes.disaster"))
    return None, [t("welfare.amount.emergency")]



def senior_meal_service(s: Screening):
    group = _care_group(s, s.p("min_age"), s.p("indigenous_min_age"), s.p("dementia_min_age"))
    s.add(group)
    s.flag("registered_in_tainan", "registered_in_tainan", True)
    s.flag("not_in_institution", "in_institution", False)   # any institution: meals are delivered home
    s.flag("no_foreign_caregiver", "has_foreign_caregiver", False)
    alone = s.facts.get("lives_alone")
    s.custom("lives_alone_or_no_carer", "passed" if alone else "unknown", "lives_alone", alone)
    return None, [t("welfare.amount.fee_unknown")]


def _care_group(s: Screening, min_age: Param, indigenous_min: Param, dementia_min: Param,
                any_age: bool = False) -> Check:
    """Who 長照 and meal delivery are for (domain-facts 2.8, 2.14): a person disabled in daily life
    (失能, assessed by the care manager; meals: level 2 or above) who is 65+, indigenous and 55+,
    holds a disability certificate, or is 50+ with dementia. A certificate alone is not enough: the
    person must need help in daily life. ``any_age``: no age excludes (長照3.0 takes dementia at any
    age), only managing alone does."""
    age = as_range(s.facts.get("age"))
    care = s.facts.get("needs_daily_care")
    level = s.facts.get("disability_level")
    indigenous = s.facts.get("indigenous")
    level_text = t(f"welfare.care_level.{s.programme}")
    values = dict(age=money(min_age.value), native=money(indigenous_min.value),
                  dementia=money(dementia_min.value), level=level_text)

    def check(status: str, key: str, fact: str = "needs_daily_care", value: Any = care, **more: Any) -> Check:
        return Check("care_group", status, fact, value, reason=t(f"welfare.checks.care_group.{key}", **values),
                     **more)

    if care is False:
        return check("failed", "no_care")
    old = compare(age, ">=", min_age.value, min_age.value) if age and min_age.usable else "unknown"
    native_old = compare(age, ">=", indigenous_min.value, indigenous_min.value) \
        if age and indigenous_min.usable else "unknown"
    dementia_old = compare(age, ">=", dementia_min.value, dementia_min.value) \
        if age and dementia_min.usable else "unknown"
    certified = level not in (None, "none")
    too_young = not any_age and dementia_old == "failed" and level == "none"
    if care is True:
        if old == "passed":
            return check("passed", "passed", threshold=min_age.value, op=">=")
        if indigenous and native_old == "passed":
            return check("passed", "native", threshold=indigenous_min.value, op=">=")
        if certified:
            return check("passed", "disability", "disability_level", level)
        if too_young:
            return check("failed", "young", "age", s.facts.get("age"))
        if old == "failed":
            return check("unknown", "young_care", "disability_level", level)
        return check("unknown", "unknown")
    # whether help is needed in daily life is not known
    if too_young:
        return check("failed", "young", "age", s.facts.get("age"))
    if certified:
        return check("unknown", "disability_unknown")
    if old == "failed" and (native_old == "failed" or indigenous is False) and level is None and not any_age:
        return check("unknown", "young_unknown")
    return check("unknown", "unknown")


def national_pension_basic_guarantee(s: Screening):
    cutoff = s.p("born_on_or_before")
    day = _as_date(cutoff.value)
    s.birth_on_or_before("born_before_cutoff", day, day, cutoff)
    days = s.facts.get("days_in_taiwan_last_year")
    s.numeric("days_in_taiwan", "days_in_taiwan_last_year", ">", s.p("min_days_in_taiwan", "common"),
              t("welfare.unit.days"))
    if days is not None:
        s.notes.append(t("welfare.notes.three_years"))
    _public_placement(s, "not_publicly_placed_pension")   # only a fully government-funded placement
    _one_allowance(s, "pension")
    income = as_range(s.facts.get("annual_personal_income"))
    if income is None:
        household = as_range(s.facts.get("household_monthly_income"))
        if household is not None:  # a person's income is at most the household's, and is it when alone
            alone = _size(s) == (1.0, 1.0)
            income = (household[0] * 12 if alone else 0.0, None if household[1] is None else household[1] * 12)
    s.numeric("annual_income", "annual_personal_income", "<", s.p("annual_income_limit"), t("welfare.unit.ntd"),
              value=income, given=s.facts.get("annual_personal_income", s.facts.get("household_monthly_income")))
    estate = as_range(s.facts.get("household_real_estate"))
    personal = None if estate is None else (0.0, estate[1])  # a person's share is at most the household's
    s.numeric("real_estate_personal", "household_real_estate", "<", s.p("real_estate_limit"), t("welfare.unit.ntd"),
              value=personal)
    if s.facts.get("receives_other_allowance"):
        return None, [t("welfare.amount.choose_one")]
    return _amount(s, s.p("amount"))


def childcare_allowance(s: Screening):
    kids = as_range(s.facts.get("children_under_2"))
    status = "unknown" if kids is None else ("passed" if kids[0] >= 1 else ("failed" if kids[1] == 0 else "unknown"))
    if "children_under_2" in s.inferred:
        s.add(Check("child_under_2", status, "household_size", s.facts.get("household_size"),
                    reason=t("welfare.checks.child_under_2.alone")))
    else:
        s.custom("child_under_2", status, "children_under_2", s.facts.get("children_under_2"))
    s.notes.append(t("welfare.notes.childcare"))
    order = as_range(s.facts.get("child_birth_order"))
    if order is None:
        s.p("amount_first")
        return None, [t("welfare.amount.by_order")]
    n = order[0]
    if order[1] is not None and order[1] != n and not (n >= 3):
        return None, [t("welfare.amount.by_order")]
    name = "amount_first" if n <= 1 else "amount_second" if n == 2 else "amount_third_or_later"
    return _amount(s, s.p(name))


def tainan_birth_bonus(s: Screening):
    kids = as_range(s.facts.get("children_under_2"))
    newborn = s.facts.get("newborn_in_last_60_days")
    if newborn is False and kids is not None and kids[1] == 0:
        if "children_under_2" in s.inferred:
            s.add(Check("newborn", "failed", "household_size", s.facts.get("household_size"),
                        reason=t("welfare.checks.newborn.alone")))
        else:
            s.custom("newborn", "failed", "newborn_in_last_60_days", newborn)
    else:
        within = s.p("claim_within_days")
        status = "unknown" if newborn is None or not within.usable else ("passed" if newborn else "failed")
        if status != "unknown" or newborn is None:
            s.custom("newborn", status, "newborn_in_last_60_days", newborn)
        else:
            s.custom("newborn", "unknown", "newborn_in_last_60_days", newborn)
        if not within.usable:
            s.custom("birth_rule_unconfirmed", "unknown", None, None)
    months = s.p("min_months_registered")
    s.flag("registered_in_tainan", "registered_in_tainan", True)
    if months.usable:
        s.numeric("months_registered", "months_registered_in_tainan", ">=", months, t("welfare.unit.months"))
    s.notes.append(t("welfare.notes.central_birth"))
    order = as_range(s.facts.get("child_birth_order"))
    if order is None or (order[1] != order[0] and not order[0] >= 5):
        s.p("amount_1")
        return None, [t("welfare.amount.by_order")]
    n = int(order[0])
    name = {1: "amount_1", 2: "amount_2", 3: "amount_3", 4: "amount_4"}.get(n, "amount_5_or_later")
    return _amount(s, s.p(name))


def special_circumstances_family(s: Screening):
    s.flag("special_circumstance", "single_parent_or_special_circumstance", True)
    s.flag("registered_in_tainan", "registered_in_tainan", True)
    test = s.p("means_test")
    if not test.usable:
        s.custom("means_test_unconfirmed", "unknown", None, None)
    return None, [t("welfare.amount.by_item")]


def double_ninth_gift(s: Screening):
    year = s.as_of.year
    cutoff_p = s.p("birth_cutoff_month_day")
    min_age, native_age = s.p("min_age"), s.p("indigenous_min_age")
    s.flag("registered_in_tainan", "registered_in_tainan", True)

    def window(age_years: float) -> tuple[dt.date, dt.date]:
        y = year - int(age_years)
        if cutoff_p.usable:
            m, d = (int(x) for x in str(cutoff_p.value).split("-"))
            return dt.date(y, m, d), dt.date(y, m, d)
        return dt.date(y, 1, 1), dt.date(y, 12, 31)

    if not min_age.usable:
        s.add(Check("born_for_gift", "unknown", "age", s.facts.get("age"),
                    reason=t("welfare.reason.no_threshold", label=t("welfare.checks.age.label"), year=roc(s.as_of))))
        s.notes.append(t("welfare.notes.gift_fraud"))
        return _amount(s, s.p("amount"))
    lo, hi = window(min_age.value)
    check = s.birth_on_or_before("born_for_gift", lo, hi, min_age)
    indigenous = s.facts.get("indigenous")
    if check.status != "passed" and indigenous is not False and native_age.value is not None:
        nlo, nhi = window(native_age.value)
        native = Screening(s.programme, s.facts, s.as_of, s.directory).birth_on_or_before("born_for_gift_native",
                                                                                          nlo, nhi, native_age)
        if indigenous and native.status != "failed":
            s.checks.remove(check)
            s.add(native)
        elif check.status == "failed" and native.status != "failed":
            s.checks.remove(check)
            s.custom("indigenous_path", "unknown", "indigenous", indigenous, age=money(native_age.value))
    if cutoff_p.value is None:
        s.notes.append(t("welfare.notes.gift_rule_year", year=roc(s.as_of)))
    s.notes.append(t("welfare.notes.gift_fraud"))
    age = as_range(s.facts.get("age"))
    if age is not None and age[0] >= 100:
        return _amount(s, s.p("amount_100_plus"))
    if age is not None and age[1] is not None and age[1] < 100:
        return _amount(s, s.p("amount"))
    s.p("amount")
    return None, [t("welfare.amount.gift_by_age")]


def long_term_care(s: Screening):
    group = _care_group(s, s.p("min_age"), s.p("indigenous_min_age"), s.p("dementia_min_age"),
                        any_age=s.p("dementia_any_age").value is True)
    alone = s.facts.get("lives_alone")
    age = as_range(s.facts.get("age"))
    if group.status != "passed" and alone and age is not None and age[0] >= 65:
        group = Check("care_group", "unknown", "lives_alone", alone, reason=t("welfare.checks.care_group.frail_alone"))
    s.add(group)
    if s.facts.get("has_foreign_caregiver"):
        s.notes.append(t("welfare.notes.ltc_foreign_caregiver"))
    return None, [t("welfare.amount.ltc")]


RULES: dict[str, Callable[[Screening], tuple[int | None, list[str]]]] = {
    name: globals()[name] for name in PROGRAMMES}


# -- results --------------------------------------------------------------------------------------

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


def _outcome(checks: list[Check], used: list[Param]) -> str:
    statuses = {c.status for c in checks}
    if "failed" in statuses:
        return "not_eligible"
    if "unknown" in statuses or any(p.stale for p in used):
        return "needs_review"
    return "likely_eligible"


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
    outcome = _outcome(s.checks, s.used)
    stale = any(p.stale for p in s.used)
    reasons = [c.reason for c in s.checks]
    if stale:
        reasons.append(t("welfare.reason.stale", year=roc(as_of)))
        amount = None
    if outcome == "not_eligible":
        amount, amount_notes = None, []
    else:
        reasons += amount_notes
    reasons += s.notes
    common = parameter_files(directory)["common"]["version"]
    documents = _sourced(meta, "documents")
    return Result(programme, meta["name"], outcome, amount, meta.get("amount_unit", "none"), reasons,
                  f"{programme}@{meta['version']}+common@{common}", as_of.isoformat(), stale, s.checks,
                  list(amount_notes), _sourced(meta, "where"), None if documents is None else list(documents))


def screen(facts: dict[str, Any], as_of: dt.date, directory: Path | None = None) -> list[Result]:
    """Every programme, in the fixed order of PROGRAMMES."""
    return [screen_one(p, facts, as_of, directory) for p in PROGRAMMES]


def ordered(results: list[Result]) -> list[Result]:
    """Likely first, then those the office should check, then those that do not fit."""
    rank = {o: i for i, o in enumerate(OUTCOMES)}
    return sorted(results, key=lambda r: (rank[r.outcome], PROGRAMMES.index(r.programme)))


def today_taipei(now: float | None = None) -> dt.date:
    from zoneinfo import ZoneInfo
    moment = dt.datetime.fromtimestamp(now, dt.timezone.utc) if now is not None else dt.datetime.now(dt.timezone.utc)
    return moment.astimezone(ZoneInfo("Asia/Taipei")).date()


# -- parameter health (knowledge check, digest, dashboard) ----------------------------------------

def parameter_problems(directory: Path | None = None) -> list[str]:
    """Malformed parameter files, as readable lines."""
    problems = []
    files = parameter_files(directory)
    for pid in PROGRAMMES + ("common",):
        if pid not in files:
            problems.append(f"welfare/{pid}.yaml: missing")
    for pid, data in files.items():
        for key in ("version", "parameters"):
            if key not in data:
                problems.append(f"welfare/{pid}.yaml: no {key}")
        if pid != "common":
            for key in ("name", "where", "documents", "amount_unit"):
                if key not in data:
                    problems.append(f"welfare/{pid}.yaml: no {key}")
            # what to bring and where to apply are stated as fact only with a source (null: the phone)
            for key in ("where", "documents"):
                if data.get(key) is not None and not data.get(f"{key}_source"):
                    problems.append(f"welfare/{pid}.yaml: {key} without {key}_source "
                                    f"(give its source, or set {key}: null so the bot gives the phone)")
            if data.get("documents") is not None and not isinstance(data.get("documents"), list):
                problems.append(f"welfare/{pid}.yaml: documents must be a list or null")
        for name, entries in (data.get("parameters") or {}).items():
            for e in entries:
                where = f"welfare/{pid}.yaml {name} from {e.get('from')}"
                for key in ("from", "status", "source", "verified_by", "verified_on"):
                    if e.get(key) in (None, ""):
                        problems.append(f"{where}: no {key}")
                if e.get("status") not in STATUSES:
                    problems.append(f"{where}: unknown status {e.get('status')!r}")
                if e.get("status") in CONFIRMED and e.get("value") is None:
                    problems.append(f"{where}: confirmed without a value")
    return problems


def stale_parameters(as_of: dt.date, directory: Path | None = None) -> list[tuple[str, str, str]]:
    """(programme, parameter, why) for parameters past their confirmed period or verified > 13 months ago."""
    out = []
    for pid, data in parameter_files(directory).items():
        for name in data.get("parameters") or {}:
            p = lookup(pid, name, as_of, directory)
            if p.stale == "period":
                out.append((pid, name, t("welfare.stale.period", date=p.stale_since.isoformat())))
            elif p.stale == "verification":
                out.append((pid, name, t("welfare.stale.verification", date=p.stale_since.isoformat())))
    return out


def unconfirmed_parameters(as_of: dt.date, directory: Path | None = None) -> list[tuple[str, str, str]]:
    """(programme, parameter, what) for values the bot does not use because they are not confirmed."""
    out = []
    for pid, data in parameter_files(directory).items():
        for name, entries in (data.get("parameters") or {}).items():
            for e in entries:
                end = _as_date(e.get("to"))
                if e["status"] in ("unverified", "proposed") and (end is None or end >= as_of):
                    value = "?" if e.get("value") is None else e["value"]
                    out.append((pid, name, f"{e['status']} from {_as_date(e['from']).isoformat()}: {value}"))
        if pid != "common":
            for key in ("where", "documents"):
                if data.get(key) is None:
                    out.append((pid, key, "no source: the bot gives the office phone instead"))
    return out


def digest_lines(today: dt.date, directory: Path | None = None) -> list[str]:
    """The staff digest's note on stale welfare parameters (empty when all are current)."""
    stale = stale_parameters(today, directory)
    if not stale:
        return []
    names = {pid: (parameter_files(directory)[pid].get("name") or pid) for pid, _, _ in stale}
    lines = [t("welfare.stale.digest_header", count=len(stale), phone_year=roc(today))]
    for pid, name, why in stale[:10]:
        lines.append(t("welfare.stale.digest_item", programme=names[pid], parameter=name, why=why))
    return lines


# -- call-back cases -------------------------------------------------------------------------------

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
    return _range_text(r, unit) if r else str(value)


RESULT_MARK = "flow=welfare&step=result"
