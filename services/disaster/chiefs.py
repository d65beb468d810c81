"""Village chiefs (里長) and village officers (里幹事), verified by a one-time code.

An admin issues a code for a village and a role (dashboard or ``flask --app app chief-code``);
the chief sends 「綁定 CODE」 to the bot and the LINE account is bound until the end of the term.

- Codes are 8 characters from an alphabet without look-alikes; only an HMAC of the code, keyed
  with the app's secret, is stored, so a copy of the database does not give usable codes.
- A code expires (72 h by default), works once (a conditional UPDATE makes the use atomic) and can
  be revoked before use.
- Wrong attempts are counted per LINE account (by salted hash) in the database: after 5 in an hour
  the bot stops checking codes for that account for the rest of the hour.
- A binding holds the village, the role, the salted user hash, the LINE user id (to push check-in
  requests) and its term end; it names no person. It can be revoked; a new binding of the same
  village and role replaces the old one.
- Every issue, binding and revoke is written to the audit log.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services import clock, knowledge, villages
from services.actions import ActionContext, ActionResult
from services.knowledge import t
from services.messages import Text, postback
from services.models import AuditLog, Staff, as_utc, utcnow
from services.disaster.models import ChiefBindFailure, ChiefBinding, ChiefCode



class ChiefError(ValueError):
    """A code cannot be issued: ``village`` or ``role`` is unknown, or ``term_end`` is past."""


def cfg() -> dict[str, Any]:
    return knowledge.load("disaster")


def roles() -> dict[str, str]:
    return dict(cfg()["roles"])


def role_label(role: str | None) -> str:
    return roles().get(role or "", role or "")


# -- codes -----------------------------------------------------------------------------------------

def new_code() -> str:
    c = cfg()["chief_codes"]
    return "".join(secrets.choice(c["alphabet"]) for _ in range(int(c["length"])))


def normalize_code(text: str) -> str | None:
    """``" abcd 2345 "``, ``ABCD-2345``, full-width -> ``ABCD2345``; None when it cannot be a code."""
    c = cfg()["chief_codes"]
    code = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", text or "")).upper()
    if len(code) != int(c["length"]) or any(ch not in c["alphabet"] for ch in code):
        return None
    return code


@functools.cache
def _bind_re() -> re.Pattern[str]:
    words = "|".join(re.escape(w) for w in sorted(knowledge.words("disaster.bind.words"), key=len, reverse=True))
    return re.compile(rf"^(?:{words})\s*[:\uff1a]?\s*([A-Za-z0-9][A-Za-z0-9\s\-]{{3,20}})$")


def parse_bind(text: str) -> str | None:
    """The code in 「綁定 CODE」 (whatever its form, so that a typo gets "wrong code"), else None."""
    m = _bind_re().match(unicodedata.normalize("NFKC", text or "").strip())
    if not m:
        return None
    return re.sub(r"[\s\-]", "", m.group(1)).upper()


def code_hash(secret: str, code: str) -> str:
    return hmac.new(str(secret).encode(), ("chief-code:" + code).encode(), hashlib.sha256).hexdigest()


def term_end_for(day: dt.date) -> dt.date:
    """The end of the village chiefs' term in force on ``day`` (knowledge/disaster.yaml chief_terms)."""
    for term in cfg()["chief_terms"]["terms"]:
        if term["start"] <= day <= term["end"]:
            return term["end"]
    return day.replace(year=day.year + 4)


@dataclass(frozen=True)
class IssuedCode:
    id: int
    code: str
    village: str
    role: str
    expires_at: dt.datetime
    term_end: dt.date | None


def issue(session: Session, secret: str, village: str, role: str, staff: Staff | None,
          term_end: dt.date | None = None, now: dt.datetime | None = None) -> IssuedCode:
    """A new one-time code for ``village`` and ``role``; the code itself is returned only here."""
    now = now or utcnow()
    if village not in villages.village_names():
        raise ChiefError("village")
    if role not in roles():
        raise ChiefError("role")
    if term_end is not None and term_end < clock.today(now):
        raise ChiefError("term_end")
    hours = int(cfg()["chief_codes"]["expiry_hours"])
    for _ in range(5):
        code = new_code()
        digest = code_hash(secret, code)
        if session.execute(select(ChiefCode.id).where(ChiefCode.code_hash == digest)).first() is None:
            break
    row = ChiefCode(code_hash=digest, village=village, role=role, term_end=term_end,
                    created_by=staff.id if staff else None, created_at=now,
                    expires_at=now + dt.timedelta(hours=hours))
    session.add(row)
    session.flush()
    _audit(session, staff, "chief_code", f"issue code {row.id} village={village} role={role} "
                                          f"expires={row.expires_at:%Y-%m-%dT%H:%MZ}")
    return IssuedCode(row.id, code, village, role, row.expires_at, term_end)


