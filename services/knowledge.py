"""Load and check the data in ``knowledge/``.

Everything a resident reads comes from here: ``t("road.place.ask")`` returns the
zh-TW text with the office's contacts filled in. Files are read once per process.
"""
from __future__ import annotations

import ast
import functools
import re
import string
from pathlib import Path
from typing import Any

import yaml

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"
KEY_RE = re.compile(r"[a-z_0-9]+(?:\.[a-z_0-9]+)+")


@functools.cache
def load(name: str) -> Any:
    """Return the parsed YAML file ``knowledge/<name>.yaml``."""
    with open(KNOWLEDGE_DIR / f"{name}.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@functools.cache
def messages() -> dict:
    """All resident-facing texts: ``messages/zh-TW.yaml`` plus one file per conversation in
    ``messages/zh-TW/`` (e.g. ``welfare.yaml`` holding the top-level key ``welfare``)."""
    merged = dict(load("messages/zh-TW"))
    for path in sorted((KNOWLEDGE_DIR / "messages" / "zh-TW").glob("*.yaml")):
        part = load(f"messages/zh-TW/{path.stem}") or {}
        clash = set(part) & set(merged)
        if clash:
            raise ValueError(f"{path.name}: message keys defined twice: {sorted(clash)}")
        merged.update(part)
    return merged


def contacts() -> dict:
    return load("contacts")


@functools.cache
def _contact_vars() -> dict[str, str]:
    c = contacts()
    return {
        "office_phone": c["office"]["phone"],
        "tainan_1999": c["tainan_1999"]["phone"],
        "tainan_1999_outside": c["tainan_1999"]["outside_tainan"],
        "public_works": c["public_works_24h"]["phone"],
    }


def raw(key: str) -> Any:
    """The value at a dotted key of the messages file (a string, list or mapping)."""
    node: Any = messages()
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"missing message key: {key}")
        node = node[part]
    return node


def t(key: str, **values: Any) -> str:
    """The zh-TW text for ``key`` with placeholders filled (contacts are always available)."""
    text = raw(key)
    if not isinstance(text, str):
        raise KeyError(f"message key is not a text: {key}")
    return fill(text, **values)


def fill(text: str, **values: Any) -> str:
    """Fill a text's placeholders; the office's contacts are always available."""
    return text.format(**{**_contact_vars(), **values})


def category_label(kind: str | None, category: str | None) -> str:
    """The zh-TW words for a case's category: ``<kind>.categories`` of the messages files
    (e.g. ``road.categories.pothole``); an unknown category reads as the kind's "other"."""
    if not category:
        return ""
    try:
        labels = raw(f"{kind}.categories")
    except KeyError:
        return category
    if not isinstance(labels, dict):
        return category
    return labels.get(category) or labels.get("other") or category


def words(key: str) -> tuple[str, ...]:
    """A list of words from the messages file, e.g. ``common.commands.cancel``."""
    return tuple(raw(key))


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def road() -> dict:
    return load("road")


def check() -> list[str]:
    """Problems in knowledge/ as readable lines; an empty list means all is well."""
    problems: list[str] = []
    known = set(_contact_vars())

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}.{k}" if prefix else str(k))
        elif isinstance(node, str):
            try:
                names = placeholders(node)
            except ValueError as exc:
                problems.append(f"{prefix}: bad placeholder ({exc})")
                return
            if "office_phone" in names and "{office_phone}" not in node:
                problems.append(f"{prefix}: malformed office_phone placeholder")
            unknown_contacts = {n for n in names if n.endswith("_phone")} - known
            if unknown_contacts:
                problems.append(f"{prefix}: unknown contact {sorted(unknown_contacts)}")
    walk(messages(), "")
    for name in ("contacts", "kinds", "road", "nlu/lexicon", "nlu/faq_menu", "sections", "richmenu/main"):
        data = load(name)
        if "last_reviewed" not in data and name != "contacts":
            problems.append(f"{name}.yaml: no last_reviewed")
    for key, entry in contacts().items():
        for field in ("status", "source", "last_reviewed"):
            if field not in entry:
                problems.append(f"contacts.yaml {key}: no {field}")
    for cat in road()["categories"]:
        if cat["id"] not in raw("road.categories"):
            problems.append(f"road.yaml category {cat['id']}: no label in messages")
    problems.extend(kind_problems())
    problems.extend(danger_means_119_first())
    return problems


