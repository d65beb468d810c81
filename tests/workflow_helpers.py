"""Helpers for the workflow tests: cases, colleagues and moves made straight through the services,
and the pushes the fake LINE server received."""
from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from pathlib import Path

from bot.extensions import get_services
from services import staff as staff_svc, submissions, workflow
from services.models import Staff, Submission
from services.submissions import SubmissionDraft

ROOT = Path(__file__).resolve().parent.parent
PUSH = "/v2/bot/message/push"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_events = itertools.count(1)


# -- helpers ---------------------------------------------------------------------------------

def svc_of(app):
    return get_services(app)


def draft(kind: str = "road", category: str | None = "pothole", user: str | None = None, **kw) -> SubmissionDraft:
    return SubmissionDraft(kind=kind, source_event_id=f"test-{uuid.uuid4().hex}", line_user_id=user,
                           chat_id=user, flow_version=1, answers={}, category=category,
                           village="左鎮里", description="測試案件", **kw)


def new_case(app, kind: str = "road", category: str | None = "pothole", user: str | None = None,
             now: dt.datetime | None = None) -> int:
    with svc_of(app).db.session() as s:
        return submissions.create(s, draft(kind, category, user), now=now).id


def new_staff(app, role: str = "section", section: str | None = "農業及建設課", **kw) -> int:
    with svc_of(app).db.session() as s:
        member, _ = staff_svc.create(s, f"staff{next(_events)}", "承辦人", role, section,
                                     password="correct-horse-battery", **kw)
        return member.id


def move(app, case_id: int, actor_id: int, to: str, **kw) -> int:
    """One change in its own transaction, as the dashboard does it; returns the CaseEvent id."""
    with svc_of(app).db.session() as s:
        sub, actor = s.get(Submission, case_id), s.get(Staff, actor_id)
        return workflow.transition(s, sub, to, actor, **kw).id


def load_case(app, case_id: int) -> Submission:
    with svc_of(app).db.session() as s:
        sub = s.get(Submission, case_id)
        sub.history, sub.followers  # noqa: B018 - loaded while the session is open
        return sub


def pushes(fake_line, to: str | None = None):
    return [q for q in fake_line.store.requests
            if q.path == PUSH and (to is None or (q.json or {}).get("to") == to)]


def push_text(req) -> str:
    return "\n".join(m.get("text", "") for m in req.json["messages"])


def required_args(app, to: str, other_ref: str) -> dict:
    return {"referred": {"agency": "臺南市政府工務局", "agency_phone": "06-2991111"},
            "duplicate": {"duplicate_of": other_ref},
            "rejected": {"reason": "不在本所權責範圍"}}.get(to, {})
