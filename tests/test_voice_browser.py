"""A voice message in a real browser: an elder reports a pothole by voice through the bot, the clerk
of 農業及建設課 finds the case marked 🔊, opens it, plays the voice message in the page's <audio>
player, reads its length there, and types what it says.

Headless Debian chromium through Playwright (see tests/test_dashboard_browser.py, whose fixtures
this reuses); skipped without chromium, except under CI=true.
"""
from __future__ import annotations

import re

from bot.extensions import get_services
from services import staff as staff_svc
from tests.helpers import ZUOZHEN_LI, Resident
from tests.test_dashboard_browser import (PASSWORD, browser_page, chromium, live_app,  # noqa: F401
                                          pytestmark, sign_in)

REF = re.compile(r"R-\d{8}-\d{4}")


def report_by_voice(app, fake_line) -> str:
    r = Resident(app, fake_line.store)
    r.says("我要報修道路坑洞")
    r.sends_location(*ZUOZHEN_LI)
    r.taps("略過")
    out = r.sends_voice(duration_ms=2000)                     # the simulator's 2-second sample
    assert "說明：語音 1 段" in out[-1]
    out = r.taps("確認送出")
    return REF.search("\n".join(out)).group(0)


def test_clerk_plays_the_voice_message_on_the_case_page(chromium, live_app, fake_line, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    app, base = live_app
    with get_services(app).db.session() as s:
        staff_svc.create(s, "road.clerk", "道路承辦", "section", "農業及建設課", password=PASSWORD,
                         must_change=False)
    ref = report_by_voice(app, fake_line)
    page_errors: list[str] = []
    shot = tmp_path / "voice-case.png"
    with browser_page(chromium, page_errors, ("--autoplay-policy=no-user-gesture-required",)) as page:
        sign_in(page, base, "road.clerk")
        page.wait_for_url(re.compile(r"/staff/cases(\?.*)?$"))
        row = page.locator(f'tr[data-ref="{ref}"]')
        expect(row.locator(".voice-mark")).to_have_text("🔊")
        row.locator("a.case-link").click()

        audio = page.locator("section.voices audio").first
        expect(audio).to_be_visible()
        played = audio.evaluate("""a => new Promise((done, fail) => {
            a.addEventListener('error', () => fail('media error ' + (a.error && a.error.code)));
            a.addEventListener('ended', () => done({duration: a.duration, at: a.currentTime}));
            a.play().catch(e => fail(String(e)));
        })""")
        assert abs(played["duration"] - 2.0) < 0.2 and played["at"] > 1.5
        duration = page.evaluate("document.querySelector('section.voices audio').duration")
        assert abs(duration - 2.0) < 0.2

        page.fill("textarea[name=transcript]", "阿伯說：國小前面的路有一個大洞")
        page.click("form.transcript button[type=submit]")
        expect(page.locator("textarea[name=transcript]")).to_have_value("阿伯說：國小前面的路有一個大洞")
        page.screenshot(path=str(shot), full_page=True)

        page.goto(f"{base}/staff/cases?q=國小前面")
        expect(page.locator(f'tr[data-ref="{ref}"]')).to_be_visible()
    assert page_errors == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
