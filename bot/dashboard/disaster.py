"""Dashboard pages of the disaster conversation (routes on the dashboard blueprint).

- 災情看板 ``/staff/disaster``: the situation board for the EOC (admins, EOC duty staff and the
  section that owns disaster cases): the 10 villages' latest check-in, open S cases by category
  and severity, people trapped or hurt, roads cut, a map; it refreshes itself from
  ``/staff/disaster/board.json``; ``/staff/disaster/export.csv`` is a 災情查報 form.
- The disaster mode (admins): on and off (audited), with the chiefs' check-in requests and the
  switch of the default rich menu.
- 里長綁定 ``/staff/disaster/chiefs`` (admins): issue one-time codes, revoke codes and bindings.
Every POST carries the CSRF token (Flask-WTF protects the whole app).
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import login_required
from redis.exceptions import RedisError
from sqlalchemy import select

from bot import queueing
from bot.dashboard import bp, exports, text
from bot.dashboard.common import me, require_admin
from bot.extensions import get_services
from services import access, clock, disaster, knowledge, richmenu, villages
from services import staff as staff_service
from services.disaster import chiefs
from services.disaster.models import ChiefBinding, ChiefCode, RichMenuRef
from services.line import deploy_rich_menu
from services.models import Submission, utcnow

log = logging.getLogger(__name__)
KIND = "disaster"


def _db():
    return get_services().db


def _words() -> dict:
    return knowledge.load("dashboard")["disaster"]


def _board_staff():
    staff = me()
    if not access.can_view_kind(staff, KIND):
        abort(404)
    return staff


def _visible(staff):
    return access.visible(select(Submission), staff)


def _current_menu(session) -> str | None:
    row = session.execute(select(RichMenuRef).order_by(RichMenuRef.updated_at.desc())).scalars().first()
    return row.name if row else None


# -- the situation board --------------------------------------------------------------------------

@bp.get("/disaster")
@login_required
def disaster_board():
    staff = _board_staff()
    with _db().session() as s:
        data = disaster.board(s, _visible(staff))
        menu = _current_menu(s)
    return render_template("dashboard/disaster_board.html", board=data, menu=menu,
                           menu_label=_words()["menus"].get(menu or "", ""),
                           refresh_s=int(disaster.cfg()["board_refresh_s"]),
                           can_switch=access.is_admin(staff),
                           tile_url=current_app.config["MAP_TILE_URL"],
                           tile_attribution=current_app.config["MAP_TILE_ATTRIBUTION"])


@bp.get("/disaster/board.json")
@login_required
def disaster_board_json():
    staff = _board_staff()
    with _db().session() as s:
        data = disaster.board(s, _visible(staff)).as_json()
    for c in data["cases"]:
        c["url"] = url_for(".case", ref=c["ref"])
    data["updated_at"] = clock.taipei_now().strftime("%H:%M:%S")
    return jsonify(data)


@bp.get("/disaster/export.csv")
@login_required
def disaster_export():
    staff = _board_staff()
    with_phone = access.can_export_personal(staff)
    with _db().session() as s:
        head, body = disaster.export_rows(s, _visible(staff), with_phone)
        staff_service.audit(s, staff, "export", None, f"disaster csv rows={len(body)} phone={int(with_phone)}")
    name = f"zuozhen-disaster-{clock.taipei_now():%Y%m%d-%H%M}.csv"
    resp = Response(exports.to_csv(head, body), content_type="text/csv; charset=utf-8")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp


# -- the disaster mode ----------------------------------------------------------------------------

def _switch_menu(name: str) -> bool:
    """Make ``name`` everyone's rich menu (LINE cannot re-point a menu's image, so it is created anew)."""
    svc = get_services()
    try:
        rich_menu_id = deploy_rich_menu(svc.line, richmenu.request(name), richmenu.image_path(name).read_bytes())
    except Exception as exc:  # LINE down or refusing: the mode still changes; staff can re-apply
        log.warning("rich menu %s not switched: %s", name, type(exc).__name__)
        flash(_words()["flash"]["menu_failed"], "error")
        return False
    with svc.db.session() as s:
        row = s.get(RichMenuRef, name)
        if row is None:
            s.add(RichMenuRef(name=name, rich_menu_id=rich_menu_id, updated_at=utcnow()))
        else:
            row.rich_menu_id, row.updated_at = rich_menu_id, utcnow()
    flash(_words()["flash"]["menu_switched"].format(menu=_words()["menus"][name]), "ok")
    return True


@bp.post("/disaster/mode")
@login_required
def disaster_mode():
    admin = require_admin()
    svc = get_services()
    turn_on = request.form.get("on") == "1"
    if turn_on:
        quota = svc.line.monthly_quota()
        with svc.db.session() as s:
            _period, ids, created = disaster.start_mode(s, admin, request.form.get("name"), quota=quota)
        if not created:
            flash(_words()["flash"]["mode_already_on"], "info")
            return redirect(url_for(".disaster_board"))
        for outbox_id in ids:
            try:
                queueing.enqueue_send(svc, outbox_id)
            except RedisError as exc:  # the sweeper sends what is left unsent
                log.warning("check-in %s not queued: %s", outbox_id, type(exc).__name__)
        flash(_words()["flash"]["mode_on"].format(count=len(ids)), "ok")
        _switch_menu("disaster")
    else:
        with svc.db.session() as s:
            period = disaster.end_mode(s, admin)
        if period is None:
            flash(_words()["flash"]["mode_already_off"], "info")
            return redirect(url_for(".disaster_board"))
        flash(_words()["flash"]["mode_off"], "ok")
        _switch_menu("main")
    return redirect(url_for(".disaster_board"))


@bp.post("/disaster/menu")
@login_required
def disaster_menu():
    """Apply the rich menu that fits the mode again (after LINE refused a switch)."""
    require_admin()
    with _db().session() as s:
        on = disaster.mode_on(s)
    _switch_menu("disaster" if on else "main")
    return redirect(url_for(".disaster_board"))


# -- village chiefs -------------------------------------------------------------------------------

def _chiefs_page(one_time: chiefs.IssuedCode | None = None, errors: list[str] | None = None, status: int = 200):
    now = utcnow()
    with _db().session() as s:
        bindings = list(s.execute(select(ChiefBinding).order_by(ChiefBinding.revoked_at.is_not(None),
                                                                ChiefBinding.village, ChiefBinding.id.desc())
                                  ).scalars())
        codes = list(s.execute(select(ChiefCode).order_by(ChiefCode.created_at.desc(), ChiefCode.id.desc())
                               .limit(50)).scalars())
        today = clock.today(now)
        rows = [{"id": b.id, "village": b.village, "role": chiefs.role_label(b.role),
                 "bound_at": exports.taipei_time(b.bound_at), "term_end": b.term_end.isoformat(),
                 "active": b.revoked_at is None and b.term_end >= today,
                 "revoked_at": exports.taipei_time(b.revoked_at) if b.revoked_at else ""} for b in bindings]
        code_rows = [{"id": c.id, "village": c.village, "role": chiefs.role_label(c.role),
                      "created_at": exports.taipei_time(c.created_at), "expires_at": exports.taipei_time(c.expires_at),
                      "state": chiefs.code_state(c, now),
                      "state_label": _words()["code_states"][chiefs.code_state(c, now)]} for c in codes]
    issued = None
    if one_time is not None:
        issued = {"code": one_time.code, "village": one_time.village, "role": chiefs.role_label(one_time.role),
                  "expires_at": exports.taipei_time(one_time.expires_at)}
    return render_template("dashboard/disaster_chiefs.html", bindings=rows, codes=code_rows, issued=issued,
                           villages=villages.village_names(), roles=chiefs.roles(), errors=errors or [],
                           default_term_end=chiefs.term_end_for(clock.today(now)).isoformat(),
                           hours=int(chiefs.cfg()["chief_codes"]["expiry_hours"])), status


@bp.get("/disaster/chiefs")
@login_required
def disaster_chiefs():
    require_admin()
    return _chiefs_page()


@bp.post("/disaster/chiefs/codes")
@login_required
def disaster_chief_code():
    admin = require_admin()
    village = request.form.get("village", "")
    role = request.form.get("role", "")
    raw_end = (request.form.get("term_end") or "").strip()
    try:
        term_end = dt.date.fromisoformat(raw_end) if raw_end else None
    except ValueError:
        return _chiefs_page(errors=[_words()["errors"]["term_end"]], status=400)
    try:
        with _db().session() as s:
            issued = chiefs.issue(s, current_app.config["SECRET_KEY"], village, role, admin, term_end=term_end)
    except chiefs.ChiefError as exc:
        return _chiefs_page(errors=[_words()["errors"].get(str(exc), text("errors.unknown"))], status=400)
    flash(_words()["flash"]["code_issued"].format(village=issued.village, role=chiefs.role_label(issued.role),
                                                  hours=int(chiefs.cfg()["chief_codes"]["expiry_hours"])), "ok")
    return _chiefs_page(one_time=issued)


@bp.post("/disaster/chiefs/codes/<int(max=2147483647):code_id>/revoke")
@login_required
def disaster_code_revoke(code_id: int):
    admin = require_admin()
    with _db().session() as s:
        done = chiefs.revoke_code(s, code_id, admin)
    flash(_words()["flash"]["code_revoked" if done else "not_found"], "ok" if done else "error")
    return redirect(url_for(".disaster_chiefs"))


@bp.post("/disaster/chiefs/<int(max=2147483647):binding_id>/revoke")
@login_required
def disaster_binding_revoke(binding_id: int):
    admin = require_admin()
    with _db().session() as s:
        done = chiefs.revoke(s, binding_id, admin)
    flash(_words()["flash"]["binding_revoked" if done else "not_found"], "ok" if done else "error")
    return redirect(url_for(".disaster_chiefs"))


@bp.context_processor
def _disaster_nav() -> dict:
    """Whether the nav shows 災情看板 (base.html)."""
    from flask_login import current_user
    user = current_user if current_user and current_user.is_authenticated else None
    return {"can_see_disaster": bool(user and access.can_view_kind(user.staff, KIND))}
