"""The daily digest of overdue cases per section."""
from __future__ import annotations

import datetime as dt

from bot.extensions import get_services
from services import digest, submissions
from services.submissions import SubmissionDraft


def make_case(s, kind="road", category="pothole", eid="e1"):
    return submissions.create(s, SubmissionDraft(kind=kind, source_event_id=eid, line_user_id="U" + "1" * 32,
                                                 chat_id="U" + "1" * 32, flow_version=1, answers={},
                                                 category=category, village="草山里"))


def test_overdue_cases_are_listed_per_section(app):
    svc = get_services(app)
    with svc.db.session() as s:
        late = make_case(s, eid="late")
        late.due_date = dt.date(2026, 11, 20)
        fresh = make_case(s, eid="fresh")
        fresh.due_date = dt.date(2026, 12, 31)
        closed = make_case(s, eid="closed")
        closed.due_date, closed.status = dt.date(2026, 11, 1), "resolved"
    with svc.db.session() as s:
        found = digest.overdue_by_section(s, dt.date(2026, 11, 27))
        assert [c.ref for c in found["農業及建設課"]] == [late.ref]
        text = digest.text("農業及建設課", found["農業及建設課"], dt.date(2026, 11, 27))
    assert late.ref in text and "逾 7 天" in text and "草山里" in text


def test_digest_is_pushed_to_the_staff_group(app, fake_line):
    from bot import jobs
    svc = get_services(app)
    app.config["STAFF_GROUP_ID"] = "C" + "d" * 32
    with svc.db.session() as s:
        late = make_case(s, eid="late2")
        late.due_date = dt.date(2026, 1, 5)
    jobs.bind(app)
    assert jobs.send_digest() == 1
    [push] = [q for q in fake_line.store.requests if q.path == "/v2/bot/message/push"]
    assert push.json["to"] == app.config["STAFF_GROUP_ID"] and late.ref in push.json["messages"][0]["text"]
    assert push.headers["x-line-retry-key"]
