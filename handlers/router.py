"""Which handler answers an input, in one place.

Precedence:
0. safety first: a text saying a person is in danger gets 119 before anything else
   (handlers/safety.py: the first urgent hook, and a net over every answer);
1. follow events, and stickers / voice / video / files (kind answers);
2. an expired conversation is cleared with a friendly note, then the input is routed anew;
3. global commands: cancel, back, menu, human, continue (text or postback ``cmd=``);
4. case-status look-ups (a case number, 我的案件, ``action=my_cases``): answered without
   leaving the active flow;
5. the active flow; a rich-menu tap on another flow first asks before switching;
6. the entry of a flow (menu postback ``flow=<id>``, a routed text, a photo, a location);
7. the fallback, always with the office phone.
In a group chat, ``group.fit`` then keeps only what belongs there (no 1:1 conversation, no menu).
"""
from __future__ import annotations

import functools
import importlib
import re
from typing import Any
from urllib.parse import parse_qsl

from dataclasses import replace

from handlers import case_status, common, faq, group, road, safety
from handlers.flow import Context, Flow, Incoming, Invalid, Outcome, advance, back, begin, is_expired
from handlers.parsers import command
from services import kinds, knowledge
from services.knowledge import t
from services.messages import Text
from services.nlu import CONFIDENT, Intent, classify

# One module per kind of case, handlers/<flow>.py as knowledge/kinds.yaml names it (services/kinds.py;
# services never import handlers, so the module is named there and imported here). A module offers:
#   FLOW, start(inc, ctx, now)        its flow (FLOW.id is the kind's id) and how it begins;
#   ANSWERS = {label: fn(inc, intent, ctx, now, active)}  labels it answers without a flow (optional);
#   urgent(state, inc, ctx, now)      checked first, before commands (safety: "call 119 now") (optional);
#   intercept(state, inc, ctx, now)   checked after the global commands (its own commands) (optional).
# A hook returns an Outcome, or None to let routing go on. The routing labels that begin a flow are
# the kind's ``labels`` in the registry; hooks are asked in the registry's order.


def _conversation(kind: kinds.Kind):
    module = importlib.import_module(f"handlers.{kind.flow}")
    if getattr(module, "FLOW", None) is None or module.FLOW.id != kind.id:
        raise ImportError(f"handlers.{kind.flow} has no FLOW with the id {kind.id!r} (knowledge/kinds.yaml)")
    return module


CONVERSATIONS = tuple(_conversation(k) for k in kinds.registry())
_WITH_FLOW = [m for m in CONVERSATIONS if getattr(m, "FLOW", None) is not None]
FLOWS: dict[str, Flow] = {m.FLOW.id: m.FLOW for m in _WITH_FLOW}
STARTERS = {m.FLOW.id: m.start for m in _WITH_FLOW}
INTENT_FLOW = {label: k.id for k in kinds.registry() for label in k.labels}
FLOW_LABELS = {k.id: k.label for k in kinds.registry()}
LABEL_ANSWERS = {label: fn for m in CONVERSATIONS for label, fn in getattr(m, "ANSWERS", {}).items()}
# Safety first (handlers/safety.py): a person in danger gets 119 before any other hook answers.
URGENT = (safety.urgent,) + tuple(m.urgent for m in CONVERSATIONS if hasattr(m, "urgent"))
INTERCEPTS = tuple(m.intercept for m in CONVERSATIONS if hasattr(m, "intercept"))
MEDIA_KINDS = ("sticker", "audio", "video", "file")


def _active(state: dict[str, Any] | None) -> tuple[Flow | None, dict[str, Any] | None]:
    if not state:
        return None, None
    flow = FLOWS.get(state.get("flow", ""))
    return (flow, state) if flow else (None, None)


def route(state: dict[str, Any] | None, inc: Incoming, ctx: Context, now: float) -> Outcome:
    # The safety net: whatever answers a text that says a person is in danger, 119 comes first.
    out = safety.first_119(inc, group.fit(state, inc, _disaster_menus(_route(state, inc, ctx, now), ctx)))
    if inc.kind == "text" and not out.meta:
        tap = _menu_tap(inc.text)
        label = _tap_label(tap) if tap else ("human" if command(inc.text) == "human" else None)
        if label:
            out = replace(out, meta={"intent": label, "topic": None, "confidence": 1.0})
        else:
            out = _with_meta(out, classify(inc.text))
    return out


