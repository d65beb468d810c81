"""One case: its page (timeline, photos, voice messages, duplicates), status changes, notes,
assigning, and the photos themselves. Views of a case page and photos and every change write an
audit row (never with resident text in it).
"""
from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, send_file, url_for
from flask_login import login_required
from redis.exceptions import RedisError
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bot.dashboard import bp, text
from bot.dashboard import voice as voice_views
from bot.dashboard.common import (_db, category_label, fmt_time, form_error, load_case, me, osm_link,
                                  staff_names, workflow_error_text)
from bot.dashboard.forms import AssignForm, NoteForm, TransitionForm
from bot.extensions import get_services
from bot.queueing import enqueue_notify
from services import access, clock, knowledge, welfare, workflow
from services import staff as staff_service
from services.models import Attachment, Staff, Submission
from services.submissions import normalize_ref

log = logging.getLogger(__name__)


# -- the case page ------------------------------------------------------------------------------

def assignable(session: Session, sub: Submission) -> list[Staff]:
    """Active staff who may see the case: its owner section's staff and the admins."""
    rows = session.execute(select(Staff).where(
        Staff.active.is_(True),
        or_(Staff.role == "admin", and_(Staff.role == "section", Staff.section == sub.owner_section)))
        .order_by(Staff.display_name)).scalars()
    return [st for st in rows if access.can_view(st, sub)]


def _timeline(session: Session, sub: Submission) -> tuple[list[dict], dict[int, str]]:
    """The case's history as the page shows it, and the names of the staff in it and its assignee."""
    history = list(sub.history)
    actor_ids = [int(e.actor_id) for e in history
                 if e.actor_type == "staff" and e.actor_id and e.actor_id.isdigit()]
    names = staff_names(session, actor_ids + [sub.assignee_id])
    words = knowledge.load("dashboard")
    timeline = []
    for e in history:
        if e.actor_type == "staff":
            actor = names.get(int(e.actor_id)) if e.actor_id and e.actor_id.isdigit() else None
            actor = actor or words["actors"]["staff_unknown"]
        else:
            actor = words["actors"].get(e.actor_type, e.actor_type)
        timeline.append({"at": fmt_time(e.created_at), "actor": actor,
                         "action": words["actions"].get(e.action, e.action),
                         "from": workflow.status_label(e.from_status) if e.from_status else "",
                         "to": workflow.status_label(e.to_status) if e.to_status else "",
                         "note": e.note or "", "internal": bool(e.internal), "notify": bool(e.notify)})
    return timeline, names


def render_case(session: Session, sub: Submission, staff: Staff, *, tform: TransitionForm | None = None,
                nform: NoteForm | None = None, aform: AssignForm | None = None, error: str | None = None,
                error_form: str | None = None, status: int = 200):
    staff_service.audit(session, staff, "view", sub.id, "case page")
    timeline, names = _timeline(session, sub)
    photos = [a for a in sub.attachments if a.kind != "voice" and a.clean_key and a.status == "stored"]
    missing_photos = len([a for a in sub.attachments
                          if a.kind != "voice" and a not in photos and a.status != "unsent"])
    voices = voice_views.for_case(sub)
    kept = session.get(Submission, sub.duplicate_of_id) if sub.duplicate_of_id else None
    if kept is not None and not access.can_view(staff, kept):
        kept = None  # a link made before the access rules applied to it names no case staff may not see
    duplicates = list(session.execute(
        access.visible(select(Submission).where(Submission.duplicate_of_id == sub.id), staff)
        .order_by(Submission.id)).scalars())
    can_change = access.can_change(staff, sub)
    tform = tform or TransitionForm(formdata=None)
    tform.to_status.choices = [(st, workflow.status_label(st)) for st in workflow.allowed(sub.status)]
    nform = nform or NoteForm(formdata=None)
    people = assignable(session, sub)
    aform = aform or AssignForm(formdata=None, assignee_id=str(sub.assignee_id or ""))
    aform.assignee_id.choices = [("", text("export.unassigned"))] + [
        (str(p.id), f"{p.display_name}") for p in people]
    return render_template(
        "dashboard/case.html", sub=sub, timeline=timeline, photos=photos, missing_photos=missing_photos,
        voices=voices, missing_voices=voice_views.missing(sub),
        kept=kept, duplicates=duplicates, followers=len(sub.followers),
        assignee=names.get(sub.assignee_id) if sub.assignee_id else None,
        overdue=workflow.is_overdue(sub, clock.today()),
        personal=access.can_see_personal_data(staff, sub), can_change=can_change,
        osm=osm_link(sub.lat, sub.lng) if sub.lat is not None and sub.lng is not None else None,
        tform=tform, nform=nform, aform=aform, error=error, error_form=error_form,
        kind_category=category_label(sub.kind, sub.category),
        screening=welfare.case_view(sub.answers) if sub.kind == "welfare" else None), status


