"""Group chats: what the bot offers where everyone reads along.

In a group the bot answers only when mentioned (bot/events.py). There it:
- answers questions (the FAQ, dengue information, 119 for danger) and case look-ups with a
  pointer to the 1:1 chat (handlers/case_status.py);
- starts no 1:1 conversation (the road report, the welfare screener, the dengue report): a tap or
  a sentence that would start one gets a kind pointer to the 1:1 chat instead. The disaster report
  is the exception (``IN_GROUPS``): village chiefs report from their groups (docs/disaster.md);
- shows no menu buttons (the 1:1 chat's menu, or the disaster menu), and no button that would
  start a 1:1 conversation; a conversation's own buttons (a disaster report's steps) stay;
- answers a member whose LINE sends no user id (LINE for desktop and other clients: the group
  source then has only ``groupId``) with what needs no user: an answer, the pointer, 119 for
  danger; never a conversation, a case or any other write that belongs to a person.

``fit`` applies all of this to the router's answer (pure, like every handler); the buttons are
removed by ``handlers.buttons.settle``, where every answer's buttons are decided.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

from handlers import common, disaster
from handlers.flow import Incoming, Outcome
from services.knowledge import t
from services.messages import Text

IN_GROUPS = frozenset({disaster.FLOW_ID})  # conversations a member may hold in a group


def fit(state: dict[str, Any] | None, inc: Incoming, out: Outcome) -> Outcome:
    """The router's answer as it may be given in a group; a 1:1 chat's answer is left as it is."""
    if inc.chat_type == "user":
        return out
    flow = (out.state or {}).get("flow")
    if not inc.user_id:
        if out.state is not None or out.actions or out.submission is not None or out.follow_ref or out.media:
            out = _without_user(inc, flow)
        else:
            out = replace(out, state=None, keep_state=True)
    elif flow and flow not in IN_GROUPS:
        out = replace(pointer(flow), state=None, keep_state=False)  # a 1:1 conversation never starts here
    elif _offers_switch(out):
        out = pointer(_offers_switch(out))
    return replace(out, replies=tuple(_for_group(r) for r in out.replies))


def pointer(flow_id: str | None) -> Outcome:
    """「Please do this in our 1:1 chat」, naming the conversation."""
    text = t("group.one_to_one", flow_name=common.flow_name(flow_id)) if flow_id else t("group.hello")
    return Outcome(replies=(Text(text),), keep_state=True)


def _without_user(inc: Incoming, flow: str | None) -> Outcome:
    """A member the bot cannot tell apart from the others: 119 first when someone is in danger,
    then the pointer; no conversation and no write that belongs to a person."""
    replies: list[Text] = []
    if inc.kind == "text" and disaster.in_danger(inc.text):
        replies.append(Text(t("disaster.danger")))
        flow = flow or disaster.FLOW_ID
    replies.extend(pointer(flow).replies)
    return Outcome(replies=tuple(replies), keep_state=True)


def _offers_switch(out: Outcome) -> str | None:
    """The 1:1 conversation an answer asks to switch to (「改辦新的」), if any."""
    for reply in out.replies:
        for item in reply.quick_replies:
            data = dict(parse_qsl(item.data or "", keep_blank_values=True))
            if data.get("cmd") == "switch" and data.get("flow") not in IN_GROUPS:
                return data.get("flow")
    return None


# Answers worded for the 1:1 chat ("tap the buttons below"), said otherwise in a group.
_GROUP_WORDING = {"common.welcome": "group.hello", "disaster.welcome": "group.hello", "common.menu": "group.hello",
                  "common.nothing_to_cancel": "group.hello", "common.fallback": "group.fallback",
                  "common.thanks": "group.thanks"}


def _for_group(reply: Text) -> Text:
    for key, group_key in _GROUP_WORDING.items():
        if reply.text == t(key):
            reply = replace(reply, text=t(group_key))
            break
    return reply
