"""Teaching the bot (issue 16): validation on save, drafts and versions, who may publish, undo,
switching an entry off, export, and published edits reaching the next LINE message with no restart."""
from __future__ import annotations

import datetime as dt

import pytest
import yaml
from sqlalchemy import select

from bot.extensions import get_services
from services import faq, knowledge_edits as edits, knowledge_live, knowledge_stats, nlu
from services import staff as staff_svc
from services.models import AuditLog, InboundEvent, UnansweredQuestion
from services.models_knowledge import DRAFT, PUBLISHED, REJECTED, SUPERSEDED, KnowledgeReviewer, KnowledgeVersion

TODAY = dt.date(2026, 12, 5)
QUESTION = "社區大學有開什麼課"


def college(entry_id: str = "civil.added_1", **over) -> dict:
    data = {"id": entry_id, "title": "社區大學", "section": "民政及人文課", "keywords": ["社區大學", "社大"],
            "questions": [QUESTION], "answer": "社區大學的課程和報名方式，請打區公所 {office_phone} 詢問。",
            "facts": [], "last_reviewed": "2026-12-01", "review_days": 365}
    data.update(over)
    return data


@pytest.fixture(autouse=True)
def _seed_again():
    yield
    knowledge_live.reset()


@pytest.fixture
def people(app):
    """A clerk of 民政及人文課, a reviewer of that section, a clerk of 社會課 and an admin."""
    with get_services(app).db.session() as s:
        ids = {}
        for name, role, section in (("clerk", "section", "民政及人文課"), ("reviewer", "section", "民政及人文課"),
                                    ("social", "section", "社會課"), ("boss", "admin", None)):
            ids[name] = staff_svc.create(s, name + ".x", name, role, section, password="long-enough-pw",
                                         must_change=False)[0].id
        s.add(KnowledgeReviewer(staff_id=ids["reviewer"], section="民政及人文課"))
    return ids


def who(s, people, name):
    from services.models import Staff
    return s.get(Staff, people[name])


# -- validation --------------------------------------------------------------------------------

def test_a_seed_entry_passes_and_each_broken_rule_is_named():
    ok = edits.entry_dict(faq.seed().get("civil.village_chief"))
    assert edits.problems(ok, TODAY) == []
    assert edits.problems(college(), TODAY) == []
    cases = {
        "no verified fact does": college(answer="報名費 500 元，請打 {office_phone}。"),
        "fact without source": college(answer="報名費 500 元。", facts=[{"claim": "報名費 500 元", "status": "verified-official"}]),
        "source is not a link": college(answer="報名費 500 元。", facts=[{"claim": "報名費 500 元", "status": "verified-official",
                                                                       "source": "區公所公告"}]),
        "phone number not well-formed": college(answer="請打 06-57316", facts=[{"claim": "06-57316", "status": "verified-official",
                                                                              "source": "https://www.tainan.gov.tw/"}]),
        "before 119": college(answer="有人受傷流血，請先打 1999 再打 119。", facts=[
            {"claim": "1999 119", "status": "verified-official", "source": "https://www.tainan.gov.tw/"}]),
        "title longer": college(title="社區大學的所有課程與報名方式"),
        "write {office_phone}": college(answer="請打 06-5731611。"),
        "id must look like": college(entry_id="Bad Id"),
    }
    for expected, data in cases.items():
        found = edits.problems(data, TODAY)
        assert any(expected in p for p in found), (expected, found)
    # A verified fact with a source makes the figure acceptable.
    good = college(answer="報名費 500 元。", facts=[{"claim": "報名費 500 元", "status": "verified-official",
                                                   "source": "https://www.tainan.gov.tw/"}])
    assert edits.problems(good, TODAY) == []


# -- versions and who may publish --------------------------------------------------------------

