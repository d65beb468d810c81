"""The programmes: one function per programme records its checks on a ``Screening`` and returns
(amount, amount_notes). ``RULES`` maps each programme id to its function."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any, Callable

from services.knowledge import t
from services.welfare.checks import Check, Screening, compare, outcome
from services.welfare.params import Param, as_date
from services.welfare.values import Range, as_range, money, ntd, roc, since_text


def _size(s: Screening) -> Range | None:
    r = as_range(s.facts.get("household_size"))
    return None if r is None else (max(r[0], 1.0), None if r[1] is None else max(r[1], 1.0))


def _size_unknown(s: Screening, name: str, **more: Any) -> Check:
    """A per-household line with the household's size unknown: for the office to check."""
    reason = t("welfare.reason.missing_size", label=t(f"welfare.checks.{name}.label"))
    return s.add(Check(name=name, status="unknown", fact="household_size", value=None, reason=reason, **more))


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
        return _size_unknown(s, name, op=op, threshold=param.value)
    return s.numeric(name, "household_monthly_income", op, param, t("welfare.unit.ntd"), scale=size)


def _income_cap_senior(s: Screening, name: str, op: str) -> list[Check]:
    """2.5 x 最低生活費 and 1.5 x average consumption per person (the lower binds)."""
    mlc = s.p("min_living_cost", "common")
    avg = s.p("avg_consumption", "common")
    checks = [_income(s, name, _scaled(mlc, 2.5), op)]
    checks.append(_income(s, name + "_consumption", _scaled(avg, 1.5), "<="))
    return checks


def _scaled(p: Param, k: float) -> Param:
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
    if param.pending or param.value is None:
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
        _size_unknown(s, "movable_assets")
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
            return _size_unknown(s, "movable_assets")
        size = (1.0, None)
    return s.numeric("movable_assets", "household_movable_assets", "<=", base, t("welfare.unit.ntd"),
                     per_extra=extra, size=size)


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
    base = outcome(sub.checks, sub.used)
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
    day = as_date(cutoff.value)
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
        s.custom("newborn", status, "newborn_in_last_60_days", newborn)
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


Rule = Callable[[Screening], tuple[Any, list[str]]]
RULES: dict[str, Rule] = {
    "low_income_household": low_income_household,
    "middle_low_income_household": middle_low_income_household,
    "senior_living_allowance": senior_living_allowance,
    "senior_special_care_allowance": senior_special_care_allowance,
    "disability_living_subsidy": disability_living_subsidy,
    "emergency_assistance": emergency_assistance,
    "senior_meal_service": senior_meal_service,
    "national_pension_basic_guarantee": national_pension_basic_guarantee,
    "childcare_allowance": childcare_allowance,
    "tainan_birth_bonus": tainan_birth_bonus,
    "special_circumstances_family": special_circumstances_family,
    "double_ninth_gift": double_ninth_gift,
    "long_term_care": long_term_care,
}