def revoke_code(session: Session, code_id: int, staff: Staff | None, now: dt.datetime | None = None) -> bool:
    now = now or utcnow()
    res = session.execute(update(ChiefCode).where(ChiefCode.id == code_id, ChiefCode.used_at.is_(None),
                                                  ChiefCode.revoked_at.is_(None)).values(revoked_at=now).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        return False
    _audit(session, staff, "chief_revoke", f"revoke code {code_id}")
    return True


def code_state(row: ChiefCode, now: dt.datetime | None = None) -> str:
    """unused | used | expired | revoked"""
    now = now or utcnow()
    if row.revoked_at is not None:
        return "revoked"
    if row.used_at is not None:
        return "used"
    if as_utc(row.expires_at) <= now:
        return "expired"
    return "unused"


# -- bindings --------------------------------------------------------------------------------------

def _active(query, today: dt.date):
    return query.where(ChiefBinding.revoked_at.is_(None), ChiefBinding.term_end >= today)


def active_bindings(session: Session, now: dt.datetime | None = None) -> list[ChiefBinding]:
    today = clock.today(now)
    return list(session.execute(_active(select(ChiefBinding), today)
                                .order_by(ChiefBinding.village, ChiefBinding.role, ChiefBinding.id)).scalars())


def bindings_of(session: Session, line_user_id: str | None, now: dt.datetime | None = None) -> list[ChiefBinding]:
    """The active bindings of a LINE account, newest first (a 里幹事 may serve several villages)."""
    if not line_user_id:
        return []
    today = clock.today(now)
    return list(session.execute(_active(select(ChiefBinding), today)
                                .where(ChiefBinding.line_user_id == line_user_id)
                                .order_by(ChiefBinding.bound_at.desc(), ChiefBinding.id.desc())).scalars())


def binding_for(session: Session, user_id: str | None = None) -> dict[str, Any] | None:
    """A read-only query for handlers: is this LINE account a bound chief, and of which villages?"""
    rows = bindings_of(session, user_id)
    if not rows:
        return None
    first = rows[0]
    return {"id": first.id, "village": first.village, "role": first.role,
            "villages": [r.village for r in rows], "term_end": first.term_end.isoformat()}


def revoke(session: Session, binding_id: int, staff: Staff | None, reason: str = "staff",
           now: dt.datetime | None = None) -> bool:
    now = now or utcnow()
    res = session.execute(update(ChiefBinding).where(ChiefBinding.id == binding_id,
                                                     ChiefBinding.revoked_at.is_(None))
                          .values(revoked_at=now, revoked_by=staff.id if staff else None, revoke_reason=reason)
                          .execution_options(synchronize_session=False))
    if res.rowcount != 1:
        return False
    _audit(session, staff, "chief_revoke", f"revoke binding {binding_id} reason={reason}")
    return True


def failures(session: Session, user_hash: str, now: dt.datetime | None = None) -> int:
    since = (now or utcnow()) - dt.timedelta(hours=1)
    return session.execute(select(func.count(ChiefBindFailure.id)).where(
        ChiefBindFailure.user_hash == user_hash, ChiefBindFailure.created_at >= since)).scalar_one()


def bind(session: Session, payload: dict[str, Any], ctx: ActionContext) -> ActionResult:
    """The action behind 「綁定 CODE」: check the code, use it once, bind the account."""
    now = utcnow()
    if ctx.chat_type != "user" or not ctx.user_id or not ctx.user_hash:
        return ActionResult(replies=(Text(t("disaster.bind.group")),))
    limit = int(cfg()["chief_codes"]["max_failures_per_hour"])
    if failures(session, ctx.user_hash, now) >= limit:
        return ActionResult(replies=(Text(t("disaster.bind.too_many")),))
    code = normalize_code(payload.get("code") or "")
    row = None
    if code:
        row = session.execute(select(ChiefCode).where(
            ChiefCode.code_hash == code_hash(ctx.config["SECRET_KEY"], code)).with_for_update()).scalar_one_or_none()
    state = code_state(row, now) if row is not None else "wrong"
    if state == "unused":
        used = session.execute(update(ChiefCode).where(
            ChiefCode.id == row.id, ChiefCode.used_at.is_(None), ChiefCode.revoked_at.is_(None),
            ChiefCode.expires_at > now).values(used_at=now).execution_options(synchronize_session=False))
        if used.rowcount != 1:
            state = "used"  # another event used it first
    if state != "unused":
        session.add(ChiefBindFailure(user_hash=ctx.user_hash, created_at=now))
        key = {"expired": "expired", "used": "used"}.get(state, "wrong")  # a revoked code reads as wrong
        return ActionResult(replies=(Text(t(f"disaster.bind.{key}")),))

    term_end = row.term_end or term_end_for(clock.today(now))
    # One holder per village and role; and an account re-bound to its village changes its role.
    for old in session.execute(select(ChiefBinding).where(
            ChiefBinding.revoked_at.is_(None),
            ((ChiefBinding.village == row.village) & (ChiefBinding.role == row.role))
            | ((ChiefBinding.village == row.village) & (ChiefBinding.line_user_id == ctx.user_id)))).scalars():
        old.revoked_at, old.revoke_reason = now, "replaced"
        _audit(session, None, "chief_revoke", f"revoke binding {old.id} reason=replaced")
    binding = ChiefBinding(village=row.village, role=row.role, user_hash=ctx.user_hash, line_user_id=ctx.user_id,
                           code_id=row.id, bound_at=now, term_end=term_end)
    session.add(binding)
    session.flush()
    _audit(session, None, "chief_bind", f"binding {binding.id} village={row.village} role={row.role} "
                                        f"code {row.id} term_end={term_end.isoformat()}")
    text = t("disaster.bind.done", village=row.village, role=role_label(row.role),
             term_end=t("disaster.bind.date", year=term_end.year - 1911, month=term_end.month, day=term_end.day))
    report = (postback(t("disaster.labels.report"), "flow=disaster"),)  # true in both modes: a button
    return ActionResult(replies=(Text(text, report),), values={"binding": str(binding.id)})


def _audit(session: Session, staff: Staff | None, action: str, detail: str) -> None:
    session.add(AuditLog(staff_id=staff.id if staff else None, action=action, detail=detail[:300]))
