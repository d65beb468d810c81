"""Voice messages on the dashboard: the case page's players, the audio itself, the transcript.

A voice message is served by the same route as photos (``/staff/media/<id>``, the same rule: only
to staff who may see its case, an audit row, never cached, never in exports or public pages), as
``audio/mp4`` with range requests (an ``<audio>`` element asks for it in parts; one audit row per
listen). Nothing transcribes it: staff who may change the case type what it says into its
transcript, shown beside the player and found by the case list's search.
"""
from __future__ import annotations

from pathlib import Path

from flask import abort, flash, redirect, request, send_file, url_for
from flask_login import login_required
from sqlalchemy import exists, select

from bot.dashboard import bp, text
from bot.dashboard.common import _db, load_case, me
from bot.dashboard.forms import TranscriptForm
from services import staff as staff_service
from services.models import Attachment, Submission

AUDIO_TYPES = ("audio/mp4", "audio/x-m4a", "audio/m4a", "audio/aac")


def for_case(sub: Submission) -> list[dict]:
    """The stored voice messages of a case, oldest first, as the case page shows them."""
    rows = sorted((a for a in sub.attachments if a.kind == "voice" and a.status == "stored" and a.clean_key),
                  key=lambda a: a.id)
    return [{"id": a.id, "n": i, "seconds": round(a.duration_ms / 1000) if a.duration_ms else None,
             "transcript": a.transcript or "", "form": TranscriptForm(formdata=None, transcript=a.transcript or "")}
            for i, a in enumerate(rows, 1)]


def missing(sub: Submission) -> int:
    """Voice messages still being fetched, gone at LINE or removed (kept period over)."""
    return len([a for a in sub.attachments if a.kind == "voice" and a.status not in ("stored", "unsent")])


def voiced(session, ids: list[int]) -> set[int]:
    """Which of these cases have a voice message staff can hear (the case list's 🔊)."""
    if not ids:
        return set()
    return set(session.execute(select(Attachment.submission_id).where(
        Attachment.submission_id.in_(ids), Attachment.kind == "voice", Attachment.status == "stored")).scalars())


def transcript_matches(words: str):
    """A case-list condition: a voice message of the case whose transcript holds ``words``."""
    return exists().where(Attachment.submission_id == Submission.id, Attachment.kind == "voice",
                          Attachment.transcript.contains(words, autoescape=True))


def first_part() -> bool:
    """Whether this request starts a listen (no range, or a range from the first byte)."""
    rng = request.range
    return rng is None or not rng.ranges or rng.ranges[0][0] == 0


def send(path: Path, attachment_id: int, content_type: str | None):
    mimetype = content_type if content_type in AUDIO_TYPES else "audio/mp4"
    resp = send_file(path, mimetype=mimetype, max_age=0, conditional=True, etag=False)
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Content-Disposition"] = f'inline; filename="voice-{attachment_id}.m4a"'
    return resp


@bp.post("/cases/<ref>/voice/<int(max=2147483647):attachment_id>/transcript")
@login_required
def voice_transcript(ref: str, attachment_id: int):
    staff = me()
    form = TranscriptForm()
    with _db().session() as s:
        sub = load_case(s, ref, staff, for_update=True)  # 404 unless seen, 403 unless it may be changed
        att = s.get(Attachment, attachment_id)
        if att is None or att.submission_id != sub.id or att.kind != "voice":
            abort(404)
        if not form.validate():
            flash(text("flash.transcript_too_long"), "error")
            return redirect(url_for(".case", ref=sub.ref) + f"#voice-{attachment_id}")
        att.transcript = (form.transcript.data or "").strip() or None
        staff_service.audit(s, staff, "change", sub.id, f"transcript voice {att.id}")
        sub_ref = sub.ref
    flash(text("flash.transcript_saved"), "ok")
    return redirect(url_for(".case", ref=sub_ref) + f"#voice-{attachment_id}")
