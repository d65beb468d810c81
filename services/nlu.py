"""Understanding a resident's message: which routing label it gets.

Labels are the contract of ARCHITECTURE.md: road_report, dengue_report, dengue_info,
disaster_report, welfare, faq, case_status, human, greeting, unknown.
This is a keyword router over ``knowledge/routing.yaml``; case numbers win first.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from services import knowledge
from services.submissions import normalize_ref

LABELS = ("road_report", "dengue_report", "dengue_info", "disaster_report", "welfare", "faq",
          "case_status", "human", "greeting", "unknown")


@dataclass(frozen=True)
class Intent:
    label: str
    matched: str | None = None  # the word that decided it
    ref: str | None = None      # a case number found in the text


def classify(text: str) -> Intent:
    norm = unicodedata.normalize("NFKC", text or "").strip().lower()
    if not norm:
        return Intent("unknown")
    ref = normalize_ref(norm)
    if ref:
        return Intent("case_status", ref, ref)
    for label, spec in knowledge.routing()["labels"].items():
        for word in spec["words"]:
            if word.lower() in norm:
                return Intent(label, word)
    return Intent("unknown")
