"""Teaching the bot at ``/staff/knowledge``: edit FAQ entries, publish a colleague's change,
history and undo, the quality loop. The rules live in services/knowledge_edits.py; this module
only reads forms and shows pages (texts in knowledge/dashboard.yaml ``knowledge``).
"""
from __future__ import annotations

import re
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select

from bot.dashboard import bp, text
from bot.dashboard.common import _db, fmt_time, me, require_admin, staff_names
from services.clock import today as today_taipei
from bot.extensions import get_services
from handlers.common import menu_buttons
from services import faq, knowledge, knowledge_edits as edits, knowledge_live, knowledge_stats, welfare
from services.models import Staff, UnansweredQuestion
from services.models_knowledge import KnowledgeReviewer, KnowledgeVersion

SPLIT = re.compile(r"[\n、，,；;]+")
STATUS_CHOICES = faq.STATUSES
EXTRA_FACT_ROWS = 2


def _refresh() -> None:
    knowledge_live.refresh(get_services())


def _words(raw: str, lines_only: bool = False) -> list[str]:
    parts = raw.splitlines() if lines_only else SPLIT.split(raw)
    return [p.strip() for p in parts if p.strip()]


def form_data(form, entry_id: str) -> dict[str, Any]:
    """The entry as the edit form sent it."""
    facts = []
    for i in range(int(form.get("fact_rows") or 0)):
        fact = {k: form.get(f"fact_{k}_{i}", "").strip() for k in ("claim", "status", "source", "applies", "reviewed")}
        if fact["claim"]:
            facts.append(fact)
    data = {"id": entry_id, "title": form.get("title", "").strip(), "section": form.get("section", "").strip(),
            "keywords": _words(form.get("keywords", "")), "questions": _words(form.get("questions", ""), True),
            "answer": form.get("answer", "").replace("\r\n", "\n").strip(), "facts": facts,
            "last_reviewed": form.get("last_reviewed") or today_taipei().isoformat(),
            "review_days": form.get("review_days") or 365, "unverified": form.get("unverified", "").strip()}
    if form.get("screener"):
        data["screener"] = True
    return data


def preview(data: dict[str, Any]) -> dict[str, Any]:
    """The answer exactly as LINE shows it: the text with contacts filled, and the quick replies."""
    try:
        body = faq.entry_from_dict(data).text()
    except (KeyError, ValueError, IndexError, TypeError):
        body = str(data.get("answer", ""))
    buttons = [b.label for b in menu_buttons()]
    return {"text": body, "length": len(body), "max": edits.LINE_TEXT_MAX, "easy": edits.EASY_READ,
            "buttons": buttons, "buttons_max": edits.LINE_QUICK_MAX,
            "long_labels": [b for b in buttons if len(b) > edits.LINE_LABEL_MAX]}


def _problem_texts(found: list[str]) -> list[str]:
    """Problems for clerks: the zh-TW explanation when one is known, the check's line after it."""
    words = knowledge.load("dashboard")["knowledge"]["problems"]
    out = []
    for p in found:
        hint = next((v for k, v in words.items() if k in p), None)
        out.append(text("knowledge.shown.problem", hint=hint, line=p) if hint else p)
    return out


def _edit_page(data: dict[str, Any], *, new: bool, problems: list[str] | None = None, reason: str = "",
               question_id: int | None = None, status: int = 200, enabled: bool = True):
    facts = list(data.get("facts") or []) + [{} for _ in range(EXTRA_FACT_ROWS)]
    with _db().session() as s:
        versions = [] if new else _history_rows(s, data["id"])
    in_seed = faq.seed().get(data["id"]) is not None
    return render_template("dashboard/knowledge/edit.html", data=data, facts=facts, new=new, in_seed=in_seed,
                           problems=_problem_texts(problems or []), reason=reason, question_id=question_id,
                           statuses=STATUS_CHOICES, sections=faq.sections(), versions=versions,
                           preview=preview(data), labels=knowledge.load("dashboard")["knowledge"],
                           enabled=enabled), status


def _history_rows(session, entry_id: str) -> list[dict[str, Any]]:
    rows = edits.history(session, entry_id)
    names = staff_names(session, {r.author_id for r in rows} | {r.reviewer_id for r in rows})
    return [{"id": r.id, "number": r.number, "status": r.status, "enabled": r.enabled, "reason": r.reason,
             "author": names.get(r.author_id, ""), "reviewer": names.get(r.reviewer_id, ""),
             "at": fmt_time(r.created_at), "reviewed_at": fmt_time(r.reviewed_at),
             "restored_from": r.restored_from} for r in rows]


