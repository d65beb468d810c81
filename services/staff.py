"""Staff accounts: creation, password hashing (scrypt, Werkzeug's current default), login with
lock-out after repeated failures."""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from services.models import AuditLog, Staff, as_utc, utcnow

ROLES = ("admin", "section", "eoc")
MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 10


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


def authenticate(session: Session, username: str, password: str, now: dt.datetime | None = None) -> Staff | None:
    """The staff member, or None; too many failures lock the account for a while."""
    now = now or utcnow()
    staff = session.execute(select(Staff).where(Staff.username == (username or "").strip().lower())
                            ).scalar_one_or_none()
    if staff is None or not staff.active:
        check_password_hash(generate_password_hash("x"), password or "")  # same work either way
        return None
    if staff.locked_until and as_utc(staff.locked_until) > now:
        return None
    if not check_password_hash(staff.password_hash, password or ""):
        staff.failed_logins += 1
        if staff.failed_logins >= MAX_FAILURES:
            staff.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
            staff.failed_logins = 0
        return None
    staff.failed_logins, staff.locked_until, staff.last_login_at = 0, None, now
    return staff


def count(session: Session) -> int:
    return session.execute(select(func.count(Staff.id))).scalar_one()


def audit(session: Session, staff: Staff | None, action: str, submission_id: int | None = None,
          detail: str | None = None) -> None:
    session.add(AuditLog(staff_id=staff.id if staff else None, action=action, submission_id=submission_id,
                         detail=(detail or "")[:300] or None))
