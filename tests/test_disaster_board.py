"""The EOC's situation board: who may see it, its counts, its self-refresh endpoint and the CSV of
a 災情查報 form (UTF-8 with BOM; phone numbers only for admins)."""
from __future__ import annotations

import csv
import io
import uuid

from sqlalchemy import select

from bot.extensions import get_services
from services import disaster, submissions
from services.models import AuditLog
from services.disaster.models import DisasterReport
from services.submissions import SubmissionDraft
from tests.staff_helpers import CIVIL, ROAD, make_staff, signed_in


def make_report(app, category, village, *, trapped=0, injured=0, passable=None, evacuation=None,
                households=None, verified=False, status="new", lat=23.03, lng=120.42) -> str:
    draft = SubmissionDraft(kind="disaster", source_event_id="t-" + uuid.uuid4().hex, line_user_id="U" + "1" * 32,
                            chat_id=None, flow_version=1, answers={}, category=category, village=village,
                            lat=lat, lng=lng, place_text="南171線", description="土石", phone="0911222333")
    facts = {"trapped": trapped, "injured": injured, "passable": passable, "evacuation": evacuation,
             "households": households}
    with get_services(app).db.session() as s:
        sub = submissions.create(s, draft)
        sub.status = status
        level = disaster.severity(facts)
        s.add(DisasterReport(submission_id=sub.id, severity=level, severity_rank=disaster.SEVERITY_RANK[level],
                             verified=verified, reporter_role="chief" if verified else None,
                             reporter_village=village if verified else None, on_behalf=False,
                             passable=passable, evacuation=evacuation, households=households,
                             trapped=trapped, injured=injured))
        return sub.ref


def test_board_counts_and_access(app):
    make_staff(app, "admin", "admin")
    make_staff(app, "eoc", "eoc")
    make_staff(app, "civil", "section", CIVIL)
    make_staff(app, "road", "section", ROAD)
    a = make_report(app, "landslide", "岡林里", trapped=2, passable="no", verified=True)
    b = make_report(app, "flood", "草山里", injured=1, evacuation="needed")
    c = make_report(app, "tree", "左鎮里", passable="no")
    d = make_report(app, "power", "二寮里", households=30)
    make_report(app, "tree", "光和里")
    make_report(app, "road", "中正里", passable="no", status="resolved")       # closed: not on the board

    road = signed_in(app, "road")
    assert road.get("/staff/disaster").status_code == 404
    assert road.get("/staff/disaster/board.json").status_code == 404
    assert "災情看板" not in road.get("/staff/cases").get_data(as_text=True)

    for who in ("eoc", "civil", "admin"):
        client = signed_in(app, who)
        page = client.get("/staff/disaster")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "災情看板" in html and "disaster-board.js" in html
        assert ("開啟災害應變模式" in html) == (who == "admin")
        data = client.get("/staff/disaster/board.json").get_json()
        t = data["totals"]
        assert t["open"] == 5 and t["trapped"] == 2 and t["injured"] == 1 and t["roads_cut"] == 2
        assert t["critical"] == 2 and t["high"] == 2 and t["normal"] == 1 and t["verified"] == 1
        assert t["evacuation_needed"] == 1
        cats = {x["id"]: x for x in data["categories"]}
        assert cats["tree"]["total"] == 2 and cats["tree"]["high"] == 1 and cats["tree"]["normal"] == 1
        assert cats["landslide"]["critical"] == 1 and cats["road"]["total"] == 0
        assert [x["ref"] for x in data["cases"]][:2] == [a, b]                 # verified, then most serious
        assert {x["ref"] for x in data["roads_cut"]} == {a, c}
        rows = {v["village"]: v for v in data["villages"]}
        assert len(rows) == 10                              # open cases show as damage without a check-in
        assert {k for k, v in rows.items() if v["status"] == "damage"} == {"岡林里", "草山里", "左鎮里", "二寮里",
                                                                            "光和里"}
        assert rows["岡林里"]["status_label"] == "有災情（1 件）" and rows["岡林里"]["checkin"] == "none"
        assert rows["中正里"]["status"] == "none"                                  # its only case is closed
        assert {v["village"]: v["open_cases"] for v in data["villages"]}["岡林里"] == 1
        assert data["cases"][0]["url"] == f"/staff/cases/{a}" and d in {x["ref"] for x in data["cases"]}


def test_csv_follows_the_form_with_a_bom_and_phones_only_for_admins(app):
    make_staff(app, "admin", "admin")
    make_staff(app, "eoc", "eoc")
    ref = make_report(app, "landslide", "岡林里", trapped=1, passable="no", verified=True)
    heads = [c["header"] for c in disaster.cfg()["export"]["columns"]]

    resp = signed_in(app, "eoc").get("/staff/disaster/export.csv")
    assert resp.status_code == 200 and resp.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert rows[0] == [h for h in heads if h != "聯絡電話"]
    row = dict(zip(rows[0], rows[1]))
    assert row["案件編號"] == ref and row["災情類別代碼"] == "007" and row["災情類別"] == "坍方/土石流"
    assert row["道路通行"] == "完全不能通行" and row["受困人數"] == "1" and row["嚴重程度"] == "緊急"
    assert row["通報者"] == "里長" and row["已查證"] == "是" and "0911" not in resp.data.decode("utf-8-sig")

    resp = signed_in(app, "admin").get("/staff/disaster/export.csv")
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert rows[0] == heads and rows[1][-1] == "0911222333"
    with get_services(app).db.session() as s:
        details = [a.detail for a in s.execute(select(AuditLog).where(AuditLog.action == "export")).scalars()]
    assert details == ["disaster csv rows=1 phone=0", "disaster csv rows=1 phone=1"]


def test_severity_rules():
    assert disaster.severity({"trapped": 1}) == "critical"
    assert disaster.severity({"evacuation": "needed"}) == "critical"
    assert disaster.severity({"passable": "no"}) == "high"
    assert disaster.severity({"water_depth_cm": 50}) == "high"
    assert disaster.severity({"households": 6}) == "high"
    assert disaster.severity({"passable": "partly", "households": 2}) == "normal"


def test_disaster_rich_menu_meets_line_rules():
    from PIL import Image
    from services import richmenu
    path = richmenu.image_path("disaster")
    assert len(path.read_bytes()) < 1024 * 1024
    with Image.open(path) as img:
        assert img.size == (2500, 843) and img.format == "PNG"
    req = richmenu.request("disaster")
    assert len(req.chat_bar_text) <= 14 and sum(a.bounds.width * a.bounds.height for a in req.areas) == 2500 * 843
    assert [a.action.data for a in req.areas][:3] == ["flow=disaster", "action=disaster_info&topic=danger",
                                                     "action=disaster_info&topic=shelter"]


def test_csv_content_type_names_the_charset_once(app):
    make_staff(app, "eoc", "eoc")
    resp = signed_in(app, "eoc").get("/staff/disaster/export.csv")
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
