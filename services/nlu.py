"""Understanding a resident's message: which routing label it gets, and which service it asks about.

Labels are the contract of ARCHITECTURE.md: road_report, dengue_report, dengue_info,
disaster_report, welfare, faq, case_status, human, greeting, unknown.

1. Normalise (services/nlu_text.py): full-width to half-width, simplified to traditional (OpenCC),
   lower case, known typos, no spaces or punctuation.
2. A case number decides at once (case_status).
3. Label words (knowledge/nlu/lexicon.yaml) give each label a score.
4. The FAQ (knowledge/faq/) is searched with BM25 over character unigrams and bigrams, plus a
   bonus when one of an entry's keywords appears whole; the best entry gives the faq score.
5. The highest score wins, with a fixed precedence on ties; below a threshold the label is
   unknown, and a low margin gives a low confidence (the bot then asks instead of guessing).
The method was chosen by measurement: see docs/nlu.md.
"""
from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass, field

from services import kinds
from services import knowledge
from services import nlu_index
from services import nlu_learned
from services.nlu_complaint import complains as _complains, complaint
# The lexicon and the FAQ index live in services/nlu_lexicon.py and services/nlu_faq.py; their
# names are used as ``nlu.<name>`` elsewhere.
from services.nlu_faq import (FaqIndex, build_faq_index, candidate_index, faq_index, flow_words as _flow_words,
                              install_faq_index, is_shared as _is_shared)
from services.nlu_lexicon import (RULE_LISTS, Lexicon, either as _either, has as _has, label_scores as _label_scores,
                                  lexicon, names_benefit)
# The normalisation lives in services/nlu_text.py; its names are used as ``nlu.<name>`` everywhere.
from services.nlu_text import has_any, has_word, normalize, normalize_word, normalized_words
from services.submissions import normalize_ref

__all__ = ["CONFIDENT", "LABELS", "LEARNED", "MIN_SCORE", "PRECEDENCE", "REPORTS",
           "RULE_LISTS", "FaqIndex", "Intent", "Lexicon", "build_faq_index", "candidate_index", "classify",
           "complaint", "deceased", "faq_index", "has_any", "has_word", "install_faq_index", "lexicon",
           "names_benefit", "normalize", "normalize_word", "normalized_words", "repair_thanked", "report_hint"]

# The kinds' labels come from knowledge/kinds.yaml (services/kinds.py), the rest are the router's own.
LABELS = kinds.routing_labels() + ("faq", "case_status", "human", "greeting", "unknown")
# On equal scores the earlier label wins: urgent and specific before general.
PRECEDENCE = ("case_status", "disaster_report", "road_report", "dengue_report", "dengue_info", "human",
              "welfare", "faq", "greeting", "unknown")
MIN_SCORE = 2.0
CONFIDENT = 0.6
DEATH_BONUS = 1.5
LEARNED = True      # the labelled examples' votes (services/nlu_learned.py)


@dataclass(frozen=True)
class Intent:
    label: str
    matched: str | None = None      # the word that decided it, for explanations
    ref: str | None = None          # a case number found in the text
    topic: str | None = None        # the FAQ entry id, when the label is faq (or a close guess)
    confidence: float = 1.0
    guesses: tuple[str, ...] = ()   # FAQ entry ids worth offering when unsure
    best_faq: tuple[str, float] | None = None  # the closest FAQ entry and its score, whatever the label
    scores: dict[str, float] = field(default_factory=dict, compare=False)
    # The scores by the words and rules alone, before the examples voted (None: the same as scores).
    rule_scores: dict[str, float] | None = field(default=None, compare=False)
    # Another city or district the message is about (lexicon ``elsewhere``): not this office's matter.
    elsewhere: str | None = None
    # An application already made, asked after (``_application_asked``): the entry of what was
    # applied for when one was named, else "" (None: not such a question).
    application: str | None = None

    @property
    def by_rules(self) -> str:
        """The label by the words and rules alone. The safety layer decides with it: whether someone
        in danger is also reporting a road problem must not depend on resemblance to other messages."""
        return self.label if self.rule_scores is None else _top(self.rule_scores)


# -- complaints about an earlier report: services/nlu_complaint.py ---------------------------------

