"""Staff edit the FAQ in the dashboard: drafts, publishing by a second person, history and undo.

The YAML of knowledge/faq/ is the seed. An edit is a ``KnowledgeVersion`` holding the whole entry
(the same fields as a YAML entry); it is a draft until a second person publishes it: an admin, or
a reviewer of the entry's section (``KnowledgeReviewer``), never its author. Publishing makes it
the entry's live version (the one before becomes history); restoring an old version or switching
an entry off are drafts like any other change. Every save runs the checks of ``knowledge check``
on the entry (``problems``). Residents get the published state through services/knowledge_live.py.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services import faq, safety
from services import staff as staff_service
from services.faq import Entry, FaqBase
from services.models import Staff, utcnow
from services.models_knowledge import DRAFT, PUBLISHED, REJECTED, SUPERSEDED, KnowledgeReviewer, KnowledgeVersion

LINE_TEXT_MAX = 5000       # LINE's limit for one text message
LINE_QUICK_MAX = 13        # quick reply buttons
LINE_LABEL_MAX = 20        # characters of a quick reply label
EASY_READ = 300            # longer answers are hard to read on a phone (a warning, not a refusal)
FIELDS = ("id", "title", "section", "keywords", "questions", "answer", "facts", "last_reviewed",
          "review_days", "unverified", "screener")
AUDIT_ACTION = "knowledge"
URL_RE = re.compile(r"https?://[^\s，。、）)]+")
# A phone-like run: digits with dashes or brackets inside (06-5731611, (06)573-1611, 0800-000-000).
PHONE_LIKE = re.compile(r"\(?0\d{0,3}\)?[\d\-]*\d")
PHONE_OK = re.compile(r"^(?:0\d{1,2}-\d{6,8}|\(0\d{1,2}\)\d{6,8}|09\d{2}-?\d{3}-?\d{3}|0800-?\d{3}-?\d{3}"
                      r"|0\d{8,9})$")


class EditError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


# -- entries as data ---------------------------------------------------------------------------

def entry_dict(e: Entry) -> dict[str, Any]:
    """An entry as the plain dict stored in a version (and written back as YAML)."""
    facts = []
    for f in e.facts:
        fact = {"claim": f.claim, "status": f.status, "source": f.source}
        if f.applies:
            fact["applies"] = f.applies
        if f.reviewed:
            fact["reviewed"] = f.reviewed
        facts.append(fact)
    data = {"id": e.id, "title": e.title, "section": e.section, "keywords": list(e.keywords),
            "questions": list(e.questions), "answer": e.answer, "facts": facts,
            "last_reviewed": e.last_reviewed.isoformat(), "review_days": e.review_days}
    if e.unverified:
        data["unverified"] = str(e.unverified)
    if e.screener:
        data["screener"] = True
    return data


def clean(data: dict[str, Any]) -> dict[str, Any]:
    """Only the known fields, lists without blanks or repeats, texts stripped."""
    out = {k: data[k] for k in FIELDS if k in data and data[k] not in (None, "")}
    for key in ("keywords", "questions"):
        seen: list[str] = []
        for w in out.get(key) or ():
            w = str(w).strip()
            if w and w not in seen:
                seen.append(w)
        out[key] = seen
    out["answer"] = str(out.get("answer", "")).strip()
    out["facts"] = [{k: str(v).strip() for k, v in f.items() if v not in (None, "")}
                    for f in out.get("facts") or () if str(f.get("claim") or "").strip()]
    out["review_days"] = int(out.get("review_days") or 365)
    return out


def published_versions(session: Session) -> dict[str, KnowledgeVersion]:
    rows = session.execute(select(KnowledgeVersion).where(KnowledgeVersion.status == PUBLISHED)).scalars()
    return {v.entry_id: v for v in rows}


def live(session: Session, entry_id: str) -> tuple[dict[str, Any] | None, bool, KnowledgeVersion | None]:
    """(data, enabled, published version) of an entry as residents get it; the seed when never edited."""
    v = published_versions(session).get(entry_id)
    if v is not None:
        return dict(v.data), bool(v.enabled), v
    e = faq.seed().get(entry_id)
    return (entry_dict(e), True, None) if e else (None, False, None)


def build_base(overlay: dict[str, tuple[dict[str, Any], bool]]) -> FaqBase:
    """The seed with published edits: edited entries replaced in place, new ones after, off ones left out."""
    entries = []
    for e in faq.seed().entries:
        if e.id in overlay:
            data, enabled = overlay[e.id]
            if enabled:
                entries.append(faq.entry_from_dict(data, e.file))
        else:
            entries.append(e)
    known = {e.id for e in faq.seed().entries}
    for entry_id, (data, enabled) in sorted(overlay.items()):
        if entry_id not in known and enabled:
            entries.append(faq.entry_from_dict(data, "dashboard"))
    return FaqBase(tuple(entries))


def overlay(session: Session) -> dict[str, tuple[dict[str, Any], bool]]:
    return {k: (dict(v.data), bool(v.enabled)) for k, v in published_versions(session).items()}


# -- validation --------------------------------------------------------------------------------

def problems(data: dict[str, Any], today: dt.date | None = None) -> list[str]:
    """The checks of ``knowledge check`` for one entry, plus well-formed links and phone numbers
    and LINE's limits. Empty: the entry may be saved."""
    today = today or dt.date.today()
    where = str(data.get("id") or "?")
    missing = [k for k in ("id", "title", "section", "answer", "last_reviewed") if not data.get(k)]
    if missing:
        return [f"{where}: missing {', '.join(missing)}"]
    try:
        found = faq.entry_problems(data, where, today)
    except (KeyError, TypeError, ValueError) as exc:
        return [f"{where}: {exc}"]
    if not found:
        text = faq.entry_from_dict(data).text()
        found += safety.check([(where, text)])
        found += form_problems(data, text)
    return found


