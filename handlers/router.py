"""Which handler answers an input: one ordered table of named rules, in one place.

Every input is understood once (``Message``: the state, the active flow, the menu tap the text
spells, and the routing label, classified at most once and only when a rule asks for it). The
rules below are tried in order; the first that matches and answers wins, and its name is the
outcome's ``rule`` (shown by ``flask --app app route TEXT --json``).

Precedence (the table ``RULES``; ``FRESH`` is its tail):

  housekeeping   follow                 a new friend: the greeting
                 expired                an expired conversation is cleared with a note, and the input
                                        is routed anew through every rule below (AFTER_EXPIRY)
                 flow_changed           a state of an older flow version restarts the flow
  urgent         urgent.safety          a person in danger: 119 first (handlers/safety.py)
                 urgent.<kind>          each conversation's ``urgent`` hook, in the registry's order
                 voice                  a voice message: kept in a report, or the choices to start one
                 media                  stickers, video, files (voice in other conversations): a kind answer
  commands       command.cancel|back|menu|human|continue|switch   (text or postback ``cmd=``;
                                        the rich menu's words typed work as the tap)
  own commands   own.<kind>             each conversation's ``intercept`` hook (綁定 CODE, 平安,
                                        訂閱防疫提醒, a typed answer to the screener's question)
  look-ups       case_lookup.application   an application made at the office asked after (補助審過了嗎):
                                        who can look it up (the office phone), not this chat's cases
                 case_lookup.complaint  a complaint about an earlier report: the cases, and a person
                 case_lookup            a case number, 我的案件, ``action=my_cases`` (the flow stays)
  active step    active.switch_flow     a menu tap on another conversation: ask before switching
                 active.resume          a menu tap on this conversation: ask its question again
                 active.not_ready       a tap on a conversation not built yet
                 active.faq_entry|faq_menu   FAQ buttons, answered without leaving the flow
                 active.new_topic       「先回答問題」: the question kept by active.new_question
                 active.new_question    a clear new question at a step that takes a choice
                                        (``Step.free_text`` false) and whose parser does not take it
                 active.pending_location   a location sent early, applied at the ``Step.location`` step
                 active.step            the step's own parser
  new question   (FRESH) start.menu_tap, start.not_ready, look_up.my_cases, faq.entry, faq.menu, menu
                 (postbacks); start.photo_or_location (road); question.<what> (a text, by its label:
                 ``QUESTION`` in handlers/answers.py); fallback.

After the table: ``buttons.settle`` decides the buttons under the answer (the disaster menu, groups,
LINE's limit), ``group.fit`` keeps only what belongs in a group, and ``safety.first_119`` puts 119
first in any answer to a text that says a person is in danger.

A conversation plugs in through the kinds registry (knowledge/kinds.yaml, services/kinds.py):
``handlers/<flow>.py`` offers ``FLOW`` (whose steps declare ``free_text``, ``lenient`` and
``location``), ``start``, and optionally ``ANSWERS``, ``urgent`` and ``intercept`` (loaded in
handlers/conversations.py); each becomes a row here. The router knows no step names.

The modules: this one (the table and its rules), handlers/message.py (``Message``, the input
understood once, and the rich-menu words), handlers/answers.py (``QUESTION``: a text outside any flow,
by its label), handlers/conversations.py (the conversations and the tables built from them).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from handlers import buttons, case_status, common, faq, group, road, safety
from handlers.answers import QUESTION, Question, answer_text, not_ready, with_meta
from handlers.conversations import (CONVERSATIONS, FLOW_LABELS, FLOWS, INTENT_FLOW,
                                    LABEL_ANSWERS, REPORT_STEPS, STARTERS)
from handlers.flow import Context, Flow, Incoming, Invalid, Outcome, advance, ask, back, begin, is_expired
from handlers.message import Message, as_menu_tap
from handlers.parsers import command
from services import nlu
from services.knowledge import t
from services.messages import Text
from services.nlu import Intent

# The conversations (handlers/<flow>.py, one per kind in knowledge/kinds.yaml) and their hooks are
# loaded in handlers/conversations.py; the message understood once is handlers/message.py; what a
# text outside any flow gets, by its label, is handlers/answers.py (``QUESTION``).
MEDIA_KINDS = ("sticker", "audio", "video", "file")

__all__ = ["AFTER_EXPIRY", "CONVERSATIONS", "FLOWS", "FLOW_LABELS", "FRESH", "INTENT_FLOW", "LABEL_ANSWERS",
           "QUESTION", "Question", "REPORT_STEPS", "RULES", "Rule", "STARTERS", "answer_text", "route"]


@dataclass(frozen=True)
class Rule:
    """A named row of the table: ``match`` says whether it applies, ``answer`` answers (or, for a
    conversation's hook, returns None to let routing go on)."""

    name: str
    match: Callable[[Message], Any]
    answer: Callable[[Message], Outcome | None]


def _always(m: Message) -> bool:
    return True


def _active(state: dict[str, Any] | None) -> tuple[Flow | None, dict[str, Any] | None]:
    if not state:
        return None, None
    flow = FLOWS.get(state.get("flow", ""))
    return (flow, state) if flow else (None, None)


def route(state: dict[str, Any] | None, inc: Incoming, ctx: Context, now: float) -> Outcome:
    flow, state = _active(state)
    m = Message(raw=inc, state=state, flow=flow, ctx=ctx, now=now)
    out = buttons.settle(group.fit(state, inc, _run(RULES, m)), inc, ctx)
    if inc.kind == "text" and not out.meta:
        tap = m.tap
        label = _tap_label(tap) if tap else ("human" if command(inc.text) == "human" else None)
        if label:
            out = replace(out, meta={"intent": label, "topic": None, "confidence": 1.0})
        else:
            out = with_meta(out, m.intent)
    # Last: the safety net (an answer that only guessed at a call for help becomes 119's, and says so
    # in its label).
    return safety.first_119(inc, out, in_conversation=flow is not None)


def _run(rules: tuple[Rule, ...], m: Message) -> Outcome:
    for rule in rules:
        if rule.match(m):
            out = rule.answer(m)
            if out is not None:
                return out if out.rule else replace(out, rule=rule.name)
    raise AssertionError("the last rule always answers")


def _tap_label(data: dict[str, str]) -> str | None:
    """The routing label of a rich-menu button (for ``route --json`` and the evaluation)."""
    if data.get("flow"):
        return FLOW_LABELS.get(data["flow"])
    return {"my_cases": "case_status", "faq": "faq", "disaster_info": "faq"}.get(data.get("action", "")) \
        or {"human": "human"}.get(data.get("cmd", ""))


# -- housekeeping ------------------------------------------------------------------------------------

def _is_expired(m: Message) -> bool:
    return m.active and is_expired(m.flow, m.state, m.now)


def _expired(m: Message) -> Outcome:
    # The old conversation is cleared whatever the new message leads to.
    # Routed as it came (a text that spells a menu button stays a text here).
    fresh = Message(raw=m.raw, state=None, flow=None, ctx=m.ctx, now=m.now, expired=True, _intent=m._intent,
                    _inc=m.raw)
    out = _run(AFTER_EXPIRY, fresh)
    m._intent = fresh._intent
    return replace(out, replies=(Text(t("common.expired")), *out.replies), keep_state=False,
                   rule=f"expired/{out.rule}")


def _urgent(fn) -> Callable[[Message], Outcome | None]:
    """A conversation's ``urgent`` hook: it sees the input as received."""
    return lambda m: fn(m.state, m.raw, m.ctx, m.now)


def _safety(m: Message) -> Outcome | None:
    out = safety.urgent(m.state, m.raw, m.ctx, m.now, understood=lambda: m.intent)
    if out is None or out.meta:
        return out
    # The safety answer was chosen with the rules' label (Intent.by_rules): that is the one reported.
    by_rules = m.intent.by_rules
    return with_meta(out, replace(m.intent, label=by_rules, topic=m.intent.topic if by_rules == m.intent.label else None))


def _intercept(fn) -> Callable[[Message], Outcome | None]:
    """A conversation's ``intercept`` hook: it sees the input as the commands do (menu words = the tap)."""
    return lambda m: fn(m.state, m.inc, m.ctx, m.now)


# -- commands ----------------------------------------------------------------------------------------

def _command(inc: Incoming) -> str | None:
    if inc.kind == "postback":
        return inc.data.get("cmd")
    if inc.kind == "text":
        return command(inc.text)
    return None


def _cmd(name: str) -> Callable[[Message], bool]:
    return lambda m: _command(m.inc) == name


def _back(m: Message) -> Outcome:
    return back(m.flow, m.state, m.now) if m.active else common.menu(None, None, m.ctx)


def _continue(m: Message) -> Outcome:
    return common.resume(m.flow, m.state) if m.active else common.menu(None, None, m.ctx)


def _switch(m: Message) -> bool:
    return _command(m.inc) == "switch" and m.inc.data.get("flow") in STARTERS


# -- look-ups ----------------------------------------------------------------------------------------

def _case_lookup(m: Message) -> str | None:
    """'' for "my cases", a case number for one case, None when this is not a look-up."""
    inc = m.inc
    if inc.kind == "postback":
        return "" if inc.data.get("action") == "my_cases" else None
    if inc.kind != "text":
        return None
    if m.intent.ref:
        return m.intent.ref
    if m.intent.label == "case_status" and len(inc.text.strip()) <= 20:
        return ""
    return None


def _look_up(m: Message) -> Outcome:
    ref = _case_lookup(m)
    return case_status.answer(m.ctx, m.inc.user_id, ref or None, active=m.active, chat_type=m.inc.chat_type)


def _is_complaint(m: Message) -> bool:
    return m.text and m.intent.label == "case_status" and nlu.complaint(m.inc.text)


def _application_asked(m: Message) -> bool:
    """An application made at the office asked after (nlu ``Intent.application``): not a report of
    this chat, so not the resident's cases."""
    return bool(m.text) and m.intent.label == "case_status" and m.intent.application is not None


def _complaint_lookup(m: Message) -> bool:
    return _case_lookup(m) is not None and _is_complaint(m)


def _with_person(out: Outcome, m: Message) -> Outcome:
    """A complaint about an earlier report: the cases as usual, then a person (「真人」, the office phone)."""
    return case_status.with_person(out, active=m.active, chat_type=m.inc.chat_type)


# -- the active flow ---------------------------------------------------------------------------------

def _in_flow(test: Callable[[Message], Any]) -> Callable[[Message], Any]:
    return lambda m: m.active and test(m)


def _target(m: Message) -> str | None:
    return m.postback.get("flow")


def _new_topic(m: Message) -> Outcome:
    state = m.state
    kept = {k: v for k, v in state.items() if k != "pending_text"}
    asked = replace(m.inc, kind="text", text=state["pending_text"], data={})
    intent = nlu.classify(asked.text)  # the question kept earlier, not this message (a button)
    out = answer_text(asked, intent, m.ctx, m.now, active=True)
    if out.keep_state:
        out = replace(out, keep_state=False, state=kept)
    return with_meta(out, intent)


def _is_new_question(m: Message) -> bool:
    step = m.step
    if not m.text or step is None or step.free_text:
        return False
    return _clearly_new(m.flow, m.intent) and not _answers_step(m)


def _answers_step(m: Message) -> bool:
    """Does the current step take this text as its answer (「中正里」 at the village step, a phone
    number with a few words around it at the phone step)? Then it is not a new question."""
    step = m.step
    if step is None or step.lenient:
        return False
    try:
        return not isinstance(step.parse(m.inc, dict(m.state.get("answers") or {}), m.ctx), Invalid)
    except Exception:  # a parser that cannot read this input does not take it
        return False


def _clearly_new(flow: Flow, intent: Intent) -> bool:
    """A new question clear enough to interrupt a step: sure, strong, and said in words (the rules'
    own score), not only like other messages (「沒有」 at the photo step resembles 「有沒有人在」)."""
    if intent.label in ("unknown", "greeting", FLOW_LABELS.get(flow.id)):
        return False
    return intent.confidence >= 0.75 and intent.scores.get(intent.label, 0) >= 4.0 \
        and intent.rule_scores.get(intent.label, 0) >= nlu.MIN_SCORE


def _ask_new_request(m: Message) -> Outcome:
    from services.messages import postback
    items = (postback(t("faq.label.answer_first"), "cmd=newtopic"),
             postback(t("faq.label.keep_going"), "cmd=continue"))
    new_state = {**m.state, "pending_text": m.inc.text[:500]}
    out = Outcome(replies=(Text(t("faq.new_request", flow_name=common.flow_name(m.flow.id)), items),),
                  state=new_state)
    return with_meta(out, m.intent)


def _pending_location_now(m: Message) -> bool:
    step = m.step
    return bool(m.state.get("pending_location")) and step is not None and step.location


def _step(m: Message, parse=None) -> Outcome:
    flow = m.flow
    out = advance(flow, m.state, m.inc, m.ctx, m.now, parse=parse)
    reached = flow.step((out.state or {}).get("step") or "")
    if out.state and out.state.get("pending_location") and reached is not None and reached.location:
        return _apply_pending_location(flow, out.state, m.inc, m.ctx, m.now, prior=out)
    return out


# -- voice messages ----------------------------------------------------------------------------------

def _voice(m: Message) -> Outcome | None:
    """A voice message: outside a conversation, the choices an elder most likely wants; in a report,
    the step takes it (as the description, the place told by voice) or it is kept aside and the step
    asked again. In another conversation (the welfare screener) the media rule answers."""
    if not m.raw.message_id:
        return None
    if not m.active:
        return common.voice_outside(m.raw, m.ctx)
    steps = REPORT_STEPS.get(m.flow.id)
    if steps is None or m.step is None:
        return None

    aside = []

    def parse(step, inc, answers, ctx):
        result = step.parse(inc, answers, ctx)
        if isinstance(result, Invalid):
            aside.append(True)
            return steps.voice_aside(inc, answers)
        return result
    out = _step(m, parse)
    if not aside or out.state is None:
        return out
    # Kept aside: the acknowledgement, then the step's whole question again (not only its buttons).
    acks = tuple(replace(r, quick_replies=()) for r in out.replies[:-1] or out.replies)
    return replace(out, replies=acks + tuple(ask(m.flow, out.state)))


# -- a new question (also after an expired conversation) ---------------------------------------------

def _start_tap(m: Message) -> Outcome:
    # A button of a conversation that has expired starts that conversation again.
    return STARTERS[_target(m)](as_menu_tap(m.inc) if m.expired else m.inc, m.ctx, m.now)


def _question(m: Message) -> Outcome:
    return with_meta(answer_text(m.inc, m.intent, m.ctx, m.now), m.intent)


FRESH: tuple[Rule, ...] = (
    Rule("start.menu_tap", lambda m: _target(m) in STARTERS, _start_tap),
    Rule("start.not_ready", lambda m: bool(_target(m)), lambda m: not_ready()),
    Rule("look_up.my_cases", lambda m: m.postback.get("action") == "my_cases",
         lambda m: case_status.answer(m.ctx, m.inc.user_id, None, active=False, chat_type=m.inc.chat_type)),
    Rule("faq.entry", lambda m: bool(m.postback.get("faq")), lambda m: faq.answer(m.postback["faq"])),
    Rule("faq.menu", lambda m: m.postback.get("action") == "faq", lambda m: faq.menu()),
    Rule("menu", lambda m: m.inc.kind == "postback", lambda m: common.menu(None, None, m.ctx)),
    Rule("start.photo_or_location", lambda m: m.inc.kind in ("image", "location"),
         lambda m: road.start(m.inc, m.ctx, m.now)),
    Rule("question", lambda m: m.text, _question),
    Rule("fallback", _always, lambda m: common.fallback(None, None, m.ctx)),
)

RULES: tuple[Rule, ...] = (
    Rule("follow", lambda m: m.raw.kind == "follow", lambda m: common.welcome(m.ctx)),
    Rule("expired", _is_expired, _expired),
    Rule("flow_changed", lambda m: m.active and m.state.get("version") != m.flow.version,
         lambda m: begin(m.flow, {}, (Text(t("common.flow_changed")),), m.now)),
    Rule("urgent.safety", _always, _safety),
    *(Rule(f"urgent.{mod.FLOW.id}", _always, _urgent(mod.urgent)) for mod in CONVERSATIONS if hasattr(mod, "urgent")),
    Rule("voice", lambda m: m.raw.kind == "audio", _voice),
    Rule("media", lambda m: m.raw.kind in MEDIA_KINDS, lambda m: common.media_answer(m.raw.kind, m.flow, m.state, m.ctx)),
    Rule("command.cancel", _cmd("cancel"), lambda m: common.cancel(m.state, m.ctx)),
    Rule("command.back", _cmd("back"), _back),
    Rule("command.menu", _cmd("menu"), lambda m: common.menu(m.flow, m.state, m.ctx)),
    Rule("command.human", _cmd("human"), lambda m: common.human(m.flow, m.state, m.ctx)),
    Rule("command.continue", _cmd("continue"), _continue),
    Rule("command.switch", _switch, lambda m: STARTERS[m.inc.data["flow"]](as_menu_tap(m.inc), m.ctx, m.now)),
    *(Rule(f"own.{mod.FLOW.id}", _always, _intercept(mod.intercept)) for mod in CONVERSATIONS if hasattr(mod, "intercept")),
    Rule("case_lookup.application", _application_asked,
         lambda m: case_status.application(m.intent.application, active=m.active, chat_type=m.inc.chat_type)),
    Rule("case_lookup.complaint", _complaint_lookup, lambda m: _with_person(_look_up(m), m)),
    Rule("case_lookup", lambda m: _case_lookup(m) is not None, _look_up),
    Rule("active.switch_flow", _in_flow(lambda m: _target(m) and _target(m) != m.flow.id and _target(m) in FLOWS),
         lambda m: common.ask_switch(m.flow, _target(m))),
    Rule("active.resume", _in_flow(lambda m: _target(m) == m.flow.id and "step" not in m.inc.data),
         lambda m: common.resume(m.flow, m.state)),
    Rule("active.not_ready", _in_flow(lambda m: _target(m) and _target(m) not in FLOWS),
         lambda m: not_ready(active=True)),
    Rule("active.faq_entry", _in_flow(lambda m: m.postback.get("faq")),
         lambda m: faq.answer(m.postback["faq"], active=True)),
    Rule("active.faq_menu", _in_flow(lambda m: m.postback.get("action") == "faq"), lambda m: faq.menu(active=True)),
    Rule("active.new_topic", _in_flow(lambda m: m.postback.get("cmd") == "newtopic" and m.state.get("pending_text")),
         _new_topic),
    Rule("active.new_question", _in_flow(_is_new_question), _ask_new_request),
    Rule("active.pending_location", _in_flow(_pending_location_now),
         lambda m: _apply_pending_location(m.flow, m.state, m.inc, m.ctx, m.now)),
    Rule("active.step", _in_flow(_always), _step),
    *FRESH,
)
# After an expired conversation the input meets every rule but the housekeeping ones: safety,
# commands (取消 stays a command) and look-ups come first, as for any other input.
AFTER_EXPIRY: tuple[Rule, ...] = tuple(r for r in RULES if r.name not in ("follow", "expired", "flow_changed"))



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