MAX_QUICK_REPLIES = 13  # LINE's limit


def _disaster_menus(out: Outcome, ctx: Context) -> Outcome:
    """While the disaster mode is on, the main menu's buttons under any answer (an FAQ answer, a
    case look-up, the fallback) are the disaster menu's. The mode is asked only when an answer
    carries the main menu's buttons."""
    menus = ((common.menu_buttons(active=True), True), (common.menu_buttons(), False))

    def ending(buttons: tuple) -> tuple[int, bool] | None:
        for menu, active in menus:
            if len(buttons) >= len(menu) and buttons[len(buttons) - len(menu):] == menu:
                return len(menu), active
        return None

    if not any(ending(r.quick_replies) for r in out.replies) or not common.disaster_mode(ctx):
        return out
    replies = []
    for reply in out.replies:
        hit = ending(reply.quick_replies)
        if hit:
            size, active = hit
            menu = common.menu_buttons(active=active, ctx=ctx)
            head = reply.quick_replies[:len(reply.quick_replies) - size]
            reply = replace(reply, quick_replies=head[:MAX_QUICK_REPLIES - len(menu)] + menu)
        replies.append(reply)
    return replace(out, replies=tuple(replies))


def _tap_label(data: dict[str, str]) -> str | None:
    """The routing label of a rich-menu button (for ``route --json`` and the evaluation)."""
    if data.get("flow"):
        return FLOW_LABELS.get(data["flow"])
    return {"my_cases": "case_status", "faq": "faq", "disaster_info": "faq"}.get(data.get("action", "")) \
        or {"human": "human"}.get(data.get("cmd", ""))


def _route(state: dict[str, Any] | None, inc: Incoming, ctx: Context, now: float) -> Outcome:
    flow, state = _active(state)

    if inc.kind == "follow":
        return common.welcome(ctx)
    if flow and state and is_expired(flow, state, now):
        # The old conversation is cleared whatever the new message leads to.
        out = _route_fresh(inc, ctx, now, expired=True)
        return replace(out, replies=(Text(t("common.expired")), *out.replies), keep_state=False)
    if flow and state and state.get("version") != flow.version:
        return begin(flow, {}, (Text(t("common.flow_changed")),), now)
    for hook in URGENT:
        out = hook(state, inc, ctx, now)
        if out is not None:
            return out
    if inc.kind in MEDIA_KINDS:
        return common.media_answer(inc.kind, flow, state, ctx)

    if inc.kind == "text" and _menu_tap(inc.text):
        # The rich menu's words typed (or sent by an old LINE version) work as the tap itself.
        inc = replace(inc, kind="postback", data=_menu_tap(inc.text), text="")
    cmd = _command(inc)
    if cmd == "cancel":
        return common.cancel(state, ctx)
    if cmd == "back":
        return back(flow, state, now) if flow and state else common.menu(None, None, ctx)
    if cmd == "menu":
        return common.menu(flow, state, ctx)
    if cmd == "human":
        return common.human(flow, state, ctx)
    if cmd == "continue":
        return common.resume(flow, state) if flow and state else common.menu(None, None, ctx)
    if cmd == "switch":
        target = inc.data.get("flow")
        if target in STARTERS:
            return STARTERS[target](_as_menu_tap(inc), ctx, now)

    for hook in INTERCEPTS:
        out = hook(state, inc, ctx, now)
        if out is not None:
            return out

    lookup = _case_lookup(inc)
    if lookup is not None:
        return case_status.answer(ctx, inc.user_id, lookup or None, active=bool(state), chat_type=inc.chat_type)

    if flow and state:
        target = inc.data.get("flow") if inc.kind == "postback" else None
        if target and target != flow.id and target in FLOWS:
            return common.ask_switch(flow, target)
        if target == flow.id and "step" not in inc.data:
            return common.resume(flow, state)
        if target and target not in FLOWS:
            return _not_ready(active=True)
        if inc.kind == "postback" and inc.data.get("faq"):
            return faq.answer(inc.data["faq"], active=True)
        if inc.kind == "postback" and inc.data.get("action") == "faq":
            return faq.menu(active=True)
        if inc.kind == "postback" and inc.data.get("cmd") == "newtopic" and state.get("pending_text"):
            kept = {k: v for k, v in state.items() if k != "pending_text"}
            asked = replace(inc, kind="text", text=state["pending_text"], data={})
            intent = classify(asked.text)
            out = answer_text(asked, intent, ctx, now, active=True)
            if out.keep_state:
                out = replace(out, keep_state=False, state=kept)
            return _with_meta(out, intent)
        if inc.kind == "text" and state.get("step") in STRUCTURED_STEPS:
            intent = classify(inc.text)
            if _clearly_new(flow, intent) and not _answers_step(flow, state, inc, ctx):
                return _ask_new_request(flow, state, inc.text, intent)
        if state.get("pending_location") and state.get("step") != "category":
            return _apply_pending_location(flow, state, inc, ctx, now)
        out = advance(flow, state, inc, ctx, now)
        if out.state and out.state.get("pending_location") and out.state.get("step") == "place":
            return _apply_pending_location(flow, out.state, inc, ctx, now, prior=out)
        return out
    return _route_fresh(inc, ctx, now)


