"""Questions the bot could not answer, for staff to review (and teach it, on the knowledge pages)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select

from bot.dashboard import bp, text
from bot.dashboard.common import _db, fmt_time, paginate
from services import faq
from services.models import UnansweredQuestion


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
