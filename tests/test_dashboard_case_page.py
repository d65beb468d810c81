"""The staff dashboard's case page, read like a day at the office: a clerk opens a case, moves it on
with a public note and an internal one, and the resident hears the public note in LINE, once.
"""
from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from services import workflow
from services.models import CaseEvent
from tests.helpers import ZUOZHEN_LI, user_id
from tests.staff_helpers import (ROAD, add_photo, audits, case_row, make_case, make_staff, options, post, signed_in,
                                 svc)


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