def report_hint(text: str, intent: Intent) -> str | None:
    """The report a message not understood may be (a clarifying offer, not a decision).

    A report label with some evidence (score of at least 1: 「那條路晚上很暗」 has a road word but
    not enough to start the report), or a problem told without a question (``problem_words``:
    壞了, 裂開, 很臭…; a request put as a question, 可以叫人處理嗎, is not a question here), which is
    the general report (road, with its 「其他」 category). None for
    a question (要撤離的話去哪裡 gets the FAQ's guesses), a death, another city's matter or a
    label already decided.
    """
    if intent.label not in ("unknown", "faq"):
        return None
    norm = normalize(text or "")
    # Evidence is words, not resemblance: the scores before the examples voted.
    scores = (intent.scores if intent.rule_scores is None else intent.rule_scores) or {}
    if scores.get("unknown", 0) >= 5 or deceased(norm):
        return None
    if any(w in norm for w in lexicon().question) and not _has(norm, "request_words"):
        return None
    best = max(REPORTS, key=lambda k: (scores.get(k, 0.0), -REPORTS.index(k)))
    if scores.get(best, 0.0) >= 1.0:
        return best
    return REPORTS[0] if _has(norm, "problem_words") else None


def deceased(norm: str) -> bool:
    """Does a normalised text speak of a death, a funeral or an inheritance (「我爸過世了」,
    「阿公走了」, 「繼承要辦什麼」)? Then the welfare screener must not start: it would ask the
    age of the person who died."""
    rules = lexicon().rules
    if _has(norm, "not_deceased"):
        return False    # a pet, or a person said to be alive (人還在, 我還沒死)
    if _has(norm, "deceased"):
        return True
    for word in rules.get("deceased_after_person", ()):
        for m in re.finditer(re.escape(word), norm):
            before = norm[max(0, m.start() - 5):m.start()]
            if any(p in before[-(len(p) + 3):] for p in rules.get("persons", ())):
                return True
    return False


def _relief_entry(norm: str) -> tuple[str | None, str | None]:
    """(lexicon key, FAQ entry) a text asks about whatever the search finds: money after a fire
    (``fire_relief``), or a scam text pasted in (a link and its bait: ``scam_entry``)."""
    key = None
    if _has(norm, "fire_words") and _has(norm, "benefit_words"):
        key = "fire_relief"
    elif _has(norm, "link_words") and _has(norm, "scam_bait"):
        key = "scam_entry"
    entry = knowledge.load("nlu/lexicon").get(key) if key else None
    return (key, str(entry)) if entry else (None, None)


# -- classification ------------------------------------------------------------------------------