# -- the list ----------------------------------------------------------------------------------

@bp.get("/knowledge")
@login_required
def knowledge_home():
    _refresh()
    q = request.args.get("q", "").strip()
    section = request.args.get("section", "")
    with _db().session() as s:
        live = edits.published_versions(s)
        off = {k for k, v in live.items() if not v.enabled}
        entries = [e for e in faq.base().entries if (not section or e.section == section)
                   and (not q or q in e.title or q in e.answer or any(q in w for w in e.keywords))]
        switched_off = [edits.live(s, k)[0] for k in sorted(off)]
        pending = _draft_rows(s)
        weeks = knowledge_stats.weekly(s)
        top = knowledge_stats.top_unanswered(s)
        reviewers = _reviewers(s) if _is_admin() else []
        staff_list = list(s.execute(select(Staff).where(Staff.active.is_(True)).order_by(Staff.username)).scalars()) \
            if _is_admin() else []
        staff_choices = [(p.id, p.display_name) for p in staff_list]
    return render_template("dashboard/knowledge/index.html", entries=entries, q=q, section=section,
                           sections=faq.sections(), edited=set(live), switched_off=switched_off, pending=pending,
                           weeks=weeks, chart=knowledge_stats.chart(weeks), top=top, reviewers=reviewers,
                           staff_choices=staff_choices)


def _is_admin() -> bool:
    return me().role == "admin" and me().active


def _draft_rows(session) -> list[dict[str, Any]]:
    rows = edits.drafts(session)
    names = staff_names(session, {r.author_id for r in rows})
    return [{"id": r.id, "entry_id": r.entry_id, "title": r.data.get("title"), "number": r.number,
             "reason": r.reason, "author": names.get(r.author_id, ""), "at": fmt_time(r.created_at),
             "enabled": r.enabled, "can_publish": edits.publish_refusal(session, me(), r) is None} for r in rows]


def _reviewers(session) -> list[dict[str, Any]]:
    rows = list(session.execute(select(KnowledgeReviewer)).scalars())
    names = staff_names(session, {r.staff_id for r in rows})
    return [{"staff_id": r.staff_id, "name": names.get(r.staff_id, ""), "section": r.section} for r in rows]


# -- editing -----------------------------------------------------------------------------------

@bp.get("/knowledge/entry/<entry_id>")
@login_required
def knowledge_entry(entry_id: str):
    _refresh()
    with _db().session() as s:
        data, enabled, _ = edits.live(s, entry_id)
        written = edits.history(s, entry_id)
    if data is None and not written:
        abort(404)
    # A new entry not published yet: its newest draft.
    return _edit_page(data or dict(written[0].data), new=False, enabled=enabled or data is None)


@bp.get("/knowledge/new")
@login_required
def knowledge_new():
    section = request.args.get("section") or me().section or faq.sections()[0]
    qid = request.args.get("question", type=int)
    questions = []
    with _db().session() as s:
        if qid:
            q = s.get(UnansweredQuestion, qid)
            questions = [q.text] if q else []
        entry_id = edits.new_entry_id(s, section)
    data = {"id": entry_id, "title": "", "section": section, "keywords": [], "questions": questions,
            "answer": "", "facts": [], "last_reviewed": today_taipei().isoformat(), "review_days": 365}
    return _edit_page(data, new=True, question_id=qid)


@bp.post("/knowledge/entry/<entry_id>")
@login_required
def knowledge_save(entry_id: str):
    new = request.form.get("new") == "1"
    data = form_data(request.form, entry_id)
    reason = request.form.get("reason", "")
    qid = request.form.get("question_id", type=int)
    if request.form.get("action") == "preview":
        # The LINE preview and the checks of the form as it is, nothing saved.
        return _edit_page(data, new=new, problems=edits.problems(data, today_taipei()), reason=reason,
                          question_id=qid)
    with _db().session() as s:
        if new and edits.live(s, entry_id)[0] is not None:
            abort(409)
        try:
            v = edits.save_draft(s, me(), data, reason, question_id=qid, today=today_taipei())
            v.effect = knowledge_live.effect(s, v.data)
            vid = v.id
        except edits.EditError as exc:
            s.rollback()
            return _edit_page(data, new=new, problems=exc.problems, reason=reason, question_id=qid, status=400)
        except PermissionError:
            abort(403)
    flash(text("knowledge.flash.saved"), "ok")
    return redirect(url_for(".knowledge_version", vid=vid))


