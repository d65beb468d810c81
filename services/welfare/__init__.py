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

Pure functions (no Flask, no database).

The package, by layer of the idea: ``values`` (numbers, ranges and how they read), ``params``
(dated parameters and their health), ``checks`` (``Check``, ``Screening``), ``programmes`` (one
function per programme, ``RULES``), ``screen`` (facts, ``screen``/``screen_one``, ``Result``) and
``case`` (call-back cases). Callers import from the package: ``from services import welfare``.
"""
from services.welfare.case import CASE_FACTS, amount_text, case_answers, case_view, fact_text
from services.welfare.checks import OUTCOMES, Check, Screening, compare, outcome
from services.welfare.params import (CONFIRMED, PARAMS_DIR, PROGRAMMES, STALE_MONTHS, STATUSES, Param, add_months,
                                     contact, digest_lines, lookup, parameter_files, parameter_problems,
                                     stale_parameters, unconfirmed_parameters)
from services.welfare.programmes import RULES
from services.welfare.screen import (FACTS, Result, alone_household, infer_facts, normalize_facts, ordered, screen,
                                     screen_one)
from services.welfare.values import Range, as_range, money, ntd, roc, since_text

__all__ = [
    "CASE_FACTS", "CONFIRMED", "FACTS", "OUTCOMES", "PARAMS_DIR", "PROGRAMMES", "RULES",
    "STALE_MONTHS", "STATUSES", "Check", "Param", "Range", "Result", "Screening", "add_months", "alone_household",
    "amount_text", "as_range", "case_answers", "case_view", "compare", "contact", "digest_lines", "fact_text",
    "infer_facts", "lookup", "money", "normalize_facts", "ntd", "ordered", "outcome", "parameter_files",
    "parameter_problems", "roc", "screen", "screen_one", "since_text", "stale_parameters",
    "unconfirmed_parameters",
]
