"""Reminder subscriptions: the actions ``subscribe`` / ``unsubscribe`` (run inside the event's
transaction, services/actions.py), the query ``subscribed_village`` and the dashboard's counts."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.actions import ActionContext, ActionResult
from services.dengue.models import DengueSubscription
from services.knowledge import t
from services.messages import Text


def subscription(session: Session, user_hash: str) -> DengueSubscription | None:
    return session.execute(select(DengueSubscription).where(DengueSubscription.user_hash == user_hash)
                           ).scalar_one_or_none()


def subscribed_village(session: Session, user_id: str) -> str | None:
    """A query: ``None`` when not subscribed, ``""`` for the whole district, else the village."""
    village = session.execute(select(DengueSubscription.village)
                              .where(DengueSubscription.line_user_id == user_id)).first()
    return None if village is None else (village[0] or "")


def subscribe(session: Session, payload: dict[str, Any], ctx: ActionContext) -> ActionResult:
    """Subscribe (or change the village of) the resident; stores the salted hash and the LINE id a
    push needs, and the village (None: the whole district)."""
    if not ctx.user_id or not ctx.user_hash or ctx.chat_type != "user":
        return ActionResult(replies=(Text(t("dengue.subscribe.group")),))
    village = payload.get("village") or None
    row = subscription(session, ctx.user_hash)
    if row is None:
        session.add(DengueSubscription(user_hash=ctx.user_hash, line_user_id=ctx.user_id, village=village))
        key = "dengue.subscribe.done" if village else "dengue.subscribe.done_all"
    else:
        row.line_user_id, row.village = ctx.user_id, village
        key = "dengue.subscribe.updated"
    session.flush()
    name = village or t("dengue.subscribe.all_label")
    return ActionResult(replies=(Text(t(key, village=name)),))


def unsubscribe(session: Session, payload: dict[str, Any], ctx: ActionContext) -> ActionResult:
    """Stop the reminders and delete the subscription row."""
    row = subscription(session, ctx.user_hash) if ctx.user_hash else None
    if row is None:
        return ActionResult(replies=(Text(t("dengue.unsubscribe.none")),))
    session.delete(row)
    session.flush()
    return ActionResult()


def subscriber_counts(session: Session) -> dict[str | None, int]:
    """Subscribers per village (None: the whole district); for the dashboard."""
    rows = session.execute(select(DengueSubscription.village, func.count(DengueSubscription.id))
                           .group_by(DengueSubscription.village)).all()
    return {village: count for village, count in rows}

