"""Step 1 of services/nlu.py: the comparable form of a message and of every lexicon word (full-width
to half-width, simplified to traditional with OpenCC, lower case, known typos, no spaces or
punctuation), and the word-list checks on it. Imported through ``services.nlu``."""
from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any, Iterable

from services import knowledge

@functools.cache
def _converter():
    """Simplified to traditional (Taiwan variants), character by character. OpenCC's phrase
    dictionaries (s2twp) weigh about 40 MB in every process; matching needs only the same form for a
    message and for the words it is compared with, and both go through ``normalize``."""
    import json
    import os
    import tempfile
    from pathlib import Path
    import opencc
    share = Path(opencc.__file__).parent / "clib" / "share" / "opencc"
    chars, variants = (str(share / name) for name in ("STCharacters.ocd2", "TWVariants.ocd2"))
    config = {"name": "s2tw, characters only",
              "segmentation": {"type": "mmseg", "dict": {"type": "ocd2", "file": chars}},
              "conversion_chain": [{"dict": {"type": "ocd2", "file": chars}},
                                   {"dict": {"type": "ocd2", "file": variants}}]}
    fd, path = tempfile.mkstemp(suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(config, fh)
        return opencc.OpenCC(path)
    finally:
        os.unlink(path)


_DROP = re.compile(r"[\s\u3000]+")


def _strip_punct(text: str) -> str:
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith(("P", "Z", "C"))
                   and ch not in "~`^|<>+=$")


def normalize(text: str) -> str:
    """The comparable form of a message (and of every lexicon word)."""
    t = unicodedata.normalize("NFKC", text or "").lower()
    t = _DROP.sub("", t)
    t = _converter().convert(t)
    for wrong, right in _typos():
        t = t.replace(wrong, right)
    return _strip_punct(t)


@functools.cache
def _typos() -> tuple[tuple[str, str], ...]:
    conv = _converter()
    pairs = []
    for wrong, right in (knowledge.load("nlu/lexicon").get("typos") or {}).items():
        w = conv.convert(unicodedata.normalize("NFKC", str(wrong)).lower())
        r = conv.convert(unicodedata.normalize("NFKC", str(right)).lower())
        pairs.append((w, r))
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


def normalize_word(word: str) -> str:
    """A lexicon or keyword entry in the same comparable form as ``normalize`` gives a text."""
    return _norm_word(word)


def normalized_words(key: str) -> list[str]:
    """A word list of the messages files (``knowledge.words``), each in ``normalize``'s form;
    entries that normalise to nothing (punctuation) are dropped, since they would match any text."""
    return [w for w in (normalize_word(x) for x in knowledge.words(key)) if w]


def has_word(norm: str, key: str) -> bool:
    """Does a text already in ``normalize``'s form contain one of the words listed at ``key``?"""
    return any(w in norm for w in normalized_words(key))


def has_any(norm: str, words: Iterable[Any]) -> bool:
    """``has_word`` for a word list given directly (e.g. a category's words in a knowledge file);
    words that normalise to nothing are skipped, since they would match any text."""
    return any(w and w in norm for w in map(normalize_word, words))


def _norm_word(word: str) -> str:
    return _strip_punct(_converter().convert(unicodedata.normalize("NFKC", str(word)).lower().replace(" ", "")))