@nlu_index.per_index
def classify(text: str) -> Intent:
    ref = normalize_ref(unicodedata.normalize("NFKC", text or ""))
    if ref:
        return Intent("case_status", ref, ref)
    norm = normalize(text)
    if not norm:
        return Intent("unknown", confidence=1.0)
    scores, matched = _label_scores(norm)
    index = faq_index()
    hits = index.search(_without_landmarks(norm, scores), k=6)
    relief_key, relief = _relief_entry(norm)
    if relief:
        # Money after a fire (火災後有慰問金嗎) is relief, not the emergency: no fire burns now (a fire
        # burning now gets 119 from handlers/safety.py); a pasted scam text is the warning's entry.
        top = float(hits[0][1]) if hits else 0.0
        hits = [(relief, max(top, 3.5) + 0.5, None)] + [h for h in hits if h[0] != relief]
    all_hits, hits = hits, hits[:3]
    distinctive = bool(relief) or bool(hits and hits[0][2] and not _is_shared(hits[0][2], _flow_words()))
    named = bool(hits and names_benefit(hits[0][2]))
    if hits and hits[0][1] > 0:
        # The service's own score, plus the generic "asking about a service" words (which
        # count fully only when a service was actually named).
        generic = scores.get("faq", 0.0) if distinctive else min(scores.get("faq", 0.0), 1.0)
        scores["faq"] = round(float(hits[0][1]) + generic, 3)
        matched["faq"] = hits[0][2] or matched.get("faq")
    elif "faq" in scores:
        scores["faq"] = min(scores["faq"], 1.0)
    how_report = _adjust(norm, scores, distinctive, named, hits[0][2] if hits else None)
    scam = relief_key == "scam_entry"
    application = _application_asked(norm, scores)
    decided = _decided(norm, scores, scam=scam, named=named, how_report=how_report,
                       entry=hits[0][0] if hits else None, application=application)
    if decided:
        _lead(scores, decided)
    # The labelled examples vote (services/nlu_learned.py), unless the rules found another city's
    # matter; what the rules alone said is kept for the safety layer and the report offer.
    rule_scores = dict(scores)
    elsewhere = _is_elsewhere(scores)
    selling = _selling(norm, rule_scores)
    guess = index.learned.guess(norm) if LEARNED and index.learned and not (elsewhere or selling) else None
    if guess is not None:
        nlu_learned.fuse(guess, scores, deceased(norm), no_one=_no_one(norm, scores))
        _rule_complaint(norm, scores)    # a complaint about an earlier report still decides
        if decided:
            _lead(scores, decided)       # and so do the rules of _decided

    if elsewhere:
        # Another place's matter (_rule_elsewhere): no service of this office to guess at.
        return Intent("unknown", confidence=1.0, scores=scores, rule_scores=rule_scores, elsewhere=_place_named(norm))
    if selling:
        return Intent("unknown", confidence=1.0, scores=scores, rule_scores=rule_scores)
    ranked = _ranked(scores)
    guesses = tuple(h[0] for h in hits if h[1] >= 1.0)
    if not ranked or ranked[0][1] < MIN_SCORE:
        return _unplaced(norm, guess, scores, guesses, (hits[0][0], round(hits[0][1], 3)) if hits else None,
                         rule_scores)
    label, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    confidence = round(1 / (1 + math.exp(-(top - second) / 1.5)) * min(1.0, top / 3.0) * 2 - 0.0, 3)
    confidence = max(0.0, min(1.0, confidence))
    # Which service: the search's ranking, with the neighbours' votes for entries added.
    topic = _services(norm, all_hits, guess)[0][0] if all_hits and label == "faq" else None
    if label == "faq" and scam:
        topic = relief   # a pasted scam text: the warning, whatever service its bait names
    if label == "faq":
        # Sure of a service only when one was named (close neighbours are related services), or when
        # a rule decided it (a fine asked about: the search found the entry).
        if not distinctive and not named and decided != "faq":
            confidence = min(confidence, 0.45)
    best = (hits[0][0], round(hits[0][1], 3)) if hits else None
    applied = None
    if label == "case_status" and application:
        applied = hits[0][0] if hits and (distinctive or named) else ""
    return Intent(label, matched.get(label), None, topic, confidence, guesses, best_faq=best, scores=scores,
                  rule_scores=rule_scores, application=applied)


def _services(norm: str, hits, guess) -> list[tuple[str, float, str | None]]:
    """The FAQ entries best first: the search's scores and the neighbours' votes; after a death, the
    entries about a death come first (「我媽過世了 她的老人津貼」 is about what to do now, not the allowance)."""
    ranked = nlu_learned.rerank(hits, guess)
    if deceased(norm):
        death = lexicon().rules.get("death_entries", ())   # entry ids, in the lexicon's normal form
        ranked = sorted(((e, s + (DEATH_BONUS if normalize_word(e) in death else 0.0), kw) for e, s, kw in ranked),
                        key=lambda h: -h[1])
    return ranked


def _ranked(scores: dict[str, float]) -> list[tuple[str, float]]:
    return sorted(scores.items(), key=lambda kv: (-kv[1], PRECEDENCE.index(kv[0])))


def _top(scores: dict[str, float]) -> str:
    ranked = _ranked(scores)
    return ranked[0][0] if ranked and ranked[0][1] >= MIN_SCORE else "unknown"


def _unplaced(norm: str, guess, scores: dict[str, float], guesses: tuple[str, ...], best,
              rule_scores: dict[str, float] | None = None) -> Intent:
    """A message the rules could not place: its nearest examples' label when they agree, else unknown.
    An FAQ answer reached this way stays unsure (confidence under CONFIDENT: the bot offers guesses)."""
    label = nlu_learned.fallback(guess, deceased(norm))
    if label is None:
        return Intent("unknown", confidence=1.0 if not scores else 0.3, guesses=guesses, scores=scores, best_faq=best,
                      rule_scores=rule_scores)
    topic = guess.entry if label == "faq" else None
    if topic:
        guesses = (topic,) + tuple(g for g in guesses if g != topic)
    confidence = round(min(guess.probability, CONFIDENT - 0.01) if label == "faq" else guess.probability, 3)
    return Intent(label, None, None, topic, confidence, guesses[:3], best_faq=best, scores=scores,
                  rule_scores=rule_scores)


