"""Safety first: immediate danger to a person means 119 first, before any other number or question.

Two pure parts, both reading ``knowledge/safety.yaml``:

- ``assess(text)``: does a resident's message say that a person is in danger now (collapsed, not
  waking, not breathing, bleeding, hurt, trapped, in the water, a fire, a gas leak, water or mud
  coming into the house)? Negation-aware (「沒有人受傷」, 「差點跌倒」, 「水沒有淹進來」), and not for
  a question about money or forms (「受傷的補助」), an imagined or long past event (「萬一淹進來」,
  「上次淹水」), or a thing without a person (「路被沖走」, 「樹倒在地上」). Used by handlers/safety.py
  and the router's safety net.
- ``check()``: the rule of ``flask --app app knowledge check``: every resident text that speaks of
  danger and names a phone number names an emergency number (119, or 110 for a crime) first.

Message texts are never logged.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from services.knowledge import KNOWLEDGE_DIR, load
from services.nlu_complaint import unanswered   # 報修…都沒有反應: the office did not answer, not a person

# When a message fits several kinds, the first here decides what the bot does.
KIND_ORDER = ("fire", "gas", "violence", "trapped", "house", "water", "medical", "self_harm", "collapse", "hurt",
              "missing")
PERSON_BEFORE = 5   # characters before (and after) a word where a person must be named (needs_person)
PERSON_AFTER = 4
SEP = "|"           # stands for a removed phrase; never part of a normalised word


def cfg() -> dict[str, Any]:
    return load("safety")


def _nlu():
    from services import nlu  # services.nlu imports the FAQ, which imports services.knowledge
    return nlu


# -- messages ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Danger:
    kind: str                    # the kind that decides (KIND_ORDER)
    kinds: frozenset[str]        # every kind found


@functools.cache
def _message_words(key: str) -> tuple[str, ...]:
    nlu = _nlu()
    words = {nlu.normalize_word(str(w)) for w in cfg()["message"][key]}
    return tuple(sorted((w for w in words if w), key=len, reverse=True))


@functools.cache
def _kind_words(kind: str) -> tuple[str, ...]:
    nlu = _nlu()
    message = cfg()["message"]
    combo = (message.get("combos") or {}).get(kind) or {}
    listed = [*message["kinds"][kind], *(f"{a}{b}" for a in combo.get("first", ()) for b in combo.get("then", ()))]
    words = {nlu.normalize_word(str(w)) for w in listed}
    return tuple(sorted((w for w in words if w), key=len, reverse=True))


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True) if w)


@functools.cache
def _denial_re() -> re.Pattern[str]:
    """A negation (or a question form, which neither says nor denies) right before a word, with an
    optional person or 被/有 between: 沒有人受傷, 無人員受困, 差點被車撞, 水沒有淹進來, 有沒有人受傷."""
    words = _message_words("negations") + _message_words("questions")
    fillers, links = _alternation(_message_words("denial_fillers")), _alternation(_message_words("denial_links"))
    return re.compile(f"(?:{_alternation(words)})(?:{fillers})?(?:{links})?$")


def _strip(norm: str, key: str) -> str:
    for phrase in _message_words(key):
        norm = norm.replace(phrase, SEP)
    return norm


def _found(norm: str, word: str, person: bool) -> bool:
    """The word appears, not denied, and (when ``person``) with a person named near it."""
    start = 0
    while (i := norm.find(word, start)) >= 0:
        start = i + 1
        if _denied_at(norm, i):
            continue
        if person and not _person_near(norm, i, len(word)):
            continue
        return True
    return False


def person_near(norm: str, i: int, size: int) -> bool:
    """Is a person named within a few characters of ``norm[i:i + size]`` (a normalized text)?"""
    return _person_near(norm, i, size)


def _person_near(norm: str, i: int, size: int) -> bool:
    # The word itself may name the person (阿公不見了, 人不見了: the missing kind's words and combos).
    window = norm[max(0, i - PERSON_BEFORE):i] + SEP + norm[i:i + size] + SEP + norm[i + size:i + size + PERSON_AFTER]
    window = _strip(window, "not_person")
    return any(w in window for w in _message_words("person_words"))


def _has(norm: str, key: str) -> bool:
    return any(w in norm for w in _message_words(key))


def assess(text: str) -> Danger | None:
    """The danger to a person a message describes, or None. Pure; the text is not kept."""
    norm = _nlu().normalize(text or "")
    if not norm:
        return None
    norm = _strip(norm, "not_danger")
    kinds = frozenset(kind for kind in KIND_ORDER
                      if any(_found(norm, w, _needs_person(kind)) for w in _kind_words(kind)))
    if not kinds:
        return None
    rest = norm  # without the danger words themselves (昏過去 is not 過去)
    for kind in kinds:
        for w in _kind_words(kind):
            rest = rest.replace(w, SEP)
    if _not_now(rest):
        # Wanting to die is heard even beside money or forms (急難救助怎麼申請 … 今天就想結束); not when
        # it is over, past or imagined (前陣子想不開 現在比較好了: the FAQ's 1925 answer then).
        if "self_harm" in kinds and not _not_now(rest, about=False):
            return Danger(kind="self_harm", kinds=frozenset({"self_harm"}))
        return None
    return Danger(kind=next(k for k in KIND_ORDER if k in kinds), kinds=kinds)


def words_found(text: str, kind: str, without: str | None = None) -> frozenset[str]:
    """The words of one kind that a message says (not denied), as listed (normalised); ``without``:
    a list of knowledge/safety.yaml's ``message`` whose phrases are taken out first."""
    norm = _strip(_nlu().normalize(text or ""), "not_danger")
    if without:
        norm = _strip(norm, without)
    person = _needs_person(kind)
    return frozenset(w for w in _kind_words(kind) if _found(norm, w, person))


