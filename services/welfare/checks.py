"""The checks of one programme: ``Check`` (one condition, as the resident and staff see it) and
``Screening`` (the checks of one programme as of one date, with the parameters they used)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.knowledge import t
from services.welfare.params import Param, lookup
from services.welfare.values import Range, as_range, carried_text, num_text, range_text, roc, rule_text, since_text

OUTCOMES = ("likely_eligible", "needs_review", "not_eligible")
INFINITY = float("inf")


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


def outcome(checks: list[Check], used: list[Param]) -> str:
    """Any failed check: not eligible; else any unknown check or stale parameter: needs review."""
    statuses = {c.status for c in checks}
    if "failed" in statuses:
        return "not_eligible"
    if "unknown" in statuses or any(p.stale for p in used):
        return "needs_review"
    return "likely_eligible"


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


@dataclass(frozen=True)
class Threshold:
    """What a numeric fact is compared with: a parameter, per person times the household size
    (``scale``) or plus ``per_extra`` for each person of the household (``size``) after the first."""

    param: Param
    unit: str
    scale: Range | None = None
    per_extra: Param | None = None
    size: Range | None = None

    @property
    def params(self) -> list[Param]:
        return [self.param] + ([self.per_extra] if self.per_extra is not None else [])

    @property
    def pending(self) -> bool:
        return any(p.pending for p in self.params)

    @property
    def carried(self) -> Param | None:
        return next((p for p in self.params if p.carried), None)

    def complete(self) -> bool:
        """Every value it may take is known (an unconfirmed change may be pending)."""
        return all(v is not None for p in self.params for v in p.candidates())

    def bounds(self, confirmed_only: bool) -> tuple[float, float]:
        """The interval the household's threshold lies in: from the values in force, or also from
        those that may replace them."""
        base = [self.param.value] if confirmed_only else self.param.candidates()
        low, high = float(min(base)), float(max(base))
        if self.scale is not None:
            low *= self.scale[0]
            high = INFINITY if self.scale[1] is None else high * self.scale[1]
        if self.per_extra is not None:
            extra = [self.per_extra.value] if confirmed_only else self.per_extra.candidates()
            size = self.size or (1.0, 1.0)
            low += float(min(extra)) * max(size[0] - 1, 0)
            high = INFINITY if size[1] is None else high + float(max(extra)) * max(size[1] - 1, 0)
        return low, high

    def rule(self, op: str) -> str:
        """The rule as the resident reads it (「每人每月 … 以下」, this household's own line…)."""
        param, extra, unit = self.param, self.per_extra, self.unit
        rule = rule_text(op, param.value, unit) if param.value is not None else ""
        if extra is not None and extra.value is not None:
            exact_size = self.size is not None and self.size[0] == self.size[1]
            if exact_size and param.value is not None and not self.pending:
                # total with total: this household's own line, and how it is made
                n = int(self.size[0])
                total = float(param.value) + float(extra.value) * (n - 1)
                return t("welfare.rule_household", size=n, rule=rule_text(op, total, unit),
                         base=num_text(param.value, unit), extra=num_text(extra.value, unit))
            return t("welfare.rule_plus", rule=rule, extra=num_text(extra.value, unit))
        if self.scale is not None:
            return t("welfare.rule_per_person", rule=rule)
        return rule

    def fact_text(self, r: Range) -> str:
        """The fact as the resident reads it; per person with per person (the household's amount
        divided by its size), then the total."""
        text = range_text(r, self.unit)
        if self.scale is None:
            return text
        scale = self.scale
        per_person = (r[0] / scale[1] if scale[1] else 0.0, None if r[1] is None else r[1] / scale[0])
        return t("welfare.value.per_person", value=range_text(per_person, self.unit), total=text,
                 size=range_text(scale, t("welfare.unit.people")))


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

    def p(self, name: str, programme: str | None = None) -> Param:
        """A parameter in force on ``as_of`` (of this programme, or of ``common``), recorded as used."""
        param = lookup(programme or self.programme, name, self.as_of, self.directory)
        self.used.append(param)
        return param

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    def numeric(self, name: str, fact: str, op: str, param: Param, unit: str, *, value: Range | None = None,
                given: Any = None, scale: Range | None = None, per_extra: Param | None = None,
                size: Range | None = None) -> Check:
        """``fact op threshold``, the fact a range. ``given`` is the fact as told (default: the fact's
        own value) and ``value`` its range when it is not read from ``given``; see ``Threshold`` for
        ``scale``, ``per_extra`` and ``size``."""
        given = self.facts.get(fact) if given is None else given
        r = as_range(given) if value is None else value
        threshold = Threshold(param, unit, scale, per_extra, size)
        carried = threshold.carried
        record = dict(name=name, fact=fact, value=given, op=op, threshold=param.value,
                      effective_from=param.effective_from.isoformat() if param.effective_from else None,
                      param_status="unverified" if carried else param.status, stale=bool(param.stale))
        label = t(f"welfare.checks.{name}.label")
        if not threshold.complete():
            reason = t("welfare.reason.no_threshold", label=label, year=roc(self.as_of))
            return self.add(Check(status="unknown", reason=reason, **record))
        words = dict(label=label, rule=threshold.rule(op),
                     since=carried_text(carried) if carried else since_text(param.effective_from))
        if r is None:
            return self.add(Check(status="unknown", reason=t("welfare.reason.missing", **words), **record))
        words["fact"] = threshold.fact_text(r)
        status = compare(r, op, *threshold.bounds(confirmed_only=False))
        if status == "failed" and param.stale:
            reason = t("welfare.reason.stale_check", label=label, year=roc(self.as_of))
            return self.add(Check(status="unknown", reason=reason, **record))
        if status == "failed" and carried:
            # over a cap confirmed only for an earlier period: today's cap may differ, never a hard no
            return self.add(Check(status="unknown", reason=t("welfare.reason.carried", **words), **record))
        if status != "unknown":
            return self.add(Check(status=status, reason=t(f"welfare.reason.{status}", **words), **record))
        if threshold.pending and compare(r, op, *threshold.bounds(confirmed_only=True)) != "unknown":
            # the value in force decides, but a change may be coming
            pending_from = param.pending_from or (per_extra.pending_from if per_extra else None)
            reason = t("welfare.reason.pending", pending_since=since_text(pending_from), **words)
        else:
            reason = t("welfare.reason.straddle", **words)
        return self.add(Check(status="unknown", reason=reason, **record))

    def flag(self, name: str, fact: str, want: bool) -> Check:
        """A yes/no check: the fact must be ``want`` (or must not be, with ``want=False``)."""
        given = self.facts.get(fact)
        if given is None:
            status = "unknown"
        else:
            status = "passed" if bool(given) == want else "failed"
        return self.add(Check(name=name, status=status, fact=fact, value=given,
                              reason=t(f"welfare.checks.{name}.{status}")))

    def custom(self, name: str, status: str, fact: str | None, value: Any, **values: Any) -> Check:
        return self.add(Check(name=name, status=status, fact=fact, value=value,
                              reason=t(f"welfare.checks.{name}.{status}", **values)))

    def birth_on_or_before(self, name: str, cutoff_lo: dt.date, cutoff_hi: dt.date, param: Param | None) -> Check:
        """Born on or before a cutoff day (known to lie in [cutoff_lo, cutoff_hi]), from an age as of as_of."""
        given = self.facts.get("age")
        r = as_range(given)
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
