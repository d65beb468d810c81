"""Reading what a resident types to the welfare screener: the first message (an age, who is asked
about, a baby, 「獨居」), amounts and numbers of people typed as answers, and an injury or illness
happening now (119 first)."""
from __future__ import annotations

import functools
import re
from typing import Any

from handlers import parsers
from services import knowledge, nlu, safety


def parse_word(key: str) -> Any:
    return knowledge.raw(f"welfare.parse.{key}")


def parse_words(key: str) -> tuple[str, ...]:
    return tuple(parse_word(key))


def chinese_number(text: str) -> int | None:
    """Chinese numerals (eighty-two, one hundred and two) as an int."""
    digits, ten, hundred = parse_word("digits"), parse_word("ten"), parse_word("hundred")
    if not text or any(c not in digits and c not in (ten, hundred) for c in text):
        return None
    total, current = 0, 0
    for c in text:
        if c == hundred:
            total += (current or 1) * 100
            current = 0
        elif c == ten:
            total += (current or 1) * 10
            current = 0
        else:
            current = digits[c]
    return total + current


@functools.cache
def _age_re() -> re.Pattern[str]:
    numerals = "".join(parse_word("digits")) + parse_word("ten") + parse_word("hundred")
    units = "|".join(re.escape(u) for u in parse_words("age_units"))
    return re.compile(rf"([0-9０-９]{{1,3}}|[{numerals}]{{1,5}})\s*(?:{units})")


@functools.cache
def _self_age_re() -> re.Pattern[str]:
    numerals = "".join(parse_word("digits")) + parse_word("ten") + parse_word("hundred")
    units = "|".join(re.escape(u) for u in parse_words("age_units"))
    return re.compile(rf"{parse_word('self_prefix')}({parse_word('this_year')})?\s*([0-9０-９]+|[{numerals}]+)\s*(?:{units})")


def age_in(text: str) -> int | None:
    for m in _age_re().finditer(text or ""):
        raw = parsers.normalize(m.group(1))
        value = int(raw) if raw.isdigit() else chinese_number(raw)
        if value is not None and 0 <= value <= 120:
            return value
    return None


def mentioned(text: str) -> str | None:
    """The person a message is about, by the first relation word (not the asker's own role)."""
    text = text or ""
    if _self_age_re().search(text):
        return "self"
    prefixes = knowledge.words("welfare.asker_prefixes")
    weak = knowledge.words("welfare.weak_self_words")
    best: tuple[int, str] | None = None
    weak_self, asker_named = False, False
    for rel, words in knowledge.raw("welfare.relation_words").items():
        for w in words:
            for m in re.finditer(re.escape(w), text):
                if rel != "self" and any(p in text[max(0, m.start() - len(p) - 2):m.start()] for p in prefixes):
                    asker_named = True  # 「我是她女兒」: who is asking, not who is asked about
                    continue
                if rel == "self" and w in weak:
                    weak_self = True  # 「幫我…」 gives way to 「幫我的小孩問」
                    continue
                if best is None or m.start() < best[0]:
                    best = (m.start(), rel)
    if best:
        return best[1]
    return "self" if weak_self and not asker_named else None


def relation_in(text: str) -> str | None:
    """The person asked about. A baby born or expected: the parent, asking for the family.
    An injury or illness happening now is not a screening question (see ``urgent``)."""
    if is_emergency(text):
        return None
    if baby_in(text):
        return "self"
    return mentioned(text)


def baby_in(text: str) -> bool:
    return nlu.has_word(nlu.normalize(text or ""), "welfare.baby.words")


def baby_facts(text: str) -> dict[str, Any]:
    """What a message about a baby says clearly: a baby under 2, born within 60 days, its birth order."""
    norm = nlu.normalize(text or "")
    facts: dict[str, Any] = {}
    if nlu.has_word(norm, "welfare.baby.expecting_words") and not nlu.has_word(norm, "welfare.baby.born_words"):
        return facts
    if nlu.has_word(norm, "welfare.baby.born_words"):
        facts["children_under_2"] = {"min": 1, "max": None}
    if nlu.has_word(norm, "welfare.baby.newborn_words"):
        facts["newborn_in_last_60_days"] = True
    for word, order in knowledge.raw("welfare.baby.order").items():
        if nlu.normalize_word(word) in norm:
            facts["child_birth_order"] = {"min": 5, "max": None} if order >= 5 else order
            break
    return facts


def facts_from_text(text: str) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    age = age_in(text)
    if age is not None and not baby_in(text):  # 「寶寶3個月」 is not the parent's age
        facts["age"] = age
    if any(w in (text or "") for w in knowledge.words("welfare.alone_words")):
        facts["lives_alone"] = True
    if any(w in (text or "") for w in parse_words("indigenous_words")):
        facts["indigenous"] = True
    if baby_in(text):
        facts.update(baby_facts(text))
    return facts


def wants_screening(text: str) -> bool:
    """A question about what someone can get (not about one named service). An injury or illness
    happening now is not one: it gets 119 first (``urgent``)."""
    if is_emergency(text):
        return False
    norm = nlu.normalize(text or "")
    return (age_in(text) is not None or relation_in(text) is not None
            or nlu.has_word(norm, "welfare.screen_words"))


