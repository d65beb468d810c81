"""The staff dashboard at /staff, read like a day at the office:
a clerk signs in, sees only her section's cases, opens one, moves it on with a public note and an
internal one, and the resident hears the public note in LINE, once. CSRF is on, as in production:
every POST carries the token read from the page.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid

import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from bot.extensions import get_services
from services import staff as staff_service
from services import clock, submissions, workflow
from services.models import Attachment, AuditLog, CaseEvent, Staff, Submission, UnansweredQuestion, utcnow
from services.submissions import SubmissionDraft
from tests.helpers import ZUOZHEN_LI, body, sign, tiny_jpeg, user_id

PASSWORD = "correct-horse-battery-7"
TOKEN_RE = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
REF_ROW_RE = re.compile(r'<tr data-ref="([^"]+)"')
ROAD, SOCIAL, CIVIL = "農業及建設課", "社會課", "民政及人文課"
BOM = b"\xef\xbb\xbf"
HEADERS = ["案件編號", "類別", "狀態", "里", "地點", "說明", "通報時間", "期限", "承辦人", "公開處理說明"]


# -- building the office and its cases ------------------------------------------------------------

def svc(app):
    return get_services(app)


def make_staff(app, username, role, section=None, must_change=False, password=PASSWORD) -> int:
    with svc(app).db.session() as s:
        st, _ = staff_service.create(s, username, username.capitalize(), role, section, password=password,
                                     must_change=must_change)
        return st.id


def make_case(app, kind="road", category="pothole", *, village="左鎮里", lat=ZUOZHEN_LI[0], lng=ZUOZHEN_LI[1],
              description="路中間有一個大坑洞", place_text="左鎮國小前面", phone="0912345678",
              user=None) -> str:
    draft = SubmissionDraft(kind=kind, source_event_id="test-" + uuid.uuid4().hex, line_user_id=user or user_id(),
                            chat_id=None, flow_version=1, answers={}, category=category, village=village,
                            lat=lat, lng=lng, place_text=place_text, description=description, phone=phone)
    with svc(app).db.session() as s:
        return submissions.create(s, draft).ref


def case_row(app, ref) -> Submission:
    with svc(app).db.session() as s:
        return s.execute(select(Submission).where(Submission.ref == ref)).scalar_one()


def add_photo(app, ref, clean=True) -> tuple[int, bytes, bytes]:
    """A stored photo with EXIF GPS, as the media job leaves it; returns (id, original, clean copy)."""
    data = tiny_jpeg(with_gps=True)
    stored = svc(app).media.save(data, "image/jpeg")
    with svc(app).db.session() as s:
        sub = s.execute(select(Submission).where(Submission.ref == ref)).scalar_one()
        att = Attachment(line_message_id=uuid.uuid4().hex[:20], submission_id=sub.id, user_hash="h",
                         status="stored", content_type="image/jpeg", sha256=stored.sha256, size=stored.size,
                         original_key=stored.original_key, clean_key=stored.clean_key if clean else None)
        s.add(att)
        s.flush()
        att_id = att.id
    clean_bytes = svc(app).media.path(stored.clean_key).read_bytes()
    return att_id, data, clean_bytes


def audits(app, action=None) -> list[AuditLog]:
    with svc(app).db.session() as s:
        q = select(AuditLog).order_by(AuditLog.id)
        if action:
            q = q.where(AuditLog.action == action)
        return list(s.execute(q).scalars())


@pytest.fixture
def office(app):
    """Five colleagues and one case of each kind (the road case has a photo)."""
    ids = {
        "admin": make_staff(app, "admin", "admin"),
        "road": make_staff(app, "road", "section", ROAD),
        "social": make_staff(app, "social", "section", SOCIAL),
        "civil": make_staff(app, "civil", "section", CIVIL),
        "eoc": make_staff(app, "eoc", "eoc"),
    }
    cases = {
        "road": make_case(app, "road", "pothole"),
        "welfare": make_case(app, "welfare", None, lat=None, lng=None, description="想問老人津貼",
                             place_text=None, phone="0987654321"),
        "disaster": make_case(app, "disaster", None, lat=23.03, lng=120.42, description="土石流堵住道路",
                              phone="0911222333"),
        "dengue": make_case(app, "dengue", None, lat=23.04, lng=120.41, description="空地積水有孑孓",
                            phone="0933444555"),
    }
    photo_id, original, clean = add_photo(app, cases["road"])
    return {"staff": ids, "cases": cases, "photo": photo_id, "original": original, "clean": clean}


# -- a browser ------------------------------------------------------------------------------------

def token(client, url="/staff/login") -> str:
    html = client.get(url).get_data(as_text=True)
    m = TOKEN_RE.search(html)
    assert m, f"no CSRF token on {url}"
    return m.group(1)


def login(client, username, password=PASSWORD, **kw):
    return client.post("/staff/login", data={"csrf_token": token(client), "username": username,
                                             "password": password}, **kw)


def signed_in(app, username):
    client = app.test_client()
    resp = login(client, username)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/staff/cases"), resp.get_data(as_text=True)
    return client


def post(client, url, data, page="/staff/password"):
    """POST with the session's CSRF token, read from a page (any signed-in page carries it)."""
    data = dict(data)
    data["csrf_token"] = token(client, page)
    return client.post(url, data=data)


