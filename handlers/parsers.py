"""Small pure parsers for residents' answers."""
from __future__ import annotations

import re
import unicodedata

from services.knowledge import words

_PHONE_MOBILE = re.compile(r"^09\d{8}$")
_PHONE_LANDLINE = re.compile(r"^0[2-8]\d{7,8}$")


def normalize(text: str) -> str:
    """Full-width to half-width, trimmed; keeps Chinese as it is."""
    return unicodedata.normalize("NFKC", text or "").strip()


def tw_phone(text: str) -> str | None:
    """A Taiwanese mobile or landline number in a standard form, or None.

    ``0912 345 678`` -> ``0912-345-678``; ``(06)5731611`` -> ``06-5731611``.
    """
    digits = re.sub(r"[\s\-()（）]", "", normalize(text))
    if digits.startswith("+886"):
        digits = "0" + digits[4:]
    if not digits.isdigit():
        return None
    if _PHONE_MOBILE.match(digits):
        return f"{digits[:4]}-{digits[4:7]}-{digits[7:]}"
    if _PHONE_LANDLINE.match(digits):
        area = 3 if digits.startswith(("037", "049", "082", "089")) else 2
        return f"{digits[:area]}-{digits[area:]}"
    return None


_PHONE_RUN = re.compile(r"(?:\+886|0)[0-9\s\-()（）]{7,16}[0-9]")


def phone_in(text: str) -> str | None:
    """The one phone number in a short message (「我的電話 0987654321 下午比較方便」), or None when
    there is none or more than one."""
    whole = tw_phone(text)
    if whole or len(text) > 60:
        return whole
    found = {p for p in (tw_phone(m.group(0)) for m in _PHONE_RUN.finditer(normalize(text))) if p}
    return found.pop() if len(found) == 1 else None


def choice_number(text: str, count: int) -> int | None:
    """``"3"`` -> 2 (zero-based) when 1 <= 3 <= count."""
    t = normalize(text)
    if t.isdigit() and 1 <= int(t) <= count:
        return int(t) - 1
    return None


def _bare(text: str) -> str:
    return re.sub(r"[\W_]+", "", normalize(text))


def is_yes(text: str) -> bool:
    """「好」, 「確認送出」, and short runs of such words (「好 送出」, 「对」, 「好的，確認」)."""
    from services.nlu import normalize as nlu_normalize
    bare = _bare(text)
    yes = sorted(words("common.yes_words"), key=len, reverse=True)
    if bare in yes:
        return True
    rest = _bare(nlu_normalize(text))
    if not rest or len(rest) > 8:
        return False
    while rest:
        word = next((w for w in yes if rest.startswith(w)), None)
        if word is None:
            return rest in words("common.yes_endings")
        rest = rest[len(word):]
    return True


def is_no(text: str) -> bool:
    return _bare(text) in words("common.no_words")


def command(text: str) -> str | None:
    """The global command a text is, if it is one: cancel, back, menu, human, continue."""
    bare = _bare(text).lower()
    if not bare:
        return None
    for name in ("cancel", "back", "menu", "human", "continue"):
        if bare in (w.lower() for w in words(f"common.commands.{name}")):
            return name
    if len(bare) <= 15 and any(_bare(w) in bare for w in words("common.commands.human_phrases")):
        return "human"  # 「我要找真人」, 「可以跟承辦講話嗎」
    return None
