"""The quality loop's numbers: per week, messages answered, answered unsure and not understood,
and the questions most often left unanswered. Counted from stored rows only (no user, no text but
the unanswered questions staff already see): a message is a processed ``message`` event; an
unanswered question labelled ``unknown`` was not understood, any other was answered unsure.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.models import InboundEvent, UnansweredQuestion, utcnow
from services import clock
from services.clock import TAIPEI


def _week(value: dt.datetime) -> dt.date:
    day = clock.local(value).date()
    return day - dt.timedelta(days=day.weekday())


def weekly(session: Session, weeks: int = 8, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Oldest week first: {week (Monday), messages, answered, unsure, not_understood}."""
    now = now or utcnow()
    first = _week(now) - dt.timedelta(weeks=weeks - 1)
    since = dt.datetime.combine(first, dt.time(), TAIPEI)
    rows = {first + dt.timedelta(weeks=i): Counter() for i in range(weeks)}
    for (at,) in session.execute(select(InboundEvent.received_at).where(
            InboundEvent.event_type == "message", InboundEvent.status == "processed",
            InboundEvent.received_at >= since)):
        rows.get(_week(at), Counter())["messages"] += 1
    for at, label in session.execute(select(UnansweredQuestion.created_at, UnansweredQuestion.label)
                                     .where(UnansweredQuestion.created_at >= since)):
        rows.get(_week(at), Counter())["not_understood" if label == "unknown" else "unsure"] += 1
    out = []
    for week, c in rows.items():
        answered = max(0, c["messages"] - c["unsure"] - c["not_understood"])
        out.append({"week": week, "messages": c["messages"], "answered": answered, "unsure": c["unsure"],
                    "not_understood": c["not_understood"]})
    return out


def top_unanswered(session: Session, days: int = 28, limit: int = 10,
                   now: dt.datetime | None = None) -> list[tuple[str, int, int]]:
    """(question, times asked, id of the newest) of the open questions, most asked first."""
    since = (now or utcnow()) - dt.timedelta(days=days)
    rows = session.execute(select(UnansweredQuestion.id, UnansweredQuestion.text)
                           .where(UnansweredQuestion.reviewed.is_(False), UnansweredQuestion.created_at >= since)
                           .order_by(UnansweredQuestion.id.desc()))
    counts: Counter[str] = Counter()
    newest: dict[str, int] = {}
    for qid, text in rows:
        key = " ".join(text.split())
        counts[key] += 1
        newest.setdefault(key, qid)
    return [(text, n, newest[text]) for text, n in counts.most_common(limit)]


SERIES = (("answered", "#2f7d4a"), ("unsure", "#c98a00"), ("not_understood", "#b3261e"))


def chart(rows: list[dict[str, Any]], width: int = 560, height: int = 180) -> dict[str, Any]:
    """Stacked bars for an inline SVG (no script, no library): one bar per week."""
    top = max([r["answered"] + r["unsure"] + r["not_understood"] for r in rows] + [1])
    slot = width / max(1, len(rows))
    bars = []
    for i, r in enumerate(rows):
        y = height - 20
        for key, colour in SERIES:
            h = (height - 30) * r[key] / top
            if h > 0:
                bars.append({"x": round(i * slot + slot * 0.2, 1), "y": round(y - h, 1), "w": round(slot * 0.6, 1),
                             "h": round(h, 1), "fill": colour, "title": f"{r['week']:%m/%d} {key} {r[key]}"})
            y -= h
    labels = [{"x": round(i * slot + slot / 2, 1), "text": f"{r['week']:%m/%d}"} for i, r in enumerate(rows)]
    return {"width": width, "height": height, "bars": bars, "labels": labels, "top": top}