# Steps whose answer is a choice, a place or a yes/no: a clear question there is a new request.
# Free-text steps (the description) take any text as their answer.
# A module may name more such steps in its own STRUCTURED_STEPS.
STRUCTURED_STEPS = {"category", "village", "duplicate", "photo", "confirm", "phone"}.union(
    *(getattr(m, "STRUCTURED_STEPS", ()) for m in CONVERSATIONS))


# Steps that take almost any text (a photo step takes it as the description, a confirm step as
# more detail): their parser cannot tell an answer from a new question.
LENIENT_STEPS = {"photo", "confirm"}


def _answers_step(flow: Flow, state: dict[str, Any], inc: Incoming, ctx: Context) -> bool:
    """Does the current step take this text as its answer (「中正里」 at the village step, a phone
    number with a few words around it at the phone step)? Then it is not a new question."""
    step = flow.step(state.get("step") or "")
    if step is None or step.name in LENIENT_STEPS:
        return False
    try:
        return not isinstance(step.parse(inc, dict(state.get("answers") or {}), ctx), Invalid)
    except Exception:  # a parser that cannot read this input does not take it
        return False


def _clearly_new(flow: Flow, intent: Intent) -> bool:
    if intent.label in ("unknown", "greeting", FLOW_LABELS.get(flow.id)):
        return False
    return intent.confidence >= 0.75 and intent.scores.get(intent.label, 0) >= 4.0


def _ask_new_request(flow: Flow, state: dict[str, Any], text: str, intent: Intent) -> Outcome:
    from services.messages import postback
    items = (postback(t("faq.label.answer_first"), "cmd=newtopic"),
             postback(t("faq.label.keep_going"), "cmd=continue"))
    new_state = {**state, "pending_text": text[:500]}
    out = Outcome(replies=(Text(t("faq.new_request", flow_name=common.flow_name(flow.id)), items),),
                  state=new_state)
    return _with_meta(out, intent)


def _route_fresh(inc: Incoming, ctx: Context, now: float, expired: bool = False) -> Outcome:
    if inc.kind == "postback":
        target = inc.data.get("flow")
        if target in STARTERS:
            # A button of a conversation that has expired starts that conversation again.
            return STARTERS[target](_as_menu_tap(inc) if expired else inc, ctx, now)
        if target:
            return _not_ready()
        if inc.data.get("action") == "my_cases":
            return case_status.answer(ctx, inc.user_id, None, active=False, chat_type=inc.chat_type)
        if inc.data.get("faq"):
            return faq.answer(inc.data["faq"])
        if inc.data.get("action") == "faq":
            return faq.menu()
        return common.menu(None, None, ctx)
    if inc.kind in ("image", "location"):
        return road.start(inc, ctx, now)
    if inc.kind == "text":
        intent = classify(inc.text)
        return _with_meta(answer_text(inc, intent, ctx, now), intent)
    return common.fallback(None, None, ctx)


