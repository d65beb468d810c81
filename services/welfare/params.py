"""The screener's parameters: dated values in knowledge/welfare/*.yaml, the one in force on a day,
and their health (malformed files, stale or unconfirmed values) for ``knowledge check``, the staff
digest and the dashboard."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from services.knowledge import KNOWLEDGE_DIR, t
from services.welfare.values import roc

PARAMS_DIR = KNOWLEDGE_DIR / "welfare"
CONFIRMED = ("verified-official", "verified-secondary", "derived")
STATUSES = CONFIRMED + ("unverified", "proposed")
STALE_MONTHS = 13
# One parameter file per programme (knowledge/welfare/<id>.yaml), besides common.yaml.
PROGRAMMES = (
    "low_income_household", "middle_low_income_household", "senior_living_allowance",
    "senior_special_care_allowance", "disability_living_subsidy", "emergency_assistance",
    "senior_meal_service", "national_pension_basic_guarantee", "childcare_allowance",
    "tainan_birth_bonus", "special_circumstances_family", "double_ninth_gift", "long_term_care",
)


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


def as_date(value: Any) -> dt.date | None:
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
    entries = sorted(entries, key=lambda e: as_date(e["from"]))
    applicable = [e for e in entries if as_date(e["from"]) <= as_of]
    if not applicable:
        return Param(programme, name)
    confirmed = [e for e in applicable if e["status"] in CONFIRMED and e.get("value") is not None]
    base = confirmed[-1] if confirmed else None
    later = [e for e in applicable if e not in confirmed
             and (base is None or as_date(e["from"]) > as_date(base["from"]))]
    latest = applicable[-1]
    stale, since = None, None
    to = as_date(latest.get("to"))
    if to is not None and as_of > to:
        stale, since = "period", to
    used = [e for e in (base, latest) if e is not None]
    oldest = min(as_date(e["verified_on"]) for e in used)
    if stale is None and as_of > add_months(oldest, STALE_MONTHS):
        stale, since = "verification", oldest
    pending_status = later[0]["status"] if later else None
    if base is not None and later and all(e["status"] == "unverified" and e.get("value") == base["value"]
                                          for e in later):
        # the earlier confirmed value carried forward: known, but not confirmed for this period
        return Param(programme, name, base["value"], as_date(base["from"]), "unverified", base.get("source"),
                     as_date(base.get("verified_on")), (), None, stale, since, None, None, True,
                     as_date(base.get("to")), bool(base.get("undated")))
    if base is None:
        return Param(programme, name, None, None, latest["status"], latest.get("source"),
                     as_date(latest.get("verified_on")), tuple(e.get("value") for e in later),
                     as_date(later[0]["from"]) if later else None, stale, since, pending_status)
    return Param(programme, name, base["value"], as_date(base["from"]), base["status"], base.get("source"),
                 as_date(base.get("verified_on")), tuple(e.get("value") for e in later),
                 as_date(later[0]["from"]) if later else None, stale, since, pending_status,
                 as_date(base.get("to")))


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
                end = as_date(e.get("to"))
                if e["status"] in ("unverified", "proposed") and (end is None or end >= as_of):
                    value = "?" if e.get("value") is None else e["value"]
                    out.append((pid, name, f"{e['status']} from {as_date(e['from']).isoformat()}: {value}"))
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
