"""Complaints about an earlier report (services/nlu.py): reported again and again (報修三次了, 第三次反映),
reported earlier (上禮拜報修的路燈), asked whether it is done yet (修了嗎), or reported before and still
not done (一年前就報了 路還是爛的). Such a message is a case look-up (case_status), whatever the problem
is; the words are the lexicon's (knowledge/nlu/lexicon.yaml: complaint_*, earlier_*, done_yet)."""
from __future__ import annotations

import functools
import re

from services.nlu_lexicon import either as _either, has as _has, lexicon
from services.nlu_text import normalize

__all__ = ["complains", "complaint", "unanswered"]


@functools.cache
def _counted(verbs: str, units: str) -> re.Pattern[str]:
    """A verb of the list, a number (digits or the lexicon's number words), a unit of the list:
    報修三次, 反映好幾遍 (complaint_again); 已經五天, 已經一個月 (complaint_waited)."""
    words = lexicon().rules
    alt = lambda key: _either(words.get(key, ()))
    return re.compile(f"(?:{alt(verbs)})(?:{alt('count_links')})?(?:[0-9]|{alt('number_words')})+(?:{alt(units)})")


@functools.cache
def _earlier_re() -> re.Pattern[str]:
    """A time before now, up to EARLIER_GAP characters, a verb of reporting (lexicon earlier_*)."""
    words = lexicon().rules
    alt = lambda key: _either(words.get(key, ()))
    return re.compile(f"(?:{alt('earlier_time')})(.{{0,{EARLIER_GAP}}}?)(?:{alt('earlier_verbs')})(?!{alt('earlier_not_after')})")


EARLIER_GAP = 8


def _reported_earlier(norm: str) -> bool:
    """上禮拜報修的路燈, 之前通報的竹子, 上次傳的那個坑洞: a report made before (not 上次說的補助, 之前想報)."""
    for m in _earlier_re().finditer(norm):
        if not any(m.group(1).endswith(w) for w in lexicon().rules.get("earlier_not_verb", ())):
            return True
    return False


@functools.cache
def _nth_re() -> re.Pattern[str]:
    """第三次反映, 第四擺報: the nth time of a verb of complaint_again (within a few characters)."""
    words = lexicon().rules
    alt = lambda key: _either(words.get(key, ()))
    return re.compile(f"(?:{alt('nth_words')})(?:[0-9]|{alt('number_words')})+(?:{alt('again_units')}).{{0,3}}?(?:{alt('complaint_again')})")


def _nth_time(norm: str) -> bool:
    return bool(_nth_re().search(norm))


def unanswered(norm: str) -> bool:
    """報修路燈都沒有反應: a repair asked for or a complaint made (``unanswered_verbs``: not 通報 or 報案,
    which call for help too) and no answer to it (``complaint_unanswered``), the verb found outside
    the no-answer words (沒有反應 holds 反應)."""
    words = lexicon().rules
    silent = [w for w in words.get("complaint_unanswered", ()) if w in norm]
    if not silent:
        return False
    rest = norm
    for w in sorted(silent, key=len, reverse=True):
        rest = rest.replace(w, "|")
    return any(w in rest for w in words.get("unanswered_verbs", ()))


@functools.cache
def _bare_reported_re() -> re.Pattern[str]:
    """報三個月, 已經報兩個月了, 報三工矣: 報 alone and the wait since (a number, a unit of ``waited_units``), not
    the end of another word (``reported_bare_not_after``: 預報三天) and not a time ago (報三天前壞的)."""
    words = lexicon().rules
    before = "".join(f"(?<!{re.escape(w)})" for w in words.get("reported_bare_not_after", ()))
    waited = _counted("reported_bare", "waited_units").pattern
    return re.compile(f"{before}{waited}(?!{_either(words.get('ago_words', ()))})")


def complains(norm: str) -> bool:
    """Reported again and again, reported earlier, asked whether it is done yet, reported and not
    answered, or reported before and still not done (or a long wait since)."""
    if _counted("complaint_again", "again_units").search(norm) or _nth_time(norm) or _reported_earlier(norm) \
            or _has(norm, "done_yet") or _counted("complaint_reported", "waited_units").search(norm) \
            or _bare_reported_re().search(norm) or unanswered(norm):
        return True
    still = _has(norm, "complaint_still") or bool(_counted("complaint_waited", "waited_units").search(norm))
    return still and _has(norm, "complaint_earlier")


def complaint(text: str) -> bool:
    """A complaint about an earlier report (reported before, still not done: 「一年前就報了 路還是爛的」,
    「報修三次了」); the same test that makes such a message ``case_status``."""
    return complains(normalize(text or ""))