def test_a_draft_needs_a_second_person_who_reviews_the_section(app, people):
    svc = get_services(app)
    with svc.db.session() as s:
        v1 = edits.save_draft(s, who(s, people, "clerk"), college(), "居民常問社大", today=TODAY)
        assert (v1.number, v1.status) == (1, DRAFT)
        for name, why in (("clerk", "own_change"), ("social", "not_reviewer")):
            assert edits.publish_refusal(s, who(s, people, name), v1) == why
            with pytest.raises(PermissionError):
                edits.publish(s, who(s, people, name), v1.id, TODAY)
        edits.publish(s, who(s, people, "reviewer"), v1.id, TODAY)
        assert v1.status == PUBLISHED and v1.reviewer_id == people["reviewer"]
        v2 = edits.save_draft(s, who(s, people, "reviewer"), college(answer="社大課程請打 {office_phone}。"),
                              "改短", today=TODAY)
        assert v2.number == 2
        assert edits.publish_refusal(s, who(s, people, "reviewer"), v2) == "own_change"
        edits.publish(s, who(s, people, "boss"), v2.id, TODAY)     # an admin may publish any section's
        assert (v1.status, v2.status) == (SUPERSEDED, PUBLISHED)
        assert edits.published_count(s) == 2
        audits = list(s.execute(select(AuditLog.detail).where(AuditLog.action == "knowledge")).scalars())
        assert audits == ["publish civil.added_1 v1 (on)", "publish civil.added_1 v2 (on)"]
        # Undo: version 1 comes back as a draft, published like any change.
        v3 = edits.restore(s, who(s, people, "clerk"), v1.id, "還原")
        assert (v3.number, v3.restored_from, v3.data["answer"]) == (3, 1, v1.data["answer"])
        edits.publish(s, who(s, people, "reviewer"), v3.id, TODAY)
        assert [v.status for v in edits.history(s, "civil.added_1")] == [PUBLISHED, SUPERSEDED, SUPERSEDED]


def test_rules_on_save_a_section_edits_its_own_entries_and_a_rejected_draft_is_kept(app, people):
    with get_services(app).db.session() as s:
        with pytest.raises(PermissionError):
            edits.save_draft(s, who(s, people, "social"), college(), "不是我的課", today=TODAY)
        with pytest.raises(edits.EditError) as exc:
            edits.save_draft(s, who(s, people, "clerk"), college(answer="費用 300 元"), "加金額", today=TODAY)
        assert any("300" in p for p in exc.value.problems)
        with pytest.raises(edits.EditError):
            edits.save_draft(s, who(s, people, "clerk"), college(), "   ", today=TODAY)
        v = edits.save_draft(s, who(s, people, "clerk"), college(), "新增", today=TODAY)
        edits.reject(s, who(s, people, "reviewer"), v.id)
        assert v.status == REJECTED and edits.drafts(s) == []
        assert edits.published_count(s) == 0


def test_an_entry_the_menus_name_cannot_be_switched_off(app, people):
    from services import knowledge
    menu_entry = knowledge.load("nlu/faq_menu")["topics"][0]
    with get_services(app).db.session() as s:
        with pytest.raises(edits.EditError) as exc:
            edits.switch(s, who(s, people, "boss"), menu_entry, False, "暫停")
    assert "named elsewhere" in exc.value.problems[0]


def test_switching_an_entry_off_removes_it_and_export_writes_the_published_state(app, people, tmp_path):
    with get_services(app).db.session() as s:
        off = edits.switch(s, who(s, people, "clerk"), "civil.village_meeting", False, "暫停")
        edits.publish(s, who(s, people, "reviewer"), off.id, TODAY)
        new = edits.save_draft(s, who(s, people, "clerk"), college(), "新增", today=TODAY)
        edits.publish(s, who(s, people, "boss"), new.id, TODAY)
        base = edits.build_base(edits.overlay(s))
        assert base.get("civil.village_meeting") is None and base.get("civil.added_1").title == "社區大學"
        assert len(base.entries) == len(faq.seed().entries)
        assert edits.check_published(s, TODAY) == []
        written = {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in edits.export(s, tmp_path)}
    civil_ids = [e["id"] for e in written["civil.yaml"]["entries"]]
    assert "civil.village_meeting" not in civil_ids and "civil.village_chief" in civil_ids
    assert written["dashboard.yaml"]["entries"][0]["answer"] == college()["answer"]
    assert written["civil.yaml"]["section"] == "民政及人文課"


# -- live without a restart ----------------------------------------------------------------------