def form_problems(data: dict[str, Any], text: str) -> list[str]:
    where = str(data.get("id"))
    found = []
    for f in data.get("facts") or ():
        src = str(f.get("source") or "")
        if src and not src.startswith("domain-facts.md") and not _good_url(src):
            found.append(f"{where}: source is not a link: {src[:60]}")
    for url in URL_RE.findall(text):
        if not _good_url(url):
            found.append(f"{where}: link not well-formed: {url[:60]}")
    for phone in PHONE_LIKE.findall(URL_RE.sub("", text)):
        if ("-" in phone or "(" in phone or len(phone) >= 8) and not PHONE_OK.match(phone):
            found.append(f"{where}: phone number not well-formed: {phone}")
    if len(text) > LINE_TEXT_MAX:
        found.append(f"{where}: answer longer than LINE allows ({len(text)} > {LINE_TEXT_MAX})")
    if len(str(data.get("title") or "")) > LINE_LABEL_MAX:
        found.append(f"{where}: title longer than a LINE button allows")
    return found


def _good_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and "." in parts.netloc and not re.search(r"\s|[^\x21-\x7e]", url)


# -- who may do what ---------------------------------------------------------------------------

def can_edit(staff: Staff, section: str | None) -> bool:
    """Admins edit every entry; section staff the entries of their section."""
    if not staff.active:
        return False
    return staff.role == "admin" or (staff.role == "section" and staff.section == section)


def is_reviewer(session: Session, staff: Staff, section: str | None) -> bool:
    return session.get(KnowledgeReviewer, (staff.id, section or "")) is not None


def publish_refusal(session: Session, staff: Staff, v: KnowledgeVersion) -> str | None:
    """Why ``staff`` may not publish ``v`` (a key of dashboard.yaml ``knowledge.refuse``), or None."""
    if v.status != DRAFT:
        return "not_draft"
    if v.author_id == staff.id:
        return "own_change"
    if not staff.active or not (staff.role == "admin" or is_reviewer(session, staff, v.data.get("section"))):
        return "not_reviewer"
    return None


# -- changes -----------------------------------------------------------------------------------

def _next_number(session: Session, entry_id: str) -> int:
    top = session.execute(select(func.max(KnowledgeVersion.number))
                          .where(KnowledgeVersion.entry_id == entry_id)).scalar_one()
    return (top or 0) + 1