def _needs_person(kind: str) -> bool:
    """Do the kind's words count only with a person named near them (knowledge/safety.yaml)?"""
    return kind in (cfg()["message"].get("needs_person") or ())


def says(text: str, key: str) -> bool:
    """Does a message hold a phrase of knowledge/safety.yaml's ``message`` list ``key``?"""
    return _has(_nlu().normalize(text or ""), key)


def _not_now(norm: str, about: bool = True) -> bool:
    """Over (人沒事, 救回來), or asked about (with ``about``), imagined or past without a word that
    says now."""
    if _has(norm, "over_words"):
        return True
    return not _has(norm, "now_words") and ((about and _has(norm, "about_words")) or _has(norm, "not_now_words"))


def _denied_at(norm: str, i: int) -> bool:
    """Is the word at ``norm[i:]`` denied or only asked about (沒有人受傷, 有沒有人受傷)?"""
    return bool(_denial_re().search(norm[max(0, i - 8):i]))


def _denied(norm: str) -> bool:
    """Does the text deny a danger word (水沒有淹進來, 沒有人受傷)? The model reads no negation."""
    for kind in KIND_ORDER:
        for word in _kind_words(kind):
            i = norm.find(word)
            if i >= 0 and _denied_at(norm, i):
                return True
    return False


def alarm(text: str) -> bool:
    """Should the answer to this message start with 119? When the safety words find a danger
    (``assess``), or when the model learned from residents' danger messages hears one
    (``model_alarm``). ``assess`` decides what the bot answers; this only decides the 119 line."""
    return assess(text) is not None or model_alarm(text)


def model_alarm(text: str) -> bool:
    """Does the message sound like danger now to the model (services/safety_learned.py), with nothing
    in it that keeps it from the model (``model_text``)?"""
    norm = model_text(text)
    if norm is None:
        return False
    from services import safety_learned
    return safety_learned.sounds_like_danger(danger_model(), norm)


@functools.cache
def danger_model():
    """The danger model (services/safety_learned.py), trained once per process (bot/worker.warm_up,
    or the first message)."""
    from services import safety_learned
    return safety_learned.train(safety_learned.training_rows(lambda text: assess(text) is not None, trains_on))


def model_text(text: str, lasting: bool = True) -> str | None:
    """What the model reads of a message: its normalised form without the phrases that are not a
    person in danger (手機掉到水溝); None when something in it says the danger is over, past,
    imagined or only asked about, or has lasted long (壞了很久) or is a repair not answered (報修
    都沒有反應; unless ``lasting`` is False), or denies a danger word (the model reads no negation)."""
    norm = _strip(_nlu().normalize(text or ""), "not_danger")
    if not norm or _not_now(norm) or _denied(norm) or (lasting and (_has(norm, "long_standing") or unanswered(norm))):
        return None
    return norm


def passes_gate(text: str) -> bool:
    """May the model's alarm count for this text (``model_text``)?"""
    return model_text(text) is not None


def trains_on(text: str) -> bool:
    """May the model learn from this line (services/safety_learned.training_rows)? As ``passes_gate``,
    except that a long-lasting problem (很久了) still teaches it what is not danger: the complaints
    about an earlier report are most of the calm lines that say so."""
    return model_text(text, lasting=False) is not None


# -- phone numbers in a text -----------------------------------------------------------------------

@functools.cache
def _phone_re() -> re.Pattern[str]:
    c = cfg()["check"]
    short = _alternation(str(n) for n in c["short_numbers"])
    holders = _alternation(str(n) for n in c["phone_placeholders"])
    before = "".join(f"(?<!{re.escape(str(w))})" for w in c["not_after"])
    units = _alternation(str(w) for w in c["not_before"])
    literal = (rf"(?<![\d\-/.:A-Za-z]){before}(0800-?\d{{3}}-?\d{{3}}|0\d{{1,2}}-\d{{6,8}}|09\d{{2}}-?\d{{3}}-?\d{{3}}|"
               rf"{short})(?![\d\-./A-Za-z])(?!\s*(?:{units}))")
    return re.compile(rf"\{{({holders})\}}|{literal}")


