"""The small flow engine: pure functions from (flow, state, input) to an Outcome.

A flow is a declaration of steps. Each step knows how to ask and how to read an
answer; the engine decides which step comes next, keeps a history for "back",
counts unusable answers and builds the Outcome the dispatcher performs. Nothing
here opens a socket, touches a database or knows about Flask or the LINE SDK.

Rules (each has a test in tests/test_flow_engine.py):
1. The next step is the first step after the current one whose ``when(answers)`` is true.
2. A step's ``Invalid`` answer re-asks with its ``invalid`` text and counts an attempt;
   the third unusable answer in a row offers the office phone.
3. ``Accept(stay=True)`` keeps the step (e.g. one more photo) and resets the attempts.
4. ``Accept(goto=...)`` jumps to a named step (e.g. from the summary to the phone step).
5. ``back`` returns to the previous asked step with the answers it had then.
6. ``Submit`` ends the conversation with a draft (and the writes that go with it); ``Finish`` ends it
   with replies only.
7. A state older than the flow's ttl is expired; a state of another flow version restarts.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Protocol, Sequence

from services.knowledge import t
from services.messages import MAX_QUICK_REPLIES, QuickReply, Text, postback
from services.submissions import CaseView, SubmissionDraft

MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Incoming:
    """One LINE event, normalised: what the resident did, and where."""

    kind: str  # text | postback | location | image | sticker | audio | video | file | follow | unfollow | unsend | other
    event_id: str
    user_id: str | None
    chat_id: str | None
    chat_type: str = "user"
    text: str = ""
    data: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    lat: float | None = None
    lng: float | None = None
    address: str | None = None
    message_id: str | None = None
    timestamp_ms: int = 0
    truncated: bool = False
    duration_ms: int | None = None  # a voice message's length (LINE's ``duration``)


class Context(Protocol):
    """Read-only look-ups a flow may need; the dispatcher provides them."""

    def nearby_open_cases(self, kind: str, category: str | None, lat: float, lng: float,
                          radius_m: float, days: int) -> list[CaseView]: ...

    def my_cases(self, user_id: str) -> list[CaseView]: ...

    def my_case(self, user_id: str, ref: str) -> CaseView | None: ...

    def query(self, name: str, **kwargs: Any) -> Any:
        """A read-only look-up ``services.<module>:<function>(session, **kwargs)``."""
        ...


class EmptyContext:
    """A ``Context`` for a resident with nothing stored: no cases, no subscription, no binding, the
    disaster mode off (``route`` on the command line, the evaluation, tests)."""

    def nearby_open_cases(self, *args: Any, **kwargs: Any) -> list[CaseView]:
        return []

    def my_cases(self, user_id: str) -> list[CaseView]:
        return []

    def my_case(self, user_id: str, ref: str) -> CaseView | None:
        return None

    def query(self, name: str, **kwargs: Any) -> Any:
        return None


@dataclass(frozen=True)
class Accept:
    updates: dict[str, Any] = field(default_factory=dict)
    replies: tuple[Text, ...] = ()
    stay: bool = False
    goto: str | None = None
    media: tuple[str, ...] = ()


@dataclass(frozen=True)
class Invalid:
    key: str | None = None  # message key; defaults to "<flow>.<step>.invalid"
    media: tuple[str, ...] = ()


@dataclass(frozen=True)
class Submit:
    draft: SubmissionDraft
    replies: tuple[Text, ...]  # may contain "{ref}", filled after commit
    actions: tuple["Action", ...] = ()  # writes that go with the case (they see its {ref})


@dataclass(frozen=True)
class Finish:
    replies: tuple[Text, ...]
    follow_ref: str | None = None


StepResult = Accept | Invalid | Submit | Finish


@dataclass(frozen=True)
class Step:
    """One question. What it takes is declared here, so the router never needs to know step names:

    - ``free_text``: any text is its answer (a place typed, a description); a text there is never
      taken for a new question. Otherwise the answer is a choice, a name, a number or a yes/no, and
      a clear new question there is asked about first (「先回答問題／繼續」) unless the parser takes it;
    - ``lenient``: its parser takes almost any text (a photo step takes it as the description, a
      confirm step as more detail), so the parser cannot tell an answer from a new question;
    - ``location``: it takes a LINE location; a location sent before the flow reached it (with the
      first message, before the category) is applied here.
    """

    name: str
    ask: Callable[[dict[str, Any]], list[Text]]
    parse: Callable[[Incoming, dict[str, Any], Context], StepResult]
    when: Callable[[dict[str, Any]], bool] = lambda a: True
    free_text: bool = False
    lenient: bool = False
    location: bool = False


@dataclass(frozen=True)
class Flow:
    id: str
    version: int
    steps: tuple[Step, ...]
    ttl_s: int = 30 * 60

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)


@dataclass(frozen=True)
class Action:
    """A write besides the case, performed in the event's transaction (see services/actions.py)."""

    name: str  # "services.<module>:<function>"
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What the dispatcher must do: reply, store, follow, fetch media, save or clear state."""

    replies: tuple[Text, ...] = ()
    state: dict[str, Any] | None = None
    keep_state: bool = False  # leave the stored state exactly as it is
    submission: SubmissionDraft | None = None
    follow_ref: str | None = None
    media: tuple[str, ...] = ()
    question: dict[str, Any] | None = None  # a question the bot was unsure of, kept for staff
    meta: dict[str, Any] = field(default_factory=dict)  # how the input was understood (label, topic, confidence)
    actions: tuple[Action, ...] = ()  # other writes, run in the same transaction after the case
    rule: str = ""  # the router's rule that answered (handlers/router.py; shown by `route --json`)


def control_buttons(back: bool = True) -> tuple[QuickReply, ...]:
    items = [postback(t("common.label.cancel"), "cmd=cancel")]
    if back:
        items.insert(0, postback(t("common.label.back"), "cmd=back"))
    return tuple(items)


def with_controls(texts: Sequence[Text], back: bool = True) -> list[Text]:
    """Append back/cancel buttons to the last message's quick replies (at most ``MAX_QUICK_REPLIES``)."""
    texts = list(texts)
    if not texts:
        return texts
    last = texts[-1]
    items = tuple(last.quick_replies) + control_buttons(back)
    texts[-1] = replace(last, quick_replies=items[:MAX_QUICK_REPLIES])
    return texts


