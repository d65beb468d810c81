"""What a disaster message says (the words and patterns in knowledge/disaster.yaml): the category,
people trapped or hurt, a road named, "can cars pass" and the water depth told in words, danger
words and the check-in's 「平安」; and the one-line notices and 119 they lead to."""
from __future__ import annotations

import re
from typing import Any

from handlers import parsers
from handlers.flow import Incoming
from services import knowledge, nlu
from services.knowledge import t
from services.messages import Text

FLOW_ID = "disaster"
VERSION = 1
SEVERITY_STEPS = ("water_depth", "passable", "households", "evacuation")


def config() -> dict[str, Any]:
    return knowledge.load("disaster")



def category_ids() -> list[str]:
    return [c["id"] for c in config()["categories"]]


def category_label(cat_id: str | None) -> str:
    return knowledge.category_label(FLOW_ID, cat_id or "other")


def asks_of(category: str | None) -> list[str]:
    for c in config()["categories"]:
        if c["id"] == category:
            return list(c["asks"])
    return []


def category_words(cat_id: str) -> list[str]:
    """The words that name a category (knowledge/disaster.yaml)."""
    return next((list(c["words"]) for c in config()["categories"] if c["id"] == cat_id), [])


def detect_category(text: str) -> str | None:
    norm = nlu.normalize(text)
    for cid in config()["detect_order"]:
        if nlu.has_any(norm, category_words(cid)):
            return cid
    return None


def _without_negations(text: str) -> str:
    norm = nlu.normalize(text)
    for w in sorted(config()["negations"], key=len, reverse=True):
        norm = norm.replace(nlu.normalize_word(w), "")
    return norm


def life_danger(text: str) -> bool:
    norm = _without_negations(text)
    return nlu.has_any(norm, config()["life_danger_words"])


def people_in(text: str) -> str | None:
    """trapped | injured | both, from words in a text (negations removed)."""
    norm = _without_negations(text)
    trapped = _has(norm, "trapped")
    injured = _has(norm, "injured")
    if trapped and injured:
        return "both"
    return "trapped" if trapped else "injured" if injured else None


def _has(norm: str, which: str) -> bool:
    return nlu.has_word(norm, f"disaster.people.words_{which}")


def word_answer(step: str, text: str) -> str | None:
    """The answer to ``passable`` / ``water_depth`` a text already gives (「路斷了」 -> "no")."""
    norm = nlu.normalize(text)
    for value, words in config()["first_message"][step].items():
        if nlu.has_any(norm, words):
            return str(value)
    return None


def hints_in(text: str) -> dict[str, str]:
    """Answers a first message gives, kept until the category says whether they are asked."""
    found = {step: word_answer(step, text) for step in ("passable", "water_depth")}
    return {k: v for k, v in found.items() if v}


def with_hints(a: dict[str, Any], category: str) -> dict[str, Any]:
    """The hinted answers the category asks and that are not answered yet."""
    asks = asks_of(category)
    return {k: v for k, v in (a.get("hints") or {}).items() if k in asks and k not in a}


def place_in_text(text: str) -> str | None:
    """A road or bridge named in a text (「南171線」, 「南168線 12K」), to keep as the place."""
    norm = parsers.normalize(text)
    for pattern in config()["first_message"]["place_patterns"]:
        m = re.search(pattern, norm)
        if m:
            return m.group(0).strip()
    return None


def notice_for(a: dict[str, Any], category: str | None) -> tuple[dict[str, Any], tuple[Text, ...]]:
    """The category's one-line notice, once per report (a road said to be cut counts as a hazard)."""
    if a.get("notice_told"):
        return {}, ()
    kind = config()["notices"].get(category or "")
    if kind is None and (a.get("hints") or {}).get("passable") == "no":
        kind = "hazard"
    if kind is None:
        return {}, ()
    phones = {p["key"]: p["phone"] for p in config()["emergency_phones"]}
    return {"notice_told": True}, (Text(t(f"disaster.notice.{kind}", taipower=phones["taipower"])),)


def danger_first(inc: Incoming, a: dict[str, Any]) -> tuple[dict[str, Any], tuple[Text, ...]]:
    """The first time a typed answer says a life is in danger: 119 before anything else."""
    if inc.kind == "text" and not a.get("danger_told") and life_danger(inc.text):
        return {"danger_told": True}, (Text(t("disaster.danger")),)
    return {}, ()



def request_core(text: str) -> str:
    words = list(config()["request_words"])
    pattern = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.sub(rf"({pattern}|[\W_])", "", text)



def in_danger(text: str) -> bool:
    """Does a text say that someone is in danger now (119 first)?"""
    return life_danger(text) or urgent_words(text)


def urgent_words(text: str) -> bool:
    norm = _without_negations(text)
    return nlu.has_word(norm, "disaster.urgent_words")


urgent_words_in = urgent_words  # handlers/safety.py leaves these messages to ``urgent``


def is_safe_word(text: str) -> bool:
    bare = re.sub(r"[\W_]+", "", parsers.normalize(text))
    return bare in knowledge.words("disaster.checkin.words")

