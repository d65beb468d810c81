"""The daily list of overdue cases for each section (and for the EOC: disaster cases)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import kinds, workflow
from services.knowledge import t
from services.models import Submission
from services import clock
from services.models import utcnow


def overdue_by_section(session: Session, today: dt.date | None = None) -> dict[str, list[Submission]]:
    today = today or clock.today()
    rows = session.execute(select(Submission).where(Submission.status.in_(workflow.open_statuses()),
                                                    Submission.due_date < today)
                           .order_by(Submission.due_date, Submission.id)).scalars()
    out: dict[str, list[Submission]] = {}
    for sub in rows:
        out.setdefault(sub.owner_section or "-", []).append(sub)
    return out


def welfare_notice(today: dt.date) -> str | None:
    """Stale welfare parameters, for the staff group: the screener no longer says "likely" for them."""
    from services import welfare
    lines = welfare.digest_lines(today)
    return "\n".join(lines) if lines else None


def failed_events_notice(session: Session, now: dt.datetime | None = None) -> str | None:
    """For the staff group: LINE events that could not be handled in the last 24 hours (a
    resident's message may not have been answered). Counted only: no content, no user."""
    from services import inbound
    count = inbound.failed_since(session, (now or utcnow()) - dt.timedelta(hours=24))
    return t("digest.failed_events", count=count) if count else None


def text(section: str, cases: list[Submission], today: dt.date) -> str:
    """The digest for one section, for staff (no resident's words, no personal data). The staff
    group may hold other sections: cases of private kinds (kinds.yaml) are only counted."""
    lines = [t("digest.header", section=section, count=len(cases), date=today.strftime("%Y/%m/%d"))]
    private = [c for c in cases if c.kind in kinds.private_ids()]
    cases = [c for c in cases if c.kind not in kinds.private_ids()]
    if private:
        lines.append(t("digest.private", count=len(private)))
    for sub in cases[:30]:
        late = (today - sub.due_date).days if sub.due_date else 0
        lines.append(t("digest.item", ref=sub.ref, status=workflow.status_label(sub.status),
                       village=sub.village or "-", due=sub.due_date.strftime("%m/%d"), late=late))
    if len(cases) > 30:
        lines.append(t("digest.more", more=len(cases) - 30))
    return "\n".join(lines)
