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


def choice_number(text: str, count: int) -> int | None:
    """``"3"`` -> 2 (zero-based) when 1 <= 3 <= count."""
    t = normalize(text)
    if t.isdigit() and 1 <= int(t) <= count:
        return int(t) - 1
    return None


def _bare(text: str) -> str:
    return re.sub(r"[\W_]+", "", normalize(text))


def is_yes(text: str) -> bool:
    return _bare(text) in words("common.yes_words")


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
    return None
