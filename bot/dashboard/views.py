"""Dashboard pages. Every page but the login needs a signed-in staff member; every case, photo,
export and action goes through ``services.access``; a case the staff member may not see is a 404.
Views of a case page and photos, every change and every export write an audit row (never with
resident text in it).
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Response, abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from redis.exceptions import RedisError
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from bot.dashboard import auth, bp, exports, text
from bot.dashboard import voice as voice_views
from bot.dashboard.forms import AssignForm, LoginForm, NoteForm, PasswordForm, StaffCreateForm, TransitionForm
from bot.extensions import get_services
from bot.queueing import enqueue_notify
from services import access, clock, faq, kinds, knowledge, villages, welfare, workflow
from services import staff as staff_service
from services.clock import TAIPEI
from services.models import Attachment, AuditLog, Staff, Submission, UnansweredQuestion
from services.submissions import normalize_ref

log = logging.getLogger(__name__)

PAGE_SIZE = 50
MAP_LIMIT = 2000
EXPORT_LIMIT = 20000
USERNAME_RE = re.compile(r"^[a-z0-9._-]{3,40}$")
PUBLIC_ENDPOINTS = {"dashboard.login", "dashboard.static"}
PASSWORD_ENDPOINTS = {"dashboard.password", "dashboard.logout"}


# -- small helpers ------------------------------------------------------------------------------

def _db():
    return get_services().db


def me() -> Staff:
    return current_user.staff


def fmt_time(value: dt.datetime | None) -> str:
    return exports.taipei_time(value)


def kind_label(kind: str | None) -> str:
    return kinds.dashboard_label(kind)


def category_label(kind: str | None, category: str | None) -> str:
    return knowledge.category_label(kind, category)


def category_text(sub: Submission) -> str:
    cat = category_label(sub.kind, sub.category)
    return text("labels.kind_category", kind=kind_label(sub.kind), category=cat) if cat else kind_label(sub.kind)


def place_text(sub: Submission) -> str:
    if sub.place_text:
        return sub.place_text
    if sub.lat is not None and sub.lng is not None:
        return f"{sub.lat:.5f}, {sub.lng:.5f}"
    return ""


def role_label(role: str | None) -> str:
    return knowledge.load("dashboard")["roles"].get(role or "", role or "")


def osm_link(lat: float, lng: float) -> str:
    return f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lng:.6f}#map=18/{lat:.6f}/{lng:.6f}"


def workflow_error_text(exc: Exception) -> str:
    """The zh-TW message for a WorkflowError or StaffError, keyed by the code before ':'."""
    code = str(exc).split(":", 1)[0]
    try:
        return text(f"errors.{code}", min=staff_service.MIN_PASSWORD, max="")
    except KeyError:
        return text("errors.unknown")


def safe_next(target: str | None) -> str | None:
    """Only a path inside the dashboard on this host (no open redirect)."""
    if not target:
        return None
    try:
        parts = urlsplit(target)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
    if parts.scheme not in ("", "http", "https") or (parts.netloc and parts.netloc != request.host):
        return None
    path = parts.path
    if not path.startswith("/staff/") or path.startswith("//") or "\\" in target:
        return None
    if path.startswith(("/staff/logout", "/staff/login")):
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def staff_names(session: Session, ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(session.execute(select(Staff.id, Staff.display_name).where(Staff.id.in_(ids))).all())


@dataclass
class Pager:
    page: int
    total: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def page_arg() -> int:
    value = request.args.get("page", "1")
    if not re.fullmatch(r"[0-9]{1,6}", value):
        return 1
    return max(1, min(int(value), 100000))


def paginate(session: Session, query: Select, order) -> tuple[list, Pager]:
    total = session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    pager = Pager(page_arg(), total)
    pager.page = min(pager.page, pager.pages)
    items = list(session.execute(query.order_by(*order).offset(pager.offset).limit(pager.size)).scalars())
    return items, pager


# -- filters ------------------------------------------------------------------------------------

# Filter values outside these are ignored like any other value the form does not offer: a date
# far from any case (year 1 or 9999 overflow when turned into Taipei or UTC times), an assignee id
# that is not a plain number of at most 9 ASCII digits (``²`` and ``٣`` count as digits for
# str.isdigit, a 30-digit number overflows the database's integer).
FIRST_DATE, LAST_DATE = dt.date(2000, 1, 1), dt.date(2999, 12, 31)
ASSIGNEE_ID_RE = re.compile(r"[0-9]{1,9}")


def _date(value: str | None) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day is not None and FIRST_DATE <= day <= LAST_DATE else None


def all_categories() -> list[tuple[str, str]]:
    """(id, words) of every kind's categories (``<kind>.categories`` in the messages files)."""
    out: dict[str, str] = {}
    for kind in kinds.ids():
        try:
            labels = knowledge.raw(f"{kind}.categories")
        except KeyError:
            continue
        for cat, label in labels.items():
            out.setdefault(cat, label)
    return list(out.items())