@bp.get("/questions/<int(max=2147483647):qid>/teach")
@login_required
def question_teach(qid: int):
    """Choose the entry a question is an example of: the bot's own guesses first, then every entry."""
    with _db().session() as s:
        q = s.get(UnansweredQuestion, qid)
        if q is None:
            abort(404)
        question = {"id": q.id, "text": q.text}
        guesses = [(g, faq.base().get(g).title) for g in (q.guesses or []) if faq.base().get(g)]
    return render_template("dashboard/knowledge/teach.html", q=question, guesses=guesses, choices=entry_choices())


@bp.post("/questions/<int(max=2147483647):qid>/example")
@login_required
def question_as_example(qid: int):
    """「加為這個問答的例句」: a draft of the chosen entry with the question as one more example."""
    entry_id = request.form.get("entry_id", "")
    with _db().session() as s:
        q = s.get(UnansweredQuestion, qid)
        if q is None:
            abort(404)
        try:
            data = edits.with_example(s, entry_id, q.text)
            v = edits.save_draft(s, me(), data, text("knowledge.reason_example"), question_id=qid,
                                 today=today_taipei())
            v.effect = knowledge_live.effect(s, v.data)
            vid = v.id
        except LookupError:
            abort(404)
        except PermissionError:
            flash(text("knowledge.flash.not_your_section"), "error")
            return redirect(url_for(".questions"))
        except edits.EditError as exc:
            s.rollback()
            flash(" ".join(_problem_texts(exc.problems)), "error")
            return redirect(url_for(".questions"))
    flash(text("knowledge.flash.saved"), "ok")
    return redirect(url_for(".knowledge_version", vid=vid))


# -- a version: preview, effect, publish -------------------------------------------------------