REPORTS = kinds.report_labels()  # road, dengue, disaster (knowledge/kinds.yaml); on equal scores the earlier wins


def _adjust(norm: str, scores: dict[str, float], distinctive: bool, named: bool = False,
            top_kw: str | None = None) -> str | None:
    """Rules no single word can carry, in this order (a rule reads what the ones before it changed).
    Returns the report label asked how to report (怎麼報倒樹), if any."""
    lex = lexicon()
    asks = any(w in norm for w in lex.question)
    reports = any(w in norm for w in lex.report)
    how_report = _rule_report_or_story(norm, scores, distinctive, top_kw, asks)
    if how_report:
        asks, reports = False, True
    _rule_road_not_disaster(norm, scores)
    _rule_complaint(norm, scores)
    _rule_dengue(scores, asks, reports)
    if _rule_elsewhere(norm, scores):
        return None
    _rule_faq_or_report(norm, scores, distinctive, asks, reports)
    _rule_greeting(norm, scores, asks)
    _rule_welfare(norm, scores, distinctive, named)
    # Unrelated topics lose to any office word.
    if "unknown" in scores:
        scores["unknown"] = max(0.0, scores["unknown"] - 0.5)
    return how_report


def _report_score(scores: dict[str, float]) -> float:
    """The best report label's score (road, dengue, disaster)."""
    return max((scores.get(k, 0.0) for k in REPORTS), default=0.0)


def _best_report(scores: dict[str, float]) -> str:
    return max(REPORTS, key=lambda k: (scores.get(k, 0.0), -REPORTS.index(k)))


def _rule_report_or_story(norm: str, scores: dict[str, float], distinctive: bool, top_kw: str | None,
                          asks: bool) -> str | None:
    """The report label when the text is a request to report something (it then asks nothing and
    reports), else None."""
    best_report = _best_report(scores)
    how = [w for w in lexicon().rules.get("report_how", ()) if w in norm]
    if how:
        # What is to be reported, without the "how do I report" words (檢舉 alone is no dengue).
        rest = norm
        for w in sorted(how + list(lexicon().rules.get("report_verbs", ())), key=len, reverse=True):
            rest = rest.replace(w, "|")
        sub, _ = _label_scores(rest)
        best_report = _best_report(sub)
        named_service = bool(top_kw) and distinctive and top_kw in rest
        # "How do I report X / who do I call about X" with a road, dengue or disaster word: a request
        # to report X, not a question (the report starts; the FAQ does not answer it) — unless the
        # question names a service of its own (農損要去哪裡報: crop disaster aid).
        if sub.get(best_report, 0) >= 2 and not named_service:
            scores[best_report] = scores.get(best_report, 0.0) + 2.0
            if "faq" in scores:
                scores["faq"] -= 3.0
            return best_report
    # A story about a problem (since when, what happened) without a question: a report.
    if not asks and _has(norm, "story_words") and scores.get(best_report, 0) >= 2:
        scores[best_report] += 1.5
        if "faq" in scores:
            scores["faq"] -= 1.5
    return None


def _rule_road_not_disaster(norm: str, scores: dict[str, float]) -> None:
    """A road problem that floods or may fall "every time it rains" or "if a typhoon comes", or that a
    storm now over left (storm_past), is a road report (a drain to clear, a tree to trim), not a
    disaster happening now; one told in a storm now,
    or a road cut off (storm_now), is the storm's damage: the disaster report."""
    road, disaster = scores.get("road_report", 0), scores.get("disaster_report", 0)
    if _has(norm, "habitual_or_worry") or (_has(norm, "storm_past") and not _has(norm, "storm_now")):
        if road >= 1 and road <= disaster and not _has(norm, "disaster_now"):
            scores["road_report"] = disaster + 0.5
    elif _has(norm, "storm_now") and road >= 2 and disaster < road + 0.5:
        scores["disaster_report"] = road + 0.5


@functools.cache
def _landmark_re() -> re.Pattern[str]:
    words = lexicon().rules
    return re.compile(f"(?:{_either(words.get('landmarks', ()))}).{{0,3}}?(?:{_either(words.get('landmark_after', ()))})")


