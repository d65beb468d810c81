"""Staff accounts: creation, password hashing (scrypt, Werkzeug's current default), login.

Logins are never locked out here: an outsider could keep a colleague out by failing on purpose.
Guessing is slowed per account and client address in Redis (``bot/dashboard/auth.py``). Every
refusal does the same hashing work, one scrypt verify, whether the name is unknown, inactive or
known, so the time to refuse tells nothing about the account.
"""
from __future__ import annotations

import datetime as dt
import secrets
import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from services.models import AuditLog, Staff, utcnow

ROLES = ("admin", "section", "eoc")
MIN_PASSWORD = 10

_dummy: list[str] = []
_dummy_lock = threading.Lock()


class StaffError(ValueError):
    pass


def new_password() -> str:
    return secrets.token_urlsafe(12)


def create(session: Session, username: str, display_name: str, role: str, section: str | None = None,
           password: str | None = None, must_change: bool = True) -> tuple[Staff, str]:
    """Create an account; returns it and its password (generated when not given)."""
    from services.faq import sections
    username = username.strip().lower()
    if role not in ROLES:
        raise StaffError("role")
    if role == "section" and section not in sections():
        raise StaffError("section")
    if not username or session.execute(select(Staff).where(Staff.username == username)).scalar_one_or_none():
        raise StaffError("username_taken")
    password = password or new_password()
    if len(password) < MIN_PASSWORD:
        raise StaffError("password_short")
    staff = Staff(username=username, display_name=display_name.strip() or username, role=role,
                  section=section if role == "section" else None,
                  password_hash=generate_password_hash(password), must_change_password=must_change)
    session.add(staff)
    session.flush()
    return staff, password


def set_password(staff: Staff, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise StaffError("password_short")
    staff.password_hash = generate_password_hash(password)
    staff.must_change_password = False


def dummy_hash() -> str:
    """A hash of a password nobody knows, made like real ones (same method and cost), once per
    process: what an unknown or inactive name is checked against."""
    if not _dummy:
        with _dummy_lock:
            if not _dummy:
                _dummy.append(generate_password_hash(secrets.token_urlsafe(24)))
    return _dummy[0]


def authenticate(session: Session, username: str, password: str, now: dt.datetime | None = None) -> Staff | None:
    """The staff member, or None. Exactly one password verify whatever the outcome; failures are
    counted (shown to admins) but never lock the account (``locked_until`` is no longer set)."""
    now = now or utcnow()
    staff = session.execute(select(Staff).where(Staff.username == (username or "").strip().lower())
                            ).scalar_one_or_none()
    usable = staff is not None and bool(staff.active)
    right = check_password_hash(staff.password_hash if usable else dummy_hash(), password or "")
    if not usable:
        return None
    if not right:
        staff.failed_logins = (staff.failed_logins or 0) + 1
        return None
    staff.failed_logins, staff.locked_until, staff.last_login_at = 0, None, now
    return staff


def count(session: Session) -> int:
    return session.execute(select(func.count(Staff.id))).scalar_one()


def audit(session: Session, staff: Staff | None, action: str, submission_id: int | None = None,
          detail: str | None = None) -> None:
    session.add(AuditLog(staff_id=staff.id if staff else None, action=action, submission_id=submission_id,
                         detail=(detail or "")[:300] or None))
