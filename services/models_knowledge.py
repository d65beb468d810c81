"""Tables of the knowledge edits made in the dashboard (services/knowledge_edits.py).

Every change to an FAQ entry is a row of ``knowledge_version``: the whole entry as it would be
published (``data``, the same fields as an entry of knowledge/faq/*.yaml), who wrote it, when and
why. A row is a draft until a second person publishes it; the published row of an entry is the
one residents get, the rows it replaced stay as history.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, utcnow

DRAFT, PUBLISHED, SUPERSEDED, REJECTED = "draft", "published", "superseded", "rejected"


class KnowledgeVersion(Base):
    __tablename__ = "knowledge_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(60), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, 3… per entry, in the order written
    data: Mapped[dict] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(12), default=DRAFT, index=True)
    reason: Mapped[str] = mapped_column(String(300))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    restored_from: Mapped[int | None] = mapped_column(Integer)  # the version number it copies
    question_id: Mapped[int | None] = mapped_column(Integer)    # the unanswered question it answers
    effect: Mapped[dict | None] = mapped_column(JSON)           # the evaluation at save time


class KnowledgeReviewer(Base):
    """A staff member who may publish other people's changes to one section's entries."""

    __tablename__ = "knowledge_reviewer"
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    section: Mapped[str] = mapped_column(String(20), primary_key=True)
