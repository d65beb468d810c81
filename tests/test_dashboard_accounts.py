"""The staff dashboard at /staff: signing in, CSRF, first passwords, and the admin's audit log and
accounts. CSRF is on, as in production: every POST carries the token read from the page.
"""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from services.models import Staff
from tests.helpers import body, sign
from tests.staff_helpers import (PASSWORD, ROAD, SOCIAL, audits, case_row, login, make_staff, post, signed_in, svc,
                                 token)


# -- signing in -----------------------------------------------------------------------------------

def test_every_page_needs_a_signed_in_colleague(client, office):
    ref = office["cases"]["road"]
    for url in ("/staff/", "/staff/cases", "/staff/cases/map", "/staff/cases/map.json", "/staff/cases/export.csv",
                "/staff/cases/export.xlsx", f"/staff/cases/{ref}", f"/staff/media/{office['photo']}",
                "/staff/questions", "/staff/audit", "/staff/staff", "/staff/password"):
        resp = client.get(url)
        assert resp.status_code == 302, url
        assert "/staff/login" in resp.headers["Location"], url
    page = client.get("/staff/login")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="login"' in html
    assert 'name="username"' in html and 'name="password"' in html and 'type="submit"' in html
    assert "左鎮區公所 案件管理" in html


def test_wrong_password_is_refused_and_right_one_lets_her_in(app, client, office):
    resp = login(client, "road", "not-the-password")
    assert resp.status_code == 200 and "帳號或密碼不正確" in resp.get_data(as_text=True)
    assert client.get("/staff/cases").status_code == 302
    resp = login(client, "nobody", PASSWORD)
    assert "帳號或密碼不正確" in resp.get_data(as_text=True)

    resp = login(client, "ROAD ")                                        # case and spaces forgiven
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/staff/cases")
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    page = client.get("/staff/cases")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Road" in html and ROAD in html
    assert page.headers["Cache-Control"].startswith("private, no-store")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert app.config["PERMANENT_SESSION_LIFETIME"] == dt.timedelta(hours=8)
    assert app.config["SESSION_COOKIE_SECURE"] is False                  # TESTING; True in production

    assert client.get("/staff/").headers["Location"].endswith("/staff/cases")
    assert client.post("/staff/logout").status_code == 400              # no token, no logout
    resp = post(client, "/staff/logout", {}, page="/staff/cases")
    assert resp.status_code == 302 and client.get("/staff/cases").status_code == 302
    assert [a.staff_id for a in audits(app, "login")] == [office["staff"]["road"]]


def test_login_only_goes_back_inside_the_dashboard(client, office):
    t = token(client)
    resp = client.post("/staff/login", data={"csrf_token": t, "username": "admin", "password": PASSWORD,
                                             "next": "https://evil.example/staff/cases"})
    assert resp.headers["Location"].endswith("/staff/cases")
    client.post("/staff/logout", data={"csrf_token": token(client, "/staff/cases")})
    ref = office["cases"]["road"]
    resp = client.get(f"/staff/cases/{ref}")
    resp = client.post("/staff/login", data={"csrf_token": token(client), "username": "admin",
                                             "password": PASSWORD, "next": f"/staff/cases/{ref}"})
    assert resp.headers["Location"].endswith(f"/staff/cases/{ref}")


def test_a_post_without_the_csrf_token_is_refused(app, client, office):
    assert client.post("/staff/login", data={"username": "admin", "password": PASSWORD}).status_code == 400
    assert client.get("/staff/cases").status_code == 302                 # not signed in
    c = signed_in(app, "road")
    ref = office["cases"]["road"]
    resp = c.post(f"/staff/cases/{ref}/transition", data={"to_status": "in_progress"})
    assert resp.status_code == 400 and "頁面已過期" in resp.get_data(as_text=True)
    resp = c.post(f"/staff/cases/{ref}/transition", data={"to_status": "in_progress", "csrf_token": "forged"})
    assert resp.status_code == 400
    assert case_row(app, ref).status == "new"
    # the LINE webhook is exempt: it is signed by LINE, not by a browser session
    raw = body()
    resp = client.post("/callback", data=raw, headers={"X-Line-Signature": sign(raw),
                                                       "Content-Type": "application/json"})
    assert resp.status_code == 200