def _without_landmarks(norm: str, scores: dict[str, float]) -> str:
    """The text the FAQ search reads: with a report told (a report label's words score 2 or more), a
    landmark that says where (內庄活動中心旁邊) is left out: it is the place, not the service asked about."""
    if _report_score(scores) < 2:
        return norm
    return _landmark_re().sub("|", norm) or norm


GREETING_ALONE = 8   # characters: a greeting the rules kept (no other label's words) this short is one


def _decided(norm: str, scores: dict[str, float], scam: bool, named: bool = False,
             how_report: str | None = None, entry: str | None = None, application: bool = False) -> str | None:
    """A label the rules decide and the examples' votes do not change: a pasted scam text (the warning,
    never the welfare screener); how to report a problem (its report, ``how_report``); a road problem in
    a storm now (the disaster report); a fine or a new installation asked about, or a power or water cut
    with no storm (the FAQ entry the search found); a problem told with a call asked for (its report); a
    person asked for (human); what help someone living could get, asked in general (the screener, over
    an entry its words name); dengue asked about with a dengue entry the search found first (``entry``:
    the dengue information); an application already made, asked after (``application``: its progress,
    case_status); thanks for a repair done (the greeting, when ``_rule_greeting`` put it first)."""
    if scam:
        return "faq"
    top = _top(scores)
    if how_report and top == how_report:
        return top
    if top == "disaster_report" and _has(norm, "storm_now") and not _has(norm, "habitual_or_worry") \
            and scores.get("road_report", 0) >= 2:
        return top
    if top == "faq" and _has(norm, "not_report"):
        return top
    if top == "faq" and _has(norm, "outage_words") and not _has(norm, "storm_now") and not _has(norm, "disaster_now") \
            and scores.get("disaster_report", 0.0) < MIN_SCORE:
        return top      # a power or water cut and no storm told: the utility's number (its entry)
    if application:
        return "case_status"
    if top == "greeting" and (len(norm) <= GREETING_ALONE or repair_thanked(norm)):
        # A greeting and nothing asked yet (您好，請問一下), or thanks for a repair done (多謝 彼支路燈閣光矣):
        # the greeting, whatever the thing it names resembles.
        return top
    if top in REPORTS and _has(norm, "problem_words") and not _complains(norm) and _person_wish_re().search(norm):
        return top      # a problem told and a call asked for (路燈不亮 請打給我): the report, whose flow asks for a phone
    if _wants_person(norm, scores):
        return "human"
    if scores.get("welfare", 0.0) >= MIN_SCORE and _screening_asked(norm, named) \
            and _report_score(scores) < MIN_SCORE:
        return "welfare"
    if top == "dengue_info" and entry and entry.startswith("civil.dengue_"):
        return top      # the dengue information answers from the same knowledge, with its buttons
    return None


def _application_asked(norm: str, scores: dict[str, float]) -> bool:
    """An application already made, asked after (lexicon ``application_status``, ``application_made``
    and ``application_words`` all found: 我上個月申請的育兒津貼 審核好了嗎): only the person in charge can
    look it up. Not when a new application is asked about (``application_not``: 有補助嗎), a problem is
    reported beside it (a report's words and a problem told: 路燈又壞了; the storm words of 颱風過後申請的災害
    救助金 only name the relief), or an earlier report is complained about."""
    return _has(norm, "application_status") and _has(norm, "application_made") \
        and _has(norm, "application_words") and not _has(norm, "application_not") \
        and (_report_score(scores) <= MIN_SCORE or not _has(norm, "problem_words")) and not _complains(norm)


def _no_one(norm: str, scores: dict[str, float]) -> bool:
    """Does a message name no help and no one it could be for (no welfare word, no family member,
    no age, no elder)? Then the examples' votes do not start the screener."""
    return scores.get("welfare", 0.0) <= 0 and not _has(norm, "persons") and not _has(norm, "elder_words")


def _screening_asked(norm: str, named: bool) -> bool:
    """What help someone living could get, asked in general (lexicon ``screen_ask``, ``screen_more``)
    about a person or a household: the screener, whichever service the neighbours resemble."""
    return ((_has(norm, "screen_ask") and not named) or _has(norm, "screen_more")) \
        and (_has(norm, "someone") or _has(norm, "persons_or_self")) and not deceased(norm) \
        and not _has(norm, "not_welfare")


