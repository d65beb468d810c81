"""Process one stored event: route it, perform the outcome, reply.

Order of effects, so that nothing is promised before it is true:
1. under the conversation's lock, load the state and ask the router (pure);
2. in one transaction: create the case (its number exists only now), add a follower,
   record photos to fetch, write the outgoing messages, mark the event processed and
   drop its raw text;
3. after the commit: save or clear the state, enqueue photo downloads, send.
A second run of the same event finds it processed and only sends what is unsent.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from contextlib import nullcontext
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from bot import logs, queueing
from bot.events import rejection, to_incoming
from bot.extensions import Services
from handlers.flow import Incoming, Outcome
from handlers.router import route
from services import actions, metrics, photos, submissions
from services.knowledge import t
from services.line import DeliveryError
from services.messages import Text
from services import knowledge_live
from services.models import Attachment, InboundEvent, LineUser, OutboundMessage, UnansweredQuestion, as_utc, utcnow

log = logging.getLogger(__name__)


class DbContext:
    """The read-only look-ups handlers may ask for, backed by the database."""

    def __init__(self, svc: Services):
        self.svc = svc

    def nearby_open_cases(self, kind, category, lat, lng, radius_m, days):
        with self.svc.db.session() as s:
            return submissions.nearby_open(s, kind, category, lat, lng, radius_m, days)

    def my_cases(self, user_id):
        with self.svc.db.session() as s:
            return submissions.cases_for_user(s, user_id)

    def my_case(self, user_id, ref):
        with self.svc.db.session() as s:
            return submissions.case_for_user(s, user_id, ref)

    def query(self, name, **kwargs):
        func = actions.resolve(name)
        with self.svc.db.session() as s:
            return func(s, **kwargs)


def process_event(svc: Services, row_id: int) -> None:
    with svc.db.session() as s:
        ev = s.get(InboundEvent, row_id)
        if ev is None:
            return
        if ev.status != "received":
            pending = _pending_outbox(s, row_id)
        else:
            pending = None
            ev.attempts += 1
            raw = json.loads(ev.payload or "{}")
            received_at = ev.received_at
    if pending is not None:
        for ob_id in pending:
            send_outbox(svc, ob_id)
        return
    # The webhook's request id (bot/logs.py) goes on this event's log lines and its jobs' meta.
    with logs.bound(raw.pop(logs.EVENT_KEY, None)):
        _handle(svc, row_id, raw, received_at)


def _handle(svc: Services, row_id: int, raw: dict[str, Any], received_at) -> None:
    inc = _readable(svc, row_id, raw)
    if inc is None:
        return
    rate = _rate(svc, inc)
    if rate == "quiet":
        _finish(svc, row_id)
        return
    knowledge_live.refresh(svc)  # edits published in the dashboard since the last message (issue 16)
    committed = _answer(svc, row_id, raw, inc, rate, received_at)
    if committed is not None:
        _deliver(svc, *committed)


def _readable(svc: Services, row_id: int, raw: dict[str, Any]) -> Incoming | None:
    """The event as the handlers read it, or None when it is finished here (rejected, an unsend, an
    unfollow, or nothing to answer)."""
    reason = rejection(raw)
    if reason is not None:
        log.warning("event %s not readable by the SDK (%s); kept as failed", raw.get("webhookEventId"), reason)
        metrics.event("rejected")
        apology = _fail(svc, row_id, raw, reason)
        if apology is not None:
            send_outbox(svc, apology)
        return None
    inc = to_incoming(raw, checked=True)
    log.info("event %s kind=%s", inc.event_id, inc.kind)  # no user, not even hashed: anonymous reports stay anonymous
    if inc.kind == "unsend":
        _forget_message(svc, inc.message_id)
        _finish(svc, row_id)
        return None
    if inc.kind in ("unfollow", "follow"):
        _set_blocked(svc, inc.user_id, inc.kind == "unfollow")
        if inc.kind == "unfollow":
            _finish(svc, row_id)
            return None
    # A group member whose LINE sends no user id (LINE for desktop) is answered with what needs no
    # user (handlers/group.py): no conversation, so no lock and no state.
    anonymous = not inc.user_id
    if inc.kind == "other" or not inc.chat_id or (anonymous and inc.chat_type == "user"):
        _finish(svc, row_id, "ignored")
        return None
    return inc


def _answer(svc: Services, row_id: int, raw: dict[str, Any], inc: Incoming, rate: str,
            received_at) -> tuple[int | None, list[int], list[int]] | None:
    """Under the conversation's lock: route, commit, then save or clear the state. None when another
    worker finished this event first."""
    anonymous = not inc.user_id
    with nullcontext() if anonymous else svc.state.lock(inc.chat_id, inc.user_id):
        state = None if anonymous else svc.state.load(inc.chat_id, inc.user_id)
        if rate == "notice":
            outcome = Outcome(replies=(Text(t("common.slow_down")),), keep_state=True)
        else:
            if _slow(state, inc):
                svc.line.show_loading(inc.chat_id, 10)
            outcome = route(state, inc, DbContext(svc), time.time())
            metrics.routed(outcome.question)
        if anonymous:  # the router gives none of these without a user; never act for "nobody"
            outcome = replace(outcome, state=None, keep_state=True, media=(), submission=None, follow_ref=None,
                              actions=())
        buttons = _closing_buttons(svc, state, inc, outcome)
        committed = _commit(svc, row_id, raw, inc, outcome, received_at, buttons)
        if committed is None:
            return None  # another worker finished this event first
        metrics.event("processed")
        if outcome.state is not None:
            svc.state.save(inc.chat_id, inc.user_id, outcome.state)
        elif not outcome.keep_state:
            svc.state.clear(inc.chat_id, inc.user_id)
    return committed


def _deliver(svc: Services, outbox_id: int | None, attachment_ids: list[int], push_ids: list[int]) -> None:
    """After the lock: fetch the media, send the reply, then the pushes (the sweeper retries those)."""
    for att_id in attachment_ids:
        queueing.enqueue_media(svc, att_id)
    if outbox_id is not None:
        send_outbox(svc, outbox_id)
    for push_id in push_ids:
        try:
            send_outbox(svc, push_id)
        except DeliveryError:
            log.warning("push %s will be retried by the sweeper", push_id)


def _slow(state: dict[str, Any] | None, inc: Incoming) -> bool:
    """Steps that read or write the database: worth the typing indicator in 1:1 chats."""
    return inc.chat_type == "user" and (inc.kind == "location" or bool(state and state.get("step") == "confirm"))


def _closing_buttons(svc: Services, state: dict[str, Any] | None, inc: Incoming, outcome: Outcome) -> tuple:
    """The menu's buttons for an answer after which no conversation is going on (a receipt, a
    subscription, a call-back's confirmation), so that an elder always has something to tap next.
    Asked before the transaction (the disaster mode decides which menu)."""
    ends = outcome.state is None and (not outcome.keep_state or not state)
    if inc.chat_type != "user" or not ends or not (outcome.replies or outcome.actions):
        return ()
    from handlers.common import menu_buttons
    return menu_buttons(ctx=DbContext(svc))


def _commit(svc: Services, row_id: int, raw: dict[str, Any], inc: Incoming, outcome: Outcome,
            received_at: dt.datetime, buttons: tuple = ()) -> tuple[int | None, list[int], list[int]] | None:
    with svc.db.session() as s:
        ev = s.execute(select(InboundEvent).where(InboundEvent.id == row_id).with_for_update()).scalar_one()
        if ev.status != "received":
            return None
        values: dict[str, str] = {}
        if outcome.submission is not None:
            sub = submissions.create(s, outcome.submission)
            values["ref"] = sub.ref
            log.info("event %s stored case %s", inc.event_id, sub.ref)
        if outcome.follow_ref and inc.user_id:
            submissions.follow(s, outcome.follow_ref, inc.user_id, inc.event_id)
        attachment_ids = _store_media(svc, s, inc, outcome)
        if outcome.question:
            s.add(_unanswered(outcome.question))
        planned, push_rows = _run_actions(svc, s, ev, inc, outcome, values)
        outbox_id = None
        replies = _final_replies(raw, inc, planned, values, buttons)
        if replies:
            ob = OutboundMessage(event_id=ev.id, to=inc.chat_id, reply_token=raw.get("replyToken"),
                                 messages=[r.to_dict() for r in replies], event_ts=ev.event_ts,
                                 received_at=received_at)
            s.add(ob)
            s.flush()
            outbox_id = ob.id
        ev.status = "processed"
        ev.payload = None  # keep no message text once it has been handled
        ev.processed_at = utcnow()
        s.flush()
        push_ids = [p.id for p in push_rows]
    return outbox_id, attachment_ids, push_ids


def _store_media(svc: Services, s, inc: Incoming, outcome: Outcome) -> list[int]:
    """An attachment row for each photo or voice message the outcome keeps (new ones only): their ids."""
    ins = postgresql.insert if svc.db.engine.dialect.name == "postgresql" else sqlite.insert
    attachment_ids = []
    for message_id in outcome.media:
        voice = inc.kind == "audio" and message_id == inc.message_id  # media ids come from this message
        row = s.execute(ins(Attachment).values(
            line_message_id=message_id, user_hash=svc.user_hash(inc.user_id), status="pending",
            notify_to=inc.chat_id, created_at=utcnow(), kind="voice" if voice else "photo",
            duration_ms=inc.duration_ms if voice else None).on_conflict_do_nothing(index_elements=["line_message_id"])
            .returning(Attachment.id)).first()
        if row is not None:
            attachment_ids.append(row[0])
    return attachment_ids


def _run_actions(svc: Services, s, ev: InboundEvent, inc: Incoming, outcome: Outcome,
                 values: dict[str, str]) -> tuple[tuple, list[OutboundMessage]]:
    """Run the outcome's actions in order (each sees the values of those before; ``values`` grows):
    the replies to send (an action may replace them) and the pushes added."""
    planned = outcome.replies
    push_rows = []
    for action in outcome.actions:
        actx = actions.ActionContext(event_id=inc.event_id, user_id=inc.user_id,
                                     user_hash=svc.user_hash(inc.user_id) if inc.user_id else None,
                                     chat_id=inc.chat_id, chat_type=inc.chat_type, config=svc.config,
                                     values=dict(values))
        result = actions.run(action.name, s, action.payload, actx)
        values.update(result.values)
        if result.replies is not None:
            planned = result.replies
        for to, texts in result.pushes:
            push = OutboundMessage(event_id=ev.id, kind="push", to=to, reply_token=None,
                                   messages=[r.to_dict() for r in texts])
            s.add(push)
            push_rows.append(push)
    return planned, push_rows


def _final_replies(raw: dict[str, Any], inc: Incoming, planned, values: dict[str, str], buttons: tuple) -> list:
    """The replies with the values filled in, the menu's buttons under the last, and in a group the
    member's message quoted by the first."""
    replies = [r.fill(**values) for r in planned]
    if buttons and replies and not replies[-1].quick_replies and replies[-1].flex is None:
        replies[-1] = replace(replies[-1], quick_replies=buttons)
    quote = (raw.get("message") or {}).get("quoteToken") if inc.chat_type != "user" else None
    if quote and replies and replies[0].flex is None and not replies[0].quote_token:
        replies[0] = replace(replies[0], quote_token=quote)  # in a group, answer by quoting the message
    return replies


