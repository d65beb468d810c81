"""Village chiefs verified by a one-time code: issued by an admin (CLI or dashboard), used once in
LINE with 「綁定 CODE」, expiring, rate-limited against guessing, revocable, all in the audit log.
Transcripts go through the signed webhook, the worker and the fake LINE server."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update

from bot.extensions import get_services
from services.disaster import chiefs
from services.disaster.models import ChiefBindFailure, ChiefBinding, ChiefCode
from services.models import AuditLog, utcnow
from tests.helpers import OFFICE_PHONE, Resident, group_id, group_text_event
from tests.staff_helpers import make_staff, post, signed_in

CODE_RE = re.compile(r"code: ([A-Z0-9]{8})")


def issue(app, village="岡林里", role="chief") -> str:
    result = app.test_cli_runner().invoke(args=["chief-code", "--village", village, "--role", role])
    assert result.exit_code == 0, result.output
    return CODE_RE.search(result.output).group(1)


def bindings(app) -> list[ChiefBinding]:
    with get_services(app).db.session() as s:
        return list(s.execute(select(ChiefBinding).order_by(ChiefBinding.id)).scalars())


def audit_actions(app) -> list[str]:
    with get_services(app).db.session() as s:
        return [a.action for a in s.execute(select(AuditLog).order_by(AuditLog.id)).scalars()]


def test_cli_issues_a_code_and_the_chief_binds_once(app, fake_line):
    result = app.test_cli_runner().invoke(args=["chief-code", "--village", "岡林里"])
    assert result.exit_code == 0
    code = CODE_RE.search(result.output).group(1)
    assert "岡林里 里長" in result.output and "expires" in result.output and "Asia/Taipei" in result.output
    assert set(code) <= set("ABCDEFGHJKMNPQRSTUVWXYZ23456789")
    with get_services(app).db.session() as s:
        row = s.execute(select(ChiefCode)).scalar_one()
        assert row.code_hash != code and code not in row.code_hash and len(row.code_hash) == 64  # only a hash
        assert (row.expires_at.replace(tzinfo=dt.timezone.utc) - utcnow()) > dt.timedelta(hours=71)

    chief = Resident(app, fake_line.store)
    out = chief.says(f"綁定 {code[:4].lower()}-{code[4:]}")                # typed loosely
    assert "綁定完成" in out[0] and "岡林里里長" in out[0] and "115年12月24日" in out[0]
    [b] = bindings(app)
    assert b.village == "岡林里" and b.role == "chief" and b.line_user_id == chief.user
    assert b.term_end == dt.date(2026, 12, 24) and b.user_hash != chief.user and b.revoked_at is None

    other = Resident(app, fake_line.store)
    out = other.says(f"綁定 {code}")                                       # works once
    assert "已經用過" in out[0]
    out = chief.says(f"綁定 {code}")
    assert "已經用過" in out[0]
    assert len(bindings(app)) == 1
    assert audit_actions(app) == ["chief_code", "chief_bind"]


def test_unknown_village_lists_the_ten(app):
    result = app.test_cli_runner().invoke(args=["chief-code", "--village", "和平里"])
    assert result.exit_code != 0
    for name in ("光和里", "榮和里", "左鎮里", "中正里", "睦光里", "內庄里", "澄山里", "岡林里", "草山里", "二寮里"):
        assert name in result.output
    result = app.test_cli_runner().invoke(args=["chief-code", "--village", "岡林里", "--role", "村長"])
    assert result.exit_code != 0 and "chief" in result.output


def test_an_expired_code_does_not_bind(app, resident):
    code = issue(app, "草山里", "里幹事")
    with get_services(app).db.session() as s:
        s.execute(update(ChiefCode).values(expires_at=utcnow() - dt.timedelta(minutes=1)))
    out = resident.says(f"綁定 {code}")
    assert "過期" in out[0] and OFFICE_PHONE in out[0]
    assert bindings(app) == []


def test_guessing_is_rate_limited_per_account(app, resident):
    code = issue(app)
    for guess in ("AAAAAAAA", "BBBBBBBB", "CCCCCCCC", "DDDDDDDD", "EEEEEEEE"):
        out = resident.says(f"綁定 {guess}")
        assert "不正確" in out[0]
    out = resident.says(f"綁定 {code}")                                    # even the right code waits now
    assert "一小時後" in out[0]
    assert bindings(app) == []
    with get_services(app).db.session() as s:
        assert s.execute(select(ChiefBindFailure)).scalars().all().__len__() == 5   # kept in the database
        s.execute(update(ChiefBindFailure).values(created_at=utcnow() - dt.timedelta(hours=2)))
    out = resident.says(f"綁定 {code}")                                    # an hour later it works
    assert "綁定完成" in out[0]


def test_binding_in_a_group_is_refused_and_keeps_the_code(app, fake_line):
    code = issue(app)
    chief = Resident(app, fake_line.store)
    group = group_id()
    chief.deliver(group_text_event(chief.user, group, f"綁定 {code}"))
    said = [m["message"]["text"] for m in fake_line.store.sent(to=group)]
    assert len(said) == 1 and "一對一" in said[0]
    assert bindings(app) == []
    out = chief.says(f"綁定 {code}")                                       # in the 1:1 chat it works
    assert "綁定完成" in out[0]


def test_a_new_chief_replaces_the_old_binding_of_the_village(app, fake_line):
    first, second = Resident(app, fake_line.store), Resident(app, fake_line.store)
    first.says(f"綁定 {issue(app)}")
    second.says(f"綁定 {issue(app)}")
    old, new = bindings(app)
    assert old.revoked_at is not None and old.revoke_reason == "replaced"
    assert new.revoked_at is None and new.line_user_id == second.user


def test_admin_issues_and_revokes_from_the_dashboard(app, fake_line):
    make_staff(app, "admin", "admin")
    make_staff(app, "eoc", "eoc")
    eoc = signed_in(app, "eoc")
    assert eoc.get("/staff/disaster/chiefs").status_code == 404              # admins only
    assert post(eoc, "/staff/disaster/chiefs/codes", {"village": "岡林里", "role": "chief"},
                page="/staff/cases").status_code == 404

    admin = signed_in(app, "admin")
    assert admin.post("/staff/disaster/chiefs/codes", data={"village": "岡林里", "role": "chief"}).status_code == 400
    resp = post(admin, "/staff/disaster/chiefs/codes", {"village": "岡林里", "role": "chief"},
                page="/staff/disaster/chiefs")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    code = re.search(r'id="chief-code">([A-Z0-9]{8})<', html).group(1)
    assert admin.get("/staff/disaster/chiefs").get_data(as_text=True).count(code) == 0   # shown once only
    bad = post(admin, "/staff/disaster/chiefs/codes", {"village": "和平里", "role": "chief"},
               page="/staff/disaster/chiefs")
    assert bad.status_code == 400 and "請選擇里別" in bad.get_data(as_text=True)

    chief = Resident(app, fake_line.store)
    assert "綁定完成" in chief.says(f"綁定 {code}")[0]
    [b] = bindings(app)
    resp = post(admin, f"/staff/disaster/chiefs/{b.id}/revoke", {}, page="/staff/disaster/chiefs")
    assert resp.status_code == 302
    [b] = bindings(app)
    assert b.revoked_at is not None and b.revoke_reason == "staff"
    with get_services(app).db.session() as s:
        assert chiefs.bindings_of(s, chief.user) == []

    # an unused code can be revoked too, and then does not bind
    resp = post(admin, "/staff/disaster/chiefs/codes", {"village": "草山里", "role": "officer"},
                page="/staff/disaster/chiefs")
    code2 = re.search(r'id="chief-code">([A-Z0-9]{8})<', resp.get_data(as_text=True)).group(1)
    with get_services(app).db.session() as s:
        code_id = s.execute(select(ChiefCode.id).where(ChiefCode.village == "草山里")).scalar_one()
    post(admin, f"/staff/disaster/chiefs/codes/{code_id}/revoke", {}, page="/staff/disaster/chiefs")
    assert "不正確" in Resident(app, fake_line.store).says(f"綁定 {code2}")[0]
    actions = audit_actions(app)
    assert actions.count("chief_code") == 2 and actions.count("chief_bind") == 1
    assert actions.count("chief_revoke") == 2
    with get_services(app).db.session() as s:
        details = [a.detail for a in s.execute(select(AuditLog)).scalars()]
    assert not any(code in (d or "") or code2 in (d or "") for d in details)   # no code in the log


def test_codes_are_normalised_and_terms_come_from_knowledge():
    assert chiefs.normalize_code(" abcd-2345 ") == "ABCD2345"
    assert chiefs.normalize_code("ABCD0123") is None                         # 0 and 1 are not used
    assert chiefs.parse_bind("綁定：ＡＢＣＤ２３４５") == "ABCD2345"
    assert chiefs.parse_bind("綁定好了嗎") is None
    assert chiefs.term_end_for(dt.date(2026, 11, 27)) == dt.date(2026, 12, 24)
    assert chiefs.term_end_for(dt.date(2027, 1, 5)) == dt.date(2030, 12, 24)