@bp.get("/knowledge/v/<int(max=2147483647):vid>")
@login_required
def knowledge_version(vid: int):
    with _db().session() as s:
        v = s.get(KnowledgeVersion, vid)
        if v is None:
            abort(404)
        current, _, _ = edits.live(s, v.entry_id)
        refusal = edits.publish_refusal(s, me(), v)
        names = staff_names(s, {v.author_id, v.reviewer_id})
        row = {"id": v.id, "entry_id": v.entry_id, "number": v.number, "status": v.status, "enabled": v.enabled,
               "reason": v.reason, "author": names.get(v.author_id, ""), "reviewer": names.get(v.reviewer_id, ""),
               "at": fmt_time(v.created_at), "data": dict(v.data), "effect": v.effect or {},
               "restored_from": v.restored_from, "own": v.author_id == me().id}
        problems = edits.problems(v.data, today_taipei()) if v.enabled else []
    changes = _changes(current or {}, row["data"])
    return render_template("dashboard/knowledge/version.html", v=row, preview=preview(row["data"]),
                           changes=changes, is_new=current is None, refusal=refusal, problems=_problem_texts(problems),
                           labels=knowledge.load("dashboard")["knowledge"])


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field, before, after) of the fields that differ, as clerks read them."""
    return [(k, _shown(old.get(k)), _shown(new.get(k))) for k in edits.FIELDS if old and old.get(k) != new.get(k)]


def _shown(value: Any) -> str:
    if value in (None, "", []):
        return text("knowledge.shown.none")
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return "\n".join(text("knowledge.shown.fact", claim=f.get("claim", ""), status=f.get("status", ""),
                               source=f.get("source") or text("knowledge.shown.no_source")) for f in value)
    if isinstance(value, list):
        return text("knowledge.shown.separator").join(str(v) for v in value)
    return str(value)


@bp.post("/knowledge/v/<int(max=2147483647):vid>/publish")
@login_required
def knowledge_publish(vid: int):
    svc = get_services()
    with svc.db.session() as s:
        try:
            draft = s.get(KnowledgeVersion, vid)
            if draft is not None and draft.status == "draft":
                # Measured again: other changes may have been published since the draft was saved.
                draft.effect = knowledge_live.effect(s, dict(draft.data), draft.enabled)
                if draft.effect["worse"]:
                    raise PermissionError("worse")
            v = edits.publish(s, me(), vid, today_taipei())
            entry_id = v.entry_id
        except LookupError:
            abort(404)
        except PermissionError as exc:
            flash(text(f"knowledge.refuse.{exc.args[0]}"), "error")
            return redirect(url_for(".knowledge_version", vid=vid))
        except edits.EditError as exc:
            s.rollback()
            flash(" ".join(_problem_texts(exc.problems)), "error")
            return redirect(url_for(".knowledge_version", vid=vid))
    with svc.db.session() as s:
        knowledge_live.announce(svc.redis, s)
    knowledge_live.refresh(svc)
    flash(text("knowledge.flash.published"), "ok")
    return redirect(url_for(".knowledge_entry", entry_id=entry_id))


@bp.post("/knowledge/v/<int(max=2147483647):vid>/reject")
@login_required
def knowledge_reject(vid: int):
    with _db().session() as s:
        try:
            edits.reject(s, me(), vid)
        except LookupError:
            abort(404)
        except PermissionError:
            abort(403)
    flash(text("knowledge.flash.rejected"), "ok")
    return redirect(url_for(".knowledge_home"))


def _new_draft(make, back: str):
    """Write a new draft with ``make(session)``, then show it; an unknown entry is 404, a change this
    person may not make 403, and a draft that fails the checks goes ``back`` with the problems."""
    with _db().session() as s:
        try:
            new_id = make(s).id
        except LookupError:
            abort(404)
        except PermissionError:
            abort(403)
        except edits.EditError as exc:
            s.rollback()
            flash(" ".join(_problem_texts(exc.problems)), "error")
            return redirect(back)
    flash(text("knowledge.flash.saved"), "ok")
    return redirect(url_for(".knowledge_version", vid=new_id))


@bp.post("/knowledge/v/<int(max=2147483647):vid>/restore")
@login_required
def knowledge_restore(vid: int):
    def make(s):
        new = edits.restore(s, me(), vid, request.form.get("reason") or text("knowledge.reason_restore"))
        new.effect = knowledge_live.effect(s, new.data, new.enabled)
        return new
    return _new_draft(make, url_for(".knowledge_version", vid=vid))


@bp.post("/knowledge/entry/<entry_id>/seed")
@login_required
def knowledge_restore_seed(entry_id: str):
    """A draft bringing back the entry as knowledge/faq/*.yaml has it."""
    def make(s):
        new = edits.restore_seed(s, me(), entry_id, text("knowledge.reason_seed"))
        new.effect = knowledge_live.effect(s, new.data)
        return new
    return _new_draft(make, url_for(".knowledge_entry", entry_id=entry_id))


@bp.post("/knowledge/entry/<entry_id>/switch")
@login_required
def knowledge_switch(entry_id: str):
    enabled = request.form.get("enabled") == "1"
    reason = request.form.get("reason") or text("knowledge.reason_on" if enabled else "knowledge.reason_off")
    return _new_draft(lambda s: edits.switch(s, me(), entry_id, enabled, reason),
                      url_for(".knowledge_entry", entry_id=entry_id))


# -- read-only rules, reviewers ----------------------------------------------------------------

@bp.get("/knowledge/rules")
@login_required
def knowledge_rules():
    import yaml
    safety_text = yaml.safe_dump(knowledge.load("safety"), allow_unicode=True, sort_keys=False)
    params = []
    for path in sorted(welfare.PARAMS_DIR.glob("*.yaml")):
        params.append((path.stem, path.read_text(encoding="utf-8")))
    return render_template("dashboard/knowledge/rules.html", safety_text=safety_text, params=params)


@bp.post("/knowledge/reviewers")
@login_required
def knowledge_reviewers():
    require_admin()
    staff_id = request.form.get("staff_id", type=int)
    section = request.form.get("section", "")
    with _db().session() as s:
        if staff_id is None or s.get(Staff, staff_id) is None or section not in faq.sections():
            abort(400)
        row = s.get(KnowledgeReviewer, (staff_id, section))
        if request.form.get("remove") == "1":
            if row is not None:
                s.delete(row)
        elif row is None:
            s.add(KnowledgeReviewer(staff_id=staff_id, section=section))
    flash(text("knowledge.flash.reviewers"), "ok")
    return redirect(url_for(".knowledge_home"))


def entry_choices() -> list[tuple[str, str]]:
    """(id, title) of every live entry, for the questions page's 「加為例句」 select."""
    return sorted(((e.id, text("knowledge.shown.choice", title=e.title, section=e.section)) for e in faq.base().entries),
                  key=lambda p: p[1])
