"""The learned part of understanding (services/nlu_learned.py): labelled examples vote by resemblance."""
from __future__ import annotations

import json

import pytest

from services import faq, nlu, nlu_learned
from services.nlu_learned import Example, Guess, Index


def _index(*pairs) -> Index:
    return Index([Example(nlu.normalize(t), label, entry) for t, label, entry in pairs])


SMALL = _index(("路燈不亮了", "road_report", None), ("巷口的路燈壞掉", "road_report", None),
               ("空地積水很多蚊子", "dengue_report", None), ("老人津貼怎麼申請", "faq", "social.senior_living_allowance"),
               ("老人津貼要帶什麼", "faq", "social.senior_living_allowance"), ("幫我訂便當", "unknown", None))


def test_the_same_text_is_its_own_nearest_example():
    g = SMALL.guess(nlu.normalize("空地積水很多蚊子"))
    assert g.label == "dengue_report" and g.similarity == pytest.approx(1.0, abs=1e-5)
    assert g.nearest == nlu.normalize("空地積水很多蚊子")


def test_a_paraphrase_finds_its_label_and_service():
    g = SMALL.guess(nlu.normalize("阿嬤的老人津貼要怎樣申請"))
    assert g.label == "faq" and g.entry == "social.senior_living_allowance"
    assert dict(g.votes)["faq"] > 0.5 and g.entry_votes[0][0] == "social.senior_living_allowance"


def test_nothing_in_common_is_no_guess():
    assert SMALL.guess(nlu.normalize("ㄅㄆㄇ")) is None
    assert Index([]).guess("路燈") is None


def _guess(label="road_report", p=0.9, sim=0.8, entry=None, entry_p=0.0, votes=None):
    return Guess(label, p, entry, entry_p, sim, "x", votes or ((label, p),), ((entry, entry_p),) if entry else ())


def test_the_votes_add_to_the_rules_scores_scaled_by_closeness():
    scores = {"road_report": 1.0}
    nlu_learned.fuse(_guess(votes=(("road_report", 0.8), ("faq", 0.2)), sim=0.3), scores, deceased=False)
    closeness = min(1.0, 0.3 / nlu_learned.FULL_SIMILARITY)
    assert scores["road_report"] == pytest.approx(1.0 + nlu_learned.WEIGHT * 0.8 * closeness, abs=1e-3)
    assert scores["faq"] == 0.0          # no service agreed on: a faq vote adds nothing


def test_the_votes_never_give_the_screener_after_a_death_nor_a_greeting_or_a_case():
    scores = {}
    votes = (("welfare", 0.4), ("unknown", 0.2), ("greeting", 0.2), ("case_status", 0.2))
    nlu_learned.fuse(_guess("welfare", 0.4, votes=votes), scores, deceased=True)
    assert set(scores) == {"unknown"}    # chat's votes count (against an entry); never the others
    assert nlu_learned.fallback(_guess("welfare", 0.9), deceased=True) is None
    for label in (*nlu_learned.NEVER, "unknown"):
        assert nlu_learned.fallback(_guess(label, 0.9), deceased=False) is None


def test_chats_votes_leave_a_report_or_a_person_the_words_told():
    votes = (("unknown", 0.8), ("road_report", 0.2))
    for told in ({"road_report": 2.5, "faq": 4.0}, {"human": 3.0}, {"greeting": 3.0}):
        nlu_learned.fuse(_guess("unknown", 0.8, votes=votes), told, deceased=False)
        assert "unknown" not in told


def test_the_fallback_needs_agreement_closeness_and_for_an_answer_a_service():
    assert nlu_learned.fallback(_guess("road_report", 0.9, 0.8), deceased=False) == "road_report"
    assert nlu_learned.fallback(_guess("road_report", 0.4, 0.8), deceased=False) is None      # split vote
    assert nlu_learned.fallback(_guess("road_report", 0.9, 0.2), deceased=False) is None      # too far
    assert nlu_learned.fallback(_guess("faq", 0.9, 0.8), deceased=False) is None              # which service?
    assert nlu_learned.fallback(_guess("faq", 0.9, 0.8, "office.phone", 0.3), deceased=False) is None
    assert nlu_learned.fallback(_guess("faq", 0.9, 0.8, "office.phone", 0.7), deceased=False) == "faq"


def test_a_service_the_neighbours_name_can_overtake_the_search():
    hits = [("a", 3.0, "kw"), ("b", 2.9, None)]
    ranked = nlu_learned.rerank(hits, _guess("faq", 1.0, 0.9, "b", 1.0))
    assert ranked[0][0] == "b" and ranked[1] == ("a", 3.0, "kw")
    assert nlu_learned.rerank(hits, None) == hits


