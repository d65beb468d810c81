"""The lexicon of services/nlu.py: label words with weights and the rules' phrase lists
(knowledge/nlu/lexicon.yaml), in the normal form of services/nlu_text.py."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from services import knowledge
from services.nlu_text import normalize_word

@dataclass(frozen=True)
class Lexicon:
    words: dict[str, tuple[tuple[str, float], ...]]
    question: tuple[str, ...]
    report: tuple[str, ...]
    elsewhere: tuple[str, ...]
    home: tuple[str, ...]
    rules: dict[str, tuple[str, ...]] = field(default_factory=dict)  # the phrase lists of ``_adjust``


RULE_LISTS = ("report_how", "story_words", "complaint_earlier", "complaint_still", "deceased",
              "deceased_after_person", "persons", "screen_ask", "benefit_words", "fire_words", "not_welfare", "report_verbs", "programme_info",
              "persons_or_self", "someone", "problem_words", "fixed_thanks", "thanks_but", "where_how", "fillers", "habitual_or_worry", "disaster_now", "screen_more",
              "death_entries", "complaint_again", "again_units", "complaint_waited", "complaint_reported", "waited_units", "count_links",
              "number_words", "not_deceased", "earlier_time", "earlier_verbs", "earlier_not_verb", "earlier_not_after",
              "lives_at", "place_before", "place_after", "lives_word", "lives_self", "done_yet", "greeting_whole", "not_report", "link_words", "scam_bait", "storm_now", "request_words", "nth_words", "landmarks", "landmark_after", "outage_entries", "outage_words", "selling", "storm_past", "person_wish", "person_wish_not_before", "complaint_unanswered", "unanswered_verbs", "reported_bare_not_after", "reported_bare", "ago_words", "elder_words", "application_status", "application_made", "application_words", "application_not")


@functools.cache
def lexicon() -> Lexicon:
    data = knowledge.load("nlu/lexicon")
    words = {}
    for label, tiers in data["labels"].items():
        items = []
        for weight, ws in tiers.items():
            for w in ws:
                nw = normalize_word(w)
                if nw:
                    items.append((nw, float(weight)))
        words[label] = tuple(sorted(set(items), key=lambda p: -len(p[0])))
    return Lexicon(words, tuple(normalize_word(w) for w in data.get("question_words", ())),
                   tuple(normalize_word(w) for w in data.get("report_words", ())),
                   tuple(normalize_word(w) for w in data.get("elsewhere", ())),
                   tuple(normalize_word(w) for w in data.get("home", ())),
                   {k: tuple(w for w in (normalize_word(x) for x in data.get(k, ())) if w) for k in RULE_LISTS})


def either(words) -> str:
    """A regular-expression alternation of the words, longest first (never matching when empty)."""
    return "|".join(map(re.escape, sorted(words, key=len, reverse=True))) or "(?!)"


def has(norm: str, key: str) -> bool:
    """Does the normalised text hold a phrase of the lexicon's list ``key``?"""
    return any(w in norm for w in lexicon().rules.get(key, ()))


def names_benefit(keyword: str | None) -> bool:
    """Does an FAQ keyword name a benefit programme (低收入戶, 育兒津貼, 農機補助), not just a
    situation (一個人住)?"""
    return bool(keyword) and any(w in keyword and len(keyword) > len(w)
                                 for w in lexicon().rules.get("benefit_words", ()))


def label_scores(text: str) -> tuple[dict[str, float], dict[str, str]]:
    """Sum of weights of the words found; a word inside a longer found word of the same label
    does not count twice."""
    scores: dict[str, float] = {}
    best: dict[str, str] = {}
    for label, items in lexicon().words.items():
        found: list[str] = []
        total = 0.0
        for word, weight in items:
            if word in text and not any(word in f for f in found):
                found.append(word)
                total += weight
        if total:
            scores[label] = total
            best[label] = found[0]
    return scores, best
