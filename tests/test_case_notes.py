"""A resident asking about a case sees the status and the public note, never an internal one."""
from __future__ import annotations

import re

from sqlalchemy import select

from bot.extensions import get_services
from services import staff, workflow
from services.models import Submission
from tests.helpers import start_pothole_report


def test_public_note_reaches_the_resident_internal_does_not(resident, app):
    r = resident
    start_pothole_report(r)
    r.taps("略過")
    r.says("大洞")
    ref = re.search(r"R-\d{8}-\d{4}", r.taps("確認送出")[0]).group(0)
    svc = get_services(app)
    with svc.db.session() as s:
        clerk, _ = staff.create(s, "clerk", "承辦", "section", "農業及建設課")
        sub = s.execute(select(Submission).where(Submission.ref == ref)).scalar_one()
        workflow.transition(s, sub, "in_progress", clerk, note="下週一派工填補", internal_note="廠商甲")
    out = r.says(f"查詢 {ref}")
    assert "處理中" in out[0] and "下週一派工填補" in out[0] and "廠商甲" not in out[0]