# The login throttle (per account and address, never a lock-out): tests/test_dashboard_security.py


def test_colleagues_signing_in_from_one_office_address_are_not_limited(app, office):
    for _ in range(12):
        c = app.test_client()
        assert login(c, "admin").status_code == 302


def test_a_new_password_is_required_before_anything_else(app, office):
    make_staff(app, "newbie", "section", ROAD, must_change=True)
    c = app.test_client()
    resp = login(c, "newbie")
    assert resp.headers["Location"].endswith("/staff/password")
    assert c.get("/staff/cases").headers["Location"].endswith("/staff/password")
    other = signed_in_must_change = app.test_client()
    login(signed_in_must_change, "newbie")

    def change(current, new, again):
        return post(c, "/staff/password", {"current_password": current, "new_password": new,
                                           "new_password2": again})
    assert "目前的密碼不正確" in change("wrong", "a-brand-new-pass", "a-brand-new-pass").get_data(as_text=True)
    assert "不一樣" in change(PASSWORD, "a-brand-new-pass", "another-pass-99").get_data(as_text=True)
    assert "至少要" in change(PASSWORD, "short", "short").get_data(as_text=True)
    resp = change(PASSWORD, "a-brand-new-pass", "a-brand-new-pass")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/staff/cases")
    assert c.get("/staff/cases").status_code == 200                        # this session goes on
    assert other.get("/staff/cases").status_code == 302                    # other sessions end
    assert login(app.test_client(), "newbie", "a-brand-new-pass").status_code == 302


def test_admins_read_the_audit_log_and_manage_accounts(app, office):
    ref = office["cases"]["road"]
    road = signed_in(app, "road")
    road.get(f"/staff/cases/{ref}")
    admin = signed_in(app, "admin")
    html = admin.get("/staff/audit").get_data(as_text=True)
    assert "Road" in html and ref in html and "查看" in html

    resp = post(admin, "/staff/staff", {"username": "Clerk.Lin", "display_name": "林小姐", "role": "section",
                                        "section": SOCIAL})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    one_time = re.search(r'id="one-time-password">([^<]+)<', html).group(1)
    assert "只會顯示這一次" in html
    assert one_time not in admin.get("/staff/staff").get_data(as_text=True)   # shown once
    resp = post(admin, "/staff/staff", {"username": "clerk.lin", "display_name": "X", "role": "section",
                                        "section": SOCIAL})
    assert resp.status_code == 400 and "已經有人使用" in resp.get_data(as_text=True)
    resp = post(admin, "/staff/staff", {"username": "nosection", "display_name": "X", "role": "section",
                                        "section": ""})
    assert resp.status_code == 400 and "所屬課室" in resp.get_data(as_text=True)

    clerk = app.test_client()
    assert login(clerk, "clerk.lin", one_time).headers["Location"].endswith("/staff/password")

    with svc(app).db.session() as s:
        clerk_id = s.execute(select(Staff.id).where(Staff.username == "clerk.lin")).scalar_one()
    resp = post(admin, f"/staff/staff/{clerk_id}/reset", {}, page="/staff/staff")
    fresh = re.search(r'id="one-time-password">([^<]+)<', resp.get_data(as_text=True)).group(1)
    assert fresh != one_time
    assert clerk.get("/staff/password").status_code == 302                  # the old session ended
    assert login(app.test_client(), "clerk.lin", one_time).status_code == 200
    clerk = app.test_client()
    assert login(clerk, "clerk.lin", fresh).status_code == 302

    resp = post(admin, f"/staff/staff/{clerk_id}/active", {"active": "0"}, page="/staff/staff")
    assert resp.status_code == 302
    assert clerk.get("/staff/password").status_code == 302                  # signed out at once
    assert login(app.test_client(), "clerk.lin", fresh).status_code == 200  # and cannot sign in
    resp = post(admin, f"/staff/staff/{office['staff']['admin']}/active", {"active": "0"}, page="/staff/staff")
    assert resp.status_code == 400
    details = [a.detail for a in audits(app, "staff")]
    assert any(d.startswith("create clerk.lin") for d in details) and any("deactivate" in d for d in details)
    assert all(one_time not in (d or "") and fresh not in (d or "") for d in details)
