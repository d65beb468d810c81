"""Teaching the bot in a real browser (issue 16): a question the bot could not answer becomes an
answer. A clerk of 民政及人文課 writes a new entry from the question on /staff/questions, the
section's reviewer publishes it, and the resident's next LINE message with that question (through
the webhook, the worker and the fake LINE server) gets the new answer, with no restart.

Screenshots are written to the test's tmp folder (``KNOWLEDGE_SHOTS`` names another folder).
"""
from __future__ import annotations

import os
from pathlib import Path

from bot.extensions import get_services
from services import knowledge_live
from services import staff as staff_svc
from services.models_knowledge import KnowledgeReviewer
from tests.helpers import Resident
from tests.test_dashboard_browser import (PASSWORD, browser_page, chromium, live_app, pytestmark,  # noqa: F401
                                          sign_in)

QUESTION = "社區大學有開什麼課"
ANSWER = "社區大學的課程和報名方式，請打區公所 {office_phone} 詢問。"


def shot(page, tmp_path: Path, name: str, full: bool = True) -> None:
    folder = Path(os.environ.get("KNOWLEDGE_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full)


# Longer than 50 lines on purpose: one transcript, told in order from start to end.
def test_a_clerk_answers_an_unanswered_question_and_a_reviewer_publishes_it(chromium, live_app, fake_line, tmp_path):
    from playwright.sync_api import expect

    app, base = live_app
    svc = get_services(app)
    with svc.db.session() as s:
        staff_svc.create(s, "civil.clerk", "民政承辦", "section", "民政及人文課", password=PASSWORD, must_change=False)
        reviewer, _ = staff_svc.create(s, "civil.chief", "民政課長", "section", "民政及人文課", password=PASSWORD,
                                       must_change=False)
        s.add(KnowledgeReviewer(staff_id=reviewer.id, section="民政及人文課"))
    resident = Resident(app, fake_line.store)
    first = resident.says(QUESTION)
    assert first and "社區大學的課程" not in first[0]
    errors: list[str] = []
    try:
        with browser_page(chromium, errors) as page:
            # The clerk turns the question into a new entry.
            sign_in(page, base, "civil.clerk")
            page.goto(f"{base}/staff/questions")
            row = page.locator("#questions tbody tr", has_text=QUESTION)
            shot(page, tmp_path, "0-questions")
            row.locator("a.add-example").click()                  # the other way: an example of an entry
            expect(page.locator("#teach-question")).to_have_text(QUESTION)
            shot(page, tmp_path, "0-teach")
            page.go_back()
            row.locator("a.new-entry").click()
            form = page.locator("#entry-form")
            expect(form.locator("textarea[name=questions]")).to_have_value(QUESTION)
            form.locator("input[name=title]").fill("社區大學")
            form.locator("input[name=keywords]").fill("社區大學、社大")
            form.locator("textarea[name=answer]").fill(ANSWER)
            form.locator("input[name=reason]").fill("居民問社區大學的課")
            form.locator("#preview").click()                  # the LINE preview, nothing saved yet
            expect(page.locator("#line-preview-text")).to_have_text("社區大學的課程和報名方式，請打區公所 06-5731611 詢問。")
            shot(page, tmp_path, "0-new-entry-form")
            page.locator("#entry-form #save-draft").click()
            expect(page.locator("#version-status")).to_contain_text("草稿")
            expect(page.locator("#line-preview-text")).to_contain_text("06-5731611")
            expect(page.locator("#effect-eval")).to_contain_text("測試題庫")
            expect(page.locator("#publish-refusal")).to_contain_text("不能自己發布")
            assert page.locator("#publish").count() == 0
            shot(page, tmp_path, "1-draft")
            page.locator("form.logout button").click()

            # The section's reviewer publishes it.
            sign_in(page, base, "civil.chief")
            page.goto(f"{base}/staff/knowledge")
            shot(page, tmp_path, "2-knowledge-home", full=False)
            page.locator("#drafts a", has_text="社區大學").click()
            page.locator("#publish").click()
            expect(page.locator(".flash-ok")).to_contain_text("已發布")
            expect(page.locator("#history")).to_contain_text("使用中")
            shot(page, tmp_path, "3-published")
            page.goto(f"{base}/staff/knowledge/rules")
            expect(page.locator("h1")).to_contain_text("只能查看")
            assert page.locator("form").count() == 1          # sign-out only: nothing to edit here
        assert errors == []

        # The resident asks again: the worker notices the new knowledge version, no restart.
        again = resident.says(QUESTION)
        assert again and again[0] == "社區大學的課程和報名方式，請打區公所 06-5731611 詢問。"
    finally:
        knowledge_live.reset()