# -- an injury or illness happening now: 119 first -------------------------------------------------

def is_emergency(text: str) -> bool:
    """An acute injury or illness happening now (跌倒受傷, 中風, 胸痛…), not a past or lasting one
    (「以前中風過」, 「行動不便」, 「中風以後都躺在床上」) and not a family asking what help there is
    (「我爸中風 補助」), unless a word says it is happening now (剛剛). A word right after a negation
    (沒有跌倒) does not count."""
    norm = nlu.normalize(text or "")
    if not norm:
        return False
    negations = [nlu.normalize_word(w) for w in knowledge.words("welfare.emergency.negations")]
    needs_person = {nlu.normalize_word(w) for w in knowledge.words("welfare.emergency.needs_person")}
    hit = False
    for w in knowledge.words("welfare.emergency.words"):
        word = nlu.normalize_word(w)
        for m in re.finditer(re.escape(word), norm):
            if word in needs_person and not safety.person_near(norm, m.start(), len(word)):
                continue  # a tree or a sign on the ground, not a person
            if not any(norm[:m.start()].endswith(n) for n in negations):
                hit = True
                break
        if hit:
            break
    if not hit:
        return False
    if nlu.has_word(norm, "welfare.emergency.elsewhere_words"):
        return False
    if nlu.has_word(norm, "welfare.emergency.now_words"):
        return True
    return not (nlu.has_word(norm, "welfare.emergency.past_words")
                or nlu.has_word(norm, "welfare.emergency.request_words"))


# -- amounts and numbers of people typed as answers ---------------------------------------------------

@functools.cache
def _amount_re() -> re.Pattern[str]:
    wan, qian, yuan = (re.escape(parse_word(k)) for k in ("ten_thousand", "thousand", "dollar"))
    head = "|".join(re.escape(w) for w in sorted(parse_words("approx_prefixes"), key=len, reverse=True))
    tail = "|".join(re.escape(w) for w in sorted(parse_words("approx_suffixes"), key=len, reverse=True))
    return re.compile(rf"^({head})?([0-9]+(?:\.[0-9]+)?)\s*({wan}|{qian}|{yuan})?"
                      rf"\s*(?:([0-9]){qian}?)?\s*{yuan}?((?:{tail})*)$")


def _amount(text: str) -> tuple[int, int, list[str]] | None:
    """(amount, the step of its last unit, the loose words said with it) of an amount typed in
    digits with 10,000 / 1,000 units (e.g. 3 x 10,000 + 5 x 1,000), or None."""
    s = parsers.normalize(text).replace(",", "").replace(" ", "")
    m = _amount_re().match(s)
    if not m:
        return None
    digits = m.group(2)
    if (digits.startswith("0") and len(digits) >= 8) or len(digits.split(".")[0]) > 10:
        return None  # a phone number typed on the wrong question (0912345678), not an amount
    n = float(digits)
    unit = m.group(3)
    step = 1
    if unit == parse_word("ten_thousand"):
        n, step = n * 10000, 10000
        if m.group(4):
            n, step = n + int(m.group(4)) * 1000, 1000
    elif unit == parse_word("thousand"):
        n, step = n * 1000, 1000
    tail = m.group(5) or ""
    said = ([m.group(1)] if m.group(1) else []) + [w for w in parse_words("approx_suffixes") if w in tail]
    return int(n), step, said


def amount_fact(text: str) -> int | dict[str, int] | None:
    """A typed amount as a fact: the number, or a range when it was said loosely (「大概8萬」 is
    72,000–88,000, 「8萬多」 80,000–89,999, 「8萬以下」 up to 80,000, 「將近8萬」 72,000–80,000), so
    that a loose amount near a line gives "ask the office", never "likely"."""
    found = _amount(text)
    if found is None:
        return None
    n, step, said = found
    if not said or any(w in parse_words("exact_words") for w in said):
        return n
    if any(w in parse_words("more_words") for w in said):
        return {"min": n, "max": n + max(step, 10 ** max(len(str(n)) - 2, 0)) - 1}
    if any(w in parse_words("below_words") for w in said):
        low = 0 if any(w in parse_words("approx_suffixes") for w in said) else n * 9 // 10
        return {"min": low, "max": n}
    return {"min": n * 9 // 10, "max": -(-n * 11 // 10)}


@functools.cache
def _count_re() -> re.Pattern[str]:
    numerals = "".join(parse_word("digits")) + parse_word("ten")
    units = "|".join(re.escape(u) for u in parse_words("count_suffixes"))
    return re.compile(rf"([0-9]{{1,2}}|[{numerals}]{{1,3}})\s*(?:{units})")


def people_in(text: str) -> int | None:
    """A number of people: 「2」, 「兩個人」, 「三個」, 「我跟我哥跟媽媽三個」."""
    typed = parsers.normalize(text).rstrip("".join(parse_words("count_suffixes")))
    if typed.isdigit():
        return int(typed)
    if chinese_number(typed):
        return chinese_number(typed)
    found = _count_re().findall(parsers.normalize(text))
    if found:
        raw = found[-1]
        return int(raw) if raw.isdigit() else chinese_number(raw)
    return None