_LONG_DIGITS = re.compile(r"\d[\d\s\-]{5,}\d")
_USER_ID = re.compile(r"U[0-9a-f]{32}")


def _unanswered(q: dict[str, Any]) -> UnansweredQuestion:
    """The question as staff may review it: no user id, phone-like numbers masked."""
    text = _LONG_DIGITS.sub("＊＊＊", q["text"])[:500]
    return UnansweredQuestion(text=text, label=q.get("label"), guesses=list(q.get("guesses") or []),
                              confidence=q.get("confidence"))


def _pending_outbox(s, row_id: int) -> list[int]:
    return list(s.execute(select(OutboundMessage.id).where(OutboundMessage.event_id == row_id,
                                                            OutboundMessage.status.in_(("pending", "sending"))))
                .scalars())


def _finish(svc: Services, row_id: int, outcome: str = "processed") -> None:
    with svc.db.session() as s:
        ev = s.get(InboundEvent, row_id)
        if ev is not None and ev.status == "received":
            ev.status = "processed"
            ev.payload = None
            ev.processed_at = utcnow()
            metrics.event(outcome)


def _fail(svc: Services, row_id: int, raw: dict[str, Any], reason: str) -> int | None:
    """An event the SDK's models reject: kept as ``failed`` with the reason and without its
    content (counted in /readyz and the staff digest). A resident who wrote in a 1:1 chat is
    told that the message was not handled, with the office phone; returns that message's id."""
    with svc.db.session() as s:
        ev = s.execute(select(InboundEvent).where(InboundEvent.id == row_id).with_for_update()).scalar_one_or_none()
        if ev is None or ev.status != "received":
            return None
        ev.status, ev.payload, ev.processed_at, ev.last_error = "failed", None, utcnow(), reason[:200]
        source = raw.get("source") if isinstance(raw.get("source"), dict) else {}
        user, token = source.get("userId"), raw.get("replyToken")
        if (source.get("type") != "user" or not isinstance(user, str) or not _USER_ID.fullmatch(user)
                or raw.get("type") not in ("message", "postback")):
            return None
        ob = OutboundMessage(event_id=row_id, to=user,
                             reply_token=token if isinstance(token, str) and len(token) <= 64 else None,
                             messages=[Text(t("common.sorry_failed")).to_dict()], event_ts=ev.event_ts,
                             received_at=ev.received_at)
        s.add(ob)
        s.flush()
        return ob.id