def test_every_example_of_a_service_counts_through_its_centroid():
    # One close example of the library against four of the after-death entry that share the words:
    # the seven neighbours are split, the centroids are not.
    idx = _index(("圖書館的書要怎麼還", "faq", "civil.library"),
                 ("家人過世要辦什麼", "faq", "office.after_death"), ("過世後要去哪裡辦手續", "faq", "office.after_death"),
                 ("家人過世後的手續", "faq", "office.after_death"), ("過世要辦哪些事", "faq", "office.after_death"))
    vector = idx._vector(nlu.normalize("家人過世了要怎麼辦手續"))
    sims = dict(zip(idx.entry_ids, idx.centroid_similarities(vector).tolist()))
    assert sims["office.after_death"] > 1.5 * sims["civil.library"]
    g = idx.guess(nlu.normalize("家人過世了要怎麼辦手續"))
    assert g.centroids[0][0] == "office.after_death"
    # In the ranking, the centroid's share adds to the search's score (here the two are tied by the search).
    ranked = nlu_learned.rerank([("civil.library", 3.0, None), ("office.after_death", 3.0, None)], g)
    assert ranked[0][0] == "office.after_death" and ranked[0][1] > 3.0 + nlu_learned.CENTROID_WEIGHT * 0.5


def test_the_examples_files_teach_labels_without_danger_lines_or_unknown_entries(tmp_path):
    f = tmp_path / "x.jsonl"
    f.write_text("\n".join([
        "# a comment",
        json.dumps({"text": "路燈壞", "intent": ["road_report", "faq"]}, ensure_ascii=False),
        json.dumps({"text": "有人受困", "intent": ["disaster_report"], "danger": True}, ensure_ascii=False),
        json.dumps({"text": "問老人津貼", "intent": "faq", "faq": ["gone.entry", "social.x"]}, ensure_ascii=False),
    ]) + "\n", encoding="utf-8")
    got = nlu_learned.read_examples(f, nlu.normalize, {"social.x"})
    assert [(e.label, e.entry) for e in got] == [("road_report", None), ("faq", "social.x")]


def test_the_bot_learns_from_its_examples_and_from_the_faq_questions(app):
    with app.app_context():
        index = nlu_learned.build(faq.base().entries, nlu.normalize)
        texts = {e.text for e in index.examples}
        assert len(index.examples) > 1000 and len(set(index.examples)) == len(index.examples)   # once each
        some = faq.base().entries[0]
        assert nlu.normalize(some.questions[0]) in texts
        assert any(e.label == "road_report" for e in index.examples)       # knowledge/nlu/examples/


def test_a_message_the_rules_cannot_place_takes_its_neighbours_label(app, tmp_path):
    """Words no rule knows (made up here), close to labelled reports: the report starts."""
    f = tmp_path / "local.jsonl"
    lines = [{"text": "嚕嚕嘰嘰咕", "intent": "road_report"}, {"text": "嚕嚕嘰嘰咕咕", "intent": "road_report"},
             {"text": "嘰嘰咕咕嚕", "intent": "road_report"}]
    f.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    text = "嚕嚕嘰嘰咕咕咕"
    with app.app_context():
        before = nlu.classify(text)
        index = nlu.build_faq_index(faq.base().entries)
        index.learned = nlu_learned.build(faq.base().entries, nlu.normalize, [f])
        nlu.install_faq_index(index)
        try:
            after = nlu.classify(text)
        finally:
            nlu.install_faq_index(None)
    assert before.label == "unknown"
    assert after.label == "road_report" and after.confidence >= nlu_learned.FALLBACK_SHARE


def _with_examples(tmp_path, lines):
    f = tmp_path / "local.jsonl"
    f.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    index = nlu.build_faq_index(faq.base().entries)
    index.learned = nlu_learned.build(faq.base().entries, nlu.normalize, [f])
    nlu.install_faq_index(index)


def test_safety_decides_with_the_rules_label_not_with_resemblance(app, tmp_path):
    """Even when every example near it is a road report, a person not responding gets the
    ambulance's answer: the safety layer reads Intent.by_rules."""
    from tests.test_safety import _first_reply
    text = "阿伯坐在椅子上叫不醒"
    with app.app_context():
        _with_examples(tmp_path, [{"text": "阿伯坐在椅子上", "intent": "road_report"},
                                  {"text": "坐在椅子上叫", "intent": "road_report"},
                                  {"text": "椅子上叫不醒", "intent": "road_report"}])
        try:
            intent = nlu.classify(text)
            reply = _first_reply(text)
        finally:
            nlu.install_faq_index(None)
    assert intent.label == "road_report" and intent.by_rules != "road_report"
    assert reply.index("119") < 20 and "道路" not in reply.split("\n")[0]


