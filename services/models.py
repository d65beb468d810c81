"""The record: inbound events, cases, their history, followers, photos, outbound messages.

Times are stored in UTC. Raw LINE user ids are stored only where the office must
reach the resident again (a case's reporter and followers, outbound pushes).
"""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (JSON, BigInteger, Boolean, ColumnElement, Date, DateTime, Float, ForeignKey, Index, Integer,
                        String, Text, UniqueConstraint, and_)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from services.db import Base, utcnow  # noqa: F401  (utcnow: re-exported, models' default times)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time as an aware UTC time (SQLite hands times back without their zone)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.timezone.utc)


class InboundEvent(Base):
    """A LINE webhook event, stored before the webhook answers 200."""

    __tablename__ = "inbound_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    # The raw event JSON; cleared once processed, so message texts are not kept.
    payload: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    is_redelivery: Mapped[bool] = mapped_column(Boolean, default=False)
    event_ts: Mapped[int] = mapped_column(BigInteger)  # ms since epoch, as LINE sends it
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    processed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(200))


class CaseCounter(Base):
    """The last case number used per prefix and Taipei date (R-20261127-0001)."""

    __tablename__ = "case_counter"
    prefix: Mapped[str] = mapped_column(String(2), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Submission(Base):
    """A case: one report from a resident, worked by the office."""

    __tablename__ = "submission"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    category: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    village: Mapped[str | None] = mapped_column(String(10))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    place_text: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(20))
    danger: Mapped[bool] = mapped_column(Boolean, default=False)
    line_user_id: Mapped[str | None] = mapped_column(String(40), index=True)
    chat_id: Mapped[str | None] = mapped_column(String(40))
    source_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    flow_version: Mapped[int] = mapped_column(Integer, default=1)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    owner_section: Mapped[str | None] = mapped_column(String(20))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    due_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    referred_agency: Mapped[str | None] = mapped_column(String(60))
    referred_phone: Mapped[str | None] = mapped_column(String(30))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"))
    reject_reason: Mapped[str | None] = mapped_column(String(300))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    # A staff member's switch (the case page's 公開): the resident's description, place text and
    # photos appear in the Open311 API and on /public (docs/open311.md). Audited in audit_log.
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", name="fk_submission_published_by_staff"))

    history: Mapped[list["CaseEvent"]] = relationship(back_populates="submission", order_by="CaseEvent.id")
    attachments: Mapped[list["Attachment"]] = relationship(back_populates="submission")
    followers: Mapped[list["CaseFollower"]] = relationship(back_populates="submission")

    __table_args__ = (Index("ix_submission_kind_cat_status", "kind", "category", "status"),)


class CaseEvent(Base):
    """One row per change of a case: created, followed, status changed."""

    __tablename__ = "case_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    actor_type: Mapped[str] = mapped_column(String(10))  # resident | staff | system
    actor_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)  # internal notes never reach a resident
    notify: Mapped[bool] = mapped_column(Boolean, default=False)    # the resident is told of this change
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submission: Mapped[Submission] = relationship(back_populates="history")

    @hybrid_property
    def is_public_note(self) -> bool:
        """A note staff wrote for the resident: the one rule for what a resident's answer, a push,
        an export and Open311 may show. Internal notes never are."""
        return bool(self.note) and not self.internal and self.actor_type == "staff"

    @is_public_note.inplace.expression
    @classmethod
    def _is_public_note_sql(cls) -> ColumnElement[bool]:
        return and_(cls.note.is_not(None), cls.note != "", cls.internal.is_(False), cls.actor_type == "staff")


class CaseFollower(Base):
    """A resident who reported the same problem and wants to hear back."""

    __tablename__ = "case_follower"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    line_user_id: Mapped[str] = mapped_column(String(40), index=True)
    source_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submission: Mapped[Submission] = relationship(back_populates="followers")
    __table_args__ = (UniqueConstraint("submission_id", "line_user_id"),)


class Attachment(Base):
    """A photo or a voice message sent in LINE: fetched right away, kept privately.

    A photo is shown without EXIF/GPS (``clean_key``); a voice message (m4a, ``kind="voice"``) is
    kept as LINE sent it under ``clean_key`` only, with its length, and staff may type what it says
    into ``transcript`` (no speech model transcribes it)."""

    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_message_id: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(8), default="photo", server_default="photo")  # photo | voice
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"), index=True)
    user_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|stored|gone|failed|unsent|refused|removed
    content_type: Mapped[str | None] = mapped_column(String(40))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(Integer)
    original_key: Mapped[str | None] = mapped_column(String(200))
    clean_key: Mapped[str | None] = mapped_column(String(200))
    # The chat to tell when the photo cannot be kept (too large); cleared once the fetch is over.
    notify_to: Mapped[str | None] = mapped_column(String(40))
    duration_ms: Mapped[int | None] = mapped_column(Integer)  # a voice message's length, as LINE gives it
    transcript: Mapped[str | None] = mapped_column(Text)  # what a voice message says, typed by staff
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    fetched_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    submission: Mapped[Submission | None] = relationship(back_populates="attachments")


class OutboundMessage(Base):
    """Messages to send: written in the same transaction as the change they report."""

    __tablename__ = "outbound_message"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_event.id"), index=True)
    case_event_id: Mapped[int | None] = mapped_column(ForeignKey("case_event.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12), default="reply")  # reply | status | apology
    to: Mapped[str | None] = mapped_column(String(40))
    reply_token: Mapped[str | None] = mapped_column(String(64))
    messages: Mapped[list] = mapped_column(JSON)
    retry_key: Mapped[str] = mapped_column(String(36), default=lambda: str(uuid.uuid4()))
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)  # pending|sending|sent|failed
    via: Mapped[str | None] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    event_ts: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(200))
    # Set when the sweeper cleared the recipient, the reply token and the texts (services/retention.py);
    # id, kind, status, via and the times stay to prove delivery.
    redacted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    __table_args__ = (UniqueConstraint("case_event_id", "to", name="uq_outbound_case_event_to"),)


class LineUser(Base):
    """Whether a LINE user still follows the account (no pushes after an unfollow)."""

    __tablename__ = "line_user"
    user_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class UnansweredQuestion(Base):
    """A question the bot was not sure about, kept for staff to improve the knowledge.

    No user id is kept, and digits that look like phone numbers are masked.
    """

    __tablename__ = "unanswered_question"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(500))
    label: Mapped[str | None] = mapped_column(String(20))
    guesses: Mapped[list] = mapped_column(JSON, default=list)
    confidence: Mapped[float | None] = mapped_column(Float)
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class Staff(Base):
    """An office staff member who works cases in the dashboard."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(10))  # admin | section | eoc
    section: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Part of every session cookie's fingerprint; signing out adds one, which ends every copy of
    # every session of this staff member (the cookie itself is kept by the browser, not the server).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AuditLog(Base):
    """Who viewed or changed which case's personal data, and when."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # view | change | export | login | staff
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"), index=True)
    detail: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

