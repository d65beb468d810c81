"""Staff sign-in for the dashboard: Flask-Login wiring, session rules and the login rate limit.

- The session cookie names a staff member by id plus an HMAC of their password hash and
  active flag, so a password change, a reset or a deactivation ends every other session.
- Sessions are permanent with an 8-hour lifetime; besides Flask's sliding expiry the login time
  is kept in the (signed) session and a session older than 8 hours is ended even when in use.
- Login attempts are counted in Redis per client IP and per username (hashed): at most
  ``MAX_ATTEMPTS`` in ``WINDOW_S`` seconds, fixed window from the first attempt. A successful
  login clears its username's counter and gives its attempt back to the IP, so an office behind
  one address is not locked out by its own colleagues. If Redis is down the limit is skipped
  (logged); the per-account lock-out in the database still applies.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import time

from flask import Flask, current_app, session
from flask_login import LoginManager, UserMixin, login_user, logout_user
from redis.exceptions import RedisError

from bot.dashboard import text
from bot.extensions import get_services
from services.models import Staff

log = logging.getLogger(__name__)

SESSION_HOURS = 8
WINDOW_S = 600
MAX_ATTEMPTS = 10
KEY_PREFIX = "rl:login:v1:"
LOGIN_AT = "dashboard_login_at"


class StaffUser(UserMixin):
    """The signed-in staff member. ``staff`` is a detached row, read-only for the request."""

    def __init__(self, staff: Staff):
        self.staff = staff
        self.id = staff.id

    def get_id(self) -> str:
        return f"{self.staff.id}.{fingerprint(self.staff)}"

    @property
    def is_active(self) -> bool:
        return bool(self.staff.active)


def fingerprint(staff: Staff) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    msg = f"{staff.id}:{staff.password_hash}:{int(bool(staff.active))}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:20]


def load_user(user_id: str) -> StaffUser | None:
    sid, _, mark = (user_id or "").partition(".")
    if not sid.isdigit() or not mark:
        return None
    with get_services().db.session() as s:
        staff = s.get(Staff, int(sid))
        if staff is None or not staff.active:
            return None
        if not hmac.compare_digest(fingerprint(staff), mark):
            return None
        return StaffUser(staff)


def init_app(app: Flask) -> LoginManager:
    manager = LoginManager()
    manager.login_view = "dashboard.login"
    manager.login_message = None  # set per request below, from knowledge/dashboard.yaml
    manager.login_message_category = "info"
    manager.session_protection = "basic"
    manager.user_loader(load_user)

    @manager.unauthorized_handler
    def _unauthorized():
        from flask import flash, redirect, request, url_for
        flash(text("flash.login_required"), "info")
        nxt = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("dashboard.login", next=nxt))

    manager.init_app(app)
    return manager


def configure(app: Flask) -> None:
    """Session and cookie rules for staff sign-in."""
    # Secure everywhere but an explicit local trial on plain http (and the tests' http client).
    https = str(app.config.get("PUBLIC_BASE_URL") or "").startswith("https://")
    secure = not app.config.get("TESTING") and (not app.config.get("LOCAL_MODE") or https)
    lifetime = dt.timedelta(hours=SESSION_HOURS)
    app.config.update(
        PERMANENT_SESSION_LIFETIME=lifetime,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_DURATION=lifetime,
    )
    # A form left open stays valid for the session's life (the token is bound to the session).
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", SESSION_HOURS * 3600)


def start_session(staff: Staff) -> None:
    """Sign in: a fresh session (no data carried over from before login), permanent, 8 hours."""
    session.clear()
    session.permanent = True
    session[LOGIN_AT] = int(time.time())
    login_user(StaffUser(staff), remember=False)


def refresh_identity(staff: Staff) -> None:
    """After the staff member changed their own password: keep this session, end the others."""
    login_at = session.get(LOGIN_AT, int(time.time()))
    login_user(StaffUser(staff), remember=False)
    session[LOGIN_AT] = login_at


def end_session() -> None:
    logout_user()
    session.clear()


def session_too_old() -> bool:
    started = session.get(LOGIN_AT)
    limit = current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    return not isinstance(started, int) or time.time() - started > limit


# -- login rate limit --------------------------------------------------------------------------

def _keys(ip: str, username: str) -> list[str]:
    user = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return [f"{KEY_PREFIX}ip:{ip or '-'}", f"{KEY_PREFIX}user:{user}"]


def count_attempt(ip: str, username: str) -> int | None:
    """Count one login attempt; returns seconds to wait when over the limit, else None."""
    try:
        pipe = get_services().redis.pipeline(transaction=True)
        for key in _keys(ip, username):
            pipe.set(key, 0, ex=WINDOW_S, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
        res = pipe.execute()
    except RedisError as exc:
        log.warning("login rate limit unavailable: %s", type(exc).__name__)
        return None
    wait = None
    for i in range(0, len(res), 3):
        count, ttl = int(res[i + 1]), int(res[i + 2])
        if count > MAX_ATTEMPTS:
            wait = max(wait or 1, ttl if ttl > 0 else WINDOW_S)
    return wait


def forgive_attempt(ip: str, username: str) -> None:
    """A successful login: clear the username's counter and give the IP its attempt back."""
    ip_key, user_key = _keys(ip, username)
    try:
        pipe = get_services().redis.pipeline(transaction=True)
        pipe.delete(user_key)
        pipe.decr(ip_key)
        res = pipe.execute()
        if int(res[1]) <= 0:
            get_services().redis.delete(ip_key)
    except RedisError as exc:
        log.warning("login rate limit unavailable: %s", type(exc).__name__)
