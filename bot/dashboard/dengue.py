"""Dashboard pages of the dengue conversation (routes on the dashboard blueprint).

防疫提醒 ``/staff/dengue/reminders``: after heavy rain, the dengue section (knowledge/workflow.yaml
owners.dengue) or an admin sends a one-off 巡倒清刷 reminder to the subscribers of one village or
of all villages. The page shows the subscribers and past runs; "preview" shows the message, how
many messages it will use and what is left of the month's quota; "send" (with the preview's
one-time key, so a second click sends nothing more) records the run, writes an audit row and
hands the pushes to the worker. Anyone else gets a 404, like a case they may not see.
"""
from __future__ import annotations

import logging
import re
import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from redis.exceptions import RedisError

from bot.dashboard import bp, text
from bot.dashboard.common import _db, fmt_time, me
from bot.extensions import get_services
from bot.queueing import enqueue_reminder
from services import dengue, villages, workflow
from services.dengue import reminders
from services import staff as staff_service
from services.models import Staff

log = logging.getLogger(__name__)
NONCE_RE = re.compile(r"^[0-9a-f]{32}$")
ALL = "all"


def can_remind(staff: Staff | None) -> bool:
    if staff is None or not staff.active:
        return False
    if staff.role == "admin":
        return True
    return staff.role == "section" and staff.section == workflow.owner_section("dengue")


def _require() -> Staff:
    staff = me()
    if not can_remind(staff):
        abort(404)
    return staff


@bp.context_processor
def _dengue_nav():
    from flask_login import current_user
    user = current_user if current_user and current_user.is_authenticated else None
    return {"can_remind": bool(user and can_remind(user.staff))}


def _village_arg(value: str | None) -> str | None:
    """A village name, ALL, or None when the choice is not valid."""
    value = (value or "").strip()
    if value == ALL or value in villages.village_names():
        return value
    return None


def _note_arg(value: str | None) -> tuple[str, bool]:
    note = (value or "").strip().replace("\r", "")
    limit = int(reminders.cfg()["max_note_chars"])
    return note[:limit], len(note) <= limit


def _page(errors: list[str] | None = None, village: str = ALL, note: str = "", status: int = 200):
    with _db().session() as s:
        counts = dengue.subscriber_counts(s)
        runs = [{"at": fmt_time(r.created_at), "kind": r.kind, "village": r.village, "planned": r.planned,
                 "skipped_blocked": r.skipped_blocked, "skipped_budget": r.skipped_budget,
                 "done": r.planned_at is not None} for r in reminders.recent_runs(s)]
    c = reminders.cfg()
    return render_template("dashboard/dengue_reminders.html", counts=counts, runs=runs,
                           villages=list(villages.village_names()), village=village, note=note,
                           errors=errors or [], total=sum(counts.values()), weekly=c,
                           max_note=int(c["max_note_chars"])), status


@bp.get("/dengue/reminders")
@login_required
def dengue_reminders():
    _require()
    return _page()


@bp.post("/dengue/reminders/preview")
@login_required
def dengue_reminder_preview():
    _require()
    village = _village_arg(request.form.get("village"))
    note, fits = _note_arg(request.form.get("note"))
    errors = []
    if village is None:
        errors.append(text("dengue.village_required"))
    if not fits:
        errors.append(text("dengue.note_too_long", max=reminders.cfg()["max_note_chars"]))
    if errors:
        return _page(errors, village or ALL, note, status=400)
    quota = get_services().line.monthly_quota()
    with _db().session() as s:
        numbers = reminders.preview(s, None if village == ALL else village, quota)
    return render_template("dashboard/dengue_reminder_preview.html", village=village, note=note,
                           text=reminders.rain_text(note), numbers=numbers, nonce=uuid.uuid4().hex)


@bp.post("/dengue/reminders/send")
@login_required
def dengue_reminder_send():
    staff = _require()
    village = _village_arg(request.form.get("village"))
    note, fits = _note_arg(request.form.get("note"))
    nonce = request.form.get("nonce", "")
    if village is None or not fits or not NONCE_RE.match(nonce):
        return _page([text("dengue.incomplete")], village or ALL, note, status=400)
    with _db().session() as s:
        run, created = reminders.ensure_run(s, f"rain-{nonce}", "rain", reminders.rain_text(note),
                                            village=None if village == ALL else village, staff_id=staff.id)
        run_id = run.id
        if created:
            count = reminders.preview(s, run.village, None)["recipients"]
            staff_service.audit(s, staff, "remind", None,
                                f"dengue rain reminder run={run_id} village={village} recipients={count}")
    if not created:
        flash(text("dengue.already_sent"), "info")
        return redirect(url_for(".dengue_reminders"))
    try:
        enqueue_reminder(get_services(), run_id)
    except RedisError as exc:
        log.warning("dengue reminder run %s not queued: %s", run_id, type(exc).__name__)
    flash(text("dengue.sending"), "ok")
    return redirect(url_for(".dengue_reminders"))