def listed(client, query="") -> set[str]:
    resp = client.get("/staff/cases" + query)
    assert resp.status_code == 200
    return set(REF_ROW_RE.findall(resp.get_data(as_text=True)))


def csv_rows(resp) -> list[list[str]]:
    raw = resp.data
    assert raw.startswith(BOM)
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


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


# -- who sees what --------------------------------------------------------------------------------

SEES = {
    "admin": {"road", "welfare", "disaster", "dengue"},
    "road": {"road"},
    "social": {"welfare"},
    "civil": {"disaster", "dengue"},
    "eoc": {"disaster"},
}


@pytest.mark.parametrize("who", sorted(SEES))
def test_each_role_sees_only_its_cases_everywhere(app, office, who):
    c = signed_in(app, who)
    refs = office["cases"]
    mine = {refs[k] for k in SEES[who]}
    assert listed(c) == mine
    for kind, ref in refs.items():
        assert c.get(f"/staff/cases/{ref}").status_code == (200 if kind in SEES[who] else 404), (who, kind)
    assert c.get(f"/staff/media/{office['photo']}").status_code == (200 if "road" in SEES[who] else 404)
    data = c.get("/staff/cases/map.json").get_json()
    assert {x["ref"] for x in data["cases"]} == {r for k, r in refs.items() if k in SEES[who] and k != "welfare"}
    assert all("phone" not in x and "description" not in x for x in data["cases"])
    rows = csv_rows(c.get("/staff/cases/export.csv"))
    assert {r[0] for r in rows[1:]} == mine
    wb = load_workbook(io.BytesIO(c.get("/staff/cases/export.xlsx").data))
    assert {r[0] for r in wb.active.iter_rows(min_row=2, values_only=True)} == mine
    # a forbidden case stays invisible to transitions too (404, not 403)
    for kind, ref in refs.items():
        if kind not in SEES[who]:
            resp = post(c, f"/staff/cases/{ref}/transition", {"to_status": "in_progress"}, page="/staff/cases")
            assert resp.status_code == 404
            assert case_row(app, ref).status == "new"
    admin_only = 200 if who == "admin" else 404
    assert c.get("/staff/audit").status_code == admin_only
    assert c.get("/staff/staff").status_code == admin_only