def _set_blocked(svc: Services, user_id: str | None, blocked: bool) -> None:
    if not user_id:
        return
    key = svc.user_hash(user_id)
    with svc.db.session() as s:
        row = s.get(LineUser, key)
        if row is None:
            s.add(LineUser(user_hash=key, blocked=blocked))
        else:
            row.blocked = blocked


def _forget_message(svc: Services, message_id: str | None) -> None:
    """An unsent photo or voice message: its files are deleted and it is never shown."""
    if not message_id:
        return
    with svc.db.session() as s:
        att = s.execute(select(Attachment).where(Attachment.line_message_id == message_id)).scalar_one_or_none()
        if att is None:
            # Not fetched yet: remember it so a later fetch is skipped.
            s.add(Attachment(line_message_id=message_id, user_hash="-", status="unsent"))
            return
        keys = photos.unshared(s, att.id, att.original_key, att.clean_key)  # a forwarded copy may share them
        att.status, att.original_key, att.clean_key, att.submission_id = "unsent", None, None, None
    svc.media.delete(*keys)


def _rate(svc: Services, inc: Incoming) -> str:
    """"ok", "notice" (the first message over the limit this minute) or "quiet"."""
    limit = int(svc.config.get("SPAM_LIMIT_PER_MINUTE", 30))
    count = svc.state.hit(svc.user_hash(inc.user_id or inc.chat_id), int(time.time() // 60))  # a group without user ids: per group
    if count <= limit:
        return "ok"
    return "notice" if count == limit + 1 else "quiet"


def send_outbox(svc: Services, outbox_id: int) -> None:
    """Send one stored message set: reply if fresh, else push with its retry key."""
    with svc.db.session() as s:
        ob = s.execute(select(OutboundMessage).where(OutboundMessage.id == outbox_id).with_for_update()).scalar_one()
        if ob.status == "sent":
            return
        ob.status, ob.attempts = "sending", ob.attempts + 1
        data = dict(to=ob.to, reply_token=ob.reply_token, messages=ob.messages, retry_key=ob.retry_key,
                    received_at=as_utc(ob.received_at).timestamp() if ob.received_at else None, event_ts=ob.event_ts,
                    tried_reply=ob.attempts > 1)
    texts = [Text.from_dict(m) for m in data["messages"]]
    try:
        # A reply is tried once only: a second attempt might be a duplicate of a delivered one.
        token = None if data["tried_reply"] else data["reply_token"]
        delivery = svc.line.deliver(to=data["to"], reply_token=token, texts=texts,
                                    retry_key=data["retry_key"], received_at=data["received_at"],
                                    event_ts_ms=data["event_ts"])
    except DeliveryError as exc:
        _mark(svc, outbox_id, "pending", None, str(exc))
        raise
    except Exception as exc:
        _mark(svc, outbox_id, "failed", None, type(exc).__name__)
        log.warning("outbox %s failed: %s", outbox_id, type(exc).__name__)
        return
    _mark(svc, outbox_id, "sent" if delivery.via != "none" else "failed", delivery.via, None)


def _mark(svc: Services, outbox_id: int, status: str, via: str | None, error: str | None) -> None:
    with svc.db.session() as s:
        ob = s.get(OutboundMessage, outbox_id)
        ob.status, ob.via, ob.last_error = status, via or ob.via, error
        if status == "sent":
            ob.sent_at = utcnow()
