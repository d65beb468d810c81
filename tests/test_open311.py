"""Open311 GeoReport v2 at /open311/v2/, read by a real GeoReport v2 client from PyPI (``georeport``)
against the app on a live server: the city lists the services, reads requests by id and filters
them by status and service; a private kind's case is absent and a direct request for it is 404; a
case's description, place and photo appear only after a clerk switches it to 公開 on the case page,
and that switch is audited.
"""
from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
import requests
from georeport import GeoReport
from PIL import Image
from sqlalchemy import select
from werkzeug.serving import make_server

from bot.extensions import get_services
from services import kinds, knowledge, open311, workflow
from services.models import AuditLog, Staff, Submission, utcnow
from services.clock import TAIPEI
from tests.staff_helpers import ROAD, add_photo, make_case, make_staff, post, signed_in

PHONE = "0912345678"


@pytest.fixture
def live(app):
    """The app on a werkzeug server thread: the client speaks HTTP to it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="open311-live", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/open311/v2"
    finally:
        server.shutdown()
        thread.join(10)


def row(app, ref) -> Submission:
    with get_services(app).db.session() as s:
        return s.execute(select(Submission).where(Submission.ref == ref)).scalar_one()


def move(app, ref, to, **kw) -> None:
    with get_services(app).db.session() as s:
        sub = s.execute(select(Submission).where(Submission.ref == ref)).scalar_one()
        clerk = s.execute(select(Staff).where(Staff.username == "road")).scalar_one()
        workflow.transition(s, sub, to, clerk, **kw)


@pytest.fixture
def town(app):
    """A clerk of 農業及建設課, two road cases (one fixed, with a public note), and one case of each
    kind that is never published (dengue and welfare are private, disaster reports are not open data)."""
    make_staff(app, "road", "section", ROAD)
    refs = {
        "pothole": make_case(app, "road", "pothole", description=f"大坑洞，請打 {PHONE} 找我",
                             place_text="左鎮國小前面"),
        "light": make_case(app, "road", "streetlight", lat=23.0581, lng=120.4067, description="路燈不亮"),
        "dengue": make_case(app, "dengue", None, lat=23.04, lng=120.41, description="空地積水", phone="0933444555"),
        "welfare": make_case(app, "welfare", None, lat=None, lng=None, description="老人津貼", phone="0987654321"),
        "disaster": make_case(app, "disaster", None, lat=23.03, lng=120.42, description="土石流", phone="0911222333"),
    }
    move(app, refs["light"], "resolved", note="已更換燈泡", internal_note="廠商乙 0977000111")
    return refs


def test_a_city_reads_the_services_and_requests_with_a_georeport_client(app, live, town):
    client = GeoReport(live)
    codes = [s["service_code"] for s in client.get_service_list()]
    assert codes == ["road-pothole", "road-streetlight", "road-tree", "road-drain", "road-sign", "road-other"]
    assert client.get_service_definition("road-pothole") == {"service_code": "road-pothole", "attributes": []}

    listed = {r["service_request_id"]: r for r in client.get_service_requests()}
    assert set(listed) == {town["pothole"], town["light"]}          # never dengue, welfare or disaster
    assert [r["service_request_id"] for r in client.get_service_requests(status="closed")] == [town["light"]]
    assert [r["service_request_id"] for r in client.get_service_requests(status="open")] == [town["pothole"]]
    assert [r["service_request_id"] for r in client.get_service_requests(service_code="road-streetlight")] \
        == [town["light"]]
    both = client.get_service_requests(service_request_id=f"{town['pothole']},{town['dengue']}")
    assert [r["service_request_id"] for r in both] == [town["pothole"]]

    light = client.get_service_request(town["light"])
    sub = row(app, town["light"])
    assert light["status"] == "closed" and light["status_notes"] == "已更換燈泡"      # not the internal note
    assert light["service_code"] == "road-streetlight" and light["service_name"] == "路燈故障"
    assert light["agency_responsible"] == ROAD
    assert light["expected_datetime"] == f"{sub.due_date.isoformat()}T17:30:00+08:00"
    assert sub.due_date == workflow.due_date("road", "streetlight", sub.created_at)
    assert light["requested_datetime"].endswith("+08:00")
    assert light["updated_datetime"] >= light["requested_datetime"]
    # About 50 m: snapped to a 0.0005 degree grid, never the stored point.
    assert (light["lat"], light["long"]) == (23.058, 120.4065)
    assert light["description"] is None and light["address"] is None and light["media_url"] is None

    for ref in (town["dengue"], town["welfare"], town["disaster"], "R-20200101-0001"):
        with pytest.raises(requests.HTTPError) as err:
            client.get_service_request(ref)
        assert err.value.response.status_code == 404
        assert err.value.response.json() == [{"code": 404, "description": open311.words()["open311"]["errors"]
                                              ["not_found"]}]


def test_the_same_in_xml(app, live, town):
    client = GeoReport(live, output_format="xml")
    services = client.get_service_list()
    assert [s["service_code"] for s in services][:2] == ["road-pothole", "road-streetlight"]
    assert services[0]["metadata"] == "false"
    closed = client.get_service_requests(status="closed")    # one request: xmltodict gives the element
    assert closed["service_request_id"] == town["light"] and closed["status_notes"] == "已更換燈泡"
    one = client.get_service_request(town["pothole"])
    assert one["status"] == "open" and one["description"] is None
    discovery = requests.get(f"{live}/discovery.xml", timeout=5)
    assert discovery.status_code == 200 and discovery.headers["Content-Type"].startswith("text/xml")
    assert b"<key_service>" in discovery.content and b"not supported" in discovery.content
    missing = requests.get(f"{live}/requests/{town['welfare']}.xml", timeout=5)
    assert missing.status_code == 404 and b"<errors><error><code>404</code>" in missing.content


def test_discovery_says_the_api_is_read_only_and_post_is_refused(live):
    d = requests.get(f"{live}/discovery.json", timeout=5).json()
    assert "not supported" in d["key_service"] and d["endpoints"][0]["url"] == live
    assert d["endpoints"][0]["formats"] == ["application/json", "text/xml"]
    resp = requests.post(f"{live}/requests.json", data={"service_code": "road-pothole", "lat": 23, "long": 120},
                         timeout=5)
    assert resp.status_code == 405 and resp.headers["Allow"] == "GET, HEAD"
    assert resp.json()[0]["code"] == 405


def test_dates_status_and_paging(app, live, town):
    now = utcnow()
    old = make_case(app, "road", "drain")
    with get_services(app).db.session() as s:
        case = s.execute(select(Submission).where(Submission.ref == old)).scalar_one()
        case.created_at = now - dt.timedelta(days=120)
    client = GeoReport(live)
    assert old not in {r["service_request_id"] for r in client.get_service_requests()}   # the last 90 days
    since = (now - dt.timedelta(days=130)).astimezone(TAIPEI).isoformat(timespec="seconds")
    until = (now - dt.timedelta(days=100)).astimezone(TAIPEI).isoformat(timespec="seconds")
    assert [r["service_request_id"] for r in client.get_service_requests(start_date=since, end_date=until)] == [old]
    assert client.get_service_requests(service_request_id=old)[0]["service_code"] == "road-drain"

    pages = [requests.get(f"{live}/requests.json", params={"page": p, "page_size": 1}, timeout=5).json()
             for p in (1, 2, 3)]
    assert [len(p) for p in pages] == [1, 1, 0]
    assert {pages[0][0]["service_request_id"], pages[1][0]["service_request_id"]} == {town["pothole"], town["light"]}

    bad = {"start_date": "yesterday"}, {"status": "fixed"}, {"page_size": "5000"}, \
          {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}
    for params in bad:
        resp = requests.get(f"{live}/requests.json", params=params, timeout=5)
        assert resp.status_code == 400 and resp.json()[0]["code"] == 400, params
    assert requests.get(f"{live}/requests.json", params={"service_code": "dengue-other"}, timeout=5).json() == []
    assert requests.get(f"{live}/requests.json", params={"service_request_id": "nonsense"}, timeout=5).json() == []


def test_a_clerk_publishes_a_case_and_it_is_audited(app, live, town):
    photo_id, _original, clean = add_photo(app, town["pothole"])
    client = GeoReport(live)
    assert client.get_service_request(town["pothole"])["media_url"] is None
    assert requests.get(f"{live}/media/{photo_id}.jpg", timeout=5).status_code == 404   # not yet public

    clerk = signed_in(app, "road")
    case_page = f"/staff/cases/{town['pothole']}"
    page = clerk.get(case_page).get_data(as_text=True)
    assert 'id="publish-form"' in page and "未公開" in page
    resp = post(clerk, f"{case_page}/public", {"public": "1"}, page=case_page)
    assert resp.status_code == 302
    assert "已公開" in clerk.get(f"/staff/cases/{town['pothole']}").get_data(as_text=True)

    case = client.get_service_request(town["pothole"])
    assert case["description"] == "大坑洞，請打 *** 找我"            # the resident's phone is masked
    assert case["address"] == "左鎮國小前面"
    assert case["media_url"] == f"{live}/media/{photo_id}.jpg"
    photo = requests.get(case["media_url"], timeout=5)
    assert photo.status_code == 200 and photo.content == clean
    assert not Image.open(io.BytesIO(photo.content)).getexif().get_ifd(0x8825)   # no GPS
    sub = row(app, town["pothole"])
    assert sub.public and sub.published_at is not None and sub.published_by_id is not None
    with get_services(app).db.session() as s:
        details = [a.detail for a in s.execute(select(AuditLog).where(AuditLog.submission_id == sub.id,
                                                                       AuditLog.action == "change")).scalars()]
    assert details == ["public on"]

    post(clerk, f"{case_page}/public", {"public": "0"}, page=case_page)
    case = client.get_service_request(town["pothole"])
    assert case["description"] is None and case["address"] is None and case["media_url"] is None
    assert requests.get(f"{live}/media/{photo_id}.jpg", timeout=5).status_code == 404
    assert not row(app, town["pothole"]).public


def test_a_private_case_cannot_be_published(app, town):
    make_staff(app, "admin", "admin")
    admin = signed_in(app, "admin")
    page = admin.get(f"/staff/cases/{town['dengue']}").get_data(as_text=True)
    assert 'id="publish-form"' not in page
    for ref in (town["dengue"], town["welfare"], town["disaster"]):
        resp = post(admin, f"/staff/cases/{ref}/public", {"public": "1"}, page=f"/staff/cases/{town['pothole']}")
        assert resp.status_code == 404
        assert not row(app, ref).public


def test_no_open_data_kind_is_private():
    assert kinds.open_data_ids() == ("road",)
    assert not set(kinds.open_data_ids()) & kinds.private_ids()
    dengue = next(e for e in knowledge.load("kinds")["kinds"] if e["id"] == "dengue")
    with pytest.raises(ValueError, match="never published"):
        kinds.parse({"kinds": [dict(dengue, open_data=True)]})


@pytest.mark.parametrize("text,masked", [
    ("請打 0912-345-678", "請打 ***"), ("(06)573-1611 或 06-5731611", "*** 或 ***"),
    ("+886 912 345 678", "***"), ("０９１２３４５６７８", "***"),
    ("R-20261127-0001 2026-12-05 路寬 12345678", "R-20261127-0001 2026-12-05 路寬 12345678"),
    ("U0123456789abcdef0123456789abcdef", "***"),
])
def test_free_text_is_masked(text, masked):
    assert open311.mask(text) == masked


def test_the_grid_is_about_fifty_metres():
    lat, lng = 23.045671, 120.404987
    assert abs(open311.snap(lat) - lat) * 111_000 <= 28 and abs(open311.snap(lng) - lng) * 102_000 <= 26
    assert open311.snap(lat) == 23.0455 and open311.snap(lng) == 120.405
    assert open311.snap(None) is None


def test_a_case_without_a_listed_category_is_in_other(app, live, town):
    blank = make_case(app, "road", None)
    odd = make_case(app, "road", "bridge")            # a category no longer in the messages file
    client = GeoReport(live)
    assert {r["service_request_id"] for r in client.get_service_requests(service_code="road-other")} == {blank, odd}
    assert client.get_service_request(odd)["service_name"] == "其他"
    both = client.get_service_requests(service_code="road-other,road-pothole")
    assert {r["service_request_id"] for r in both} == {blank, odd, town["pothole"]}
