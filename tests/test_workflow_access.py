"""Who may see which cases, and staff accounts: hashed passwords, failed logins, the create-staff
command."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from services import access, staff as staff_svc
from services.models import Staff, Submission, utcnow
from tests.workflow_helpers import ROOT, _events, new_case, new_staff, svc_of


# -- who may see what ---------------------------------------------------------------------------

def test_who_sees_which_cases(app):
    svc = svc_of(app)
    cases = {kind: new_case(app, kind=kind, category=None if kind != "road" else "pothole")
             for kind in ("road", "welfare", "dengue", "disaster")}
    with svc.db.session() as s:
        assert {k: s.get(Submission, v).owner_section for k, v in cases.items()} == {
            "road": "農業及建設課", "welfare": "社會課", "dengue": "民政及人文課", "disaster": "民政及人文課"}
    accounts = {
        "admin": new_staff(app, "admin", None),
        "農業及建設課": new_staff(app, "section", "農業及建設課"),
        "社會課": new_staff(app, "section", "社會課"),
        "民政及人文課": new_staff(app, "section", "民政及人文課"),
        "eoc": new_staff(app, "eoc", None),
        "inactive admin": new_staff(app, "admin", None),
        "inactive 農業及建設課": new_staff(app, "section", "農業及建設課"),
    }
    expected = {
        "admin": {"road", "welfare", "dengue", "disaster"},
        "農業及建設課": {"road"},
        "社會課": {"welfare"},                      # welfare is private: its own section only
        "民政及人文課": {"dengue", "disaster"},
        "eoc": {"disaster"},                        # EOC duty sees disasters, never private kinds
        "inactive admin": set(),
        "inactive 農業及建設課": set(),
    }
    with svc.db.session() as s:
        for name in ("inactive admin", "inactive 農業及建設課"):
            s.get(Staff, accounts[name]).active = False
    with svc.db.session() as s:
        subs = {kind: s.get(Submission, cid) for kind, cid in cases.items()}
        for name, staff_id in accounts.items():
            member = s.get(Staff, staff_id)
            listed = {sub.kind for sub in s.execute(access.visible(select(Submission), member)).scalars()}
            assert listed == expected[name], name
            viewable = {kind for kind, sub in subs.items() if access.can_view(member, sub)}
            assert viewable == expected[name], name
            assert {kind for kind, sub in subs.items() if access.can_change(member, sub)} == expected[name]
        admin = s.get(Staff, accounts["admin"])
        eoc = s.get(Staff, accounts["eoc"])
        assert access.is_admin(admin) and not access.is_admin(eoc)
        assert access.can_export_personal(admin) and not access.can_export_personal(eoc)
        assert access.can_see_personal_data(s.get(Staff, accounts["農業及建設課"]), subs["road"])
        assert not access.can_see_personal_data(eoc, subs["disaster"])   # EOC sees the case, not the phone


# -- staff accounts ----------------------------------------------------------------------------

def test_passwords_are_hashed_with_scrypt(app):
    with svc_of(app).db.session() as s:
        member, password = staff_svc.create(s, "  Road.Clerk ", "道路承辦", "section", "農業及建設課",
                                            password="correct-horse-battery")
        generated, one_time = staff_svc.create(s, "admin2", "管理者", "admin")
        assert member.username == "road.clerk" and member.must_change_password
        assert password == "correct-horse-battery"
        assert len(one_time) >= 12 and generated.section is None
        for m, pw in ((member, password), (generated, one_time)):
            assert m.password_hash.startswith("scrypt:") and pw not in m.password_hash
            assert check_password_hash(m.password_hash, pw)
        for bad in (dict(role="boss"), dict(role="section", section="不存在課"),
                    dict(role="section", section=None), dict(password="short")):
            args = {"role": "section", "section": "農業及建設課", **bad}
            with pytest.raises(staff_svc.StaffError):
                staff_svc.create(s, f"x{next(_events)}", "x", args.pop("role"), **args)
        with pytest.raises(staff_svc.StaffError, match="username_taken"):
            staff_svc.create(s, "ROAD.CLERK", "x", "eoc")
    with svc_of(app).db.session() as s:
        stored = s.execute(select(Staff.password_hash).where(Staff.username == "road.clerk")).scalar_one()
        assert "correct-horse-battery" not in stored and stored.startswith("scrypt:")


def test_failed_logins_are_counted_but_never_lock_the_account(app):
    """Each login attempt is its own request and transaction, as in the dashboard. Guessing is
    slowed per account and address in Redis (tests/test_dashboard_security.py), never by a lock an
    outsider could use to keep a colleague out."""
    new_staff(app)
    db = svc_of(app).db
    t0 = utcnow().replace(microsecond=0)
    with db.session() as s:
        username = s.execute(select(Staff.username)).scalar_one()
    for i in range(8):
        with db.session() as s:
            assert staff_svc.authenticate(s, username, f"wrong-{i}", now=t0) is None
    with db.session() as s:
        member = s.execute(select(Staff)).scalar_one()
        assert member.failed_logins == 8 and member.locked_until is None
    with db.session() as s:                                               # the right password, at once
        ok = staff_svc.authenticate(s, username.upper(), "correct-horse-battery", now=t0)
        assert ok is not None and ok.failed_logins == 0 and ok.locked_until is None
        assert ok.last_login_at == t0


def test_inactive_or_unknown_staff_cannot_log_in(app):
    staff_id = new_staff(app)
    with svc_of(app).db.session() as s:
        member = s.get(Staff, staff_id)
        username = member.username
        member.active = False
    with svc_of(app).db.session() as s:
        assert staff_svc.authenticate(s, username, "correct-horse-battery") is None
        assert staff_svc.authenticate(s, "nobody", "correct-horse-battery") is None
        assert staff_svc.authenticate(s, username, "") is None
        assert s.get(Staff, staff_id).failed_logins == 0      # an inactive account is not counted against


def test_create_staff_command_prints_a_one_time_password(tmp_path):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
           "MEDIA_DIR": str(tmp_path / "media"), "PYTHONPATH": str(ROOT)}

    def flask(*args):
        return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    out = flask("db", "upgrade")
    assert out.returncode == 0, out.stderr
    out = flask("create-staff", "--username", "x", "--role", "section", "--section", "農業及建設課")
    assert out.returncode == 0, out.stderr
    m = re.search(r"created x; one-time password: (\S+)", out.stdout)
    assert m, out.stdout
    password = m.group(1)
    assert len(password) >= 12
    import sqlite3
    with sqlite3.connect(tmp_path / "x.db") as conn:
        role, section, pw_hash, must_change = conn.execute(
            "select role, section, password_hash, must_change_password from staff where username = 'x'").fetchone()
        audited = conn.execute("select count(*) from audit_log where action = 'staff'").fetchone()[0]
    assert (role, section, bool(must_change)) == ("section", "農業及建設課", True)
    assert password not in pw_hash and pw_hash.startswith("scrypt:") and check_password_hash(pw_hash, password)
    assert audited == 1
    again = flask("create-staff", "--username", "x", "--role", "section", "--section", "農業及建設課")
    assert again.returncode != 0 and "username_taken" in again.stderr
    bad = flask("create-staff", "--username", "y", "--role", "section", "--section", "不存在課")
    assert bad.returncode != 0 and "section" in bad.stderr
