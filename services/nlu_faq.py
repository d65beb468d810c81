"""The FAQ routing index of services/nlu.py: which service of knowledge/faq/ a message names.

For each entry, a keyword found whole gives 2 + length/2 (only 1 when the keyword is nearly a
report word), plus up to 1.5 from BM25 (``bm25s``) over character unigrams and bigrams of its
title, keywords and example questions; the labelled examples' index (services/nlu_learned.py) is
built with it, so a knowledge edit swaps both at once (services/nlu_index.py).
"""
from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass

from services import faq as faq_mod
from services import kinds
from services import nlu_index
from services import nlu_learned
from services.nlu_lexicon import lexicon, names_benefit
from services.nlu_text import normalize, normalize_word

# The parts of the FAQ search; bench/routing_bench.py switches them off to compare methods.
FAQ_KEYWORDS = True
FAQ_BM25 = True

_RUN = re.compile(r"[a-z0-9]+|.", re.DOTALL)


def tokens(text: str) -> list[str]:
    """Characters and character pairs; a run of letters or digits (375, 1999, fb) is one token."""
    units = _RUN.findall(text)
    return units + [a + b for a, b in zip(units, units[1:]) if len(a) == 1 and len(b) == 1]


@functools.cache
def _fillers() -> re.Pattern[str]:
    """The filler characters of the lexicon's ``fillers`` list, as one character class."""
    chars = "".join(sorted({c for w in lexicon().rules.get("fillers", ()) for c in w}))
    return re.compile(f"[{re.escape(chars)}]") if chars else re.compile(r"(?!)")


@dataclass
class FaqIndex:
    ids: tuple[str, ...]
    keywords: tuple[tuple[str, ...], ...]
    bm25: object | None
    learned: nlu_learned.Index | None = None   # labelled examples by resemblance (services/nlu_learned.py)

    def search(self, text: str, k: int = 3) -> list[tuple[str, float, str | None]]:
        """(entry id, score, matched keyword) best first."""
        if not self.ids:
            return []
        scores = []
        use_bm25 = FAQ_BM25 and self.bm25 is not None
        raw = self.bm25.get_scores(tokens(text)) if use_bm25 else [0.0] * len(self.ids)
        top = max(raw) if len(raw) else 0.0
        shared = flow_words()
        # Filler characters residents put inside a service's name (選舉的工作人員): a keyword of 4+
        # characters found once they are left out counts half a point less.
        squeezed = _fillers().sub("", text)
        for i, entry_id in enumerate(self.ids):
            kw, bonus = None, 0.0
            for w in (self.keywords[i] if FAQ_KEYWORDS else ()):
                whole = len(w) >= 2 and w in text
                if whole or (len(w) >= 4 and squeezed != text and w in squeezed):
                    # A word that also names a report (路燈, 水溝, 登革熱) says little about which service.
                    b = 1.0 if is_shared(w, shared) else 2.0 + min(len(w), 6) * 0.5 - (0 if whole else 0.5)
                    if b > bonus:
                        kw, bonus = w, b
            rel = (raw[i] / top) if top > 0 else 0.0
            # Word overlap alone (no keyword) stays under the threshold: it can suggest, not decide.
            score = bonus + 1.5 * rel * min(1.0, top / 10.0)
            scores.append((entry_id, score, kw))
        scores.sort(key=lambda s: -s[1])
        return scores[:k]


def is_shared(keyword: str, shared: frozenset[str]) -> bool:
    """A keyword that is (nearly) a report word: 路燈壞了 is, 農作物天然災害救助 is not. A programme's
    name is never shared, although it holds a welfare word (老人津貼, 急難救助 name one service)."""
    if names_benefit(keyword):
        return False
    return any(w in keyword and len(keyword) - len(w) < 3 for w in shared)


@functools.cache
def flow_words() -> frozenset[str]:
    """Medium and strong words of the labels that open a conversation or a look-up."""
    out = set()
    for label in kinds.routing_labels() + ("case_status",):
        out.update(w for w, weight in lexicon().words.get(label, ()) if weight >= 2 and len(w) >= 2)
    return frozenset(out)


def build_faq_index(entries) -> FaqIndex:
    """The routing index of FAQ entries (BM25 over their titles, keywords and example questions)."""
    entries = tuple(entries)
    if not entries:
        return FaqIndex((), (), None)
    import bm25s
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    docs = []
    keywords = []
    for e in entries:
        kws = tuple(sorted({normalize_word(w) for w in (e.title, *e.keywords)}, key=len, reverse=True))
        keywords.append(kws)
        text = " ".join([e.title] * 2 + list(e.keywords) * 2 + list(e.questions))
        docs.append([tok for part in text.split() for tok in tokens(normalize_word(part))])
    retriever = bm25s.BM25()
    retriever.index(docs, show_progress=False)
    return FaqIndex(tuple(e.id for e in entries), tuple(keywords), retriever, nlu_learned.build(entries, normalize))


def faq_index() -> FaqIndex:
    """The index in use (services/nlu_index.py: swapped when staff publish an FAQ edit)."""
    return nlu_index.current(lambda: build_faq_index(faq_mod.base().entries))


install_faq_index = nlu_index.install    # services/knowledge_live.py, after a publication
candidate_index = nlu_index.candidate    # the dashboard's effect of a draft