@bp.get("/cases/<ref>")
@login_required
def case(ref: str):
    staff = me()
    with _db().session() as s:
        sub = load_case(s, ref, staff)
        if sub.ref != ref:
            return redirect(url_for(".case", ref=sub.ref))
        return render_case(s, sub, staff)


def _rerender(ref: str, status: int = 400, **kw):
    with _db().session() as s:
        sub = load_case(s, ref, me())
        return render_case(s, sub, me(), status=status, **kw)

@bp.post("/cases/<ref>/transition")
@login_required
def transition(ref: str):
    staff = me()
    form = TransitionForm()
    if not form.validate():
        return _rerender(ref, tform=form, error=form_error(form), error_form="transition")
    try:
        with _db().session() as s:
            sub = load_case(s, ref, staff, for_update=True)
            from_status = sub.status
            event = workflow.transition(
                s, sub, form.to_status.data or "", staff, note=form.note.data,
                internal_note=form.internal_note.data, agency=(form.agency.data or "").strip() or None,
                agency_phone=form.agency_phone.data,
                duplicate_of=normalize_ref(form.duplicate_of.data or "") or (form.duplicate_of.data or ""),
                reason=(form.reason.data or "").strip() or None)
            staff_service.audit(s, staff, "change", sub.id, f"status {from_status}->{event.to_status}"
                                + (" +internal_note" if (form.internal_note.data or "").strip() else ""))
            done = (sub.ref, event.id, event.notify, event.to_status)
    except workflow.WorkflowError as exc:
        return _rerender(ref, tform=form, error=workflow_error_text(exc), error_form="transition")
    sub_ref, event_id, notify, to_status = done
    if notify:
        try:
            enqueue_notify(get_services(), event_id)
        except RedisError as exc:
            log.warning("notify for case event %s not queued: %s", event_id, type(exc).__name__)
    flash(text("flash.transition_done", ref=sub_ref, status=workflow.status_label(to_status)), "ok")
    flash(text("flash.transition_notified" if notify else "flash.transition_not_notified"), "info")
    return redirect(url_for(".case", ref=sub_ref))


@bp.post("/cases/<ref>/note")
@login_required
def add_note(ref: str):
    staff = me()
    form = NoteForm()
    if not form.validate():
        return _rerender(ref, nform=form, error=form_error(form), error_form="note")
    try:
        with _db().session() as s:
            sub = load_case(s, ref, staff, for_update=True)
            workflow.add_note(s, sub, staff, form.note.data or "", internal=bool(form.internal.data))
            staff_service.audit(s, staff, "change", sub.id, f"note internal={int(bool(form.internal.data))}")
            sub_ref = sub.ref
    except workflow.WorkflowError as exc:
        return _rerender(ref, nform=form, error=workflow_error_text(exc), error_form="note")
    flash(text("flash.note_added"), "ok")
    return redirect(url_for(".case", ref=sub_ref))


@bp.post("/cases/<ref>/assign")
@login_required
def assign(ref: str):
    staff = me()
    form = AssignForm()
    if not form.validate():
        return _rerender(ref, aform=form, error=form_error(form), error_form="assign")
    raw = (form.assignee_id.data or "").strip()
    with _db().session() as s:
        sub = load_case(s, ref, staff, for_update=True)
        assignee = None
        if raw:
            allowed = {str(p.id): p for p in assignable(s, sub)}
            assignee = allowed.get(raw)
            if assignee is None:
                error = text("errors.assignee_not_allowed")
                return render_case(s, sub, staff, aform=form, error=error, error_form="assign", status=400)
        workflow.assign(s, sub, staff, assignee)
        staff_service.audit(s, staff, "change", sub.id, f"assign staff={assignee.id if assignee else '-'}")
        sub_ref, name = sub.ref, assignee.display_name if assignee else None
    flash(text("flash.assigned", name=name) if name else text("flash.unassigned"), "ok")
    return redirect(url_for(".case", ref=sub_ref))


@bp.get("/media/<int(max=2147483647):attachment_id>")
@login_required
def media(attachment_id: int):
    staff = me()
    svc = get_services()
    with svc.db.session() as s:
        att = s.get(Attachment, attachment_id)
        sub = s.get(Submission, att.submission_id) if att and att.submission_id else None
        if att is None or sub is None or not access.can_view(staff, sub) or not att.clean_key:
            abort(404)
        try:
            path = svc.media.path(att.clean_key)
        except ValueError:
            abort(404)
        if not path.is_file():
            abort(404)
        voice = att.kind == "voice"
        if not voice or voice_views.first_part():  # a player asks for a voice in parts: one row per listen
            staff_service.audit(s, staff, "view", sub.id, f"{att.kind} {att.id}")
        content_type = att.content_type
    if voice:
        return voice_views.send(path, attachment_id, content_type)
    resp = send_file(path, mimetype="image/jpeg", max_age=0, conditional=False, etag=False)
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Content-Disposition"] = f'inline; filename="photo-{attachment_id}.jpg"'
    return resp
