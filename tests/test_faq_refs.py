"""Ids that name no FAQ entry fail `knowledge check`; the FAQ menu shows its 12 topics (issue 12)."""
from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from services import faq, knowledge
from services.faq_refs import reference_problems
from tests.helpers import postback_event

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, root, ignore=shutil.ignore_patterns("*.png", "calendar", "places"))
    return root


def _ids() -> list[str]:
    return [e.id for e in faq.base().entries]


def test_the_real_knowledge_names_only_existing_entries():
    assert reference_problems(KNOWLEDGE, _ids()) == []
    assert faq.check() == []                  # the rule runs inside knowledge check, with the FAQ's checks


def test_a_menu_topic_that_names_nothing_fails(tmp_path):
    root = _copy(tmp_path)
    menu = root / "nlu" / "faq_menu.yaml"
    data = yaml.safe_load(menu.read_text(encoding="utf-8"))
    data["topics"][4] = "civil.military_draft"            # the id the menu used to carry
    data["topics"][5] = "調解"                              # not even shaped like an id
    menu.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    problems = reference_problems(root, _ids())
    assert any("civil.military_draft" in p and "faq_menu.yaml" in p for p in problems)
    assert any("'調解'" in p for p in problems)


def test_a_menu_with_more_than_12_or_repeated_topics_fails(tmp_path):
    root = _copy(tmp_path)
    menu = root / "nlu" / "faq_menu.yaml"
    data = yaml.safe_load(menu.read_text(encoding="utf-8"))
    data["topics"] = data["topics"] + ["office.phone"]
    menu.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    problems = reference_problems(root, _ids())
    assert any("13 topics" in p for p in problems) and any("named twice" in p for p in problems)


def test_ids_elsewhere_are_checked_too(tmp_path):
    root = _copy(tmp_path)
    # a postback in a rich menu, a dengue topic's answer, an id-shaped word list key in the lexicon
    rich = root / "richmenu" / "main.yaml"
    rich.write_text(rich.read_text(encoding="utf-8").replace("data: action=faq,", "data: faq=agri.farmland_certificate,"),
                    encoding="utf-8")
    dengue = root / "dengue.yaml"
    dengue.write_text(dengue.read_text(encoding="utf-8").replace("faq: civil.dengue_fines", "faq: civil.dengue_fine"),
                      encoding="utf-8")
    lexicon = root / "nlu" / "lexicon.yaml"
    lexicon.write_text(lexicon.read_text(encoding="utf-8") + "\nboost:\n  social.no_such_entry: [某某]\n", encoding="utf-8")
    road = root / "road.yaml"
    road.write_text(road.read_text(encoding="utf-8") + "\nfallback_topic: office.no_such_phone\n", encoding="utf-8")
    problems = "\n".join(reference_problems(root, _ids()))
    for bad in ("agri.farmland_certificate", "civil.dengue_fine'", "social.no_such_entry", "office.no_such_phone"):
        assert bad in problems, bad
    assert "civil.dengue_fines" not in problems.replace("civil.dengue_fine'", "")


def test_the_faq_menu_shows_its_12_topics_through_the_webhook(resident):
    menu = knowledge.load("nlu/faq_menu")["topics"]
    titles = [faq.base().get(i).title for i in menu]
    assert len(titles) == 12
    resident.deliver(postback_event(resident.user, "action=faq"))
    labels = resident.labels()
    assert labels[:12] == titles and len(labels) == 13        # 12 topics and the contact button
    out = resident.taps(faq.base().get("civil.conscription").title)
    assert out[0] == faq.base().get("civil.conscription").text()


def test_every_answer_names_the_thing_it_answers():
    """Issue 13.3: the first line of an answer names its service (its title or one of its keywords),
    so a resident knows it is the right one; an answer that begins with 119 (safety first) is the
    exception."""
    from services import faq
    unnamed = []
    for entry in faq.base().entries:
        first = entry.text().splitlines()[0]
        if "119" in first:
            continue
        if entry.title not in first and not any(k in first for k in entry.keywords):
            unnamed.append(entry.id)
    assert unnamed == []
