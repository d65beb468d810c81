"""/public in headless chromium, on a phone's screen: the map shows the public cases by status, the
charts are drawn from the figures, the table and the CSV link are there, no private case and no
phone number is on the page, and the first load (without map tiles, which the browser is not
allowed to fetch here) is under 300 KB.

Same browser rules as tests/test_dashboard_browser.py (Debian's chromium through Playwright).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.extensions import get_services
from bot.state import public_cache_key
from services import staff as staff_svc, workflow
from services.models import Staff, Submission
from tests.conftest import IN_CI
from tests.staff_helpers import ROAD, make_case
from tests.test_dashboard_browser import (CHROMIUM, PASSWORD, browser_page, chromium, live_app,  # noqa: F401 - fixtures
                                         sign_in)

FIRST_LOAD_LIMIT = 300 * 1024
PHONE_SCREEN = {"width": 390, "height": 844}
SHOTS = Path("/tmp")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not IN_CI,
    reason=f"browser test: {CHROMIUM} not found (install Debian's chromium: apt-get install chromium)")


def seed(app) -> dict[str, str]:
    svc = get_services(app)
    with svc.db.session() as s:
        clerk, _ = staff_svc.create(s, "road.clerk", "道路承辦", "section", ROAD, password="x" * 12)
        clerk_id = clerk.id
    refs = {
        "hole": make_case(app, "road", "pothole", description="大坑洞 0912345678"),
        "light": make_case(app, "road", "streetlight", lat=23.0581, lng=120.4067),
        "tree": make_case(app, "road", "tree", lat=23.0402, lng=120.3985),
        "dengue": make_case(app, "dengue", "container", lat=23.05, lng=120.41, description="空地積水"),
    }
    with svc.db.session() as s:
        actor = s.get(Staff, clerk_id)
        for key in ("light", "tree"):
            sub = s.execute(select(Submission).where(Submission.ref == refs[key])).scalar_one()
            workflow.transition(s, sub, "resolved", actor, note="已修好")
        hole = s.execute(select(Submission).where(Submission.ref == refs["hole"])).scalar_one()
        hole.public = True
    svc.redis.delete(public_cache_key("figures"), public_cache_key("markers"))
    return refs


def test_the_public_page_on_a_phone(chromium, live_app):  # noqa: F811 - the imported fixtures
    from playwright.sync_api import expect

    app, base = live_app
    refs = seed(app)
    errors: list[str] = []
    responses = []
    with browser_page(chromium, errors) as page:
        page.set_viewport_size(PHONE_SCREEN)
        page.on("response", lambda r: responses.append(r))
        page.goto(f"{base}/public")
        expect(page.locator("#map")).to_have_attribute("data-loaded", "3")        # the three road cases
        expect(page.locator("#chart-monthly canvas")).to_have_count(1)
        expect(page.locator("#chart-closed canvas")).to_have_count(1)
        page.wait_for_load_state("networkidle")
        markers = page.locator("#map path.leaflet-interactive")
        expect(markers).to_have_count(3)
        fills = sorted(markers.nth(i).get_attribute("fill") for i in range(3))
        assert fills == ["#2b8a3e", "#2b8a3e", "#d9480f"]                        # two closed, one open
        expect(page.locator("#stats-table tbody tr")).to_have_count(6)
        expect(page.locator("#stats-table tr[data-code=road-pothole] td").first).to_have_text("1 件")
        expect(page.locator("#csv-link")).to_have_attribute("href", "/public/stats.csv")
        # The page fits the phone: nothing wider than the screen but the table's own scroller.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_SCREEN["width"]
        page.screenshot(path=str(SHOTS / "public-phone.png"), full_page=True)

        html = page.content()
        loaded = sum(len(r.body()) for r in responses if r.ok and r.request.url.startswith(base))
        page.set_viewport_size({"width": 1280, "height": 900})
        page.wait_for_timeout(300)
        page.screenshot(path=str(SHOTS / "public-desktop.png"), full_page=True)
    assert errors == []
    assert refs["dengue"] not in html and "空地積水" not in html
    assert "0912345678" not in html
    print(f"first load of /public without map tiles: {loaded} bytes")
    assert loaded < FIRST_LOAD_LIMIT, f"first load {loaded} bytes"
    assert {r.request.url.split("?")[0].rsplit("/", 1)[-1] for r in responses if r.request.url.startswith(base)} >= {
        "public", "leaflet.js", "uPlot.iife.min.js", "public.js", "cases.json"}


def test_a_clerk_publishes_a_case_from_its_page_and_the_map_shows_its_words(chromium, live_app):  # noqa: F811
    from playwright.sync_api import expect

    app, base = live_app
    svc = get_services(app)
    with svc.db.session() as s:
        staff_svc.create(s, "road.clerk", "道路承辦", "section", ROAD, password=PASSWORD, must_change=False)
    ref = make_case(app, "road", "pothole", description="橋頭的坑洞，請打 0912345678")
    svc.redis.delete(public_cache_key("markers"))
    errors: list[str] = []
    with browser_page(chromium, errors) as page:
        sign_in(page, base, "road.clerk")
        page.goto(f"{base}/staff/cases/{ref}")
        expect(page.locator("#publish-state")).to_contain_text("未公開")
        page.locator("#do-publish").click()
        expect(page.locator("#publish-state")).to_contain_text("已公開")
        page.locator("#publish").screenshot(path=str(SHOTS / "publish-card.png"))
        svc.redis.delete(public_cache_key("markers"))
        page.goto(f"{base}/public")
        expect(page.locator("#map")).to_have_attribute("data-loaded", "1")
        page.locator("#map path.leaflet-interactive").first.click(force=True)
        popup = page.locator(".map-popup")
        expect(popup).to_contain_text("橋頭的坑洞，請打 ***")
        expect(popup).to_contain_text(ref)
        assert "0912345678" not in page.content()
    assert errors == []
