"""The case list: filters, search, paging, the map and the exports (CSV and Excel). Every list
goes through ``services.access``; every export writes an audit row (never with resident text).
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from bot.dashboard import bp, exports
from bot.dashboard import voice as voice_views
from bot.dashboard.common import _db, category_text, fmt_time, kind_label, me, paginate, place_text, staff_names
from services import access, clock, kinds, knowledge, villages, workflow
from services import staff as staff_service
from services.clock import TAIPEI
from services.models import Staff, Submission
from services.submissions import normalize_ref

MAP_LIMIT = 2000
EXPORT_LIMIT = 20000


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
