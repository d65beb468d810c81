"""One input, understood once: the state, the active flow, the menu tap the text spells and the
routing label (classified at most once, only when a rule asks for it). Used by handlers/router.py."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl

from handlers.flow import Context, Flow, Incoming
from services import knowledge, nlu
from services.nlu import Intent


@dataclass
class Message:
    """One input with everything the rules ask about it, each worked out at most once."""

    raw: Incoming                    # as received (the urgent rules and the safety net read this)
    state: dict[str, Any] | None     # the active conversation's state, or None
    flow: Flow | None
    ctx: Context
    now: float
    expired: bool = False            # routed anew after an expired conversation
    _intent: Intent | None = field(default=None, repr=False)
    _inc: Incoming | None = field(default=None, repr=False)

    @property
    def tap(self) -> dict[str, str] | None:
        """The rich-menu button a short text spells (its postback data)."""
        return menu_tap(self.raw.text) if self.raw.kind == "text" else None

    @property
    def inc(self) -> Incoming:
        """The input as the commands and flows read it: the rich menu's words typed are the tap."""
        if self._inc is None:
            tap = self.tap
            self._inc = replace(self.raw, kind="postback", data=tap, text="") if tap else self.raw
        return self._inc

    @property
    def intent(self) -> Intent:
        """The routing label of the text, classified once per message."""
        if self._intent is None:
            self._intent = nlu.classify(self.raw.text)
        return self._intent

    @property
    def active(self) -> bool:
        return self.flow is not None

    @property
    def text(self) -> bool:
        return self.inc.kind == "text"

    @property
    def postback(self) -> dict[str, str]:
        return self.inc.data if self.inc.kind == "postback" else {}

    @property
    def step(self):
        return self.flow.step(self.state.get("step") or "") if self.flow else None


@functools.cache
def _menu_words() -> dict[str, dict[str, str]]:
    """Each rich-menu button's label and display text -> its postback data."""
    words: dict[str, dict[str, str]] = {}
    for name in ("richmenu/main", "richmenu/disaster"):
        for area in knowledge.load(name)["areas"]:
            data = dict(parse_qsl(area["data"], keep_blank_values=True))
            for said in (area["label"], area.get("display")):
                if said:
                    words.setdefault(_bare(said), data)
    return words


def _bare(text: str) -> str:
    return re.sub(r"[\W_]+", "", text)


def menu_tap(text: str) -> dict[str, str] | None:
    if len(text) > 20:
        return None
    data = _menu_words().get(_bare(text))
    return dict(data) if data else None


def as_menu_tap(inc: Incoming) -> Incoming:
    return replace(inc, kind="postback", data={"flow": inc.data.get("flow", "")})

