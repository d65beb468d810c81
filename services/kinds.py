"""The kinds of case (road R-, dengue D-, disaster S-, welfare call-back W-), in one place.

``knowledge/kinds.yaml`` declares each kind once; everything that used to restate the list reads it
from here: case numbers (``services.submissions``: the prefixes and the pattern that finds a case
number in a text), the routing labels (``services.nlu``, ``handlers.safety``), the conversations
(``handlers.conversations`` imports ``handlers.<flow>`` by name: services never import handlers), the
owning sections and the private kinds (``services.access``, ``services.submissions``,
``services.workflow``, ``services.digest``) and the dashboard's kind list and names.

Adding a kind of report: docs/architecture.md.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from services.knowledge import load


@dataclass(frozen=True)
class Kind:
    id: str                    # flow id = submission kind = postback value = message-key prefix
    prefix: str                # case numbers <prefix>-<YYYYMMDD>-<NNNN>
    flow: str                  # the conversation module, handlers/<flow>.py
    labels: tuple[str, ...]    # routing labels that begin the conversation (the first is its own)
    answers: tuple[str, ...]   # routing labels its module answers without starting the flow
    report: bool               # a report of a place (road, dengue, disaster)
    section: str               # the owning section
    dashboard: str             # the dashboard's name for it
    private: bool              # only the owning section and admins see it; nobody else follows it
    eoc: bool                  # EOC duty staff see it
    open_data: bool = False    # its cases are published (Open311 API, /public); never a private kind

    @property
    def label(self) -> str:
        """The kind's own routing label (a rich-menu tap on its flow is called this)."""
        return self.labels[0]


_PREFIX = re.compile(r"^[A-Z]{1,2}$")  # case_counter.prefix holds two characters
_LABEL = re.compile(r"^[a-z][a-z_]*$")


def parse(data: dict) -> tuple[Kind, ...]:
    """The registry from the parsed ``kinds.yaml``; raises ValueError on an inconsistent table."""
    out: list[Kind] = []
    for entry in data["kinds"]:
        kind = Kind(id=str(entry["id"]), prefix=str(entry["prefix"]), flow=str(entry.get("flow") or entry["id"]),
                    labels=tuple(entry.get("labels") or ()), answers=tuple(entry.get("answers") or ()),
                    report=bool(entry.get("report", False)), section=str(entry["section"]),
                    dashboard=str(entry["dashboard"]), private=bool(entry.get("private", False)),
                    eoc=bool(entry.get("eoc", False)), open_data=bool(entry.get("open_data", False)))
        if not _PREFIX.match(kind.prefix):
            raise ValueError(f"kinds.yaml {kind.id}: prefix {kind.prefix!r} is not one or two capital letters")
        if not kind.labels or not all(_LABEL.match(x) for x in kind.labels + kind.answers):
            raise ValueError(f"kinds.yaml {kind.id}: labels must be lower-case words, at least one")
        if kind.private and kind.eoc:
            raise ValueError(f"kinds.yaml {kind.id}: a private kind is not shown to EOC duty staff")
        if kind.private and kind.open_data:
            raise ValueError(f"kinds.yaml {kind.id}: a private kind is never published")
        out.append(kind)
    for what in ("id", "prefix"):
        values = [getattr(k, what) for k in out]
        if len(set(values)) != len(values):
            raise ValueError(f"kinds.yaml: the same {what} twice")
    labels = [x for k in out for x in k.labels + k.answers]
    if len(set(labels)) != len(labels):
        raise ValueError("kinds.yaml: a routing label given to two kinds")
    return tuple(out)


@functools.cache
def _loaded() -> tuple[Kind, ...]:
    return parse(load("kinds"))


def registry() -> tuple[Kind, ...]:
    """Every kind, in the contract's order (R, D, S, W)."""
    return _loaded()


def get(kind_id: str | None) -> Kind | None:
    return next((k for k in registry() if k.id == kind_id), None)


def ids() -> tuple[str, ...]:
    return tuple(k.id for k in registry())


def prefixes() -> dict[str, str]:
    """kind id -> case-number prefix."""
    return {k.id: k.prefix for k in registry()}


def by_prefix(prefix: str) -> Kind | None:
    return next((k for k in registry() if k.prefix == prefix.upper()), None)


def routing_labels() -> tuple[str, ...]:
    """Every label a kind's conversation takes (its own labels, then those it answers), in order."""
    return tuple(x for k in registry() for x in k.labels + k.answers)


def report_labels() -> tuple[str, ...]:
    """The labels that begin a report of a place."""
    return tuple(x for k in registry() if k.report for x in k.labels)


def private_ids() -> frozenset[str]:
    return frozenset(k.id for k in registry() if k.private)


def eoc_ids() -> frozenset[str]:
    return frozenset(k.id for k in registry() if k.eoc)


def open_data_ids() -> tuple[str, ...]:
    """The kinds whose cases are published (Open311 API, /public), in the registry's order."""
    return tuple(k.id for k in registry() if k.open_data and not k.private)


def owner(kind_id: str | None) -> str | None:
    kind = get(kind_id)
    return kind.section if kind else None


def dashboard_label(kind_id: str | None) -> str:
    kind = get(kind_id)
    return kind.dashboard if kind else (kind_id or "")


def ref_pattern() -> re.Pattern[str]:
    """Finds a case number in a text: any kind's prefix, then the Taipei date and the number, with
    or without spaces and hyphens (or the dashes of knowledge/kinds.yaml ``ref_separators``), in any
    case (``r 20261127 0001``). Groups: the prefix, the date,
    and the number as four digits (group 3) or, after a separator, as one to three (group 4:
    ``r20261203-5``, the number without its leading zeros)."""
    return _ref_pattern(tuple(prefixes().values()), str(load("kinds").get("ref_separators") or ""))


@functools.cache
def _ref_pattern(prefixes: tuple[str, ...], separators: str) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(p) for p in sorted(prefixes, key=lambda p: (-len(p), p)))
    sep = "[\\s\\-" + "".join(re.escape(c) for c in separators) + "]"
    return re.compile(rf"(?<![A-Za-z0-9])({alternatives}){sep}*(\d{{8}})(?:{sep}*(\d{{4}})|{sep}+(\d{{1,3}}))(?![0-9])",
                      re.IGNORECASE)
