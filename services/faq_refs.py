"""Every FAQ entry id named outside ``knowledge/faq/`` must name an entry.

An id that names nothing fails silently at run time (the FAQ menu showed 9 topics instead of 12
because three of its ids did not exist), so ``flask --app app knowledge check`` reports it.
Checked, in every YAML file of ``knowledge/`` except the FAQ files themselves:

- an id-shaped value (area.topic) of a key named ``faq``, ``faq_id``, ``faq_ids`` or ``faq_topics`` (dengue.yaml's
  info topics), and ``topics`` of ``nlu/faq_menu.yaml`` (which also may hold at most 12 ids,
  each once: the menu shows 12 buttons and the contact button);
- ``faq=<id>`` inside any text (a postback, e.g. in ``richmenu/*.yaml``);
- any key or text that looks like an id of a known area (``civil.``, ``social.``, ``agri.``…),
  e.g. a word list keyed by entry in ``nlu/lexicon.yaml``.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

import yaml

ID_KEYS = ("faq", "faq_id", "faq_ids", "faq_topics")
# Under those keys a text shaped like an id (area.topic) is a reference; other texts (the label
# 常見問題 under messages' common.label.faq) are not.
ID_SHAPE = re.compile(r"[a-z]+\.[a-z0-9_]+")
MENU_FILE = Path("nlu") / "faq_menu.yaml"
MENU_MAX = 12
POSTBACK_RE = re.compile(r"(?:^|[?&\s])faq=([^&\s]+)")
# Areas of entry ids; an id-shaped text or key of one of these areas must name an entry.
AREAS = ("civil", "social", "agri", "office", "ethics", "accounting")


def _walk(node: Any, where: str, id_key: bool, out: list[tuple[str, str]]) -> None:
    """Collect (where, referenced id) pairs from one parsed YAML document."""
    if isinstance(node, dict):
        for k, v in node.items():
            key = str(k)
            if _looks_like_id(key):
                out.append((f"{where}.{key}", key))
            _walk(v, f"{where}.{key}", key in ID_KEYS, out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _walk(v, f"{where}[{i}]", id_key, out)
    elif isinstance(node, str):
        text = node.strip()
        if (id_key and ID_SHAPE.fullmatch(text)) or _looks_like_id(text):
            out.append((where, text))
        out.extend((where, m) for m in POSTBACK_RE.findall(text))


def _looks_like_id(text: str) -> bool:
    return bool(re.fullmatch(rf"(?:{'|'.join(AREAS)})\.[a-z0-9_]+", text))


def reference_problems(root: Path, ids: Iterable[str]) -> list[str]:
    """One line per id named in ``root`` (knowledge/) that is not one of ``ids`` (the FAQ's entries);
    ``services.faq.check`` passes both."""
    known = set(ids)
    problems: list[str] = []
    for path in sorted(root.rglob("*.yaml")):
        rel = path.relative_to(root)
        if rel.parts[0] == "faq":
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            continue                    # reported by the checks that load the file
        refs: list[tuple[str, str]] = []
        if rel == MENU_FILE and isinstance(data, dict):
            topics = data.get("topics") or []
            refs += [(f"topics[{i}]", str(t)) for i, t in enumerate(topics)]   # every topic, id-shaped or not
            if len(topics) > MENU_MAX:
                problems.append(f"{rel}: {len(topics)} topics, the menu shows at most {MENU_MAX}")
            dupes = sorted({t for t in topics if topics.count(t) > 1})
            if dupes:
                problems.append(f"{rel}: topics named twice: {', '.join(map(str, dupes))}")
            data = {k: v for k, v in data.items() if k != "topics"}
        _walk(data, "", False, refs)
        for where, ref in refs:
            if ref not in known:
                problems.append(f"{rel} {where.lstrip('.')}: names FAQ entry {ref!r}, which does not exist")
    return problems
