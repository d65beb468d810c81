"""The office's clock: Taipei time. Every "today" and every local time a resident or staff member
reads is computed here, so that a day boundary means the same thing everywhere."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from services.models import as_utc, utcnow

TAIPEI = ZoneInfo("Asia/Taipei")


def taipei_now(now: dt.datetime | float | None = None) -> dt.datetime:
    """``now`` (default: this moment; a float is epoch seconds, the handlers' clock) in Taipei time."""
    if isinstance(now, (int, float)):
        now = dt.datetime.fromtimestamp(now, dt.timezone.utc)
    return (now or utcnow()).astimezone(TAIPEI)


def today(now: dt.datetime | float | None = None) -> dt.date:
    """The date in Taipei at ``now`` (default: this moment)."""
    return taipei_now(now).date()


def local(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time (naive values are UTC, as SQLite returns them) in Taipei time."""
    return as_utc(value).astimezone(TAIPEI) if value is not None else None