def test_the_report_offer_needs_words_not_resemblance():
    """A message with no report word is not offered a report because it resembles reports: the offer
    reads the scores before the votes (Intent.rule_scores)."""
    voted = nlu.Intent("unknown", scores={"road_report": 3.0}, rule_scores={})
    worded = nlu.Intent("unknown", scores={"road_report": 3.0}, rule_scores={"road_report": 1.0})
    assert nlu.report_hint("嚕嚕嘰嘰", voted) is None
    assert nlu.report_hint("嚕嚕嘰嘰", worded) == "road_report"


# -- the linear classifier of the labels (nlu_learned.label_model) --------------------------------

def _linear_guess(linear, sim=0.6):
    return Guess("faq", 0.0, None, 0.0, sim, "x", (), (), (), linear)


def test_the_linear_models_probabilities_join_the_votes_with_the_same_exceptions():
    linear = (("road_report", 0.5), ("unknown", 0.3), ("welfare", 0.1), ("case_status", 0.05), ("greeting", 0.05))
    scores = {}
    nlu_learned.fuse(_linear_guess(linear), scores, deceased=True)
    assert scores == {"road_report": pytest.approx(nlu_learned.LINEAR_WEIGHT * 0.5),
                      "unknown": pytest.approx(nlu_learned.LINEAR_WEIGHT * 0.3)}   # never the screener after a death
    told = {"human": 3.0}
    nlu_learned.fuse(_linear_guess(linear), told, deceased=False)
    assert "unknown" not in told and told["welfare"] > 0     # chat never against a label the words told
    nlu_learned.fuse(_linear_guess(linear, sim=0.05), nothing := {}, deceased=False)
    assert nothing == {}                                     # like nothing the bot knows: no say at all


def test_the_linear_model_never_starts_a_dengue_report_the_words_did_not_hint_at():
    scores = {"faq": 1.4}
    nlu_learned.fuse(_linear_guess((("dengue_report", 0.9), ("road_report", 0.1))), scores, deceased=False)
    assert "dengue_report" not in scores and scores["road_report"] > 0
    scores = {"dengue_report": 1.0}
    nlu_learned.fuse(_linear_guess((("dengue_report", 0.9),)), scores, deceased=False)
    assert scores["dengue_report"] == pytest.approx(1.0 + nlu_learned.LINEAR_WEIGHT * 0.9)


def test_the_label_model_learns_the_labelled_files_once(tmp_path):
    f = tmp_path / "x.jsonl"
    lines = [{"text": t, "intent": "road_report"} for t in ("嚕嚕嘰嘰咕壞了", "嚕嚕嘰嘰咕又壞", "那個嚕嚕嘰壞掉")]
    lines += [{"text": t, "intent": "unknown"} for t in ("哈哈今天好熱", "哈哈你們吃飽沒", "真的假的哈哈")]
    lines += [{"text": "有人受困嚕嚕", "intent": "disaster_report", "danger": True}]      # danger lines teach no label
    f.write_text("\n".join(json.dumps(l, ensure_ascii=False) for l in lines) + "\n", encoding="utf-8")
    key = ((str(f), f.stat().st_mtime),)
    model = nlu_learned.label_model(key, nlu.normalize)
    assert model is nlu_learned.label_model(key, nlu.normalize)        # learned once per process
    assert model.classes == ("road_report", "unknown")
    p = dict(zip(model.classes, model.probabilities(nlu.normalize("嚕嚕嘰嘰咕 壞"))))
    assert p["road_report"] > 0.8
    p = dict(zip(model.classes, model.probabilities(nlu.normalize("哈哈 真的嗎"))))
    assert p["unknown"] > 0.8


def test_publishing_an_edit_rebuilds_the_index_but_not_the_label_model(app):
    with app.app_context():
        first = nlu_learned.build(faq.base().entries, nlu.normalize)
        again = nlu_learned.build(faq.base().entries[1:], nlu.normalize)
        assert first.linear is not None and again.linear is first.linear
        assert {"faq", "unknown", "road_report", "welfare"} <= set(first.linear.classes)


def test_a_latin_letter_alone_is_no_feature_of_the_linear_models():
    from services.nlu_linear import features
    assert len(features("abc")) == 3           # ab, bc, abc: no a, b, c
    assert len(features("阿公")) == 3          # 阿, 公, 阿公