def save_draft(session: Session, staff: Staff, data: dict[str, Any], reason: str, *, enabled: bool = True,
               question_id: int | None = None, restored_from: int | None = None,
               today: dt.date | None = None) -> KnowledgeVersion:
    """Validate and store a draft; raises EditError with the problems, PermissionError if not allowed."""
    data = clean(data)
    entry_id = str(data.get("id") or "")
    current, _, _ = live(session, entry_id)
    sections = {data.get("section")} | ({current.get("section")} if current else set())
    if not all(can_edit(staff, s) for s in sections):
        raise PermissionError(entry_id)
    if not reason.strip():
        raise EditError([f"{entry_id}: missing reason"])
    found = problems(data, today) if enabled else still_named(session, entry_id)
    if found:
        raise EditError(found)
    v = KnowledgeVersion(entry_id=entry_id, number=_next_number(session, entry_id), data=data,
                         enabled=enabled, status=DRAFT, reason=reason.strip()[:300], author_id=staff.id,
                         question_id=question_id, restored_from=restored_from)
    session.add(v)
    session.flush()
    return v


def still_named(session: Session, entry_id: str) -> list[str]:
    """An entry named elsewhere in knowledge/ (the FAQ menu, the rich menu, dengue topics) cannot be
    switched off here: its button would answer nothing."""
    from services import faq_refs
    ids = {e.id for e in faq.seed().entries} | set(published_versions(session))
    hits = [p for p in faq_refs.reference_problems(faq.KNOWLEDGE_DIR, ids - {entry_id}) if repr(entry_id) in p]
    return [f"{entry_id}: named elsewhere in knowledge/, cannot be switched off ({hits[0]})"] if hits else []


def publish(session: Session, staff: Staff, version_id: int, today: dt.date | None = None) -> KnowledgeVersion:
    """Make a draft the live version of its entry (checked again); the audit log records it."""
    v = session.get(KnowledgeVersion, version_id, with_for_update=True)
    if v is None:
        raise LookupError(version_id)
    refusal = publish_refusal(session, staff, v)
    if refusal:
        raise PermissionError(refusal)
    found = problems(v.data, today) if v.enabled else still_named(session, v.entry_id)
    if found:
        raise EditError(found)
    for old in session.execute(select(KnowledgeVersion).where(KnowledgeVersion.entry_id == v.entry_id,
                                                               KnowledgeVersion.status == PUBLISHED)).scalars():
        old.status = SUPERSEDED
    v.status, v.reviewer_id, v.reviewed_at = PUBLISHED, staff.id, utcnow()
    if v.question_id:
        from services.models import UnansweredQuestion
        question = session.get(UnansweredQuestion, v.question_id)
        if question is not None:
            question.reviewed = True     # answered now: off the list of open questions
    session.flush()
    what = "on" if v.enabled else "off"
    staff_service.audit(session, staff, AUDIT_ACTION, detail=f"publish {v.entry_id} v{v.number} ({what})")
    return v


def reject(session: Session, staff: Staff, version_id: int) -> KnowledgeVersion:
    """Send a draft back: its author or a person who may publish it."""
    v = session.get(KnowledgeVersion, version_id)
    if v is None or v.status != DRAFT:
        raise LookupError(version_id)
    if v.author_id != staff.id and publish_refusal(session, staff, v):
        raise PermissionError("not_reviewer")
    v.status, v.reviewer_id, v.reviewed_at = REJECTED, staff.id, utcnow()
    staff_service.audit(session, staff, AUDIT_ACTION, detail=f"reject {v.entry_id} v{v.number}")
    return v


def restore(session: Session, staff: Staff, version_id: int, reason: str) -> KnowledgeVersion:
    """A draft that brings an earlier version back (published like any change)."""
    old = session.get(KnowledgeVersion, version_id)
    if old is None:
        raise LookupError(version_id)
    return save_draft(session, staff, dict(old.data), reason, enabled=old.enabled, restored_from=old.number)


