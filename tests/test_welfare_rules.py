"""The welfare rules, driven by the cases in tests/welfare_cases/*.yaml (one file per programme):
facts, a date, and the expected outcome, amount, checks and reasons, including the boundaries
(exactly at a threshold, one dollar over, a missing fact, before and after a change of amount)."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml

from services import welfare
from services.knowledge import t
from tests.helpers import OFFICE_PHONE

CASES_DIR = Path(__file__).parent / "welfare_cases"


def _cases():
    for path in sorted(CASES_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in data["cases"]:
            yield pytest.param(data["programme"], case, id=f"{data['programme']}:{case['name']}")


def test_every_programme_has_cases_with_boundaries():
    files = {p.stem for p in CASES_DIR.glob("*.yaml")}
    assert files == set(welfare.PROGRAMMES)
    assert tuple(welfare.RULES) == welfare.PROGRAMMES     # one rule per programme, in the same order
    for path in CASES_DIR.glob("*.yaml"):
        cases = yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
        kinds = {c.get("kind") for c in cases}
        assert "missing_fact" in kinds, path.name  # every programme: a missing fact is never not_eligible
        assert len(cases) >= 3, path.name


@pytest.mark.parametrize("programme,case", list(_cases()))
def test_case(programme, case):
    as_of = case["as_of"] if isinstance(case["as_of"], dt.date) else dt.date.fromisoformat(case["as_of"])
    result = welfare.screen_one(programme, case.get("facts") or {}, as_of)
    got = {c.name: c.status for c in result.checks}
    assert result.outcome == case["outcome"], (result.reasons, got)
    assert result.amount == case.get("amount"), result.reasons
    for name, status in (case.get("checks") or {}).items():
        assert got.get(name) == status, (name, got, result.reasons)
    text = "\n".join(result.reasons)
    for words in case.get("reasons_contain") or []:
        assert words in text, (words, result.reasons)
    for words in case.get("reasons_not_contain") or []:
        assert words not in text, (words, result.reasons)
    if case.get("kind") == "missing_fact":
        assert result.outcome != "not_eligible"
    # every check is recorded with what it read
    for c in result.checks:
        assert c.status in ("passed", "failed", "unknown") and c.reason


def test_a_range_straddling_a_threshold_is_unknown_not_a_guess():
    facts = {"household_size": 1, "household_monthly_income": {"min": 10000, "max": 20000}}
    r = welfare.screen_one("low_income_household", facts, dt.date(2026, 11, 27))
    [check] = [c for c in r.checks if c.name == "income_per_person_mlc"]
    assert check.status == "unknown" and "跨過" in check.reason and "15,515" in check.reason


def test_every_check_records_fact_threshold_and_effective_date():
    facts = {"age": 70, "household_size": 1, "household_monthly_income": 10000, "registered_in_tainan": True,
             "days_in_taiwan_last_year": 300}
    r = welfare.screen_one("senior_living_allowance", facts, dt.date(2026, 11, 27))
    age = next(c for c in r.checks if c.name == "age")
    assert (age.fact, age.value, age.threshold, age.op, age.effective_from) == ("age", 70, 65, ">=", "2023-01-01")
    income = next(c for c in r.checks if c.name == "income_per_person_senior")
    assert income.threshold == pytest.approx(15515 * 2.5) and income.effective_from == "2025-01-01"


def test_unconfirmed_values_are_never_used_as_if_in_force():
    # 2026-07-01 proposal: national pension 5,000 (proposed) -> no amount told after it, 4,049 before.
    facts = {"age": 90, "days_in_taiwan_last_year": 365, "in_institution": False, "receives_other_allowance": False,
             "annual_personal_income": 0, "household_real_estate": 0}
    before = welfare.screen_one("national_pension_basic_guarantee", facts, dt.date(2026, 6, 30))
    after = welfare.screen_one("national_pension_basic_guarantee", facts, dt.date(2026, 11, 27))
    assert before.amount == 4049 and after.amount is None
    assert any("可能" in x and OFFICE_PHONE in x for x in after.reasons)


@pytest.fixture
def stale_dir(tmp_path):
    """A copy of the parameter files whose values were last verified on 2025-06-01."""
    target = tmp_path / "welfare"
    shutil.copytree(welfare.PARAMS_DIR, target)
    for path in target.glob("*.yaml"):
        path.write_text(path.read_text(encoding="utf-8").replace("verified_on: 2026-11-27", "verified_on: 2025-06-01"),
                        encoding="utf-8")
    return target


LIKELY = {"age": 75, "registered_in_tainan": True, "days_in_taiwan_last_year": 365, "household_size": 1,
          "household_monthly_income": 10000, "household_movable_assets": 0, "household_real_estate": 0,
          "in_institution": False, "needs_daily_care": True, "has_foreign_caregiver": False,
          "disability_level": "none", "lives_alone": True, "receives_other_allowance": False}


def test_stale_parameter_file_never_says_likely(stale_dir):
    fresh = welfare.screen_one("senior_special_care_allowance", LIKELY, dt.date(2026, 11, 27))
    assert fresh.outcome == "likely_eligible" and fresh.amount == 5000
    stale = welfare.screen_one("senior_special_care_allowance", LIKELY, dt.date(2026, 11, 27), stale_dir)
    assert stale.outcome == "needs_review" and stale.amount is None and stale.stale
    assert any("115年的數字還沒確認" in x and OFFICE_PHONE in x for x in stale.reasons)
    assert not any(r.outcome == "likely_eligible" for r in welfare.screen(LIKELY, dt.date(2026, 11, 27), stale_dir))
    listed = welfare.stale_parameters(dt.date(2026, 11, 27), stale_dir)
    assert ("senior_special_care_allowance", "amount", t("welfare.stale.verification", date="2025-06-01")) in listed


def test_past_the_last_confirmed_period_is_stale():
    r = welfare.screen_one("long_term_care", LIKELY, dt.date(2027, 1, 15))
    assert r.outcome == "likely_eligible"  # a standing rule verified within 13 months
    r = welfare.screen_one("senior_living_allowance", LIKELY, dt.date(2027, 1, 15))
    assert r.outcome == "needs_review" and r.stale
    stale = {(p, n) for p, n, _ in welfare.stale_parameters(dt.date(2027, 1, 15))}
    assert ("common", "min_living_cost") in stale


def test_today_the_parameter_files_are_current_and_well_formed():
    assert welfare.parameter_problems() == []
    assert welfare.stale_parameters(dt.date(2026, 11, 27)) == []


# -- issue 12 ----------------------------------------------------------------------------------------

def test_knowledge_check_fails_on_documents_or_a_place_without_a_source(tmp_path):
    """What to bring and where to apply are stated as fact only with a source; `knowledge check`
    (services.welfare.parameter_problems) fails on a list without one."""
    target = tmp_path / "welfare"
    shutil.copytree(welfare.PARAMS_DIR, target)
    path = target / "senior_living_allowance.yaml"
    text = path.read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if not line.startswith(("documents_source:", "where_source:")))
    path.write_text(text, encoding="utf-8")
    problems = welfare.parameter_problems(target)
    assert any("senior_living_allowance.yaml: documents without documents_source" in p for p in problems)
    assert any("senior_living_allowance.yaml: where without where_source" in p for p in problems)
    # and such a list is never shown: the card gets the office phone instead
    r = welfare.screen_one("senior_living_allowance", {"age": 70}, dt.date(2026, 11, 27), target)
    assert r.documents is None and r.where is None


def test_unsourced_documents_and_places_give_the_phone_not_a_list():
    today = dt.date(2026, 11, 27)
    for pid in ("long_term_care", "national_pension_basic_guarantee", "senior_meal_service",
                "special_circumstances_family", "tainan_birth_bonus", "middle_low_income_household"):
        assert welfare.screen_one(pid, {}, today).documents is None, pid
    for pid in ("tainan_birth_bonus", "special_circumstances_family", "middle_low_income_household"):
        assert welfare.screen_one(pid, {}, today).where is None, pid
    docs = welfare.screen_one("emergency_assistance", {}, today).documents
    assert docs and "身分證" not in "".join(docs) and "診斷書" in "".join(docs)   # only what gov.tw names
    assert welfare.screen_one("double_ninth_gift", {}, today).documents == []     # nothing to bring, sourced


def test_a_cap_confirmed_only_for_an_earlier_period_is_carried_forward_not_in_force():
    now = welfare.lookup("senior_living_allowance", "real_estate_cap", dt.date(2026, 11, 27))
    assert now.carried and now.value == 6500000 and now.confirmed_to == dt.date(2023, 12, 31)
    then = welfare.lookup("senior_living_allowance", "real_estate_cap", dt.date(2023, 6, 1))
    assert not then.carried and then.status == "verified-secondary"
    undated = welfare.lookup("disability_living_subsidy", "real_estate_cap", dt.date(2026, 11, 27))
    assert undated.carried and undated.undated
    listed = welfare.unconfirmed_parameters(dt.date(2026, 11, 27))
    assert ("disability_living_subsidy", "real_estate_cap", "unverified from 2024-01-01: 7060000") in listed


def test_the_special_acts_extra_ends_after_january_2027():
    facts = {"age": 72, "registered_in_tainan": True, "days_in_taiwan_last_year": 365, "household_size": 1,
             "household_monthly_income": 10000, "household_movable_assets": 0, "household_real_estate": 0,
             "in_institution": False, "receives_other_allowance": False, "disability_level": "mild"}
    for pid in ("senior_living_allowance", "disability_living_subsidy"):
        jan = welfare.screen_one(pid, facts, dt.date(2027, 1, 31))
        feb = welfare.screen_one(pid, facts, dt.date(2027, 2, 1))
        assert any("加發500元" in x and "116年1月" in x for x in jan.amount_notes), (pid, jan.reasons)
        assert not any("加發" in x for x in feb.reasons), (pid, feb.reasons)
    placed = welfare.screen_one("senior_living_allowance", {**facts, "in_institution": True,
                                                            "publicly_funded_placement": True}, dt.date(2026, 3, 1))
    assert placed.outcome == "not_eligible" and not any("加發" in x for x in placed.reasons)
