"""The flow engine's rules, one test each (see handlers/flow.py). Pure: no app, no I/O."""
from __future__ import annotations

from handlers import road
from handlers.flow import (Accept, Action, Finish, Flow, Incoming, Invalid, Step, Submit, advance, back, begin,
                           is_expired)
from handlers.router import route
from services.messages import Text
from services.submissions import SubmissionDraft
from handlers.flow import EmptyContext as NoCases
from tests.helpers import OFFICE_PHONE

NOW = 1_800_000_000.0


CTX = NoCases()


def text(s: str, eid: str = "e1") -> Incoming:
    return Incoming(kind="text", text=s, event_id=eid, user_id="U1", chat_id="U1")


def _ask(name):
    return lambda a: [Text(f"ask {name}")]


def _parse_word(field):
    def parse(inc, a, ctx):
        if inc.text == "bad":
            return Invalid("common.fallback")
        if inc.text == "more":
            return Accept({"count": a.get("count", 0) + 1}, stay=True)
        if inc.text == "jump":
            return Accept({field: inc.text}, goto="c")
        if inc.text == "done":
            return Finish((Text("bye"),))
        return Accept({field: inc.text})
    return parse


def _submit(inc, a, ctx):
    return Submit(SubmissionDraft(kind="road", source_event_id=inc.event_id, line_user_id="U1", chat_id="U1",
                                  flow_version=1, answers=a), (Text("done {ref}"),),
                  actions=(Action("services.toy:record", {"n": 1}),))


TOY = Flow(id="road", version=1, steps=(
    Step("a", _ask("a"), _parse_word("a")),
    Step("b", _ask("b"), _parse_word("b"), when=lambda a: a.get("a") != "skip-b"),
    Step("c", _ask("c"), _submit),
))


def test_rule1_next_step_is_the_first_whose_condition_holds():
    out = begin(TOY, {}, (), NOW)
    assert out.state["step"] == "a"
    out = advance(TOY, out.state, text("skip-b"), CTX, NOW)
    assert out.state["step"] == "c" and out.replies[-1].text == "ask c"


def test_rule2_unusable_answers_reask_and_the_third_offers_the_phone():
    state = begin(TOY, {}, (), NOW).state
    for i in range(2):
        out = advance(TOY, state, text("bad"), CTX, NOW)
        state = out.state
        assert state["attempts"] == i + 1 and OFFICE_PHONE in out.replies[0].text
    out = advance(TOY, state, text("bad"), CTX, NOW)
    assert OFFICE_PHONE in out.replies[0].text and out.state["attempts"] == 0
    assert out.replies[-1].text == "ask a"


def test_rule3_stay_keeps_the_step():
    state = begin(TOY, {}, (), NOW).state
    out = advance(TOY, state, text("more"), CTX, NOW)
    assert out.state["step"] == "a" and out.state["answers"]["count"] == 1


def test_rule4_goto_jumps():
    state = begin(TOY, {}, (), NOW).state
    out = advance(TOY, state, text("jump"), CTX, NOW)
    assert out.state["step"] == "c"


def test_rule5_back_restores_the_answers_of_that_step():
    state = begin(TOY, {}, (), NOW).state
    state = advance(TOY, state, text("x"), CTX, NOW).state
    assert state["step"] == "b" and state["answers"] == {"a": "x"}
    out = back(TOY, state, NOW)
    assert out.state["step"] == "a" and out.state["answers"] == {}
    out = back(TOY, out.state, NOW)
    assert "第一步" in out.replies[0].text


def test_rule6_submit_and_finish_end_the_conversation():
    state = begin(TOY, {}, (), NOW).state
    out = advance(TOY, state, text("done"), CTX, NOW)
    assert out.state is None and out.replies[0].text == "bye"
    state = advance(TOY, state, text("x"), CTX, NOW).state
    state = advance(TOY, state, text("y"), CTX, NOW).state
    out = advance(TOY, state, text("ok", eid="e9"), CTX, NOW)
    assert out.state is None and out.submission.source_event_id == "e9"
    assert out.replies[0].fill(ref="R-1").text == "done R-1"
    assert out.actions == (Action("services.toy:record", {"n": 1}),)   # writes that go with the case


def test_rule7_expiry_and_version_change():
    state = begin(road.FLOW, {}, (), NOW).state
    assert not is_expired(road.FLOW, state, NOW + 29 * 60)
    assert is_expired(road.FLOW, state, NOW + 31 * 60)
    out = route(state, text("hello"), CTX, NOW + 31 * 60)
    assert "30分鐘" in out.replies[0].text and not out.keep_state
    old = {**state, "version": road.VERSION - 1}
    out = route(old, text("hello"), CTX, NOW)
    assert "更新" in out.replies[0].text and out.state["version"] == road.VERSION


def test_controls_are_on_every_question():
    out = begin(road.FLOW, {}, (), NOW)
    labels = [q.label for q in out.replies[-1].quick_replies]
    assert labels[-1] == "取消" and len(labels) <= 13
    out = advance(road.FLOW, out.state, text("1"), CTX, NOW)
    labels = [q.label for q in out.replies[-1].quick_replies]
    assert labels[-2:] == ["上一步", "取消"]


def test_road_entry_understands_the_first_message():
    out = road.start(text("左鎮里活動中心前面的路燈一閃一閃的"), CTX, NOW)
    assert out.state["answers"]["category"] == "streetlight"
    assert out.state["answers"]["description"].startswith("左鎮里活動中心")
    out = road.start(text("我要報修道路坑洞"), CTX, NOW)
    assert out.state["answers"] == {"category": "pothole"}
    out = road.start(text("路面坍塌了車子過不去"), CTX, NOW)
    assert "119" in out.replies[0].text and out.state["answers"]["danger"] is True
