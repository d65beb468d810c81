"""Dengue cases stay with the section that handles them, and the one-off reminder page.

Another section and the EOC never see a dengue case: not in the list, the map, a direct URL, a
photo, an export or the staff group's digest. The dengue section (and admins) send a one-off
rain reminder with a preview, the count of messages and the month's budget, a confirmation, CSRF
and an audit row; a second click sends nothing more."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.extensions import get_services
from services import digest
from services.models import AuditLog, Submission
from services.dengue.models import DengueReminderRun
from tests.helpers import Resident
from tests.staff_helpers import REF_ROW_RE, add_photo, csv_rows, make_case, make_staff, post, signed_in

CIVIL, ROAD, SOCIAL = "民政及人文課", "農業及建設課", "社會課"
NONCE_RE = re.compile(r'name="nonce" value="([0-9a-f]{32})"')


@pytest.fixture
def office(app):
    for name, role, section in (("admin", "admin", None), ("civil", "section", CIVIL), ("road", "section", ROAD),
                                ("social", "section", SOCIAL), ("eoc", "eoc", None)):
        make_staff(app, name, role, section)
    dengue = make_case(app, "dengue", "container", lat=23.04, lng=120.41, description="空地積水有孑孓",
                       place_text="左鎮國小後面", phone="0933444555")
    road = make_case(app, "road", "pothole")
    photo_id, _, _ = add_photo(app, dengue)
    return {"dengue": dengue, "road": road, "photo": photo_id}


@pytest.mark.parametrize("who", ["road", "social", "eoc"])
def test_other_sections_and_the_eoc_never_see_dengue_cases(app, office, who):
    c = signed_in(app, who)
    ref = office["dengue"]
    html = c.get("/staff/cases").get_data(as_text=True)
    assert ref not in html
    assert ref not in c.get("/staff/cases?kind=dengue").get_data(as_text=True)
    assert REF_ROW_RE.findall(c.get(f"/staff/cases?q={ref}").get_data(as_text=True)) == []
    assert c.get(f"/staff/cases/{ref}").status_code == 404
    assert c.get(f"/staff/cases/{ref.replace('-', '')}").status_code == 404
    assert c.get(f"/staff/media/{office['photo']}").status_code == 404
    assert ref not in c.get("/staff/cases/map.json?kind=dengue").get_data(as_text=True)
    assert ref not in c.get("/staff/cases/map.json").get_data(as_text=True)
    assert all(ref not in row for row in csv_rows(c.get("/staff/cases/export.csv?kind=dengue")))
    wb = load_workbook(io.BytesIO(c.get("/staff/cases/export.xlsx").data))
    assert ref not in {r[0] for r in wb.active.iter_rows(min_row=2, values_only=True)}
    resp = post(c, f"/staff/cases/{ref}/note", {"note": "x"}, page="/staff/cases")
    assert resp.status_code == 404
    assert c.get("/staff/dengue/reminders").status_code == 404
    assert "防疫提醒" not in html


@pytest.mark.parametrize("who", ["civil", "admin"])
def test_the_dengue_section_and_admins_see_them(app, office, who):
    c = signed_in(app, who)
    ref = office["dengue"]
    assert ref in REF_ROW_RE.findall(c.get("/staff/cases").get_data(as_text=True))
    page = c.get(f"/staff/cases/{ref}").get_data(as_text=True)
    assert "登革熱：積水容器" in page and "0933444555" in page
    assert c.get(f"/staff/media/{office['photo']}").status_code == 200
    assert ref in c.get("/staff/cases/map.json").get_data(as_text=True)
    assert any(row[0] == ref for row in csv_rows(c.get("/staff/cases/export.csv")))
    assert "防疫提醒" in c.get("/staff/cases").get_data(as_text=True)


def test_the_staff_group_digest_counts_dengue_cases_without_listing_them(app, office):
    svc = get_services(app)
    with svc.db.session() as s:
        for sub in s.execute(select(Submission)).scalars():
            sub.due_date = dt.date(2026, 11, 1)
    with svc.db.session() as s:
        found = digest.overdue_by_section(s, dt.date(2026, 11, 27))
        text = digest.text(CIVIL, found[CIVIL], dt.date(2026, 11, 27))
    assert office["dengue"] not in text and "左鎮里" not in text and "不公開案件" in text and "1 件" in text


def test_a_one_off_rain_reminder_with_preview_budget_and_audit(app, office, fake_line):
    store = fake_line.store
    caoshan, erliao = Resident(app, store), Resident(app, store)
    caoshan.says("訂閱防疫提醒"); caoshan.taps("草山里")
    erliao.says("訂閱防疫提醒"); erliao.taps("二寮里")
    c = signed_in(app, "civil")
    page = c.get("/staff/dengue/reminders").get_data(as_text=True)
    assert 'id="subscriber-total">2<' in page
    # without the CSRF token the form is refused
    assert c.post("/staff/dengue/reminders/preview", data={"village": "草山里"}).status_code == 400
    resp = post(c, "/staff/dengue/reminders/preview", {"village": "草山里", "note": "颱風剛過，請清積水"},
                page="/staff/dengue/reminders")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "颱風剛過，請清積水" in html and "7天" in html
    assert re.search(r'id="preview-recipients">1 人<', html) and re.search(r'id="preview-messages">1 則<', html)
    assert 'id="preview-remaining">不限' in html and 'id="preview-used">' in html
    nonce = NONCE_RE.search(html).group(1)
    assert store.requests == [] or all(q.path != "/v2/bot/message/push" for q in store.requests)
    form = {"village": "草山里", "note": "颱風剛過，請清積水", "nonce": nonce}
    resp = post(c, "/staff/dengue/reminders/send", form, page="/staff/dengue/reminders")
    assert resp.status_code == 302
    caoshan.run_worker()
    pushes = [q for q in store.requests if q.path == "/v2/bot/message/push"]
    assert [q.json["to"] for q in pushes] == [caoshan.user]
    assert "颱風剛過，請清積水" in pushes[0].json["messages"][0]["text"] and pushes[0].headers["x-line-retry-key"]
    # a second click on the same confirmation sends nothing more
    post(c, "/staff/dengue/reminders/send", form, page="/staff/dengue/reminders")
    caoshan.run_worker()
    assert len([q for q in store.requests if q.path == "/v2/bot/message/push"]) == 1
    with get_services(app).db.session() as s:
        [run] = s.execute(select(DengueReminderRun)).scalars()
        assert (run.kind, run.village, run.planned) == ("rain", "草山里", 1)
        [row] = s.execute(select(AuditLog).where(AuditLog.action == "remind")).scalars()
        assert "recipients=1" in row.detail and "颱風" not in row.detail
    assert "雨後提醒" in c.get("/staff/dengue/reminders").get_data(as_text=True)


def test_the_preview_shows_what_the_budget_holds_back(app, office, monkeypatch):
    svc = get_services(app)
    monkeypatch.setattr(type(svc.line), "monthly_quota", lambda self: 10)
    from services.models import OutboundMessage
    from services.dengue.models import DengueSubscription
    with svc.db.session() as s:
        for i in range(9):
            s.add(OutboundMessage(kind="status", to="U" + "1" * 32, messages=[], status="sent", via="push",
                                  sent_at=dt.datetime.now(dt.timezone.utc)))
        s.add(DengueSubscription(user_hash="h" * 24, line_user_id="U" + "2" * 32, village=None))
    c = signed_in(app, "admin")
    html = post(c, "/staff/dengue/reminders/preview", {"village": "all"}, page="/staff/dengue/reminders") \
        .get_data(as_text=True)
    assert re.search(r'id="preview-remaining">1 則（每月 10 則）', html)
    assert 'id="preview-held-back"' in html and 'id="preview-nobody"' in html
