"""Published knowledge edits reach every process for its next message, without a restart.

The knowledge version is the number of publications (``knowledge_edits.published_count``), kept
in Redis under ``VERSION_KEY`` (set by the process that publishes, after its commit; read back
from the database when Redis lost it). Each web process and worker calls ``refresh`` before it
routes a message: one Redis GET. When the number changed, a background thread loads the published
edits, builds the FAQ base and the routing index, and installs both (``faq.install``,
``nlu.install_faq_index``); the old ones serve until then. The message that noticed the change
waits for the new ones up to ``WAIT_S`` seconds, so it already gets the published answer.

``effect`` answers "what would this draft change" on the evaluation sets and the open unanswered
questions with a candidate index, in the calling thread only (``nlu.candidate_index``).
"""
from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import faq, knowledge_edits, nlu

log = logging.getLogger(__name__)

VERSION_KEY = "knowledge:v1:version"
WAIT_S = 5.0
ROOT = Path(__file__).resolve().parent.parent
# The dev sets (never the held-out one, which is only scored to report): label accuracy, and FAQ-answer
# accuracy on the lines that name entries (residents-tune.jsonl).
EVAL_SETS = (ROOT.parent / "shared" / "eval" / "dev-utterances.jsonl", ROOT / "knowledge" / "nlu" / "examples" / "utterances.jsonl",
             ROOT / "knowledge" / "nlu" / "examples" / "residents-tune.jsonl")


class Live:
    """What this process serves: the knowledge version it was built for, and the rebuild under way."""

    def __init__(self) -> None:
        self.version: int | None = None     # None: the YAML seed, never checked
        self.lock = threading.Lock()
        self.building: threading.Thread | None = None
        self.target: int | None = None


LIVE = Live()


def announce(redis, session: Session) -> int:
    """After a publication's commit: the new knowledge version, for every process to notice."""
    version = knowledge_edits.published_count(session)
    try:
        redis.set(VERSION_KEY, version)
    except Exception:  # noqa: BLE001 - Redis down: processes read the database when they can
        log.warning("knowledge version not announced in Redis")
    return version


def current_version(redis, db) -> int:
    try:
        raw = redis.get(VERSION_KEY)
    except Exception:  # noqa: BLE001
        raw = None
    if raw is not None:
        return int(raw)
    with db.session() as s:
        version = knowledge_edits.published_count(s)
    try:
        redis.set(VERSION_KEY, version, nx=True)
    except Exception:  # noqa: BLE001
        pass
    return version


def refresh(svc, wait: float = WAIT_S) -> bool:
    """Called per message: start a rebuild when the knowledge version changed and wait for it
    (up to ``wait`` seconds; other threads keep the old base meanwhile). True if up to date."""
    try:
        version = current_version(svc.redis, svc.db)
    except Exception:  # noqa: BLE001 - no database table yet (an old schema): serve the seed
        log.warning("knowledge version unknown; serving what is loaded")
        return False
    if version == LIVE.version or (version == 0 and LIVE.version is None):
        return True
    with LIVE.lock:
        if LIVE.building is None or not LIVE.building.is_alive() or LIVE.target != version:
            LIVE.target = version
            LIVE.building = threading.Thread(target=_rebuild, args=(svc.db, version), name="knowledge-rebuild",
                                             daemon=True)
            LIVE.building.start()
        thread = LIVE.building
    thread.join(wait)
    return LIVE.version == version


def _rebuild(db, version: int) -> None:
    try:
        with db.session() as s:
            edits = knowledge_edits.overlay(s)
        base = knowledge_edits.build_base(edits)
        index = nlu.build_faq_index(base.entries)
    except Exception:  # noqa: BLE001 - keep serving the old base
        log.exception("knowledge rebuild failed")
        return
    with LIVE.lock:
        if LIVE.target not in (None, version):
            return  # a newer version is being built
        faq.install(base)
        nlu.install_faq_index(index)
        LIVE.version = version
    log.info("knowledge version %s installed (%d entries)", version, len(base.entries))


def reset() -> None:
    """Back to the YAML seed (tests)."""
    with LIVE.lock:
        faq.install(None)
        nlu.install_faq_index(None)
        LIVE.version = LIVE.target = None


# -- the effect of a draft ---------------------------------------------------------------------

def eval_lines() -> list[dict[str, Any]]:
    out = []
    for path in EVAL_SETS:
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                out.append(json.loads(line))
    return out


def _answers(index, texts: list[str]) -> list[tuple[str, str | None]]:
    with nlu.candidate_index(index):
        return [(i.label, i.topic) for i in (nlu.classify(t) for t in texts)]


def _score(lines: list[dict[str, Any]], got: list[tuple[str, str | None]]) -> dict[str, int]:
    ok = faq_ok = faq_total = 0
    for case, (label, topic) in zip(lines, got):
        want = case.get("intent")
        want = want if isinstance(want, list) else [want]
        ok += label in want
        if case.get("faq"):
            faq_total += 1
            faq_ok += label == "faq" and topic in case["faq"]
    return {"total": len(lines), "intent_ok": ok, "faq_total": faq_total, "faq_ok": faq_ok}


def effect(session: Session, data: dict[str, Any], enabled: bool = True) -> dict[str, Any]:
    """How a draft changes the answers: on the evaluation sets (intent and FAQ accuracy, before and
    after: a change must not make them worse) and on the open unanswered questions, which of them
    this entry would now answer (counted, with up to five examples)."""
    from services.models import UnansweredQuestion
    edits = knowledge_edits.overlay(session)
    before_index = nlu.build_faq_index(knowledge_edits.build_base(edits).entries)
    edits[str(data["id"])] = (data, enabled)
    after_index = nlu.build_faq_index(knowledge_edits.build_base(edits).entries)
    lines = eval_lines()
    open_qs = list(session.execute(select(UnansweredQuestion.text).where(UnansweredQuestion.reviewed.is_(False))
                                   .order_by(UnansweredQuestion.id.desc()).limit(500)).scalars())
    texts = [c["text"] for c in lines] + open_qs
    before, after = _answers(before_index, texts), _answers(after_index, texts)
    entry_id = data["id"]
    gained = [t for t, b, a in zip(texts, before, after)
              if a == ("faq", entry_id) and b != ("faq", entry_id) and t not in data.get("questions", ())]
    lost = [t for t, b, a in zip(texts, before, after) if b == ("faq", entry_id) and a != ("faq", entry_id)]
    n = len(lines)
    b_score, a_score = _score(lines, before[:n]), _score(lines, after[:n])
    # Worse is judged on the lines this entry answers before or after the change. Other lines can
    # move too (the examples' votes, services/nlu_learned.py, shift a little with any example
    # added or taken away); they are in the totals shown, but a borderline line elsewhere does not
    # block a publication.
    mine = [i for i in range(n) if before[i] != after[i] and entry_id in (before[i][1], after[i][1])]
    b_mine = _score([lines[i] for i in mine], [before[i] for i in mine])
    a_mine = _score([lines[i] for i in mine], [after[i] for i in mine])
    worse = a_mine["intent_ok"] < b_mine["intent_ok"] or a_mine["faq_ok"] < b_mine["faq_ok"]
    elsewhere = sum(1 for i in range(n) if before[i] != after[i]) - len(mine)
    return {"gained": len(gained), "gained_examples": gained[:5], "lost": len(lost), "lost_examples": lost[:5],
            "before": b_score, "after": a_score, "worse": worse, "moved_elsewhere": elsewhere}