def test_the_case_page_tells_the_whole_story_and_escapes_what_residents_wrote(app, office):
    ref = make_case(app, "road", "streetlight", description='<script>alert("x")</script> 燈不亮',
                    place_text="<b>橋頭</b>")
    kept_ref = office["cases"]["road"]
    c = signed_in(app, "road")
    post(c, f"/staff/cases/{ref}/transition", {"to_status": "duplicate", "duplicate_of": kept_ref})
    resp = c.get(f"/staff/cases/{ref}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert f"<h1>{ref}</h1>" in html
    assert re.search(r'<span id="case-status"[^>]*>重複案件</span>', html)
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; 燈不亮" in html
    assert "<b>橋頭</b>" not in html and "&lt;b&gt;橋頭&lt;/b&gt;" in html
    assert "道路設施：路燈故障" in html and "左鎮里" in html
    assert f"https://www.openstreetmap.org/?mlat={ZUOZHEN_LI[0]:.6f}&amp;mlon={ZUOZHEN_LI[1]:.6f}#map=18/" in html
    assert f'id="kept-case" href="/staff/cases/{kept_ref}"' in html
    assert "0912345678" in html                                           # the owning section sees the phone
    kept_html = c.get(f"/staff/cases/{kept_ref}").get_data(as_text=True)
    assert f'/staff/media/{office["photo"]}' in kept_html
    assert re.search(r'<ul id="duplicates"[^>]*><li><a href="/staff/cases/' + ref, kept_html)
    # views are audited, without resident text
    views = [a for a in audits(app, "view") if a.submission_id == case_row(app, ref).id]
    assert views and all("script" not in (a.detail or "") for a in views)


def test_eoc_sees_a_disaster_but_not_the_reporters_phone(app, office):
    c = signed_in(app, "eoc")
    html = c.get(f"/staff/cases/{office['cases']['disaster']}").get_data(as_text=True)
    assert "土石流堵住道路" in html and "0911222333" not in html
    civil = signed_in(app, "civil")
    assert "0911222333" in civil.get(f"/staff/cases/{office['cases']['disaster']}").get_data(as_text=True)


# -- moving a case on -----------------------------------------------------------------------------

def options(html, name) -> list[str]:
    m = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.DOTALL)
    assert m, name
    return re.findall(r'<option value="([^"]*)"', m.group(1))


def test_the_transition_form_offers_only_allowed_moves_and_explains_mistakes(app, office):
    ref = office["cases"]["road"]
    other = make_case(app, "road", "drain")
    c = signed_in(app, "road")
    url = f"/staff/cases/{ref}/transition"
    html = c.get(f"/staff/cases/{ref}").get_data(as_text=True)
    assert options(html, "to_status") == workflow.allowed("new")
    for field in ('name="note"', 'name="internal_note"', 'name="agency"', 'name="agency_phone"',
                  'name="duplicate_of"', 'name="reason"', 'id="do-transition"'):
        assert field in html

    resp = post(c, url, {"to_status": "referred", "note": "keep-this-note"}, page=f"/staff/cases/{ref}")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "受理機關" in text and "keep-this-note" in text
    resp = post(c, url, {"to_status": "duplicate", "duplicate_of": "R-19990101-0001"}, page=f"/staff/cases/{ref}")
    assert resp.status_code == 400 and "找不到您填的案件編號" in resp.get_data(as_text=True)
    resp = post(c, url, {"to_status": "duplicate", "duplicate_of": ref}, page=f"/staff/cases/{ref}")
    assert resp.status_code == 400                                        # not a duplicate of itself
    resp = post(c, url, {"to_status": "rejected"}, page=f"/staff/cases/{ref}")
    assert resp.status_code == 400 and "請填寫原因" in resp.get_data(as_text=True)
    resp = post(c, url, {"to_status": "new"}, page=f"/staff/cases/{ref}")
    assert resp.status_code == 400 and "不能改成" in resp.get_data(as_text=True)
    assert case_row(app, ref).status == "new"
    assert audits(app, "change") == []

    resp = post(c, url, {"to_status": "referred", "agency": "臺南市政府工務局", "agency_phone": "06-2991111"},
                page=f"/staff/cases/{ref}")
    assert resp.status_code == 302
    sub = case_row(app, ref)
    assert sub.status == "referred" and sub.referred_agency == "臺南市政府工務局"
    html = c.get(f"/staff/cases/{ref}").get_data(as_text=True)
    assert "轉介他機關" in html and options(html, "to_status") == ["in_progress"]

    compact = other.replace("-", "")                                      # R202611270002 is accepted
    dup = make_case(app, "road", "drain")
    resp = post(c, f"/staff/cases/{dup}/transition", {"to_status": "duplicate", "duplicate_of": compact},
                page=f"/staff/cases/{dup}")
    assert resp.status_code == 302 and case_row(app, dup).duplicate_of_id == case_row(app, other).id
    resp = post(c, f"/staff/cases/{other}/transition", {"to_status": "rejected", "reason": "私人土地"},
                page=f"/staff/cases/{other}")
    assert resp.status_code == 302 and case_row(app, other).reject_reason == "私人土地"
    changes = audits(app, "change")
    assert len(changes) == 3 and all(a.staff_id == office["staff"]["road"] for a in changes)


