"""Staff dashboard helpers shared by the dashboard tests and others: colleagues, cases, photos,
and a signed-in browser that carries the CSRF token."""
from __future__ import annotations

import csv
import io
import re
import uuid

from sqlalchemy import select

from bot.extensions import get_services
from services import staff as staff_service
from services import submissions
from services.models import Attachment, AuditLog, Submission
from services.submissions import SubmissionDraft
from tests.helpers import ZUOZHEN_LI, tiny_jpeg, user_id

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


def options(html, name) -> list[str]:
    m = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.DOTALL)
    assert m, name
    return re.findall(r'<option value="([^"]*)"', m.group(1))