def kind_problems() -> list[str]:
    """The kinds registry (kinds.yaml) holds together: unique ids, prefixes and labels, known sections."""
    from services import kinds  # imports this module
    try:
        table = kinds.parse(load("kinds"))
    except (KeyError, TypeError, ValueError) as exc:
        return [f"kinds.yaml: {exc}"]
    sections = set(load("sections")["sections"])
    return [f"kinds.yaml {k.id}: section {k.section} is not in sections.yaml" for k in table if k.section not in sections]


def danger_means_119_first() -> list[str]:
    """Every resident text that speaks of danger names 119 (110 for a crime) before any other
    number (knowledge/safety.yaml, services/safety.py)."""
    from services import safety  # imports services.nlu, which imports this module
    return safety.check()


def unverified_contacts() -> list[tuple[str, str, str]]:
    """Contact facts marked unverified in contacts.yaml, as (where, title, what)."""
    out = []
    for key, entry in contacts().items():
        for field, value in entry.items():
            if field.endswith("status") and value == "unverified":
                name = field.removesuffix("_status") or "value"
                out.append((f"contacts.{key}", entry.get("name", key), f"{name}: {entry.get(name, '')}".strip()))
    office = contacts()["office"]
    out.append(("contacts.office", office["name"], "street address: not known; the bot says only " + office["place"]))
    return out


# Calls whose argument at this position names a message key: ``t("…")``, ``knowledge.raw("…")``,
# ``knowledge.words("…")``, ``nlu.has_word(norm, "…")``, ``nlu.normalized_words("…")``.
KEY_ARGS = {"t": 0, "raw": 0, "words": 0, "has_word": 1, "normalized_words": 0}
KEY_OWNERS = {"knowledge", "nlu"}  # ``<owner>.raw(…)``; other objects' ``words()`` are not message look-ups
CODE_FOLDERS = ("handlers", "bot", "services")


def _key_arg(node: ast.Call) -> ast.expr | None:
    func = node.func
    if isinstance(func, ast.Name):
        name = func.id
    elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in KEY_OWNERS:
        name = func.attr
    else:
        return None
    pos = KEY_ARGS.get(name)
    return node.args[pos] if pos is not None and len(node.args) > pos else None


def keys_in_code(source: str) -> list[tuple[int, str, bool]]:
    """The message keys a module names, as (line, key, is_pattern). An f-string key
    (``t(f"status.{status}")``) becomes a regular expression in which each ``{…}`` stands for any
    text, and so does a report step's ``self.key("place.ask")`` (``<flow>.place.ask``): at least
    one key of the messages must match it."""
    found = []
    for node in ast.walk(ast.parse(source)):
        arg = _key_arg(node) if isinstance(node, ast.Call) else None
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and KEY_RE.fullmatch(arg.value):
            found.append((node.lineno, arg.value, False))
        elif (isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) and arg.func.attr == "key"
              and arg.args and isinstance(arg.args[0], ast.Constant) and isinstance(arg.args[0].value, str)):
            found.append((node.lineno, r".+\." + re.escape(arg.args[0].value), True))  # ReportSteps.key: <flow>.<rest>
        elif isinstance(arg, ast.JoinedStr):
            parts = [re.escape(v.value) if isinstance(v, ast.Constant) else ".+" for v in arg.values]
            if any(isinstance(v, ast.Constant) and v.value.strip(".") for v in arg.values):
                found.append((node.lineno, "".join(parts), True))
    return found


def _all_keys(node: Any, prefix: str = "") -> list[str]:
    if not isinstance(node, dict):
        return []
    out = []
    for k, v in node.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        out += [key, *_all_keys(v, key)]
    return out


def missing_keys(sources: dict[str, str] | None = None) -> list[str]:
    """Message keys named in code (``sources``: where -> code; default: every module of handlers/,
    bot/ and services/) that the messages files do not have, f-string keys included."""
    if sources is None:
        root = KNOWLEDGE_DIR.parent
        sources = {str(path.relative_to(root)): path.read_text(encoding="utf-8")
                   for folder in CODE_FOLDERS for path in sorted((root / folder).rglob("*.py"))
                   if "migrations" not in path.parts}
    known = _all_keys(messages())
    problems = []
    for where, source in sources.items():
        for line, key, is_pattern in keys_in_code(source):
            pattern = re.compile(key)
            if not (any(pattern.fullmatch(k) for k in known) if is_pattern else key in known):
                problems.append(f"{where}:{line}: message key {'pattern ' + key if is_pattern else key} is missing")
    return problems