def test_the_resident_hears_the_public_note_once_and_never_the_internal_one(app, office, fake_line):
    from bot.queueing import enqueue_notify
    from bot.worker import run_burst
    reporter = user_id()
    ref = make_case(app, "road", "pothole", user=reporter)
    c = signed_in(app, "road")
    resp = post(c, f"/staff/cases/{ref}/transition",
                {"to_status": "in_progress", "note": "PUBLIC-明天派人去補", "internal_note": "INTERNAL-廠商報價"},
                page=f"/staff/cases/{ref}")
    assert resp.status_code == 302
    follow = c.get(resp.headers["Location"]).get_data(as_text=True)
    assert "處理中" in follow and "INTERNAL-廠商報價" in follow and "內部" in follow
    run_burst(app)
    run_burst(app)

    def pushes():
        return [r for r in fake_line.store.requests if r.path == "/v2/bot/message/push" and r.status == 200]
    [push] = pushes()
    assert push.json["to"] == reporter and push.headers.get("x-line-retry-key")
    text = "\n".join(m.get("text", "") for m in push.json["messages"])
    assert ref in text and "PUBLIC-明天派人去補" in text and "INTERNAL" not in text
    with svc(app).db.session() as s:                                      # asking again sends nothing more
        event_id = s.execute(select(CaseEvent.id).where(CaseEvent.notify.is_(True))
                             .order_by(CaseEvent.id.desc())).scalars().first()
    enqueue_notify(svc(app), event_id)
    run_burst(app)
    assert len(pushes()) == 1

    # notes added later: the internal one stays inside, the public one is exported
    post(c, f"/staff/cases/{ref}/note", {"note": "INTERNAL2-先別告訴民眾", "internal": "y"},
         page=f"/staff/cases/{ref}")
    post(c, f"/staff/cases/{ref}/note", {"note": "PUBLIC2-材料已備齊"}, page=f"/staff/cases/{ref}")
    run_burst(app)
    assert len(pushes()) == 1                                             # notes are not pushed
    admin = signed_in(app, "admin")
    exported = admin.get(f"/staff/cases/export.csv?q={ref}").data.decode("utf-8-sig")
    assert "PUBLIC-明天派人去補" in exported and "PUBLIC2-材料已備齊" in exported and "INTERNAL" not in exported
    wb = load_workbook(io.BytesIO(admin.get(f"/staff/cases/export.xlsx?q={ref}").data))
    cells = " ".join(str(v) for row in wb.active.iter_rows(values_only=True) for v in row if v)
    assert "PUBLIC2-材料已備齊" in cells and "INTERNAL" not in cells


def test_notes_and_assignment(app, office):
    ref = office["cases"]["road"]
    second = make_staff(app, "road2", "section", ROAD)
    c = signed_in(app, "road")
    html = c.get(f"/staff/cases/{ref}").get_data(as_text=True)
    assert 'id="note"' in html and re.search(r'name="internal"[^>]*checked', html)
    allowed = set(options(html, "assignee_id")) - {""}
    assert allowed == {str(office["staff"]["road"]), str(second), str(office["staff"]["admin"])}
    resp = post(c, f"/staff/cases/{ref}/assign", {"assignee_id": str(office["staff"]["social"])},
                page=f"/staff/cases/{ref}")
    assert resp.status_code == 400 and "看不到這個案件" in resp.get_data(as_text=True)
    resp = post(c, f"/staff/cases/{ref}/assign", {"assignee_id": str(second)}, page=f"/staff/cases/{ref}")
    assert resp.status_code == 302 and case_row(app, ref).assignee_id == second
    assert "Road2" in c.get("/staff/cases").get_data(as_text=True)
    resp = post(c, f"/staff/cases/{ref}/note", {"note": "  "}, page=f"/staff/cases/{ref}")
    assert resp.status_code == 400
    resp = post(c, f"/staff/cases/{ref}/note", {"note": "已電話聯絡", "internal": "y"}, page=f"/staff/cases/{ref}")
    assert resp.status_code == 302
    with svc(app).db.session() as s:
        notes = list(s.execute(select(CaseEvent).where(CaseEvent.action == "note")).scalars())
        assert [(n.note, n.internal) for n in notes] == [("已電話聯絡", True)]


