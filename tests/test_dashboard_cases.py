"""The staff dashboard's case list: who sees which cases, exports, filters, the map and the
unanswered questions.
"""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from services import clock
from services.models import Submission, UnansweredQuestion, utcnow
from tests.helpers import ZUOZHEN_LI
from tests.staff_helpers import (BOM, HEADERS, REF_ROW_RE, audits, case_row, csv_rows, listed, make_case, options,
                                 post, signed_in, svc)


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
