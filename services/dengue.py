"""The dengue domain: symptom words, information topics, reminder subscriptions and what an
anonymous breeding-site report must not keep.

Pure helpers (``symptom_level``, ``info_topic``) read knowledge/dengue.yaml. The actions
(``subscribe``, ``unsubscribe``, ``anonymise``) run inside the event's transaction
(services/actions.py). ``cleanup_anonymous`` runs from the workers' minute tick.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import nlu
from services.actions import ActionContext, ActionResult
from services.knowledge import load, t
from services.messages import Text
from services.models import Attachment, OutboundMessage, Submission, utcnow
from services.models_dengue import DengueAnonCleanup, DengueSubscription
from services.photos import unshared

KIND = "dengue"
CLEANUP_WAIT = dt.timedelta(days=2)  # give up waiting for an unsent message or an unfetched photo
CLOCK_MARGIN = dt.timedelta(minutes=1)


def cfg() -> dict[str, Any]:
    return load("dengue")


# -- symptoms ------------------------------------------------------------------------------------

@functools.cache
def _symptom_words() -> dict[str, tuple[str, ...]]:
    raw = cfg()["symptoms"]
    return {group: tuple(dict.fromkeys(nlu.normalize_word(w) for w in words if w))
            for group, words in raw.items()}


def _mentions(norm: str, group: str) -> bool:
    """A word of the group appears, not right after a negation (沒有發燒)."""
    words = _symptom_words()
    negations, questions = words["negations"], words.get("questions", ())
    for word in words[group]:
        start = 0
        while (i := norm.find(word, start)) >= 0:
            before = norm[max(0, i - 4):i]
            denied = any(before.endswith(n) for n in negations) and not any(before.endswith(q) for q in questions)
            if not denied:
                return True
            start = i + 1
    return False


def symptom_level(text: str) -> str | None:
    """"warning" (go to the emergency room / 119 first), "advice" (see a doctor soon) or None.

    A warning sign counts with a fever (also one going down: 退燒後, 燒退了) or with dengue named;
    an alarming sign counts alone; a fever going down counts with dengue named or a typical sign; a
    fever counts with a typical sign or with dengue named. Never a diagnosis.
    """
    norm = _symptom_text(text)
    if not norm:
        return None
    if _mentions(norm, "alarming"):
        return "warning"
    falling = _mentions(norm, "fever_falling")
    fever = falling or _mentions(norm, "fever")
    dengue = _mentions(norm, "dengue")
    if _mentions(norm, "warning") and (fever or dengue):
        return "warning"
    # Warning signs often come as the fever falls (the critical phase): a fever going down with
    # dengue named or with its signs is answered like a warning sign.
    if falling and (dengue or _mentions(norm, "typical")):
        return "warning"
    if fever and (dengue or _mentions(norm, "typical")):
        return "advice"
    return None


def _symptom_text(text: str) -> str:
    """The normalised text without the phrases that only look like symptoms (退燒藥)."""
    norm = nlu.normalize(text or "")
    for phrase in _symptom_words().get("not_symptoms", ()):
        norm = norm.replace(phrase, "|")
    return norm


def fever_or_dengue(text: str) -> bool:
    """A fever (also one going down) or dengue is named: dengue's warning answers the other signs."""
    norm = _symptom_text(text)
    return bool(norm) and any(_mentions(norm, g) for g in ("fever", "fever_falling", "dengue"))


# -- information ---------------------------------------------------------------------------------

def info_topics() -> list[dict[str, Any]]:
    return list(cfg()["info_topics"])


def topic(topic_id: str) -> dict[str, Any] | None:
    return next((x for x in info_topics() if x["id"] == topic_id), None)


def info_topic(text: str) -> str | None:
    """The information topic a question is about (the first whose words it uses), or None."""
    norm = nlu.normalize(text)
    for entry in info_topics():
        if nlu.has_any(norm, entry["words"]):
            return entry["id"]
    return None


# -- reminder subscriptions (actions) ------------------------------------------------------------

def subscription(session: Session, user_hash: str) -> DengueSubscription | None:
    return session.execute(select(DengueSubscription).where(DengueSubscription.user_hash == user_hash)
                           ).scalar_one_or_none()


def subscribed_village(session: Session, user_id: str) -> str | None:
    """A query: ``None`` when not subscribed, ``""`` for the whole district, else the village."""
    village = session.execute(select(DengueSubscription.village)
                              .where(DengueSubscription.line_user_id == user_id)).first()
    return None if village is None else (village[0] or "")


