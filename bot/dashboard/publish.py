"""The case page's 公開 switch: a staff member who may change a case of a published kind
(knowledge/kinds.yaml ``open_data``) publishes its description, place text and photos in the
Open311 API and on /public, or takes them back. Every switch is audited (docs/open311.md).
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import login_required

from bot.dashboard import bp, text
from bot.dashboard.common import _db, load_case, me
from services import open311
from services import staff as staff_service


@bp.app_context_processor
def _publish_helpers() -> dict:
    return {"open_data_case": open311.publishable}


@bp.post("/cases/<ref>/public")
@login_required
def set_public(ref: str):
    staff = me()
    on = request.form.get("public") == "1"
    with _db().session() as s:
        sub = load_case(s, ref, staff, for_update=True)
        if not open311.publishable(sub):
            abort(404)
        if open311.set_public(s, sub, staff, on):
            staff_service.audit(s, staff, "change", sub.id, "public on" if on else "public off")
        sub_ref = sub.ref
    flash(text("publish.published" if on else "publish.unpublished", ref=sub_ref), "ok")
    return redirect(url_for(".case", ref=sub_ref))