def test_a_published_entry_answers_the_next_message_without_a_restart(app, people, resident):
    svc = get_services(app)
    before = resident.says(QUESTION)
    assert "社區大學的課程" not in "\n".join(before)
    with svc.db.session() as s:
        q = s.execute(select(UnansweredQuestion)).scalars().first()
        assert q is not None and q.text == QUESTION
        v = edits.save_draft(s, who(s, people, "clerk"), college(), "居民常問", question_id=q.id, today=TODAY)
        effect = knowledge_live.effect(s, v.data)
        assert effect["gained"] >= 0 and not effect["worse"]
        assert effect["after"]["total"] > 500
        edits.publish(s, who(s, people, "reviewer"), v.id, TODAY)
    with svc.db.session() as s:
        assert knowledge_live.announce(svc.redis, s) == 1
    after = resident.says(QUESTION)             # the worker notices the new version itself
    assert after and after[0].startswith("社區大學的課程和報名方式") and "06-5731611" in after[0]
    assert nlu.classify(QUESTION).topic == "civil.added_1"


def test_effect_counts_other_questions_the_entry_would_now_answer(app, people):
    with get_services(app).db.session() as s:
        for text in ("社區大學有哪些課", "社大怎麼報名", "今天天氣好"):
            s.add(UnansweredQuestion(text=text, label="unknown", guesses=[], confidence=0.3))
        s.flush()
        effect = knowledge_live.effect(s, college())
    assert effect["gained"] == 2 and set(effect["gained_examples"]) == {"社區大學有哪些課", "社大怎麼報名"}
    assert not effect["worse"] and effect["after"]["intent_ok"] >= effect["before"]["intent_ok"] - effect["moved_elsewhere"]


def test_the_cache_of_classify_follows_the_installed_index():
    assert nlu.classify(QUESTION).topic != "civil.added_1"
    base = edits.build_base({"civil.added_1": (college(), True)})
    faq.install(base)
    nlu.install_faq_index(nlu.build_faq_index(base.entries))
    assert nlu.classify(QUESTION).topic == "civil.added_1"
    knowledge_live.reset()
    assert nlu.classify(QUESTION).topic != "civil.added_1"


def test_weekly_numbers(app):
    now = dt.datetime(2026, 12, 5, 4, 0, tzinfo=dt.timezone.utc)
    with get_services(app).db.session() as s:
        for i in range(5):
            s.add(InboundEvent(webhook_event_id=f"e{i}", event_type="message", status="processed", event_ts=0,
                               received_at=now - dt.timedelta(hours=i)))
        s.add(UnansweredQuestion(text="a", label="unknown", guesses=[], created_at=now))
        s.add(UnansweredQuestion(text="b", label="faq", guesses=[], created_at=now))
        s.add(UnansweredQuestion(text="b", label="faq", guesses=[], created_at=now))
        s.flush()
        rows = knowledge_stats.weekly(s, weeks=2, now=now)
        top = knowledge_stats.top_unanswered(s, now=now)
    assert rows[-1] | {"week": None} == {"week": None, "messages": 5, "answered": 2, "unsure": 2, "not_understood": 1}
    assert rows[0]["messages"] == 0 and [t[:2] for t in top] == [("b", 2), ("a", 1)]
    assert len(knowledge_stats.chart(rows)["bars"]) == 3


def test_the_cli_exports_the_published_edits_and_checks_them(app, people, tmp_path):
    with get_services(app).db.session() as s:
        v = edits.save_draft(s, who(s, people, "clerk"), college(), "新增", today=TODAY)
        edits.publish(s, who(s, people, "reviewer"), v.id, TODAY)
    runner = app.test_cli_runner()
    out = runner.invoke(args=["knowledge", "export", "--to", str(tmp_path / "faq")])
    assert out.exit_code == 0 and "dashboard.yaml" in out.output, out.output
    exported = yaml.safe_load((tmp_path / "faq" / "dashboard.yaml").read_text(encoding="utf-8"))
    assert exported["entries"][0]["id"] == "civil.added_1"
    # A published edit that no longer passes (its review date ran out) is a problem of `knowledge check`.
    with get_services(app).db.session() as s:
        row = s.get(KnowledgeVersion, v.id)
        row.data = dict(row.data, last_reviewed="2020-01-01")
    out = runner.invoke(args=["knowledge", "check", "--quiet"])
    assert out.exit_code == 1 and "dashboard v1 civil.added_1: review overdue" in out.output, out.output
