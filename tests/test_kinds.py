"""The kinds registry (knowledge/kinds.yaml, services/kinds.py) is the one place a kind is declared:
case numbers, routing, the conversations, access rules and the dashboard all read it."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from handlers import router
from handlers.flow import Accept, Incoming
from services import access, kinds, knowledge, nlu, workflow
from services.models import Staff, Submission
from services.nlu import Intent
from services.submissions import followable, normalize_ref
from handlers.flow import EmptyContext as Ctx

ROOT = Path(__file__).resolve().parent.parent


def _text(text: str, state=None):
    return Incoming(kind="text", event_id="e1", user_id="U1", chat_id="U1", text=text)


def test_the_registry_is_the_contract():
    # ARCHITECTURE.md: R road, D dengue, S disaster, W welfare call-back; welfare and dengue private.
    assert kinds.prefixes() == {"road": "R", "dengue": "D", "disaster": "S", "welfare": "W"}
    assert kinds.private_ids() == {"welfare", "dengue"}
    assert kinds.eoc_ids() == {"disaster"}
    assert knowledge.kind_problems() == []


@pytest.mark.parametrize("kind", kinds.registry(), ids=lambda k: k.id)
def test_each_prefix_is_a_case_number(kind):
    p = kind.prefix
    assert normalize_ref(f"{p}-20261127-0001") == f"{p}-20261127-0001"
    assert normalize_ref(f"我的案件 {p.lower()} 20261127 0042 呢") == f"{p}-20261127-0042"
    assert normalize_ref(f"{p}202611270003") == f"{p}-20261127-0003"
    assert nlu.classify(f"{p}-20261127-0001").ref == f"{p}-20261127-0001"


@pytest.mark.parametrize("typed,ref", [("R一20261202一0008", "R-20261202-0008"),       # 一 for a dash
                                      ("那件r20261203-5有消息了嗎", "R-20261203-0005"),    # leading zeros left out
                                      ("我要查R－20261127－0003", "R-20261127-0003"),      # full-width dashes
                                      ("R20261127 12345", None), ("R2026112712", None)])   # not a case number
def test_a_case_number_as_residents_type_it(typed, ref):
    assert normalize_ref(typed) == ref
    if ref:
        assert nlu.classify(typed).label == "case_status"


def test_a_letter_that_is_no_kind_is_no_case_number():
    taken = set(kinds.prefixes().values())
    free = next(c for c in "ABCEFGHIJKLMNOPQTUVXYZ" if c not in taken)
    assert normalize_ref(f"{free}-20261127-0001") is None


@pytest.mark.parametrize("kind", kinds.registry(), ids=lambda k: k.id)
def test_each_kind_is_its_conversation(kind):
    module = router.CONVERSATIONS[kinds.ids().index(kind.id)]
    assert module.__name__ == f"handlers.{kind.flow}"
    assert module.FLOW.id == kind.id and kind.id in router.FLOWS and kind.id in router.STARTERS
    assert router.FLOW_LABELS[kind.id] == kind.label
    # every label a module answers itself is one the registry gives its kind
    assert set(getattr(module, "ANSWERS", {})) <= set(kind.labels + kind.answers)
    # a rich-menu tap on the kind's flow starts it, and is called by its label
    out = router.route(None, Incoming(kind="postback", event_id="e1", user_id="U1", chat_id="U1",
                                      data={"flow": kind.id}), Ctx(), 1_700_000_000.0)
    assert out.state and out.state["flow"] == kind.id
    assert router._tap_label({"flow": kind.id}) == kind.label


@pytest.mark.parametrize("label,kind_id", [(x, k.id) for k in kinds.registry() for x in k.labels])
def test_each_label_routes_to_its_flow(label, kind_id):
    assert router.INTENT_FLOW.get(label) == kind_id or label in router.LABEL_ANSWERS
    out = router.answer_text(_text("想問一下"), Intent(label), Ctx(), 1_700_000_000.0)
    assert out.state and out.state["flow"] == kind_id
    # the NLU knows the label, and where it stands on ties
    assert label in nlu.LABELS and label in nlu.PRECEDENCE


def test_the_nlu_labels_are_the_registrys_then_the_routers():
    assert nlu.LABELS[:len(kinds.routing_labels())] == kinds.routing_labels()
    assert set(nlu.LABELS) == set(nlu.PRECEDENCE)
    assert set(kinds.report_labels()) == {"road_report", "dengue_report", "disaster_report"}


def _staff(role, section=None):
    return Staff(username="x", role=role, section=section, active=True)


@pytest.mark.parametrize("kind", kinds.registry(), ids=lambda k: k.id)
def test_private_kinds_are_exactly_those_the_access_rules_hide(kind):
    sub = Submission(kind=kind.id, owner_section=kind.section, ref=f"{kind.prefix}-20261127-0001")
    other = next(s for s in knowledge.load("sections")["sections"] if s != kind.section)
    owner, admin, eoc = _staff("section", kind.section), _staff("admin"), _staff("eoc")
    assert access.can_view(owner, sub) and access.can_view(admin, sub)
    assert access.can_view_kind(owner, kind.id)
    assert not access.can_view(_staff("section", other), sub)
    # hidden from EOC duty staff and from other residents exactly when private (or not an EOC kind)
    assert access.can_view(eoc, sub) == kind.eoc
    assert access.can_view_kind(eoc, kind.id) == (kind.eoc and not kind.private)
    assert followable(sub) == (not kind.private)
    assert workflow.owner_section(kind.id) == kind.section


def test_a_private_kind_never_reaches_eoc_even_when_listed_for_it(monkeypatch):
    dengue = kinds.get("dengue")
    table = tuple(dataclasses.replace(k, eoc=True) if k.id == "dengue" else k for k in kinds.registry())
    monkeypatch.setattr(kinds, "_loaded", lambda: table)
    sub = Submission(kind="dengue", owner_section=dengue.section)
    assert not access.can_view(_staff("eoc"), sub)
    assert not access.can_view_kind(_staff("eoc"), "dengue")
    with pytest.raises(ValueError):
        kinds.parse({"kinds": [{"id": "x", "prefix": "X", "labels": ["x"], "section": "社會課",
                                "dashboard": "x", "private": True, "eoc": True}]})


def test_a_new_kind_in_the_registry_is_recognised_everywhere_that_reads_it(monkeypatch):
    assert normalize_ref("T-20261127-0001") is None
    tree = kinds.Kind(id="tree", prefix="T", flow="tree", labels=("tree_report",), answers=(), report=True,
                      section="農業及建設課", dashboard="路樹", private=True, eoc=False)
    table = kinds.registry() + (tree,)
    monkeypatch.setattr(kinds, "_loaded", lambda: table)
    assert normalize_ref("t 20261127 0001") == "T-20261127-0001"
    assert normalize_ref("R-20261127-0001") == "R-20261127-0001"
    assert kinds.prefixes()["tree"] == "T" and kinds.by_prefix("t") is tree
    assert "tree_report" in kinds.routing_labels() and "tree_report" in kinds.report_labels()
    sub = Submission(kind="tree", owner_section="農業及建設課")
    assert not followable(sub) and not access.can_view(_staff("section", "社會課"), sub)
    assert workflow.owner_section("tree") == "農業及建設課"
    from bot.dashboard import views
    assert views.kind_label("tree") == "路樹"


def test_the_registry_refuses_a_clash():
    good = knowledge.load("kinds")
    twice = {"kinds": good["kinds"] + [dict(good["kinds"][0], id="roads", labels=["roads_report"])]}
    with pytest.raises(ValueError, match="prefix"):
        kinds.parse(twice)
    with pytest.raises(ValueError, match="prefix"):
        kinds.parse({"kinds": [dict(good["kinds"][0], prefix="ROAD")]})


def test_hooks_of_different_conversations_take_different_messages():
    """The conversations' intercepts are asked in the registry's order. The order matters only for a
    message two of them take: the welfare screener's answers are not dengue's reminder requests or a
    chief's 「綁定 CODE」."""
    from handlers import dengue, welfare
    from services.disaster.chiefs import parse_bind
    texts = [*knowledge.words("dengue.subscribe.words"), *knowledge.words("dengue.unsubscribe.words"),
             "綁定 ABC123", "綁定1234", "不要再提醒了", "我要訂閱登革熱提醒"]
    for step in welfare.QUESTIONS:
        parse = welfare.FLOW.step(step).parse
        for text in texts:
            inc = _text(text)
            assert dengue._reminder_request(inc) or parse_bind(text), text
            assert not isinstance(parse(inc, {}, Ctx()), Accept), (step, text)


def test_no_module_restates_the_kinds():
    """Prefixes, owners, private kinds and the kinds' names live in kinds.yaml only."""
    patterns = [r"\[RDSW\]", r"\"W-\"", r"private_kinds", r"eoc_kinds", r"\[\"owners\"\]",
                r"PREFIXES\s*=", r"^LABELS\s*=\s*\(\"(road_report|welfare|dengue_report|disaster_report)"]
    found = []
    for folder in ("bot", "handlers", "services"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            source = path.read_text(encoding="utf-8")
            found += [f"{path.relative_to(ROOT)}: {p}" for p in patterns if re.search(p, source, re.MULTILINE)]
    for name in ("workflow", "dashboard"):
        data = knowledge.load(name)
        found += [f"{name}.yaml: {key}" for key in ("owners", "private_kinds", "eoc_kinds", "kinds") if key in data]
    assert found == []
