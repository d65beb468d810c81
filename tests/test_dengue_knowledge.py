"""The dengue words and facts in knowledge/: every figure and phone number the bot says has a
verified fact with a source, and the symptom rules behave as the office expects."""
from __future__ import annotations

import re

import pytest

from services import dengue, faq, knowledge

NUMBER = re.compile(r"\d[\d,\.]*\d|\d")


def _texts(node):
    if isinstance(node, dict):
        for v in node.values():
            yield from _texts(v)
    elif isinstance(node, list):
        for v in node:
            yield from _texts(v)
    elif isinstance(node, str):
        yield node


def test_every_number_in_the_dengue_messages_has_a_verified_fact():
    facts = dengue.cfg()["facts"]
    assert all(f["source"] and f["status"] in ("verified-official", "verified-secondary") for f in facts)
    verified = " ".join(f["claim"] for f in facts)
    texts = [re.sub(r"\{[a-z_0-9]+\}", "", x) for x in _texts(knowledge.messages()["dengue"])]
    # Not facts: the phone-number format shown as an example, and the conversation's own limits.
    limits = {"0912345678", "06-5", "06", "09", "10", str(dengue.cfg()["max_description_chars"]),
              str(dengue.cfg()["max_photos"])}
    numbers = {n for x in texts for n in NUMBER.findall(x)} - limits
    missing = sorted(n for n in numbers if n not in verified)
    assert missing == []
    assert "06-5731611" not in " ".join(texts)                       # the office phone only as {office_phone}


def test_information_topics_point_at_faq_entries_with_sources():
    base = faq.base()
    for topic in dengue.info_topics():
        entry = base.get(topic["faq"])
        assert entry is not None, topic
        assert entry.facts and all(f.source for f in entry.facts if f.status != "unverified")
    assert faq.check() == []


@pytest.mark.parametrize("text, level", [
    ("發燒又頭痛", "advice"),
    ("發高燒全身痠痛還起疹子", "advice"),
    ("發燒會不會是登革熱", "advice"),
    ("發燒肚子痛", "warning"),
    ("登革熱牙齦出血", "warning"),
    ("他昏倒了", "warning"),
    ("發燒頭痛，沒有肚子痛也沒有一直吐", "advice"),
    ("沒有發燒，頭痛", None),
    ("肚子痛", None),
    ("有人跌倒流血", None),
    ("金爐燒金紙旁邊的水桶積水", None),
    ("空地很多蚊子", None),
    ("", None),
])
def test_symptom_levels(text, level):
    assert dengue.symptom_level(text) == level


def test_information_topics():
    assert dengue.info_topic("被查到孑孓罰多少") == "fines"
    assert dengue.info_topic("下完雨要做什麼") == "after_rain"
    assert dengue.info_topic("怎麼加入防疫志工") == "volunteer"
    assert dengue.info_topic("登革熱有什麼症狀") == "symptoms"
    assert dengue.info_topic("巡倒清刷是什麼") == "prevention"
    assert dengue.info_topic("你好") is None
