"""What the dashboard's pages share: the signed-in staff member, the database, labels and times,
paging, loading one case with the access rules, and the request hooks every page goes through
(sign-in guard, security headers, template helpers, the 404 page).

Every page but the login needs a signed-in staff member; every case, photo, export and action goes
through ``services.access``; a case the staff member may not see is a 404.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Response, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from bot import headers
from bot.dashboard import auth, bp, exports, text
from bot.extensions import get_services
from services import access, kinds, knowledge, workflow
from services import staff as staff_service
from services.models import Staff, Submission
from services.submissions import normalize_ref

PAGE_SIZE = 50
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


# -- one case, by the access rules --------------------------------------------------------------

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


def form_error(form) -> str:
    """The first error message of a form that did not validate."""
    for errs in form.errors.values():
        if errs:
            return str(errs[0])
    return text("errors.unknown")


def require_admin() -> Staff:
    staff = me()
    if not access.is_admin(staff):
        abort(404)
    return staff


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


_tile_origin = headers.tile_origin


@bp.after_request
def _headers(resp: Response) -> Response:
    if request.endpoint != "dashboard.static":
        resp.headers["Cache-Control"] = "private, no-store"
        resp.headers["Pragma"] = "no-cache"
    resp.headers.setdefault("X-Frame-Options", "DENY")
    return headers.secure(resp, "'self'")


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
