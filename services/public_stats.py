"""The public page's figures (/public): per category of each published kind, over the last 12
months, reports received, share closed, median working days to close and share closed within
target; reports received per month; and the map's markers. Counts only: no text a resident wrote,
no phone, no user id (docs/open311.md).

Definitions:
- the period is the 12 calendar months up to and including the current one (Taipei dates);
- a report is received on its Taipei creation date, closed when its status is not an open one
  (knowledge/workflow.yaml: resolved, referred, duplicate, rejected), on its ``closed_at`` date;
- working days to close: ``calendar.working_days_between`` of those two dates (the office calendar);
- within target: closed on or before its due date (the stored one, else the workflow's); the share
  is of the closed reports.
"""
from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from services import calendar, clock, open311, workflow
from services.clock import TAIPEI, local
from services.models import Submission, as_utc, utcnow

MONTHS = 12
MAP_LIMIT = 3000


@dataclass
class Row:
    received: int = 0
    closed: int = 0
    within: int = 0
    days: list[int] = field(default_factory=list)
    monthly: list[int] = field(default_factory=lambda: [0] * MONTHS)


def months(today: dt.date) -> list[dt.date]:
    """The first days of the 12 months up to and including ``today``'s."""
    out, year, month = [], today.year, today.month
    for _ in range(MONTHS):
        out.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def _start_utc(first: dt.date) -> dt.datetime:
    return dt.datetime.combine(first, dt.time(0), tzinfo=TAIPEI).astimezone(dt.timezone.utc)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def figures(session: Session, now: dt.datetime | None = None) -> dict:
    """The figures as plain data (JSON-ready), for the page, its charts and the CSV."""
    now = now or utcnow()
    today = clock.today(now)
    firsts = months(today)
    index = {(d.year, d.month): i for i, d in enumerate(firsts)}
    services = open311.services()
    rows = {s.code: Row() for s in services}
    query = open311.public_cases().where(Submission.created_at >= _start_utc(firsts[0]))
    for sub in session.execute(query).scalars():
        svc = open311.service_of(sub)
        if svc is None:
            continue
        _count(rows[svc.code], sub, index)
    return {
        "generated_at": open311.w3c(now),
        "period": {"from": firsts[0].isoformat(), "to": today.isoformat()},
        "months": [d.strftime("%Y-%m") for d in firsts],
        "categories": [_category(s, rows[s.code]) for s in services],
    }


def _count(row: Row, sub: Submission, index: dict[tuple[int, int], int]) -> None:
    created = local(sub.created_at).date()
    row.received += 1
    row.monthly[index[(created.year, created.month)]] += 1
    if open311.status(sub) != "closed" or sub.closed_at is None:
        return
    closed = local(sub.closed_at).date()
    row.closed += 1
    row.days.append(max(0, calendar.working_days_between(created, closed)))
    due = sub.due_date or workflow.due_date(sub.kind, sub.category, as_utc(sub.created_at))
    row.within += closed <= due


def _category(svc: open311.Service, row: Row) -> dict:
    return {
        "code": svc.code, "name": svc.name,
        "received": row.received, "closed": row.closed,
        "share_closed": _share(row.closed, row.received),
        "median_days": statistics.median(row.days) if row.days else None,
        "share_within_target": _share(row.within, row.closed),
        "target_days": workflow.target_days(svc.kind, svc.category),
        "monthly": row.monthly,
    }


def csv_rows(data: dict, headers: list[str]) -> list[list[str]]:
    """The per-category figures as CSV rows (shares as percentages with one decimal)."""
    def pct(x: float | None) -> str:
        return "" if x is None else f"{x * 100:.1f}"
    body = [[c["code"], c["name"], str(c["received"]), str(c["closed"]), pct(c["share_closed"]),
             "" if c["median_days"] is None else f"{c['median_days']:g}", pct(c["share_within_target"]),
             str(c["target_days"])] for c in data["categories"]]
    return [headers] + body


def markers(session: Session, now: dt.datetime | None = None) -> list[dict]:
    """The map's points: public cases of the 12 months with a place, on the 50 m grid. A published
    case carries its masked description."""
    now = now or utcnow()
    first = months(clock.today(now))[0]
    query = (open311.public_cases()
             .where(Submission.created_at >= _start_utc(first), Submission.lat.is_not(None),
                    Submission.lng.is_not(None))
             .order_by(Submission.created_at.desc()).limit(MAP_LIMIT))
    out = []
    for sub in session.execute(query).scalars():
        svc = open311.service_of(sub)
        item = {"id": sub.ref, "c": svc.code if svc else "", "s": open311.status(sub), "st": sub.status,
                "lat": open311.snap(sub.lat), "lng": open311.snap(sub.lng),
                "d": local(sub.created_at).date().isoformat()}
        if sub.public and sub.description:
            item["t"] = open311.mask(sub.description)[:200]
        out.append(item)
    return out
