"""The disaster mode: a period (start, end, who), and the check-in requests to every bound chief,
written as outgoing messages with a deterministic retry key."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.disaster import chiefs
from services.disaster.models import ChiefBinding, DisasterPeriod
from services.knowledge import t
from services.messages import Text, postback, say
from services.models import AuditLog, LineUser, OutboundMessage, Staff, utcnow

NAMESPACE = uuid.UUID("3b0e7f5c-1f5e-4c8e-9a55-6d2f4f1b7a20")


def current_period(session: Session) -> DisasterPeriod | None:
    return session.execute(select(DisasterPeriod).where(DisasterPeriod.ended_at.is_(None))
                           .order_by(DisasterPeriod.started_at.desc(), DisasterPeriod.id.desc())).scalars().first()


def mode_status(session: Session) -> dict[str, Any]:
    """A read-only query for handlers: is the disaster mode on?"""
    period = current_period(session)
    if period is None:
        return {"on": False}
    return {"on": True, "period_id": period.id, "name": period.name or ""}


def mode_on(session: Session) -> bool:
    return current_period(session) is not None


def checkin_retry_key(period_id: int, line_user_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"checkin:{period_id}:{line_user_id}"))


def checkin_request(period: DisasterPeriod, village_names: list[str]) -> Text:
    text = t("disaster.checkin.request", name=period.name or t("disaster.mode_name"),
             village="、".join(village_names))
    items = (postback(t("disaster.labels.report"), "flow=disaster"), say(t("disaster.labels.safe")))
    return Text(text, items)


def plan_checkins(session: Session, period: DisasterPeriod, user_hash_blocked=None,
                  quota: int | None = None) -> list[int]:
    """One check-in request per bound LINE account (listing its villages), never twice per period.

    Check-ins are essential: they go out while the month's pushes are under the quota.
    """
    from services.notify import month_usage
    by_account: dict[str, list[ChiefBinding]] = {}
    for b in chiefs.active_bindings(session):
        by_account.setdefault(b.line_user_id, []).append(b)
    used = month_usage(session) if quota is not None else 0
    ids = []
    for to, rows in by_account.items():
        key = checkin_retry_key(period.id, to)
        existing = session.execute(select(OutboundMessage.id).where(OutboundMessage.retry_key == key)).scalar()
        if existing is not None:
            ids.append(existing)
            continue
        if _blocked(session, rows[0].user_hash):
            continue
        if quota is not None and used >= quota:
            break
        ob = OutboundMessage(kind="checkin", to=to, reply_token=None, retry_key=key,
                             messages=[checkin_request(period, sorted({r.village for r in rows})).to_dict()])
        session.add(ob)
        session.flush()
        ids.append(ob.id)
        used += 1
    return ids


def start_mode(session: Session, staff: Staff | None, name: str | None = None,
               quota: int | None = None, now: dt.datetime | None = None) -> tuple[DisasterPeriod, list[int], bool]:
    """Switch the disaster mode on: (the period, the check-in messages to send, whether it is new)."""
    existing = current_period(session)
    if existing is not None:
        return existing, [], False
    period = DisasterPeriod(name=(name or "").strip()[:40] or None, started_at=now or utcnow(),
                            started_by=staff.id if staff else None)
    session.add(period)
    session.flush()
    ids = plan_checkins(session, period, quota=quota)
    session.add(AuditLog(staff_id=staff.id if staff else None, action="disaster_mode",
                         detail=f"on period {period.id} checkins={len(ids)}"))
    return period, ids, True


def end_mode(session: Session, staff: Staff | None, now: dt.datetime | None = None) -> DisasterPeriod | None:
    period = current_period(session)
    if period is None:
        return None
    period.ended_at, period.ended_by = now or utcnow(), staff.id if staff else None
    session.add(AuditLog(staff_id=staff.id if staff else None, action="disaster_mode", detail=f"off period {period.id}"))
    return period


def _blocked(session: Session, user_hash: str) -> bool:
    return bool(session.execute(select(LineUser.blocked).where(LineUser.user_hash == user_hash)).scalar_one_or_none())

