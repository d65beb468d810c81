"""Staff sign-in for the dashboard: Flask-Login wiring, session rules and the login rate limit.

- The session cookie names a staff member by id plus an HMAC of their password hash, active flag
  and session epoch, checked against the database by the user loader on every dashboard request:
  a password change, a reset or a deactivation ends every other session, and signing out adds one
  to the epoch, which ends this session on the server side too (a copied cookie stops working;
  so do the member's sessions in other browsers). The LINE webhook never loads a user.
- Sessions are permanent with an 8-hour lifetime; besides Flask's sliding expiry the login time
  is kept in the (signed) session and a session older than 8 hours is ended even when in use.
- Login attempts are throttled in Redis per account and client address (see "login throttle"
  below): guessing slows down, but no one can lock a colleague out, and the right password from
  another address always gets in. The client address is ``request.remote_addr``, which
  ``TRUSTED_PROXIES`` (ProxyFix) sets from ``X-Forwarded-For`` only when proxies are configured.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import time

from flask import Flask, current_app, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from redis.exceptions import RedisError
from sqlalchemy import func, update

from bot.dashboard import text
from bot.extensions import get_services
from services.models import Staff

log = logging.getLogger(__name__)

SESSION_HOURS = 8
WINDOW_S = 600
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
    msg = f"{staff.id}:{staff.password_hash}:{int(bool(staff.active))}:{staff.session_epoch or 0}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:20]


def load_user(user_id: str) -> StaffUser | None:
    sid, _, mark = (user_id or "").partition(".")
    if not (sid.isascii() and sid.isdigit() and len(sid) <= 9) or not mark:
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


def end_session(revoke: bool = False) -> None:
    """Sign out. ``revoke`` (the sign-out button) also ends every copy of the session server-side."""
    if revoke and current_user.is_authenticated:
        with get_services().db.session() as s:
            s.execute(update(Staff).where(Staff.id == current_user.staff.id)
                      .values(session_epoch=func.coalesce(Staff.session_epoch, 0) + 1))
    logout_user()
    session.clear()


def session_too_old() -> bool:
    started = session.get(LOGIN_AT)
    limit = current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    return not isinstance(started, int) or time.time() - started > limit


# -- login throttle ----------------------------------------------------------------------------

# Guessing is slowed, never turned into a lock-out an outsider could use against a colleague:
# - per (account, address) pair: PAIR_FREE attempts, then each further attempt from that pair waits
#   PAIR_BASE_DELAY_S, doubling up to PAIR_MAX_DELAY_S; the count is forgotten PAIR_MEMORY_S after
#   the last attempt, and cleared by the right password;
# - per address, whatever the account: ADDRESS_LIMIT attempts in WINDOW_S (spraying many names);
# - per account, from all addresses: past ACCOUNT_LIMIT failed attempts in ACCOUNT_WINDOW_S (many
#   addresses guessing one account), only addresses where that account signed in within
#   KNOWN_ADDRESS_S may try; the colleague's usual desk is never kept out.
# An attempt is counted before its password is checked (so parallel requests cannot slip through
# between the check and the count); the right password gives its attempt back.
PAIR_FREE = 5
PAIR_BASE_DELAY_S = 15
PAIR_MAX_DELAY_S = 900
PAIR_MEMORY_S = 3600
ADDRESS_LIMIT = 30
ACCOUNT_LIMIT = 100
ACCOUNT_WINDOW_S = 3600
KNOWN_ADDRESS_S = 30 * 86400
KEY_PREFIX = "rl:login:v2:"

_CHECK = """
local wait = redis.call('TTL', KEYS[3])
if wait > 0 then return {'pair', wait} end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1])) end
if n > tonumber(ARGV[2]) then return {'address', redis.call('TTL', KEYS[1])} end
local failed = tonumber(redis.call('GET', KEYS[4]) or '0')
if failed >= tonumber(ARGV[7]) and redis.call('EXISTS', KEYS[5]) == 0 then
  return {'account', redis.call('TTL', KEYS[4])}
end
local c = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6]))
if c >= tonumber(ARGV[3]) then
  local d = math.min(tonumber(ARGV[4]) * 2 ^ (c - tonumber(ARGV[3])), tonumber(ARGV[5]))
  redis.call('SET', KEYS[3], '1', 'EX', math.floor(d))
end
local a = redis.call('INCR', KEYS[4])
if a == 1 then redis.call('EXPIRE', KEYS[4], tonumber(ARGV[8])) end
return {'ok', 0}
"""


def _h(*parts: str) -> str:
    """Key names carry no username or address, only a keyed hash of them."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()[:32]


def _user(username: str) -> str:
    return (username or "").strip().lower()


def pair_keys(ip: str, username: str) -> tuple[str, str]:
    """The (count, wait) keys of one account from one address."""
    pair = _h("pair", _user(username), ip or "-")
    return f"{KEY_PREFIX}pair:{pair}", f"{KEY_PREFIX}wait:{pair}"


def _keys(ip: str, username: str) -> list[str]:
    count, wait = pair_keys(ip, username)
    user = _user(username)
    return [f"{KEY_PREFIX}addr:{_h('addr', ip or '-')}", count, wait, f"{KEY_PREFIX}acct:{_h('acct', user)}",
            f"{KEY_PREFIX}known:{_h('known', user, ip or '-')}"]


def count_attempt(ip: str, username: str) -> int | None:
    """Count one login attempt; returns seconds to wait when it may not be tried now, else None.

    If Redis is down the throttle is skipped (logged): each attempt still costs a scrypt verify."""
    try:
        verdict, wait = get_services().redis.eval(
            _CHECK, 5, *_keys(ip, username), WINDOW_S, ADDRESS_LIMIT, PAIR_FREE, PAIR_BASE_DELAY_S,
            PAIR_MAX_DELAY_S, PAIR_MEMORY_S, ACCOUNT_LIMIT, ACCOUNT_WINDOW_S)
    except RedisError as exc:
        log.warning("login throttle unavailable: %s", type(exc).__name__)
        return None
    verdict = verdict.decode() if isinstance(verdict, bytes) else verdict
    if verdict == "ok":
        return None
    log.info("login attempt throttled (%s)", verdict)
    return max(1, int(wait)) if int(wait) > 0 else WINDOW_S


def forgive_attempt(ip: str, username: str) -> None:
    """The right password: clear the pair, give the attempt back to the address and the account,
    and remember the address as one this account signs in from."""
    addr, count, wait, acct, known = _keys(ip, username)
    try:
        pipe = get_services().redis.pipeline(transaction=True)
        pipe.delete(count, wait)
        pipe.decr(addr)
        pipe.decr(acct)
        pipe.set(known, 1, ex=KNOWN_ADDRESS_S)
        _, left_addr, left_acct, _ = pipe.execute()
        stale = [k for k, left in ((addr, left_addr), (acct, left_acct)) if int(left) <= 0]
        if stale:
            get_services().redis.delete(*stale)
    except RedisError as exc:
        log.warning("login throttle unavailable: %s", type(exc).__name__)