def _wants_person(norm: str, scores: dict[str, float]) -> bool:
    """A person asked for in so many words (lexicon ``person_wish``: 請承辦打給我, 轉接社會課, 社會課的
    陳小姐在嗎), whatever service it names: the office's phone and hours (human), not that service's
    entry. A report told beside it is the report (its flow asks for a phone), and a complaint about an
    earlier report is the resident's cases with a person (case_status)."""
    return _report_score(scores) < 2 and not _complains(norm) and bool(_person_wish_re().search(norm))


@functools.cache
def _person_wish_re() -> re.Pattern[str]:
    """A phrase of ``person_wish`` not followed by one of ``person_wish_not_before``: not a call told
    (阿嬤打給我說…, 打電話給我媽) or a message passed on (請轉告)."""
    words = lexicon().rules
    return re.compile(f"(?:{_either(words.get('person_wish', ()))})(?!{_either(words.get('person_wish_not_before', ()))})")


def _selling(norm: str, scores: dict[str, float]) -> bool:
    """Selling or buying something (lexicon ``selling``) with no report told (a report label's words
    under 2) and no complaint: an advertisement, not a question for the office."""
    return _has(norm, "selling") and _report_score(scores) < 2 \
        and not _complains(norm)


def _lead(scores: dict[str, float], label: str) -> None:
    """A rule decides: the label leads every other by a point."""
    scores[label] = max(scores.get(label, 0.0), max(scores.values(), default=0.0) + 1.0)


def _rule_complaint(norm: str, scores: dict[str, float]) -> None:
    """A complaint about an earlier report (reported before, still not done): the resident's cases."""
    if _complains(norm):
        scores["case_status"] = max(scores.get("case_status", 0.0) + 6.0, max(scores.values(), default=0.0) + 1.0)


def _rule_dengue(scores: dict[str, float], asks: bool, reports: bool) -> None:
    """Dengue: a question about containers or mosquitoes is information, not a report."""
    if "dengue_report" in scores and asks and not reports:
        scores["dengue_info"] = scores.get("dengue_info", 0) + scores.pop("dengue_report")
    if "dengue_info" in scores and "dengue_report" in scores and reports and not asks:
        scores["dengue_report"] += 1


ELSEWHERE_SCORE = 10.0   # the only score left when _rule_elsewhere finds another place's matter


def _is_elsewhere(scores: dict[str, float]) -> bool:
    return scores == {"unknown": ELSEWHERE_SCORE}


def _place_named(norm: str) -> str:
    """The other place a message names (the longest of the lexicon's ``elsewhere`` words in it)."""
    return max((w for w in lexicon().elsewhere if w in norm), key=len, default="")


@functools.cache
def _not_the_place() -> re.Pattern[str]:
    """A direction (台20線往玉井方向, 從龍崎那邊過來的路) or where someone else lives (地主住台北): another
    place named, but not the place of the matter (lexicon place_before, place_after, lives_*)."""
    lex = lexicon()
    places, rules = _either(lex.elsewhere), lex.rules
    self_words = "".join(w for w in rules.get("lives_self", ()) if len(w) == 1) or "\\x00"
    return re.compile(f"(?:{_either(rules.get('place_before', ()))})(?:{places})"
                      f"|(?:{places})(?:{_either(rules.get('place_after', ()))})"
                      f"|(?<![{re.escape(self_words)}])(?:{_either(rules.get('lives_word', ()))})(?:{places})")


def _rule_elsewhere(norm: str, scores: dict[str, float]) -> bool:
    """Another city's matter: not for this office (unless Zuozhen is named too): a short message that
    names another place, or one from someone who lives there (我住高雄美濃…), unless a family member is
    named (they may live in Zuozhen). True ends the rules."""
    lex = lexicon()
    if any(w in norm for w in lex.home):
        return False
    norm = _not_the_place().sub("", norm)
    if _has(norm, "persons"):
        return False    # 我住台北 我媽家門口的路燈壞了: the family may live here
    short = len(norm) <= 24 and any(w in norm for w in lex.elsewhere)
    lives = any(f"{at}{place}" in norm for at in lex.rules.get("lives_at", ()) for place in lex.elsewhere)
    if short or lives:
        scores.clear()
        scores["unknown"] = ELSEWHERE_SCORE
        return True
    return False