def restore_seed(session: Session, staff: Staff, entry_id: str, reason: str) -> KnowledgeVersion:
    """A draft that brings the YAML's version of an entry back."""
    e = faq.seed().get(entry_id)
    if e is None:
        raise LookupError(entry_id)
    return save_draft(session, staff, entry_dict(e), reason, restored_from=0)


def switch(session: Session, staff: Staff, entry_id: str, enabled: bool, reason: str) -> KnowledgeVersion:
    """A draft switching an entry off (residents no longer get it) or on again."""
    data, _, _ = live(session, entry_id)
    if data is None:
        raise LookupError(entry_id)
    return save_draft(session, staff, data, reason, enabled=enabled)


def with_example(session: Session, entry_id: str, question: str) -> dict[str, Any]:
    """The entry's live data with one more example question."""
    data, _, _ = live(session, entry_id)
    if data is None:
        raise LookupError(entry_id)
    data["questions"] = list(data.get("questions") or ()) + [question.strip()]
    return data


def area_of(section: str) -> str:
    """The id prefix the seed uses most for a section's entries (office when none)."""
    counts: dict[str, int] = {}
    for e in faq.seed().entries:
        if e.section == section:
            area = e.id.split(".")[0]
            counts[area] = counts.get(area, 0) + 1
    return max(counts, key=counts.get) if counts else "office"


def new_entry_id(session: Session, section: str) -> str:
    """A fresh id for an entry written in the dashboard: ``<area>.added_<n>``."""
    area = area_of(section)
    taken = {e.id for e in faq.seed().entries}
    taken |= set(session.execute(select(KnowledgeVersion.entry_id)).scalars())
    n = 1
    while f"{area}.added_{n}" in taken:
        n += 1
    return f"{area}.added_{n}"


def history(session: Session, entry_id: str) -> list[KnowledgeVersion]:
    return list(session.execute(select(KnowledgeVersion).where(KnowledgeVersion.entry_id == entry_id)
                                .order_by(KnowledgeVersion.number.desc())).scalars())


def drafts(session: Session) -> list[KnowledgeVersion]:
    return list(session.execute(select(KnowledgeVersion).where(KnowledgeVersion.status == DRAFT)
                                .order_by(KnowledgeVersion.created_at)).scalars())


def published_count(session: Session) -> int:
    """How many times anything was published: the knowledge version every process compares."""
    return session.execute(select(func.count(KnowledgeVersion.id))
                           .where(KnowledgeVersion.status.in_((PUBLISHED, SUPERSEDED)))).scalar_one()


# -- knowledge check and export ----------------------------------------------------------------

def check_published(session: Session, today: dt.date | None = None) -> list[str]:
    """``knowledge check`` for the database: every published, switched-on edit passes the checks."""
    out = []
    for entry_id, v in sorted(published_versions(session).items()):
        if v.enabled:
            out += [f"dashboard v{v.number} {p}" for p in problems(v.data, today)]
    return out


def export(session: Session, directory: Path) -> list[Path]:
    """Write the FAQ with published edits as YAML, one file per seed file (new entries in
    ``dashboard.yaml``; an entry switched off is left out), for a developer to commit."""
    directory.mkdir(parents=True, exist_ok=True)
    edits = overlay(session)
    if not edits:
        return []
    by_file: dict[str, list[dict[str, Any]]] = {}
    seed_ids = set()
    for e in faq.seed().entries:
        seed_ids.add(e.id)
        data, enabled = edits.get(e.id, (entry_dict(e), True))
        if enabled:
            by_file.setdefault(e.file, []).append(data)
    for entry_id, (data, enabled) in sorted(edits.items()):
        if entry_id not in seed_ids and enabled:
            by_file.setdefault("dashboard.yaml", []).append(data)
    written = []
    for name, entries in by_file.items():
        path = directory / name
        head = _file_section(name) or entries[0]["section"]
        with open(path, "w", encoding="utf-8") as fh:
            yaml.safe_dump({"section": head, "entries": entries}, fh, allow_unicode=True, sort_keys=False,
                           width=120)
        written.append(path)
    return written


def _file_section(name: str) -> str | None:
    path = faq.FAQ_DIR / name
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as fh:
        return (yaml.safe_load(fh) or {}).get("section")