@dataclass
class Filters:
    kind: str = ""
    category: str = ""
    status: str = ""
    village: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    assignee: str = ""
    overdue: bool = False
    q: str = ""

    @classmethod
    def from_args(cls, args) -> Filters:
        f = cls()
        kind = args.get("kind", "")
        f.kind = kind if kind in kinds.ids() else ""
        cat = args.get("category", "")
        f.category = cat if cat in dict(all_categories()) else ""
        status = args.get("status", "")
        f.status = status if status in workflow.cfg()["statuses"] or status in ("open", "closed") else ""
        village = args.get("village", "")
        f.village = village if village in villages.village_names() else ""
        f.date_from, f.date_to = _date(args.get("date_from")), _date(args.get("date_to"))
        assignee = args.get("assignee", "")
        f.assignee = assignee if assignee in ("me", "none") or ASSIGNEE_ID_RE.fullmatch(assignee) else ""
        f.overdue = args.get("overdue") in ("1", "on", "true", "y")
        # No control characters (PostgreSQL refuses NUL in text, and the query goes to the audit log).
        f.q = "".join(ch for ch in (args.get("q") or "")[:200]
                      if unicodedata.category(ch)[0] != "C").strip()[:40]
        return f

    def args(self) -> dict[str, str]:
        out = {"kind": self.kind, "category": self.category, "status": self.status, "village": self.village,
               "date_from": self.date_from.isoformat() if self.date_from else "",
               "date_to": self.date_to.isoformat() if self.date_to else "",
               "assignee": self.assignee, "overdue": "1" if self.overdue else "", "q": self.q}
        return {k: v for k, v in out.items() if v}

    def describe(self) -> str:
        """For the audit log: which filters an export used (no resident text)."""
        return " ".join(f"{k}={v}" for k, v in sorted(self.args().items()))[:200]

    def apply(self, query: Select, staff: Staff) -> Select:
        if self.kind:
            query = query.where(Submission.kind == self.kind)
        if self.category:
            query = query.where(Submission.category == self.category)
        if self.status == "open":
            query = query.where(Submission.status.in_(workflow.open_statuses()))
        elif self.status == "closed":
            query = query.where(Submission.status.not_in(workflow.open_statuses()))
        elif self.status:
            query = query.where(Submission.status == self.status)
        if self.village:
            query = query.where(Submission.village == self.village)
        if self.date_from:
            start = dt.datetime.combine(self.date_from, dt.time.min, TAIPEI).astimezone(dt.UTC)
            query = query.where(Submission.created_at >= start)
        if self.date_to:
            end = dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time.min, TAIPEI)
            query = query.where(Submission.created_at < end.astimezone(dt.UTC))
        if self.assignee == "me":
            query = query.where(Submission.assignee_id == staff.id)
        elif self.assignee == "none":
            query = query.where(Submission.assignee_id.is_(None))
        elif self.assignee:
            query = query.where(Submission.assignee_id == int(self.assignee))
        if self.overdue:
            query = query.where(Submission.status.in_(workflow.open_statuses()),
                                Submission.due_date < clock.today())
        if self.q:
            ref = normalize_ref(self.q)
            if ref:
                query = query.where(Submission.ref == ref)
            else:
                # Part of a case number, or words of a voice message's transcript (typed by staff).
                cleaned = re.sub(r"[^A-Z0-9]", "", self.q.upper())
                by_voice = voice_views.transcript_matches(self.q)
                if cleaned:
                    query = query.where(or_(func.replace(Submission.ref, "-", "").contains(cleaned, autoescape=True),
                                            by_voice))
                else:
                    query = query.where(by_voice)
        return query


def visible_cases(staff: Staff, f: Filters | None = None) -> Select:
    query = access.visible(select(Submission), staff)
    return f.apply(query, staff) if f else query


def colleagues(session: Session, staff: Staff) -> list[Staff]:
    """Whom the assignee filter offers: everyone for an admin; else the same team and the admins."""
    query = select(Staff).where(Staff.active.is_(True)).order_by(Staff.display_name)
    if not access.is_admin(staff):
        same_section = Staff.section.is_(None) if staff.section is None else Staff.section == staff.section
        query = query.where(or_(Staff.role == "admin", and_(Staff.role == staff.role, same_section)))
    return list(session.execute(query).scalars())


