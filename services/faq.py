"""The office's services as data: load, validate and look up ``knowledge/faq/*.yaml``.

Each entry says what a service is, who may apply, what to bring, where and whom to call,
with every concrete claim listed under ``facts`` with its status and source. Answers never
state an unverified fact as certain (see knowledge/faq/README.md).
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from services import faq_refs
from services.knowledge import KNOWLEDGE_DIR, fill, load

FAQ_DIR = KNOWLEDGE_DIR / "faq"
STATUSES = ("verified-official", "verified-secondary", "derived", "unverified")
ID_RE = re.compile(r"^[a-z]+\.[a-z0-9_]+$")
# Phone numbers and figures a resident would act on: hotlines, landlines, amounts, counts of days.
NUMBER_RE = re.compile(r"\d[\d,\-]*\d|\d")


@dataclass(frozen=True)
class Fact:
    claim: str
    status: str
    source: str | None
    applies: str | None = None
    reviewed: str | None = None  # when staff last checked this fact (dashboard edits)


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    section: str
    keywords: tuple[str, ...]
    questions: tuple[str, ...]
    answer: str
    facts: tuple[Fact, ...]
    last_reviewed: dt.date
    review_days: int
    unverified: str | None = None
    file: str = ""
    screener: bool = False  # a programme the welfare screener checks: its answer offers 福利補助試算

    def text(self) -> str:
        """The answer as a resident reads it, with the office's contacts filled in."""
        return fill(self.answer)

    def due(self, today: dt.date) -> bool:
        return today > self.last_reviewed + dt.timedelta(days=self.review_days)


@dataclass
class FaqBase:
    entries: tuple[Entry, ...]
    by_id: dict[str, Entry] = field(default_factory=dict)

    def __post_init__(self):
        self.by_id = {e.id: e for e in self.entries}

    def get(self, entry_id: str) -> Entry | None:
        return self.by_id.get(entry_id)


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _entry(raw: dict[str, Any], file: str) -> Entry:
    return Entry(
        id=str(raw["id"]), title=str(raw["title"]), section=str(raw["section"]),
        keywords=tuple(str(k) for k in raw.get("keywords") or ()),
        questions=tuple(str(q) for q in raw.get("questions") or ()),
        answer=str(raw["answer"]).strip(),
        facts=tuple(Fact(str(f["claim"]), str(f["status"]), f.get("source"),
                         str(f["applies"]) if f.get("applies") is not None else None,
                         str(f["reviewed"]) if f.get("reviewed") else None)
                    for f in raw.get("facts") or ()),
        last_reviewed=_date(raw["last_reviewed"]), review_days=int(raw.get("review_days", 365)),
        unverified=raw.get("unverified"), file=file, screener=bool(raw.get("screener", False)),
    )


def files() -> list[Path]:
    return sorted(FAQ_DIR.glob("*.yaml"))


# The base with the dashboard's published edits (services/knowledge_live.py installs it); None: the YAML.
_installed: FaqBase | None = None


def base() -> FaqBase:
    """The FAQ residents get: the YAML seed, or the seed with the published dashboard edits."""
    return _installed if _installed is not None else seed()


def install(new_base: FaqBase | None) -> None:
    """Serve ``new_base`` from now on (None: back to the YAML seed). The routing index is the
    caller's to rebuild (``services.nlu.install_faq_index``)."""
    global _installed
    _installed = new_base


def entry_from_dict(raw: dict[str, Any], file: str = "") -> Entry:
    return _entry(raw, file)


@functools.cache
def seed() -> FaqBase:
    """The entries of knowledge/faq/*.yaml, read once per process."""
    entries = []
    for path in files():
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
        for raw in data.get("entries") or ():
            entries.append(_entry(raw, path.name))
    return FaqBase(tuple(entries))


def sections() -> tuple[str, ...]:
    return tuple(load("sections")["sections"])


def check(today: dt.date | None = None) -> list[str]:
    """Every problem in the FAQ files, one line each, then every id named elsewhere in knowledge/
    that names no entry (``services.faq_refs``)."""
    ids = [e.id for e in base().entries]
    return _file_problems(today or dt.date.today()) + faq_refs.reference_problems(KNOWLEDGE_DIR, ids)


def _file_problems(today: dt.date) -> list[str]:
    SECTIONS = sections()
    problems: list[str] = []
    seen: set[str] = set()
    for path in files():
        try:
            with open(path, encoding="utf-8") as fh:
                data = yaml.safe_load(fh) or {}
        except yaml.YAMLError as exc:
            problems.append(f"{path.name}: not valid YAML ({exc})")
            continue
        if data.get("section") not in SECTIONS:
            problems.append(f"{path.name}: unknown section {data.get('section')!r}")
        for raw in data.get("entries") or ():
            where = f"{path.name} {raw.get('id', '?')}"
            missing = [k for k in ("id", "title", "section", "keywords", "questions", "answer", "last_reviewed")
                       if not raw.get(k)]
            if missing:
                problems.append(f"{where}: missing {', '.join(missing)}")
                continue
            if raw.get("id") in seen:
                problems.append(f"{where}: duplicate id")
            seen.add(raw.get("id"))
            problems += entry_problems(raw, where, today, path.name)
    return problems


def entry_problems(raw: dict[str, Any], where: str, today: dt.date, file: str = "") -> list[str]:
    """The problems of one entry (a YAML entry or a dashboard edit), one line each."""
    problems: list[str] = []
    SECTIONS = sections()
    e = _entry(raw, file)
    if not ID_RE.match(e.id):
        problems.append(f"{where}: id must look like area.topic")
    if e.section not in SECTIONS:
        problems.append(f"{where}: unknown section {e.section}")
    if len(e.title) > 12:
        problems.append(f"{where}: title longer than 12 characters")
    if "06-5731611" in e.answer:
        problems.append(f"{where}: write {{office_phone}}, not the number")
    try:
        e.text()
    except (KeyError, ValueError, IndexError) as exc:
        problems.append(f"{where}: bad placeholder {exc}")
        return problems
    for f in e.facts:
        if f.status not in STATUSES:
            problems.append(f"{where}: fact status {f.status!r}")
        if f.status != "unverified" and not f.source:
            problems.append(f"{where}: fact without source: {f.claim[:30]}")
    verified = " ".join(f.claim for f in e.facts if f.status != "unverified")
    answer = re.sub(r"\{[a-z_0-9]+\}", "", e.answer)
    for number in set(NUMBER_RE.findall(answer)):
        if number not in verified:
            problems.append(f"{where}: the answer says {number} but no verified fact does")
    if e.due(today):
        problems.append(f"{where}: review overdue (last {e.last_reviewed}, every {e.review_days} days)")
    return problems


def unverified_list() -> list[tuple[str, str, str]]:
    """(entry id, title, what is unverified) for the office to work through."""
    out = []
    for e in base().entries:
        notes = [f.claim for f in e.facts if f.status == "unverified"]
        if e.unverified:
            notes.insert(0, str(e.unverified))
        for n in notes:
            out.append((e.id, e.title, n))
    return out
