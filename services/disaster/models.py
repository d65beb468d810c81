"""Tables of the disaster conversation (imported by services.schema so that Alembic sees them).

- ``chief_code``: one-time codes an admin issues for a village and a role; only a keyed hash of
  the code is stored.
- ``chief_binding``: a LINE account bound as a village's 里長 or 里幹事 until its term end or a
  revoke. It names no person: the village, the role, a salted hash of the LINE user id and the
  raw id only because check-in requests must be pushed to it.
- ``chief_bind_failure``: wrong 「綁定」 attempts per account (by hash), to limit guessing; kept in
  the database so that a Redis restart does not reset the count.
- ``disaster_period``: when the disaster mode was on, and who switched it.
- ``disaster_report``: the facts of an S case the situation board counts (severity, people,
  roads cut, whether a bound chief reported it), one row per case.
- ``chief_checkin``: a chief's answer to a check-in request: 平安 or damage, per period.
- ``rich_menu_ref``: which rich menu id LINE gave each of our menus, so switching reuses it.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class ChiefCode(Base):
    __tablename__ = "chief_code"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    village: Mapped[str] = mapped_column(String(10))
    role: Mapped[str] = mapped_column(String(10))  # chief | officer
    term_end: Mapped[dt.date | None] = mapped_column(Date)  # None: the end of the term in force
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ChiefBinding(Base):
    __tablename__ = "chief_binding"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    village: Mapped[str] = mapped_column(String(10), index=True)
    role: Mapped[str] = mapped_column(String(10))
    user_hash: Mapped[str] = mapped_column(String(64), index=True)
    line_user_id: Mapped[str] = mapped_column(String(40), index=True)
    code_id: Mapped[int | None] = mapped_column(ForeignKey("chief_code.id"))
    bound_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    term_end: Mapped[dt.date] = mapped_column(Date)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    revoke_reason: Mapped[str | None] = mapped_column(String(20))  # staff | replaced


class ChiefBindFailure(Base):
    __tablename__ = "chief_bind_failure"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    __table_args__ = (Index("ix_chief_bind_failure_user_time", "user_hash", "created_at"),)


class DisasterPeriod(Base):
    __tablename__ = "disaster_period"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(40))  # e.g. the typhoon's name
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow, index=True)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class DisasterReport(Base):
    __tablename__ = "disaster_report"
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), primary_key=True)
    period_id: Mapped[int | None] = mapped_column(ForeignKey("disaster_period.id"), index=True)
    severity: Mapped[str] = mapped_column(String(10), index=True)  # critical | high | normal
    severity_rank: Mapped[int] = mapped_column(Integer, default=0)  # 2 critical, 1 high, 0 normal
    verified: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    binding_id: Mapped[int | None] = mapped_column(ForeignKey("chief_binding.id"))
    reporter_village: Mapped[str | None] = mapped_column(String(10))
    reporter_role: Mapped[str | None] = mapped_column(String(10))  # chief | officer | None (a resident)
    on_behalf: Mapped[bool] = mapped_column(Boolean, default=False)
    passable: Mapped[str | None] = mapped_column(String(10))
    water_depth_cm: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int | None] = mapped_column(Integer)
    evacuation: Mapped[str | None] = mapped_column(String(10))
    trapped: Mapped[int] = mapped_column(Integer, default=0)
    injured: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


class ChiefCheckin(Base):
    __tablename__ = "chief_checkin"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("disaster_period.id"), index=True)
    village: Mapped[str] = mapped_column(String(10))
    binding_id: Mapped[int] = mapped_column(ForeignKey("chief_binding.id"))
    status: Mapped[str] = mapped_column(String(10))  # safe | no_new (平安 while earlier cases stay open) | damage
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"))
    source_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    __table_args__ = (Index("ix_chief_checkin_period_village", "period_id", "village", "created_at"),)


class RichMenuRef(Base):
    __tablename__ = "rich_menu_ref"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)  # the menu's name, e.g. disaster-v1
    rich_menu_id: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