def filter_choices(session: Session, staff: Staff) -> dict[str, Any]:
    st = workflow.cfg()["statuses"]
    staff_rows = colleagues(session, staff)
    return {
        "kinds": [(k, kind_label(k)) for k in kinds.ids()],
        "categories": all_categories(),
        "statuses": [(k, workflow.status_label(k)) for k in st],
        "villages": list(villages.village_names()),
        "assignees": [(str(s.id), s.display_name) for s in staff_rows],
    }


# -- request hooks ------------------------------------------------------------------------------

@bp.before_request
def _guard():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if auth.session_too_old():
        auth.end_session()
        return current_app.login_manager.unauthorized()
    if me().must_change_password and request.endpoint not in PASSWORD_ENDPOINTS:
        return redirect(url_for(".password"))  # the page itself says why
    return None


def _tile_origin() -> str:
    parts = urlsplit(current_app.config.get("MAP_TILE_URL") or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        host = re.sub(r"\{[a-z]\}", "*", parts.netloc)
        if "{" not in host:
            return f"{parts.scheme}://{host}"
    return "https:"


@bp.after_request
def _headers(resp: Response) -> Response:
    if request.endpoint != "dashboard.static":
        resp.headers["Cache-Control"] = "private, no-store"
        resp.headers["Pragma"] = "no-cache"
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    resp.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data: {_tile_origin()}; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    return resp


@bp.context_processor
def _helpers() -> dict[str, Any]:
    user = current_user if current_user and current_user.is_authenticated else None
    return {
        "me": user.staff if user else None,
        "is_admin": bool(user and access.is_admin(user.staff)),
        "fmt_time": fmt_time,
        "kind_label": kind_label,
        "category_text": category_text,
        "status_label": workflow.status_label,
        "role_label": role_label,
        "place_text": place_text,
    }


@bp.errorhandler(404)
def _not_found(exc):
    return render_template("dashboard/error.html", message=text("errors.page_not_found"), code=404), 404


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


# -- case list, map, exports --------------------------------------------------------------------

@bp.get("/")
@login_required
def home():
    return redirect(url_for(".cases"))


@bp.get("/cases")
@login_required
def cases():
    staff = me()
    f = Filters.from_args(request.args)
    today = clock.today()
    with _db().session() as s:
        rows, pager = paginate(s, visible_cases(staff, f), (Submission.created_at.desc(), Submission.id.desc()))
        open_q = visible_cases(staff).where(Submission.status.in_(workflow.open_statuses()))
        open_count = s.execute(select(func.count()).select_from(open_q.subquery())).scalar_one()
        overdue_q = open_q.where(Submission.due_date < today)
        overdue_count = s.execute(select(func.count()).select_from(overdue_q.subquery())).scalar_one()
        names = staff_names(s, (r.assignee_id for r in rows))
        return render_template(
            "dashboard/cases.html", rows=rows, pager=pager, f=f, args=f.args(), choices=filter_choices(s, staff),
            names=names, overdue={r.id for r in rows if workflow.is_overdue(r, today)},
            voiced=voice_views.voiced(s, [r.id for r in rows]),
            open_count=open_count, overdue_count=overdue_count)


@bp.get("/cases/map")
@login_required
def case_map():
    f = Filters.from_args(request.args)
    with _db().session() as s:
        choices = filter_choices(s, me())
    return render_template("dashboard/map.html", f=f, args=f.args(), choices=choices,
                           tile_url=current_app.config["MAP_TILE_URL"],
                           tile_attribution=current_app.config["MAP_TILE_ATTRIBUTION"])


@bp.get("/cases/map.json")
@login_required
def map_json():
    staff = me()
    f = Filters.from_args(request.args)
    today = clock.today()
    query = visible_cases(staff, f).where(Submission.lat.is_not(None), Submission.lng.is_not(None))
    out = []
    with _db().session() as s:
        subs = list(s.execute(query.order_by(Submission.created_at.desc(), Submission.id.desc())
                              .limit(MAP_LIMIT + 1)).scalars())
        for sub in subs[:MAP_LIMIT]:
            if not access.can_view(staff, sub):
                continue
            out.append({"ref": sub.ref, "lat": round(sub.lat, 6), "lng": round(sub.lng, 6),
                        "kind": sub.kind, "category": category_text(sub), "status": sub.status,
                        "status_label": workflow.status_label(sub.status), "village": sub.village or "",
                        "overdue": workflow.is_overdue(sub, today), "created_at": fmt_time(sub.created_at),
                        "url": url_for(".case", ref=sub.ref)})
    resp = jsonify({"cases": out, "truncated": len(subs) > MAP_LIMIT})
    return resp


def _export_rows(fmt: str) -> tuple[list[str], list[list[str]]]:
    staff = me()
    f = Filters.from_args(request.args)
    with_phone = access.can_export_personal(staff)
    with _db().session() as s:
        subs = [sub for sub in s.execute(visible_cases(staff, f).order_by(Submission.created_at.desc(),
                                                                            Submission.id.desc())
                                         .limit(EXPORT_LIMIT)).scalars()
                if access.can_view(staff, sub)]
        body = exports.rows(s, subs, with_phone, category_text, place_text)
        staff_service.audit(s, staff, "export", None,
                            f"{fmt} rows={len(subs)} phone={int(with_phone)} {f.describe()}".strip())
    return exports.header(with_phone), body


def _download(data: bytes, mimetype: str, ext: str) -> Response:
    name = f"zuozhen-cases-{clock.taipei_now():%Y%m%d-%H%M}.{ext}"
    resp = Response(data, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp


@bp.get("/cases/export.csv")
@login_required
def export_csv():
    head, body = _export_rows("csv")
    return _download(exports.to_csv(head, body), "text/csv; charset=utf-8", "csv")


@bp.get("/cases/export.xlsx")
@login_required
def export_xlsx():
    head, body = _export_rows("xlsx")
    return _download(exports.to_xlsx(head, body),
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")


# -- one case -----------------------------------------------------------------------------------

def load_case(session: Session, ref: str, staff: Staff, for_update: bool = False) -> Submission:
    norm = normalize_ref(ref)
    if not norm:
        abort(404)
    query = select(Submission).where(Submission.ref == norm)
    if for_update:
        query = query.with_for_update()
    sub = session.execute(query).scalar_one_or_none()
    if sub is None or not access.can_view(staff, sub):
        abort(404)
    if for_update and not access.can_change(staff, sub):
        abort(403)
    return sub


def assignable(session: Session, sub: Submission) -> list[Staff]:
    """Active staff who may see the case: its owner section's staff and the admins."""
    rows = session.execute(select(Staff).where(
        Staff.active.is_(True),
        or_(Staff.role == "admin", and_(Staff.role == "section", Staff.section == sub.owner_section)))
        .order_by(Staff.display_name)).scalars()
    return [st for st in rows if access.can_view(st, sub)]


def render_case(session: Session, sub: Submission, staff: Staff, *, tform: TransitionForm | None = None,
                nform: NoteForm | None = None, aform: AssignForm | None = None, error: str | None = None,
                error_form: str | None = None, status: int = 200):
    staff_service.audit(session, staff, "view", sub.id, "case page")
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


def _form_error(form) -> str:
    for errs in form.errors.values():
        if errs:
            return str(errs[0])
    return text("errors.unknown")


@bp.post("/cases/<ref>/transition")
@login_required
def transition(ref: str):
    staff = me()
    form = TransitionForm()
    if not form.validate():
        return _rerender(ref, tform=form, error=_form_error(form), error_form="transition")
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
        return _rerender(ref, nform=form, error=_form_error(form), error_form="note")
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
        return _rerender(ref, aform=form, error=_form_error(form), error_form="assign")
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


# -- unanswered questions -----------------------------------------------------------------------

@bp.get("/questions")
@login_required
def questions():
    show = request.args.get("show", "open")
    show = show if show in ("open", "done", "all") else "open"
    query = select(UnansweredQuestion)
    if show == "open":
        query = query.where(UnansweredQuestion.reviewed.is_(False))
    elif show == "done":
        query = query.where(UnansweredQuestion.reviewed.is_(True))
    base = faq.base()
    with _db().session() as s:
        rows, pager = paginate(s, query, (UnansweredQuestion.created_at.desc(), UnansweredQuestion.id.desc()))
        items = [{"id": q.id, "text": q.text, "label": q.label or "", "reviewed": q.reviewed,
                  "at": fmt_time(q.created_at), "confidence": q.confidence,
                  "guesses": [(base.get(g).title if base.get(g) else str(g)) for g in (q.guesses or [])]}
                 for q in rows]
    return render_template("dashboard/questions.html", items=items, pager=pager, show=show)


@bp.post("/questions/<int(max=2147483647):qid>/done")
@login_required
def question_done(qid: int):
    reviewed = request.form.get("reviewed", "1") != "0"
    with _db().session() as s:
        q = s.get(UnansweredQuestion, qid)
        if q is None:
            abort(404)
        q.reviewed = reviewed
    flash(text("flash.question_done" if reviewed else "flash.question_reopened"), "ok")
    show = request.form.get("show", "open")
    return redirect(url_for(".questions", show=show if show in ("open", "done", "all") else "open"))


# -- admin: audit log and accounts --------------------------------------------------------------

def require_admin() -> Staff:
    staff = me()
    if not access.is_admin(staff):
        abort(404)
    return staff


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
        errors.append(_form_error(form))
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
