"""Tables of the dengue conversation (imported by services.schema so that Alembic sees them).

- ``dengue_subscription``: who receives the weekly 巡倒清刷 reminder. It holds the salted user
  hash (to find the row again and to match unfollows) and the LINE user id, which a push needs;
  an unsubscribe deletes the row.
- ``dengue_reminder_run``: one weekly or one-off reminder (its key makes a second run the same
  run), with the counts of what was sent and skipped; no user data.
- ``dengue_reminder_delivery``: one row per run and recipient hash, pointing at the outgoing
  message, so a re-run never writes a second push for the same person.
- ``dengue_anon_cleanup``: work left after an anonymous report is stored: the conversation's
  outgoing messages to clear once they are sent, and photo originals to delete once fetched.
  The row is deleted when the work is done (usually within a minute or two).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class DengueSubscription(Base):
    __tablename__ = "dengue_subscription"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_hash: Mapped[str] = mapped_column(String(64), unique=True)
    line_user_id: Mapped[str] = mapped_column(String(40))
    village: Mapped[str | None] = mapped_column(String(10), index=True)  # None: the whole district
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow, onupdate=_utcnow)


class DengueReminderRun(Base):
    __tablename__ = "dengue_reminder_run"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # weekly-2026-W48 | rain-<uuid>
    kind: Mapped[str] = mapped_column(String(10))  # weekly | rain
    village: Mapped[str | None] = mapped_column(String(10))  # None: every subscriber
    text: Mapped[str] = mapped_column(Text)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    planned: Mapped[int] = mapped_column(Integer, default=0)
    skipped_blocked: Mapped[int] = mapped_column(Integer, default=0)
    skipped_budget: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    planned_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class DengueReminderDelivery(Base):
    __tablename__ = "dengue_reminder_delivery"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("dengue_reminder_run.id"), index=True)
    user_hash: Mapped[str] = mapped_column(String(64))
    outbound_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_message.id"))
    __table_args__ = (UniqueConstraint("run_id", "user_hash", name="uq_dengue_delivery_run_user"),)


class DengueAnonCleanup(Base):
    __tablename__ = "dengue_anon_cleanup"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The chat the report came from and when its conversation began: the messages sent to it in
    # that window are cleared once sent; then this row (the only link left) is deleted.
    chat_id: Mapped[str | None] = mapped_column(String(40))
    since: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    photo_ids: Mapped[list] = mapped_column(JSON, default=list)  # LINE message ids of its photos
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow, index=True)