def answer_text(inc: Incoming, intent: Intent, ctx: Context, now: float, active: bool = False) -> Outcome:
    """What a text outside any flow gets, by its label."""
    if intent.label in LABEL_ANSWERS:
        return LABEL_ANSWERS[intent.label](inc, intent, ctx, now, active)
    if intent.label in INTENT_FLOW:
        return STARTERS[INTENT_FLOW[intent.label]](inc, ctx, now)
    if intent.label == "case_status":
        return case_status.answer(ctx, inc.user_id, intent.ref, active=active, chat_type=inc.chat_type)
    if intent.label == "human":
        return common.human(None, None, ctx)
    if intent.label == "greeting":
        if common.is_thanks(inc.text):
            return common.thanks(ctx)
        return common.welcome(ctx)
    if intent.label == "faq":
        if intent.topic and intent.confidence >= CONFIDENT:
            return faq.answer(intent.topic, active)
        return faq.unsure(inc.text, intent, active)
    if intent.label == "unknown":
        if intent.guesses:
            return faq.unsure(inc.text, intent, active)
        out = common.fallback(None, None, ctx)
        return replace(out, question={"text": inc.text, "label": "unknown", "guesses": [], "confidence": None})
    # A service whose conversation is not built yet: its FAQ entry when one fits, else a person to call.
    if intent.best_faq and intent.best_faq[1] >= FAQ_FALLBACK_SCORE:
        return faq.answer(intent.best_faq[0], active)
    return _not_ready()


FAQ_FALLBACK_SCORE = 3.0


def _with_meta(out: Outcome, intent: Intent) -> Outcome:
    meta = {"intent": intent.label, "topic": intent.topic, "confidence": intent.confidence}
    return replace(out, meta=meta)


def _not_ready(active: bool = False) -> Outcome:
    """A service whose conversation is not built yet: give the person to call."""
    text = Text(t("common.not_ready"), common.menu_buttons(active=active))
    return Outcome(replies=(text,), keep_state=True)


def _command(inc: Incoming) -> str | None:
    if inc.kind == "postback":
        return inc.data.get("cmd")
    if inc.kind == "text":
        return command(inc.text)
    return None


def _case_lookup(inc: Incoming) -> str | None:
    """'' for "my cases", a case number for one case, None when this is not a look-up."""
    if inc.kind == "postback":
        return "" if inc.data.get("action") == "my_cases" else None
    if inc.kind != "text":
        return None
    intent = classify(inc.text)
    if intent.ref:
        return intent.ref
    if intent.label == "case_status" and len(inc.text.strip()) <= 20:
        return ""
    return None


@functools.cache
def _menu_words() -> dict[str, dict[str, str]]:
    """Each rich-menu button's label and display text -> its postback data."""
    words: dict[str, dict[str, str]] = {}
    for name in ("richmenu/main", "richmenu/disaster"):
        for area in knowledge.load(name)["areas"]:
            data = dict(parse_qsl(area["data"], keep_blank_values=True))
            for said in (area["label"], area.get("display")):
                if said:
                    words.setdefault(_bare(said), data)
    return words


def _bare(text: str) -> str:
    return re.sub(r"[\W_]+", "", text)


def _menu_tap(text: str) -> dict[str, str] | None:
    if len(text) > 20:
        return None
    data = _menu_words().get(_bare(text))
    return dict(data) if data else None


def _as_menu_tap(inc: Incoming) -> Incoming:
    return replace(inc, kind="postback", data={"flow": inc.data.get("flow", "")})


def _apply_pending_location(flow: Flow, state: dict[str, Any], inc: Incoming, ctx: Context, now: float,
                            prior: Outcome | None = None) -> Outcome:
    """A location sent before the category: use it as soon as the place is asked."""
    loc = state["pending_location"]
    new_state = {k: v for k, v in state.items() if k != "pending_location"}
    fake = replace(inc, kind="location", lat=loc["lat"], lng=loc["lng"], address=loc.get("address"), text="")
    out = advance(flow, new_state, fake, ctx, now)
    if prior is not None:
        head = tuple(r for r in prior.replies[:-1])
        return Outcome(replies=head + out.replies, state=out.state, media=prior.media + out.media,
                       submission=out.submission, follow_ref=out.follow_ref)
    return out
