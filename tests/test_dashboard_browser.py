"""The dashboard in a real browser, end to end: a resident reports a pothole through the bot,
a clerk of 農業及建設課 signs in, finds the case, sets it to 處理中 with a note, and the resident
gets exactly one push.

Runs headless Debian chromium (/usr/bin/chromium) through Playwright; no browser download.
Without chromium the test is skipped, except under ``CI=true`` where that is a failure
(the same rule as tests/conftest.py's ``_missing``; .ci/run installs chromium).
"""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from bot.extensions import get_services
from services import staff as staff_svc, workflow
from services.models import Submission
from tests.conftest import IN_CI, _missing, make_app
from tests.helpers import Resident, start_pothole_report

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "correct-horse-battery"
PUSH = "/v2/bot/message/push"
REF = re.compile(r"R-\d{8}-\d{4}")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not IN_CI,
    reason=f"browser test: {CHROMIUM} not found (install Debian's chromium: apt-get install chromium)")


@pytest.fixture
def chromium():
    """The Playwright module and the browser binary, or skip (fail under CI=true)."""
    if not CHROMIUM.exists():
        _missing("chromium", f"{CHROMIUM} not found")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _missing("Playwright", type(exc).__name__)
    return sync_playwright


@pytest.fixture
def live_app(sqlite_url, redis_url, fake_line, tmp_path):
    """The real app on a werkzeug server thread (the browser needs a real socket)."""
    app = make_app(sqlite_url, redis_url, fake_line, tmp_path)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-app", daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        get_services(app).close()


@contextmanager
def browser_page(chromium, page_errors: list[str], extra_args: tuple[str, ...] = ()):
    """A page of headless chromium that reaches only the app under test (no map tiles or fonts
    from the internet) and records the page's script errors."""
    with chromium() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=CHROMIUM_ARGS + list(extra_args))
        try:
            context = browser.new_context(locale="zh-TW", viewport={"width": 1280, "height": 900})
            context.set_default_timeout(15_000)
            context.route("**/*", lambda route: route.continue_()
                          if urlsplit(route.request.url).hostname in ("127.0.0.1", None) else route.abort())
            page = context.new_page()
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            yield page
        finally:
            browser.close()


def sign_in(page, base: str, username: str):
    """Open the login page and sign in; returns the login page's response."""
    resp = page.goto(f"{base}/staff/login")
    login = page.locator("form#login")
    login.locator("input[name=username]").fill(username)
    login.locator("input[name=password]").fill(PASSWORD)
    login.locator("button[type=submit]").click()
    return resp


def report_pothole(app, fake_line) -> tuple[Resident, str]:
    r = Resident(app, fake_line.store)
    start_pothole_report(r)
    r.taps("略過")
    r.says("坑洞大約臉盆那麼大，機車騎過去很危險")
    out = r.taps("確認送出")
    m = REF.search("\n".join(out))
    assert m, out
    return r, m.group(0)


# Longer than 50 lines on purpose: one transcript, told in order from start to end.
def test_clerk_sets_a_case_in_progress_and_the_resident_is_told(chromium, live_app, fake_line, tmp_path):
    from playwright.sync_api import expect

    app, base = live_app
    svc = get_services(app)
    with svc.db.session() as s:
        staff_svc.create(s, "road.clerk", "道路承辦", "section", "農業及建設課", password=PASSWORD,
                         must_change=False)
    resident, ref = report_pothole(app, fake_line)
    with svc.db.session() as s:
        case = s.execute(select(Submission).where(Submission.ref == ref)).scalar_one()
        assert case.status == "new" and case.owner_section == "農業及建設課"
    pushes_before = [q for q in fake_line.store.requests if q.path == PUSH]
    assert pushes_before == []                       # the bot answered the report by reply

    page_errors: list[str] = []
    shot = tmp_path / "case-page.png"
    with browser_page(chromium, page_errors) as page:
        resp = sign_in(page, base, "road.clerk")
        assert resp is not None and resp.status == 200, \
            f"GET /staff/login answered {resp.status if resp else None}: is the dashboard registered?"
        page.wait_for_url(re.compile(r"/staff/cases(\?.*)?$"))

        page.select_option("select[name=status]", "new")
        page.click("button#apply-filters")
        row = page.locator(f'tr[data-ref="{ref}"]')
        expect(row).to_be_visible()
        row.locator("a.case-link").click()

        status = page.locator("span#case-status")
        expect(status).to_have_text(workflow.status_label("new"))
        page.select_option("select[name=to_status]", "in_progress")
        page.fill("textarea[name=note]", "已派工，這週處理")
        page.click("button#do-transition")
        expect(status).to_have_text("處理中")
        assert ref in page.content()
        page.screenshot(path=str(shot), full_page=True)

    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page_errors == []
    with svc.db.session() as s:
        case = s.execute(select(Submission).where(Submission.ref == ref)).scalar_one()
        assert case.status == "in_progress"
        last = case.history[-1]
        assert (last.from_status, last.to_status, last.note) == ("new", "in_progress", "已派工，這週處理")

    from bot.worker import run_burst
    run_burst(app)                                   # the notify job the dashboard enqueued
    pushes = [q for q in fake_line.store.requests if q.path == PUSH]
    assert len(pushes) == 1
    [push] = pushes
    assert push.status == 200 and push.json["to"] == resident.user
    text = "\n".join(m.get("text", "") for m in push.json["messages"])
    assert ref in text and "已派工" in text and "處理中" in text
    run_burst(app)                                   # nothing is sent twice
    assert len([q for q in fake_line.store.requests if q.path == PUSH]) == 1


def test_the_situation_board_follows_a_mode_switch_made_elsewhere(chromium, live_app, tmp_path):
    """The EOC keeps the board open; an admin turns the disaster mode on from another desk: at
    the board's next refresh the page shows the mode as on, without anyone reloading it."""
    from playwright.sync_api import expect
    from services import disaster

    app, base = live_app
    svc = get_services(app)
    with svc.db.session() as s:
        staff_svc.create(s, "eoc.duty", "應變中心值班", "eoc", None, password=PASSWORD, must_change=False)
    page_errors: list[str] = []
    with browser_page(chromium, page_errors) as page:
        page.clock.install()
        sign_in(page, base, "eoc.duty")
        page.wait_for_url(re.compile(r"/staff/"))
        page.goto(f"{base}/staff/disaster")
        mode = page.locator("section#mode .badge")
        expect(mode).to_have_text("災害應變模式：關閉")
        expect(page.locator("#board-status")).to_contain_text("最後更新")

        with svc.db.session() as s:                  # another desk switches the mode on
            disaster.start_mode(s, None, "凱米颱風")
        page.clock.run_for(31_000)                   # the board's 30 s refresh
        expect(mode).to_have_text("災害應變模式：開啟中")
        expect(page.locator("section#mode")).to_contain_text("凱米颱風")
    assert page_errors == []
