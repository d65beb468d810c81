"""Working days by the government office calendar (knowledge/calendar/), for due dates."""
from __future__ import annotations

import csv
import datetime as dt
import functools

from services.knowledge import KNOWLEDGE_DIR

CALENDAR_DIR = KNOWLEDGE_DIR / "calendar"


@functools.cache
def _days_off() -> tuple[frozenset[dt.date], frozenset[int]]:
    off: set[dt.date] = set()
    years: set[int] = set()
    for path in sorted(CALENDAR_DIR.glob("tw-office-calendar-*.csv")):
        with open(path, encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                day = dt.date.fromisoformat(row["date"])
                years.add(day.year)
                if row["is_holiday"].strip() == "1":
                    off.add(day)
    return frozenset(off), frozenset(years)


def is_working_day(day: dt.date) -> bool:
    off, years = _days_off()
    if day.year in years:
        return day not in off
    return day.weekday() < 5  # outside the published years: weekends only


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (``start`` itself does not count)."""
    day = start
    left = days
    while left > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when end is before)."""
    if end < start:
        return -working_days_between(end, start)
    n, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        n += is_working_day(day)
    return n
