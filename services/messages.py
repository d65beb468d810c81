"""Value objects for what the bot says, independent of the LINE SDK.

Handlers build these; ``services.line`` turns them into SDK messages. Quick-reply
kinds map one to one onto LINE actions.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

MAX_LABEL = 20
MAX_QUICK_REPLIES = 13  # LINE's limit of quick-reply buttons under one message


@dataclass(frozen=True)
class QuickReply:
    kind: str  # postback | message | location | camera | camera_roll | uri
    label: str
    data: str | None = None  # postback data (<= 300 chars)
    text: str | None = None  # message text, or postback display text
    uri: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "QuickReply":
        return cls(**d)


def postback(label: str, data: str, display: str | None = None) -> QuickReply:
    return QuickReply("postback", label[:MAX_LABEL], data=data, text=display or label)


def step_data(flow: str, step: str, value: object = "") -> str:
    """The postback data of a conversation's answer button: ``flow=<flow>&step=<step>&value=<value>``."""
    return f"flow={flow}&step={step}&value={value}"


def say(label: str, text: str | None = None) -> QuickReply:
    return QuickReply("message", label[:MAX_LABEL], text=text or label)


def location(label: str) -> QuickReply:
    return QuickReply("location", label[:MAX_LABEL])


def camera(label: str) -> QuickReply:
    return QuickReply("camera", label[:MAX_LABEL])


def camera_roll(label: str) -> QuickReply:
    return QuickReply("camera_roll", label[:MAX_LABEL])


@dataclass(frozen=True)
class Text:
    """One message; ``quick_replies`` are shown only on the last message sent.

    ``flex`` makes it a Flex message whose contents are that bubble or carousel (as LINE's JSON)
    and whose alt text (what the chat list and notifications show) is ``text``.
    ``quote_token`` quotes the resident's message (used in group chats).
    """

    text: str
    quick_replies: tuple[QuickReply, ...] = field(default_factory=tuple)
    flex: dict[str, Any] | None = None
    quote_token: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"text": self.text, "quick_replies": [q.to_dict() for q in self.quick_replies]}
        if self.flex is not None:
            d["flex"] = self.flex
        if self.quote_token:
            d["quote_token"] = self.quote_token
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Text":
        return cls(d["text"], tuple(QuickReply.from_dict(q) for q in d.get("quick_replies", [])),
                   d.get("flex"), d.get("quote_token"))

    def fill(self, **values: str) -> "Text":
        """Replace ``{name}`` markers left for values known only after commit (the case number)."""
        text = self.text
        for k, v in values.items():
            text = text.replace("{" + k + "}", v)
        return replace(self, text=text, flex=_fill_json(self.flex, values))


def _fill_json(node: Any, values: dict[str, str]) -> Any:
    """The same markers filled inside a Flex message's texts."""
    if node is None or not values:
        return node
    if isinstance(node, str):
        for k, v in values.items():
            node = node.replace("{" + k + "}", v)
        return node
    if isinstance(node, list):
        return [_fill_json(x, values) for x in node]
    if isinstance(node, dict):
        return {k: _fill_json(v, values) for k, v in node.items()}
    return node
