"""The 巡倒清刷 reminder: when the weekly one is due, who receives a run, and the pushes it writes.

A run (``DengueReminderRun``) is one weekly or one-off reminder, named by a unique key
(``weekly-2026-W48``, ``rain-<uuid>``), so starting it twice starts it once. ``plan`` writes one
outgoing message per subscriber with a retry key derived from the run and the recipient, and a
delivery row unique on (run, recipient): a second run of ``plan`` writes nothing new, and LINE
drops a retried push with the same key. Reminders are not essential: they stop when the month's
pushes reach the budget reserve (services.notify.within_budget), so case updates keep the rest.
Subscribers who blocked the account are skipped, and their subscription is deleted.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services import notify
from services.knowledge import load, t
from services.messages import Text, postback
from services.models import LineUser, OutboundMessage, utcnow
from services.dengue.models import DengueReminderDelivery, DengueReminderRun, DengueSubscription
from services import clock

log = logging.getLogger(__name__)
NAMESPACE = uuid.UUID("0b7f1d52-4c1e-4f7a-9d55-6f3b2f1e8a20")
BUDGET_STATUS = "reminder"  # not essential: services.notify.within_budget keeps the reserve


def cfg() -> dict[str, Any]:
    return load("dengue")["reminder"]


def weekly_key(now: dt.datetime | None = None) -> str | None:
    """This week's run key when the weekly reminder is due now (Taipei time), else None."""
    c = cfg()
    local = clock.taipei_now(now)
    if local.weekday() != int(c["weekday"]) or local.month not in c["months"]:
        return None
    if not int(c["hour"]) <= local.hour <= int(c["last_hour"]):
        return None
    year, week, _ = local.isocalendar()
    return f"weekly-{year}-W{week:02d}"


def weekly_text() -> str:
    return t("dengue.reminder.weekly")


def rain_text(note: str | None = None) -> str:
    note = (note or "").strip()[: int(cfg()["max_note_chars"])]
    text = t("dengue.reminder.rain", note=t("dengue.reminder.note", note=note) if note else "")
    return "\n".join(line for line in text.splitlines() if line.strip())


def buttons() -> tuple:
    return (postback(t("dengue.info.topic.prevention"), "dengue=info&topic=prevention"),
            postback(t("dengue.labels.unsubscribe"), "dengue=unsubscribe"))


def retry_key(run_key: str, user_hash: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"dengue-reminder:{run_key}:{user_hash}"))


def ensure_run(session: Session, key: str, kind: str, text: str, village: str | None = None,
               staff_id: int | None = None) -> tuple[DengueReminderRun, bool]:
    """The run with this key, created if new; returns (run, created)."""
    run = session.execute(select(DengueReminderRun).where(DengueReminderRun.key == key)).scalar_one_or_none()
    if run is not None:
        return run, False
    try:
        with session.begin_nested():
            run = DengueReminderRun(key=key, kind=kind, text=text, village=village, staff_id=staff_id)
            session.add(run)
    except IntegrityError:
        run = session.execute(select(DengueReminderRun).where(DengueReminderRun.key == key)).scalar_one()
        return run, False
    session.flush()
    return run, True


def _recipients_query(village: str | None):
    q = select(DengueSubscription).order_by(DengueSubscription.id)
    if village:
        # Those who chose this village, and those who asked for the whole district.
        q = q.where(or_(DengueSubscription.village == village, DengueSubscription.village.is_(None)))
    return q


def _blocked_hashes(session: Session, hashes: list[str]) -> set[str]:
    out: set[str] = set()
    for i in range(0, len(hashes), 500):
        out.update(session.execute(select(LineUser.user_hash).where(
            LineUser.user_hash.in_(hashes[i:i + 500]), LineUser.blocked.is_(True))).scalars())
    return out


def preview(session: Session, village: str | None, quota: int | None) -> dict[str, int | None]:
    """What a run for ``village`` would use now: recipients, this month's pushes, the quota, what
    is left, and how many would be held back by the budget reserve."""
    subs = list(session.execute(_recipients_query(village)).scalars())
    blocked = _blocked_hashes(session, [s.user_hash for s in subs])
    recipients = len([s for s in subs if s.user_hash not in blocked])
    used = notify.month_usage(session)
    sendable = recipients
    if quota is not None:
        sendable = 0
        for _ in range(recipients):
            if not notify.within_budget(BUDGET_STATUS, used + sendable, quota):
                break
            sendable += 1
    return {"recipients": recipients, "messages": sendable, "held_back": recipients - sendable,
            "used": used, "quota": quota, "remaining": None if quota is None else max(0, quota - used)}


def plan(session: Session, run_id: int, quota: int | None, now: dt.datetime | None = None) -> list[int]:
    """Write the run's pushes (once) and return the ids of those still to send."""
    run = session.execute(select(DengueReminderRun).where(DengueReminderRun.id == run_id)
                          .with_for_update()).scalar_one_or_none()
    if run is None:
        return []
    done = {d.user_hash: d.outbound_id for d in session.execute(
        select(DengueReminderDelivery).where(DengueReminderDelivery.run_id == run.id)).scalars()}
    if run.planned_at is None:
        subs = [s for s in session.execute(_recipients_query(run.village)).scalars() if s.user_hash not in done]
        blocked = _blocked_hashes(session, [s.user_hash for s in subs])
        used = notify.month_usage(session, now)
        text = Text(run.text, buttons()).to_dict()
        planned = skipped_blocked = skipped_budget = 0
        for sub in subs:
            if sub.user_hash in blocked:
                skipped_blocked += 1
                session.delete(sub)  # an unfollow ends the subscription
                continue
            if not notify.within_budget(BUDGET_STATUS, used, quota):
                skipped_budget += 1
                continue
            ob = OutboundMessage(kind="reminder", to=sub.line_user_id, reply_token=None, messages=[text],
                                 retry_key=retry_key(run.key, sub.user_hash))
            session.add(ob)
            session.flush()
            session.add(DengueReminderDelivery(run_id=run.id, user_hash=sub.user_hash, outbound_id=ob.id))
            done[sub.user_hash] = ob.id
            planned += 1
            used += 1
        run.planned += planned
        run.skipped_blocked += skipped_blocked
        run.skipped_budget += skipped_budget
        run.planned_at = now or utcnow()
        session.flush()
        log.info("dengue reminder run %s (%s): planned=%d blocked=%d over_budget=%d",
                 run.id, run.kind, planned, skipped_blocked, skipped_budget)
    ids = [i for i in done.values() if i]
    if not ids:
        return []
    return list(session.execute(select(OutboundMessage.id).where(
        OutboundMessage.id.in_(ids), OutboundMessage.status.in_(("pending", "sending")))
        .order_by(OutboundMessage.id)).scalars())


def unplanned_runs(session: Session, max_age: dt.timedelta = dt.timedelta(days=2)) -> list[int]:
    """Runs not yet planned (a new weekly run, or one whose job was lost), newest two days only."""
    return list(session.execute(select(DengueReminderRun.id).where(
        DengueReminderRun.planned_at.is_(None), DengueReminderRun.created_at >= utcnow() - max_age)
        .order_by(DengueReminderRun.id)).scalars())


def recent_runs(session: Session, limit: int = 20) -> list[DengueReminderRun]:
    return list(session.execute(select(DengueReminderRun).order_by(DengueReminderRun.id.desc())
                                .limit(limit)).scalars())
