"""The public side (/public and /open311/v2/) keeps the office's privacy rules whatever the cases
hold: a private case is never listed, no phone number and no LINE user id appear in any public
answer, even of a case a clerk published. And the public page's figures: reports received, share
closed, median working days to close and share closed within target, per category, cached a few
minutes.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
from sqlalchemy import select

from bot.extensions import get_services
from bot.public import CACHE_SECONDS
from bot.state import public_cache_key
from services import calendar, open311, public_stats, submissions, workflow
from services.models import Staff, Submission
from services.clock import TAIPEI
from services.submissions import SubmissionDraft
from tests.helpers import OFFICE_PHONE, user_id
from tests.staff_helpers import ROAD, add_photo, make_case, make_staff

PHONES = ("0912345678", "0933444555", "0987654321", "0911222333", "0922333444")
PHONE_LIKE = re.compile(r"09\d{2}-?\d{3}-?\d{3}")


def public_answers(client, refs: list[str]) -> dict[str, str]:
    """Every public answer's text, by address."""
    urls = ["/public", "/public/cases.json", "/public/stats.json", "/public/stats.csv",
            "/open311/v2/discovery.json", "/open311/v2/services.json", "/open311/v2/services.xml",
            "/open311/v2/requests.json", "/open311/v2/requests.xml",
            "/open311/v2/requests.json?service_request_id=" + ",".join(refs)]
    urls += [f"/open311/v2/requests/{ref}.{fmt}" for ref in refs for fmt in ("json", "xml")]
    out = {}
    for url in urls:
        resp = client.get(url)
        assert resp.status_code in (200, 404), url
        assert "Set-Cookie" not in resp.headers, url           # no session on the public side
        out[url] = resp.get_data(as_text=True)
    return out


def test_no_private_case_and_no_phone_number_in_any_public_answer(app, client):
    make_staff(app, "road", "section", ROAD)
    users = [user_id() for _ in PHONES]
    refs = {
        "road": make_case(app, "road", "pothole", phone=PHONES[0], user=users[0],
                          description=f"坑洞很大，電話 {PHONES[4][:4]}-{PHONES[4][4:7]}-{PHONES[4][7:]}",
                          place_text=f"找王先生 {PHONES[0]}"),
        "dengue": make_case(app, "dengue", "container", phone=PHONES[1], user=users[1], description="空地積水"),
        "welfare": make_case(app, "welfare", None, phone=PHONES[2], user=users[2], description="老人津貼"),
        "disaster": make_case(app, "disaster", None, phone=PHONES[3], user=users[3], description="土石流"),
    }
    add_photo(app, refs["road"])
    with get_services(app).db.session() as s:
        clerk = s.execute(select(Staff).where(Staff.username == "road")).scalar_one()
        for sub in s.execute(select(Submission)).scalars():
            sub.public = True          # even a switch set on a private case by hand publishes nothing
        road = s.execute(select(Submission).where(Submission.ref == refs["road"])).scalar_one()
        workflow.transition(s, road, "in_progress", clerk, note=f"已派工，有問題打 {PHONES[3]}")
    answers = public_answers(client, list(refs.values()))
    everything = "\n".join(answers.values())
    assert refs["road"] in everything and "坑洞很大" in everything     # the published case is there
    for ref in (refs["dengue"], refs["welfare"], refs["disaster"]):
        assert ref not in everything
    for words in ("空地積水", "老人津貼", "土石流"):
        assert words not in everything
    for phone in PHONES:
        assert phone not in everything and phone[:4] + "-" + phone[4:7] not in everything
    assert not PHONE_LIKE.search(everything)
    for uid in users:
        assert uid not in everything
    assert "王先生 ***" in answers[f"/open311/v2/requests/{refs['road']}.json"]
    assert json.loads(answers[f"/open311/v2/requests/{refs['road']}.json"])[0]["status_notes"] == "已派工，有問題打 ***"
    for ref in (refs["dengue"], refs["welfare"], refs["disaster"]):
        assert client.get(f"/open311/v2/requests/{ref}.json").status_code == 404


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=TAIPEI).astimezone(dt.timezone.utc)