def phones(text: str) -> list[str]:
    """The phone numbers a text names, in order; a placeholder reads as ``{name}``."""
    return [f"{{{m.group(1)}}}" if m.group(1) else m.group(2) for m in _phone_re().finditer(text or "")]


def first_phone(text: str) -> str | None:
    found = phones(text)
    return found[0] if found else None


def is_emergency_number(phone: str | None) -> bool:
    c = cfg()["check"]
    emergency = {str(n) for n in c["emergency_numbers"]} | {f"{{{p}}}" for p in c["emergency_placeholders"]}
    return phone in emergency


def starts_with_119(text: str) -> bool:
    """Does the first phone number of a (filled) text read 119?"""
    return first_phone(text) == "119"


# -- the knowledge check ---------------------------------------------------------------------------

@functools.cache
def _check_danger_re() -> re.Pattern[str]:
    return re.compile(_alternation(str(w) for w in cfg()["check"]["danger_words"]))


@functools.cache
def _check_denial_re() -> re.Pattern[str]:
    negs = _alternation(str(w) for w in cfg()["check"]["negations"])
    fillers = _alternation(str(w) for w in cfg()["message"]["denial_fillers"])
    return re.compile(f"(?:{negs})(?:{fillers})?$")


def speaks_of_danger(text: str) -> bool:
    """A danger word (受困, 受傷, 危險, 淹進…) that is not denied (沒有危險, 不危險, 無人受傷)."""
    for m in _check_danger_re().finditer(text or ""):
        if not _check_denial_re().search(text[max(0, m.start() - 6):m.start()]):
            return True
    return False


@functools.cache
def _sentence_end() -> re.Pattern[str]:
    ends = "".join(re.escape(str(c)) for c in cfg()["check"]["sentence_ends"])
    return re.compile(rf"(?<=[\n{ends}])")


def _list_intro() -> tuple[str, ...]:
    return tuple(str(c) for c in cfg()["check"]["list_intro"])


def text_problem(text: str) -> str | None:
    """Why a resident text breaks the rule, or None.

    Each sentence (a line, or up to 。；！？) that speaks of danger must name an emergency number
    before any other; a sentence that names no number but opens a list (ends with ：) is read with
    the lines that follow. A sentence that speaks of danger and names no number (a question such as
    「現場有人受困或受傷嗎？」, a hardship such as 「重病或意外受傷」) is not checked: the rule is about
    which number comes first, and numbers elsewhere in the text answer other questions."""
    if not isinstance(text, str) or not speaks_of_danger(text):
        return None
    parts = [p for p in _sentence_end().split(text) if p]
    for i, part in enumerate(parts):
        if not speaks_of_danger(part):
            continue
        first = first_phone(part)
        if first is None and part.strip().endswith(_list_intro()):
            first = first_phone("".join(parts[i + 1:]))
        if first is not None and not is_emergency_number(first):
            return f"speaks of danger but names {first} before 119: {part.strip()[:40]}"
    return None


# Keys whose values are not read by residents (sources, statuses, notes for staff).
NOT_RESIDENT_KEYS = {"source", "sources", "status", "claim", "verified_by", "verified_on", "unverified",
                     "review", "last_reviewed", "applies", "id", "version", "from", "to", "rule", "value"}


def _strings(node: Any, prefix: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for k, v in node.items():
            if str(k) not in NOT_RESIDENT_KEYS and not str(k).endswith(("_status", "_source")):
                yield from _strings(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _strings(v, f"{prefix}[{i}]")
    elif isinstance(node, str):
        yield prefix, node


def resident_texts() -> Iterator[tuple[str, str]]:
    """(where, text) for every text residents read: the messages files, the FAQ answers, and the
    resident texts of knowledge/welfare/, dengue.yaml and disaster.yaml."""
    from services import faq
    from services.knowledge import messages
    yield from ((f"messages {where}", text) for where, text in _strings(messages(), ""))
    for entry in faq.base().entries:
        yield f"faq/{entry.file} {entry.id}", entry.answer
    for path in sorted((KNOWLEDGE_DIR / "welfare").glob("*.yaml")):
        yield from ((f"welfare/{path.name} {w}", s) for w, s in _strings(load(f"welfare/{path.stem}"), ""))
    for name in ("dengue", "disaster"):
        yield from ((f"{name}.yaml {w}", s) for w, s in _strings(load(name), ""))


def check(texts: Iterable[tuple[str, str]] | None = None) -> list[str]:
    """Problems of the rule "danger means 119 first", one line each."""
    problems = []
    for where, text in (resident_texts() if texts is None else texts):
        why = text_problem(text)
        if why:
            problems.append(f"{where}: {why}")
    return problems