def new_state(flow: Flow, answers: dict[str, Any], now: float) -> dict[str, Any]:
    return {"flow": flow.id, "version": flow.version, "step": None, "answers": answers,
            "history": [], "attempts": 0, "started_at": now, "updated_at": now}


def next_step(flow: Flow, answers: dict[str, Any], after: str | None) -> Step | None:
    names = [s.name for s in flow.steps]
    start = 0 if after is None else names.index(after) + 1
    for s in flow.steps[start:]:
        if s.when(answers):
            return s
    return None


def ask(flow: Flow, state: dict[str, Any]) -> list[Text]:
    step = flow.step(state["step"])
    assert step is not None
    return with_controls(step.ask(state["answers"]), back=bool(state["history"]))


def _goto(flow: Flow, state: dict[str, Any], step: Step, now: float, record: bool = True) -> dict[str, Any]:
    history = list(state["history"])
    if record and state["step"] is not None:
        history.append({"step": state["step"], "answers": state["_before"]})
    new = {**state, "step": step.name, "history": history, "attempts": 0, "updated_at": now}
    new.pop("_before", None)
    return new


def begin(flow: Flow, answers: dict[str, Any], pre: Sequence[Text], now: float) -> Outcome:
    """Start a flow with answers already known from the first message."""
    state = new_state(flow, answers, now)
    step = next_step(flow, answers, None)
    assert step is not None, "a flow always has a final step"
    state = _goto(flow, state, step, now, record=False)
    return Outcome(replies=tuple(pre) + tuple(ask(flow, state)), state=state)


def is_expired(flow: Flow, state: dict[str, Any], now: float) -> bool:
    return now - float(state.get("updated_at", 0)) > flow.ttl_s


def advance(flow: Flow, state: dict[str, Any], incoming: Incoming, ctx: Context, now: float,
            parse: Callable[[Step, Incoming, dict[str, Any], Context], StepResult] | None = None) -> Outcome:
    """Feed one input to the current step (``parse`` may stand in for the step's own parser, e.g.
    to keep a voice message that the step cannot take as its answer)."""
    step = flow.step(state["step"])
    if step is None:  # unknown step (flow changed): restart
        return begin(flow, {}, (Text(t("common.flow_changed")),), now)
    before = dict(state["answers"])
    result = (parse or _own_parse)(step, incoming, dict(state["answers"]), ctx)

    if isinstance(result, Invalid):
        attempts = int(state.get("attempts", 0)) + 1
        new = {**state, "attempts": attempts, "updated_at": now}
        key = result.key or f"{flow.id}.{step.name}.invalid"
        if attempts >= MAX_ATTEMPTS:
            new["attempts"] = 0
            reask = ask(flow, new)
            return Outcome(replies=(Text(t("common.too_many_tries")), reask[-1]), state=new, media=result.media)
        reask = ask(flow, new)
        last = reask[-1]
        return Outcome(replies=(Text(t(key), last.quick_replies),), state=new, media=result.media)

    if isinstance(result, Submit):
        return Outcome(replies=result.replies, state=None, submission=result.draft, actions=result.actions)

    if isinstance(result, Finish):
        return Outcome(replies=result.replies, state=None, follow_ref=result.follow_ref)

    answers = {**state["answers"], **result.updates}
    new = {**state, "answers": answers, "attempts": 0, "updated_at": now, "_before": before}
    if result.stay:
        new.pop("_before")
        replies = list(result.replies)
        reask = ask(flow, new)
        if replies:
            replies[-1] = replace(replies[-1], quick_replies=reask[-1].quick_replies)
        else:
            replies = reask
        return Outcome(replies=tuple(replies), state=new, media=result.media)
    target = flow.step(result.goto) if result.goto else next_step(flow, answers, step.name)
    assert target is not None, f"flow {flow.id} has no step after {step.name}"
    new = _goto(flow, new, target, now)
    return Outcome(replies=tuple(result.replies) + tuple(ask(flow, new)), state=new, media=result.media)


def _own_parse(step: Step, incoming: Incoming, answers: dict[str, Any], ctx: Context) -> StepResult:
    return step.parse(incoming, answers, ctx)


def back(flow: Flow, state: dict[str, Any], now: float) -> Outcome:
    """Return to the previous step, with the answers as they were before it."""
    history = list(state.get("history") or [])
    if not history:
        return Outcome(replies=(Text(t("common.nothing_to_go_back")), *ask(flow, state)), state=state)
    last = history.pop()
    new = {**state, "step": last["step"], "answers": last["answers"], "history": history,
           "attempts": 0, "updated_at": now}
    return Outcome(replies=tuple(ask(flow, new)), state=new)