def subscribe(session: Session, payload: dict[str, Any], ctx: ActionContext) -> ActionResult:
    """Subscribe (or change the village of) the resident; stores the salted hash and the LINE id a
    push needs, and the village (None: the whole district)."""
    if not ctx.user_id or not ctx.user_hash or ctx.chat_type != "user":
        return ActionResult(replies=(Text(t("dengue.subscribe.group")),))
    village = payload.get("village") or None
    row = subscription(session, ctx.user_hash)
    if row is None:
        session.add(DengueSubscription(user_hash=ctx.user_hash, line_user_id=ctx.user_id, village=village))
        key = "dengue.subscribe.done" if village else "dengue.subscribe.done_all"
    else:
        row.line_user_id, row.village = ctx.user_id, village
        key = "dengue.subscribe.updated"
    session.flush()
    name = village or t("dengue.subscribe.all_label")
    return ActionResult(replies=(Text(t(key, village=name)),))


def unsubscribe(session: Session, payload: dict[str, Any], ctx: ActionContext) -> ActionResult:
    """Stop the reminders and delete the subscription row."""
    row = subscription(session, ctx.user_hash) if ctx.user_hash else None
    if row is None:
        return ActionResult(replies=(Text(t("dengue.unsubscribe.none")),))
    session.delete(row)
    session.flush()
    return ActionResult()


def subscriber_counts(session: Session) -> dict[str | None, int]:
    """Subscribers per village (None: the whole district); for the dashboard."""
    from sqlalchemy import func
    rows = session.execute(select(DengueSubscription.village, func.count(DengueSubscription.id))
                           .group_by(DengueSubscription.village)).all()
    return {village: count for village, count in rows}


# -- anonymous reports ---------------------------------------------------------------------------

def anonymous_source_id(secret: str, event_id: str) -> str:
    """What an anonymous case keeps instead of the webhook event id: a keyed hash, so the case
    cannot be joined to the stored event (and through it to the messages sent to the reporter)."""
    return "anon-" + hmac.new(secret.encode(), event_id.encode(), hashlib.sha256).hexdigest()[:40]


def anonymise(session: Session, payload: dict[str, Any], ctx: ActionContext) -> ActionResult:
    """Right after an anonymous case is created, in the same transaction: drop every link to the
    reporter (event id, photos' user hash) and leave the conversation's messages and the photos'
    originals to be cleared once they are sent / fetched."""
    ref = ctx.values.get("ref")
    sub = session.execute(select(Submission).where(Submission.ref == ref)).scalar_one_or_none() if ref else None
    if sub is None or sub.kind != KIND:
        return ActionResult()
    sub.line_user_id = sub.chat_id = sub.phone = None
    sub.source_event_id = anonymous_source_id(str(ctx.config.get("SECRET_KEY", "")), ctx.event_id)
    sub.answers = {**(sub.answers or {}), "anonymous": True}
    photos = [str(p) for p in payload.get("photos") or ()]
    if photos:
        for att in session.execute(select(Attachment).where(Attachment.line_message_id.in_(photos))).scalars():
            att.user_hash = "anonymous"
    try:
        since = dt.datetime.fromtimestamp(float(payload.get("since")), dt.timezone.utc)
    except (TypeError, ValueError):
        since = utcnow() - dt.timedelta(minutes=35)
    session.add(DengueAnonCleanup(chat_id=ctx.chat_id, since=since - CLOCK_MARGIN, photo_ids=photos))
    session.flush()
    return ActionResult()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def cleanup_anonymous(session: Session, now: dt.datetime | None = None) -> list[str]:
    """Clear what anonymous reports left behind, once it is safe: the recipient and texts of the
    messages sent in the conversation (after they are sent), and the photo originals (after they
    are fetched; staff keep the copy without EXIF). Returns the media keys to delete after commit."""
    now = now or utcnow()
    to_delete: list[str] = []
    for row in session.execute(select(DengueAnonCleanup).order_by(DengueAnonCleanup.id).limit(200)).scalars():
        give_up = now - _aware(row.created_at) > CLEANUP_WAIT
        messages = []
        if row.chat_id:
            messages = list(session.execute(select(OutboundMessage).where(
                OutboundMessage.to == row.chat_id, OutboundMessage.created_at >= _aware(row.since),
                OutboundMessage.created_at <= _aware(row.created_at) + CLOCK_MARGIN)).scalars())
        atts = list(session.execute(select(Attachment).where(
            Attachment.line_message_id.in_(list(row.photo_ids or ())))).scalars()) if row.photo_ids else []
        waiting = any(m.status in ("pending", "sending") for m in messages) or \
            any(a.status == "pending" for a in atts)
        if waiting and not give_up:
            continue
        for m in messages:
            if m.status in ("pending", "sending"):
                m.status = "failed"
            m.to, m.reply_token = None, None
            m.messages = [Text(t("dengue.cleared")).to_dict()]
        for a in atts:
            a.user_hash, a.notify_to = "anonymous", None
            if a.original_key:
                to_delete += unshared(session, a.id, a.original_key)  # never another report's file
                a.original_key, a.sha256 = None, None
                session.flush()
        session.delete(row)
    session.flush()
    return to_delete