def case_on(app, category: str, created: dt.date, closed_after: int | None = None, status: str = "resolved") -> str:
    """A road case received on ``created``; closed ``closed_after`` working days later."""
    draft = SubmissionDraft(kind="road", source_event_id=f"stat-{user_id()}", line_user_id=None, chat_id=None,
                            flow_version=1, answers={}, category=category, village="左鎮里", lat=23.05, lng=120.4)
    with get_services(app).db.session() as s:
        sub = submissions.create(s, draft, now=at(created))
        sub.created_at = at(created)
        if closed_after is not None:
            sub.status = status
            sub.closed_at = at(calendar.add_working_days(created, closed_after), 15)
        return sub.ref


def test_the_figures_per_category(app):
    now = at(dt.date(2026, 12, 4))
    # Potholes (target 5 working days): closed in 2, 4 and 8 working days, one still open.
    for days in (2, 4, 8, None):
        case_on(app, "pothole", dt.date(2026, 11, 2), days)
    case_on(app, "tree", dt.date(2026, 6, 1), 3, status="referred")      # target 3: within
    case_on(app, "tree", dt.date(2025, 11, 28), 1)                        # before the 12 months
    dengue = SubmissionDraft(kind="dengue", source_event_id="stat-dengue", line_user_id=None, chat_id=None,
                             flow_version=1, answers={}, category="container")
    with get_services(app).db.session() as s:
        submissions.create(s, dengue, now=at(dt.date(2026, 11, 3))).created_at = at(dt.date(2026, 11, 3))
        data = public_stats.figures(s, now)
    assert data["months"][0] == "2026-01" and data["months"][-1] == "2026-12"
    by = {c["code"]: c for c in data["categories"]}
    assert set(by) == {s.code for s in open311.services()}                # road only, every category
    pothole = by["road-pothole"]
    assert (pothole["received"], pothole["closed"], pothole["share_closed"]) == (4, 3, 0.75)
    assert pothole["median_days"] == 4 and pothole["share_within_target"] == round(2 / 3, 3)
    assert pothole["monthly"][10] == 4 and sum(pothole["monthly"]) == 4
    tree = by["road-tree"]
    assert (tree["received"], tree["closed"], tree["median_days"], tree["share_within_target"]) == (1, 1, 3, 1.0)
    assert by["road-sign"]["received"] == 0 and by["road-sign"]["share_closed"] is None

    rows = public_stats.csv_rows(data, open311.words()["public"]["csv_headers"])
    assert rows[1] == ["road-pothole", "坑洞/路面破損", "4", "3", "75.0", "4", "66.7", "5"]


def test_the_page_and_its_csv_are_cached_for_a_few_minutes(app, client):
    redis = get_services(app).redis
    redis.delete(public_cache_key("figures"), public_cache_key("markers"))
    make_case(app, "road", "pothole")
    page = client.get("/public")
    assert page.status_code == 200 and page.headers["Cache-Control"] == f"public, max-age={CACHE_SECONDS}"
    assert 0 < redis.ttl(public_cache_key("figures")) <= CACHE_SECONDS
    text = page.get_data(as_text=True)
    assert 'lang="zh-Hant-TW"' in text and "坑洞/路面破損" in text and OFFICE_PHONE in text

    make_case(app, "road", "pothole")        # a new case waits for the cache to expire
    rows = list(csv.reader(io.StringIO(client.get("/public/stats.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == open311.words()["public"]["csv_headers"] and rows[1][2] == "1"
    redis.delete(public_cache_key("figures"))
    rows = list(csv.reader(io.StringIO(client.get("/public/stats.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[1][2] == "2"
    markers = client.get("/public/cases.json")
    assert markers.headers["Cache-Control"] == f"public, max-age={CACHE_SECONDS}"
    assert {c["s"] for c in markers.get_json()["cases"]} == {"open"}
    assert client.get("/public/static/vendor/uplot/LICENSE").status_code == 200


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_api_answers_are_cacheable_and_open_to_any_origin(client, fmt):
    resp = client.get(f"/open311/v2/services.{fmt}")
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["Cache-Control"].startswith("public, max-age=")
