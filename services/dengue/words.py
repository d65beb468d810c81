"""What a dengue message says: symptom words (with negations) and information topics, read from
knowledge/dengue.yaml. Pure helpers, no database."""
from __future__ import annotations

import functools
from typing import Any

from services import nlu
from services.knowledge import load

KIND = "dengue"


def cfg() -> dict[str, Any]:
    return load("dengue")


# -- symptoms ------------------------------------------------------------------------------------

@functools.cache
def _symptom_words() -> dict[str, tuple[str, ...]]:
    raw = cfg()["symptoms"]
    return {group: tuple(dict.fromkeys(nlu.normalize_word(w) for w in words if w))
            for group, words in raw.items()}


def _mentions(norm: str, group: str) -> bool:
    """A word of the group appears, not right after a negation (沒有發燒)."""
    words = _symptom_words()
    negations, questions = words["negations"], words.get("questions", ())
    for word in words[group]:
        start = 0
        while (i := norm.find(word, start)) >= 0:
            before = norm[max(0, i - 4):i]
            denied = any(before.endswith(n) for n in negations) and not any(before.endswith(q) for q in questions)
            if not denied:
                return True
            start = i + 1
    return False


def symptom_level(text: str) -> str | None:
    """"warning" (go to the emergency room / 119 first), "advice" (see a doctor soon) or None.

    A warning sign counts with a fever (also one going down: 退燒後, 燒退了) or with dengue named;
    an alarming sign counts alone; a fever going down counts with dengue named or a typical sign; a
    fever counts with a typical sign or with dengue named. Never a diagnosis.
    """
    norm = _symptom_text(text)
    if not norm:
        return None
    if _mentions(norm, "alarming"):
        return "warning"
    falling = _mentions(norm, "fever_falling")
    fever = falling or _mentions(norm, "fever")
    dengue = _mentions(norm, "dengue")
    if _mentions(norm, "warning") and (fever or dengue):
        return "warning"
    # Warning signs often come as the fever falls (the critical phase): a fever going down with
    # dengue named or with its signs is answered like a warning sign.
    if falling and (dengue or _mentions(norm, "typical")):
        return "warning"
    if fever and (dengue or _mentions(norm, "typical")):
        return "advice"
    return None


def _symptom_text(text: str) -> str:
    """The normalised text without the phrases that only look like symptoms (退燒藥)."""
    norm = nlu.normalize(text or "")
    for phrase in _symptom_words().get("not_symptoms", ()):
        norm = norm.replace(phrase, "|")
    return norm


def fever_or_dengue(text: str) -> bool:
    """A fever (also one going down) or dengue is named: dengue's warning answers the other signs."""
    norm = _symptom_text(text)
    return bool(norm) and any(_mentions(norm, g) for g in ("fever", "fever_falling", "dengue"))


# -- information ---------------------------------------------------------------------------------

def info_topics() -> list[dict[str, Any]]:
    return list(cfg()["info_topics"])


def topic(topic_id: str) -> dict[str, Any] | None:
    return next((x for x in info_topics() if x["id"] == topic_id), None)


def info_topic(text: str) -> str | None:
    """The information topic a question is about (the first whose words it uses), or None."""
    norm = nlu.normalize(text)
    for entry in info_topics():
        if nlu.has_any(norm, entry["words"]):
            return entry["id"]
    return None