def _rule_faq_or_report(norm: str, scores: dict[str, float], distinctive: bool, asks: bool, reports: bool) -> None:
    """A question about a service is for the FAQ; a statement about a problem is a report."""
    if "faq" not in scores:
        return
    if asks and distinctive:
        scores["faq"] += 1.0
    elif not asks and any(scores.get(k, 0) >= 3 for k in kinds.report_labels()):
        scores["faq"] -= 3.0
    if not distinctive and any(scores.get(k, 0) >= 2 for k in kinds.routing_labels()):
        scores["faq"] -= 1.5
    # A fine for it or a new one wanted (孑孓罰款, 想加裝路燈): the entry that found it, not a report
    # (dengue's information, when it leads, answers the fines itself).
    if _has(norm, "not_report"):
        scores["faq"] = max(scores["faq"], _report_score(scores) + 0.5)
    # A question about money or a place after a disaster (淹水救助金要怎麼申請, 要撤離去哪裡) is for
    # the FAQ when it names a service, not a disaster report.
    if scores.get("disaster_report", 0) > 0 and asks and not reports and "faq" in scores \
            and (distinctive or _has(norm, "where_how")) and not _has(norm, "story_words"):
        scores["faq"] = max(scores["faq"], scores["disaster_report"] + 0.5)


def repair_thanked(norm: str) -> bool:
    """Does a normalised message say a repair is done (路燈已經亮了, 水溝清甲真清氣), with no new problem
    after it (``thanks_but``: 可是又不亮了)? With a thanks word it is a thank-you, not a report."""
    return _has(norm, "fixed_thanks") and not _has(norm, "thanks_but")


def _rule_greeting(norm: str, scores: dict[str, float], asks: bool) -> None:
    """Thanks for a repair done (路燈修好了 謝謝你們) is a thank-you, not a new report; otherwise
    greetings give way to any real request."""
    if norm in lexicon().rules.get("greeting_whole", ()):
        scores["greeting"] = max(scores.values(), default=0.0) + 3.0
    elif repair_thanked(norm) and "greeting" in scores and not asks:
        scores["greeting"] = max(scores.values()) + 1.0
    elif "greeting" in scores and any(v >= MIN_SCORE for k, v in scores.items() if k != "greeting"):
        scores.pop("greeting")


def _rule_welfare(norm: str, scores: dict[str, float], distinctive: bool, named: bool) -> None:
    """A named service beats the generic welfare words when its keyword is specific. Welfare: never
    the screener for a death, a funeral or an inheritance, nor for another section's 補助 (farming,
    elections, assessment), nor for relief after a fire; a generic "what can they get" about someone
    is the screener; a question about one named programme is that programme's FAQ entry."""
    if "welfare" in scores and not _has(norm, "screen_ask") and not _has(norm, "screen_more") \
            and not any(w in norm for w, weight in lexicon().words.get("welfare", ()) if weight >= 3):
        # Only a person or a situation (阿嬤, 中風, 洗腎), nothing asked for: not a screening request.
        scores["welfare"] = min(scores["welfare"], MIN_SCORE - 0.1)
    if "faq" in scores and "welfare" in scores and scores["faq"] >= 4.0 and scores["welfare"] <= 3.0:
        scores["faq"] += 0.5
    if "welfare" in scores and (deceased(norm) or _has(norm, "not_welfare")
                                or (_has(norm, "fire_words") and _has(norm, "benefit_words"))):
        moved = scores.pop("welfare")
        scores["faq"] = max(scores.get("faq", 0.0), min(moved, 3.0) + (1.0 if distinctive else 0.0))
    elif _screening_asked(norm, named) and scores.get("disaster_report", 0) < 2:
        scores["welfare"] = scores.get("welfare", 0.0) + 3.0
        if "faq" in scores:
            scores["faq"] -= 2.0
    elif named and not _has(norm, "someone") and "faq" in scores and "welfare" in scores:
        # A programme named, and nobody's situation told (「老人津貼」, 「急難救助怎麼申請」): its entry,
        # with the screener offered under it.
        scores["faq"] = max(scores["faq"], scores["welfare"] + 0.5)
    elif named and _has(norm, "programme_info") and "faq" in scores and "welfare" in scores:
        # The screener would start (someone is named); the question is about the programme.
        scores["faq"] = max(scores["faq"], scores["welfare"] + 0.5)