# -- exports, photos ------------------------------------------------------------------------------

def test_exports_are_spreadsheet_ready_and_personal_data_is_for_admins(app, office):
    formula = make_case(app, "road", "sign", description="=HYPERLINK(\"http://x\",\"y\")", phone="0955666777")
    admin = signed_in(app, "admin")
    resp = admin.get("/staff/cases/export.csv?kind=road")
    assert resp.status_code == 200 and resp.data.startswith(BOM)
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=")
    assert resp.headers["Content-Disposition"].isascii()
    rows = csv_rows(resp)
    assert rows[0] == HEADERS + ["電話"]
    by_ref = {r[0]: r for r in rows[1:]}
    assert set(by_ref) == {office["cases"]["road"], formula}
    assert by_ref[formula][-1] == "0955666777" and by_ref[formula][5].startswith("'=")
    assert by_ref[formula][2] == "已受理" and by_ref[formula][3] == "左鎮里"

    resp = admin.get("/staff/cases/export.xlsx?kind=road")
    assert resp.headers["Content-Disposition"].endswith('.xlsx"')
    ws = load_workbook(io.BytesIO(resp.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS + ["電話"]
    cell = next(r for r in ws.iter_rows(min_row=2) if r[0].value == formula)[5]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")  # text, not a formula

    road = signed_in(app, "road")
    resp = road.get("/staff/cases/export.csv")
    rows = csv_rows(resp)
    assert rows[0] == HEADERS and "0955666777" not in resp.data.decode("utf-8-sig")
    ws = load_workbook(io.BytesIO(road.get("/staff/cases/export.xlsx").data)).active
    assert [c.value for c in ws[1]] == HEADERS
    exports = audits(app, "export")
    assert len(exports) == 4 and {a.staff_id for a in exports} == {office["staff"]["admin"], office["staff"]["road"]}
    assert "phone=1" in exports[0].detail and "phone=0" in exports[2].detail


def test_photos_are_served_only_as_the_clean_copy(app, office):
    c = signed_in(app, "road")
    resp = c.get(f"/staff/media/{office['photo']}")
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert resp.data == office["clean"] and resp.data != office["original"]
    assert 0x8825 not in Image.open(io.BytesIO(resp.data)).getexif()        # no GPS
    assert 0x8825 in Image.open(io.BytesIO(office["original"])).getexif()
    photo_views = [a for a in audits(app, "view") if (a.detail or "").startswith("photo")]
    assert len(photo_views) == 1 and photo_views[0].submission_id == case_row(app, office["cases"]["road"]).id
    no_clean, _, _ = add_photo(app, office["cases"]["road"], clean=False)
    assert c.get(f"/staff/media/{no_clean}").status_code == 404            # never the original
    assert c.get("/staff/media/999999").status_code == 404


# -- the list -------------------------------------------------------------------------------------

def test_the_list_filters_counts_and_pages(app, office):
    c = signed_in(app, "admin")
    refs = office["cases"]
    html = c.get("/staff/cases").get_data(as_text=True)
    for col in ("案件編號", "類別", "里", "狀態", "承辦人", "通報時間", "期限"):
        assert f">{col}</th>" in html
    assert 'id="filters"' in html and 'id="apply-filters"' in html and 'id="export-csv"' in html
    assert options(html, "village")[1:] == list(__import__("services.villages", fromlist=["x"]).village_names())
    assert listed(c, "?kind=welfare") == {refs["welfare"]}
    assert listed(c, "?kind=road&category=pothole") == {refs["road"]}
    compact = refs["disaster"].replace("-", "")
    assert listed(c, f"?q={compact}") == {refs["disaster"]}
    assert listed(c, f"?q={refs['dengue'][:1]} {refs['dengue'][2:10]} {refs['dengue'][-4:]}") == {refs["dengue"]}
    today = clock.today()
    assert listed(c, f"?date_from={today}&date_to={today}") == set(refs.values())
    assert listed(c, f"?date_to={today - dt.timedelta(days=1)}") == set()

    with svc(app).db.session() as s:                                       # one case is late
        sub = s.execute(select(Submission).where(Submission.ref == refs["road"])).scalar_one()
        sub.due_date = today - dt.timedelta(days=2)
    html = c.get("/staff/cases").get_data(as_text=True)
    assert re.search(rf'<tr data-ref="{refs["road"]}" class="overdue">', html) and "逾期" in html
    assert re.search(r'id="open-count">4<', html) and re.search(r'id="overdue-count">1<', html)
    assert listed(c, "?overdue=1") == {refs["road"]}
    export_link = re.search(r'id="export-csv"[^>]*href="([^"]+)"', c.get("/staff/cases?overdue=1&kind=road")
                            .get_data(as_text=True)).group(1)
    assert "overdue=1" in export_link and "kind=road" in export_link
    assert len(csv_rows(c.get(export_link.replace("&amp;", "&")))) == 2

    road = signed_in(app, "road")
    html = road.get("/staff/cases").get_data(as_text=True)
    assert re.search(r'id="open-count">1<', html) and re.search(r'id="overdue-count">1<', html)
    caoshan = make_case(app, "road", "tree", village="草山里")
    assert listed(c, "?status=open&village=草山里") == {caoshan}
    assert listed(c, "?status=resolved&village=草山里") == set()

    for _ in range(51):
        make_case(app, "disaster", None)
    assert len(listed(c)) == 50
    page2 = c.get("/staff/cases?page=2").get_data(as_text=True)
    assert len(REF_ROW_RE.findall(page2)) == 6 and "第 2 / 2 頁" in page2


def test_the_map_uses_the_vendored_leaflet(app, office):
    app.config["MAP_TILE_URL"] = "https://tiles.example.org/{z}/{x}/{y}.png"
    c = signed_in(app, "road")
    resp = c.get("/staff/cases/map?kind=road")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="map"' in html
    assert "/staff/static/vendor/leaflet/leaflet.js" in html and "/staff/static/dashboard-map.js" in html
    assert 'data-tiles="https://tiles.example.org/{z}/{x}/{y}.png"' in html
    assert "/staff/cases/map.json?kind=road" in html
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', html)    # no external assets
    assert "https://tiles.example.org" in resp.headers["Content-Security-Policy"]
    for path in ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "vendor/leaflet/images/marker-icon.png",
                 "dashboard-map.js", "dashboard.css"):
        assert c.get(f"/staff/static/{path}").status_code == 200, path
    [item] = c.get("/staff/cases/map.json").get_json()["cases"]
    assert item["url"] == f"/staff/cases/{office['cases']['road']}" and item["lat"] == pytest.approx(ZUOZHEN_LI[0])


# -- questions, audit, accounts -------------------------------------------------------------------

def test_unanswered_questions_are_listed_and_marked_done(app, office):
    with svc(app).db.session() as s:
        s.add(UnansweredQuestion(text="垃圾車幾點來？", label="unknown", guesses=[],
                                 created_at=utcnow() - dt.timedelta(hours=1)))
        s.add(UnansweredQuestion(text="<i>補助</i>要帶什麼", label="faq", guesses=["nonexistent.entry"]))
    c = signed_in(app, "social")
    html = c.get("/staff/questions").get_data(as_text=True)
    assert html.index("補助") < html.index("垃圾車")                      # newest first
    assert "<i>補助</i>" not in html and "&lt;i&gt;補助&lt;/i&gt;" in html
    with svc(app).db.session() as s:
        qid = s.execute(select(UnansweredQuestion.id).where(UnansweredQuestion.label == "unknown")).scalar_one()
    resp = post(c, f"/staff/questions/{qid}/done", {"reviewed": "1"}, page="/staff/questions")
    assert resp.status_code == 302
    assert "垃圾車" not in c.get("/staff/questions").get_data(as_text=True)
    assert "垃圾車" in c.get("/staff/questions?show=done").get_data(as_text=True)
    assert c.post(f"/staff/questions/{qid}/done", data={"reviewed": "0"}).status_code == 400


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
