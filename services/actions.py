"""Writes a conversation asks for besides a case: run by the dispatcher inside the event's
transaction, so that what the bot says and what is stored cannot disagree.

Handlers are pure: they return ``Action("services.<module>:<function>", payload)`` in their
Outcome. The dispatcher calls ``function(session, payload, ctx)`` after the case (if any) is
created and before the replies are written; it may return an ``ActionResult`` with values for
the replies' placeholders, replies that replace the planned ones (e.g. "this code has expired"),
and pushes to other chats (e.g. the staff group), written as outgoing messages in the same
transaction and sent after the commit.

Read-only look-ups go the same way through ``Context.query("services.<module>:<function>", ...)``.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from services.messages import Text


@dataclass(frozen=True)
class ActionContext:
    """Who and what an action is about. ``values`` holds what earlier steps produced ({ref})."""

    event_id: str
    user_id: str | None
    user_hash: str | None
    chat_id: str | None
    chat_type: str
    config: dict[str, Any]
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ActionResult:
    values: dict[str, str] = field(default_factory=dict)
    replies: tuple[Text, ...] | None = None
    pushes: tuple[tuple[str, tuple[Text, ...]], ...] = ()  # (chat id, messages)


def resolve(name: str) -> Callable[..., Any]:
    """``"services.disaster.chiefs:bind"`` -> the function; only public functions of ``services`` modules."""
    module, _, func = name.partition(":")
    if not module.startswith("services.") or not func or func.startswith("_"):
        raise ValueError(f"not an action or query name: {name!r}")
    return getattr(importlib.import_module(module), func)


def run(name: str, session: Any, payload: dict[str, Any], ctx: ActionContext) -> ActionResult:
    result = resolve(name)(session, payload, ctx)
    return result if isinstance(result, ActionResult) else ActionResult()
