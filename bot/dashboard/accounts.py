"""Signing in and out, changing one's password, and the admin pages: the audit log and the staff
accounts. Every change writes an audit row.
"""
from __future__ import annotations

import re

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from bot.dashboard import auth, bp, text
from bot.dashboard.common import (_db, fmt_time, form_error, me, paginate, require_admin, role_label, safe_next,
                                  staff_names, workflow_error_text)
from bot.dashboard.forms import LoginForm, PasswordForm, StaffCreateForm
from services import faq, knowledge
from services import staff as staff_service
from services.models import AuditLog, Staff, Submission

USERNAME_RE = re.compile(r"^[a-z0-9._-]{3,40}$")


# -- sign in and out ----------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET" and current_user.is_authenticated and not auth.session_too_old():
        return redirect(url_for(".cases"))
    form = LoginForm()
    nxt = safe_next(request.values.get("next"))
    if request.method == "GET":
        staff_service.dummy_hash()  # made before any refusal needs it, so none takes longer
        return render_template("dashboard/login.html", form=form, next=nxt)
    username = (form.username.data or "").strip().lower()[:40]
    ip = request.remote_addr or "-"
    wait = auth.count_attempt(ip, username)
    if wait is not None:
        resp = Response(render_template("dashboard/login.html", form=form, next=nxt,
                                        error=text("flash.rate_limited", minutes=max(1, -(-wait // 60)))), status=429)
        resp.headers["Retry-After"] = str(wait)
        return resp
    staff = None
    if form.validate():
        with _db().session() as s:
            staff = staff_service.authenticate(s, username, form.password.data or "")
            if staff is not None:
                staff_service.audit(s, staff, "login")
    if staff is None:
        return render_template("dashboard/login.html", form=form, next=nxt, error=text("flash.login_failed"))
    auth.forgive_attempt(ip, username)
    auth.start_session(staff)
    if staff.must_change_password:
        return redirect(url_for(".password"))
    flash(text("flash.logged_in", name=staff.display_name), "ok")
    return redirect(nxt or url_for(".cases"))


@bp.post("/logout")
@login_required
def logout():
    auth.end_session(revoke=True)
    flash(text("flash.logged_out"), "ok")
    return redirect(url_for(".login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    errors: list[str] = []
    if request.method == "POST" and form.validate():
        new = form.new_password.data or ""
        with _db().session() as s:
            staff = s.get(Staff, me().id)
            if not check_password_hash(staff.password_hash, form.current_password.data or ""):
                errors.append(text("errors.password_wrong"))
            elif new != form.new_password2.data:
                errors.append(text("errors.password_mismatch"))
            elif len(new) < staff_service.MIN_PASSWORD:
                errors.append(text("errors.password_short", min=staff_service.MIN_PASSWORD))
            elif check_password_hash(staff.password_hash, new):
                errors.append(text("errors.password_same"))
            else:
                staff_service.set_password(staff, new)
                staff_service.audit(s, staff, "staff", None, "password changed")
        if not errors:
            auth.refresh_identity(staff)
            flash(text("flash.password_changed"), "ok")
            return redirect(url_for(".cases"))
    status = 400 if request.method == "POST" else 200
    return render_template("dashboard/password.html", form=form, errors=errors,
                           min_length=staff_service.MIN_PASSWORD), status

# -- admin: audit log and accounts --------------------------------------------------------------

@bp.get("/audit")
@login_required
def audit_log():
    require_admin()
    action = request.args.get("action", "")
    query = select(AuditLog)
    if action in knowledge.load("dashboard")["audit_actions"]:
        query = query.where(AuditLog.action == action)
    else:
        action = ""
    with _db().session() as s:
        rows, pager = paginate(s, query, (AuditLog.created_at.desc(), AuditLog.id.desc()))
        names = staff_names(s, (r.staff_id for r in rows))
        sub_ids = {r.submission_id for r in rows if r.submission_id}
        refs = dict(s.execute(select(Submission.id, Submission.ref).where(Submission.id.in_(sub_ids))).all()) \
            if sub_ids else {}
        items = [{"at": fmt_time(r.created_at), "staff": names.get(r.staff_id, ""), "action": r.action,
                  "action_label": knowledge.load("dashboard")["audit_actions"].get(r.action, r.action),
                  "ref": refs.get(r.submission_id), "detail": r.detail or ""} for r in rows]
    return render_template("dashboard/audit.html", items=items, pager=pager, action=action,
                           actions=knowledge.load("dashboard")["audit_actions"])


def _staff_page(session: Session, form: StaffCreateForm | None = None, errors: list[str] | None = None,
                one_time: dict | None = None, status: int = 200):
    form = form or StaffCreateForm(formdata=None)
    form.role.choices = [(r, role_label(r)) for r in staff_service.ROLES]
    form.section.choices = [("", "-")] + [(sec, sec) for sec in faq.sections()]
    people = list(session.execute(select(Staff).order_by(Staff.active.desc(), Staff.username)).scalars())
    return render_template("dashboard/staff.html", people=people, form=form, errors=errors or [],
                           one_time=one_time, min_length=staff_service.MIN_PASSWORD), status


@bp.get("/staff")
@login_required
def staff_list():
    require_admin()
    with _db().session() as s:
        return _staff_page(s)


@bp.post("/staff")
@login_required
def staff_create():
    admin = require_admin()
    form = StaffCreateForm()
    errors: list[str] = []
    username = (form.username.data or "").strip().lower()
    role = form.role.data or ""
    section = form.section.data or None
    if not form.validate():
        errors.append(form_error(form))
    elif not USERNAME_RE.match(username):
        errors.append(text("errors.username_invalid"))
    elif role not in staff_service.ROLES:
        errors.append(text("errors.role"))
    with _db().session() as s:
        if not errors:
            try:
                person, pw = staff_service.create(s, username, form.display_name.data or "", role,
                                                  section if role == "section" else None, must_change=True)
                staff_service.audit(s, admin, "staff", None, f"create {person.username} role={person.role}")
                flash(text("flash.staff_created", username=person.username), "ok")
                return _staff_page(s, one_time={"username": person.username, "password": pw})
            except staff_service.StaffError as exc:
                errors.append(workflow_error_text(exc))
        return _staff_page(s, form=form, errors=errors, status=400)


@bp.post("/staff/<int(max=2147483647):staff_id>/active")
@login_required
def staff_active(staff_id: int):
    admin = require_admin()
    active = request.form.get("active") == "1"
    with _db().session() as s:
        person = s.get(Staff, staff_id)
        if person is None:
            abort(404)
        if person.id == admin.id and not active:
            return _staff_page(s, errors=[text("errors.self_deactivate")], status=400)
        person.active = active
        if active:
            person.failed_logins, person.locked_until = 0, None
        staff_service.audit(s, admin, "staff", None, f"{'reactivate' if active else 'deactivate'} {person.username}")
        flash(text("flash.staff_reactivated" if active else "flash.staff_deactivated", username=person.username),
              "ok")
    return redirect(url_for(".staff_list"))


@bp.post("/staff/<int(max=2147483647):staff_id>/reset")
@login_required
def staff_reset(staff_id: int):
    admin = require_admin()
    with _db().session() as s:
        person = s.get(Staff, staff_id)
        if person is None:
            abort(404)
        pw = staff_service.new_password()
        staff_service.set_password(person, pw)
        person.must_change_password = True
        person.failed_logins, person.locked_until = 0, None
        staff_service.audit(s, admin, "staff", None, f"reset password {person.username}")
        flash(text("flash.password_reset", username=person.username), "ok")
        if person.id == admin.id:
            auth.refresh_identity(person)
        return _staff_page(s, one_time={"username": person.username, "password": pw})
