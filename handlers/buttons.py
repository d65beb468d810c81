"""The buttons under an answer, decided here and only here (applied by the router to every answer).

A handler puts the menu's buttons under an answer with ``common.menu_buttons`` (the main menu's, or
the disaster menu's when it passes ``ctx`` while the disaster mode is on). ``settle`` then:

1. swaps the main menu's buttons for the disaster menu's while the disaster mode is on (an FAQ
   answer, a case look-up or the fallback built without ``ctx``); the mode is asked only when an
   answer carries the main menu's buttons;
2. in a group chat, removes every menu (the 1:1 chat's or the disaster menu) and any button that
   would open a 1:1 conversation or a look-up there (docs/architecture.md, Groups); a
   conversation's own buttons (a disaster report's steps) stay;
3. keeps at most ``MAX_QUICK_REPLIES`` buttons (LINE's limit).
"""
from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qsl

from handlers import common
from handlers.group import IN_GROUPS
from handlers.flow import Incoming, Outcome
from services.messages import MAX_QUICK_REPLIES, QuickReply, Text



def settle(out: Outcome, inc: Incoming, ctx) -> Outcome:
    out = _disaster_menus(out, ctx)
    in_group = inc.chat_type != "user"
    replies = tuple(_settle_one(r, in_group) for r in out.replies)
    return out if replies == out.replies else replace(out, replies=replies)


def _settle_one(reply: Text, in_group: bool) -> Text:
    items = reply.quick_replies
    if in_group and items:
        items = _without_menu(items)
    if len(items) > MAX_QUICK_REPLIES:
        items = items[:MAX_QUICK_REPLIES]
    return reply if items == reply.quick_replies else replace(reply, quick_replies=items)


def _ending(buttons: tuple, menus) -> tuple[int, bool] | None:
    for menu, active in menus:
        if len(buttons) >= len(menu) and buttons[len(buttons) - len(menu):] == menu:
            return len(menu), active
    return None


def _disaster_menus(out: Outcome, ctx) -> Outcome:
    """While the disaster mode is on, the main menu's buttons under any answer are the disaster menu's."""
    menus = ((common.menu_buttons(active=True), True), (common.menu_buttons(), False))
    if not any(_ending(r.quick_replies, menus) for r in out.replies) or not common.disaster_mode(ctx):
        return out
    replies = []
    for reply in out.replies:
        hit = _ending(reply.quick_replies, menus)
        if hit:
            size, active = hit
            menu = common.menu_buttons(active=active, ctx=ctx)
            head = reply.quick_replies[:len(reply.quick_replies) - size]
            reply = replace(reply, quick_replies=head[:MAX_QUICK_REPLIES - len(menu)] + menu)
        replies.append(reply)
    return replace(out, replies=tuple(replies))


def blocked(item: QuickReply) -> str | None:
    """The 1:1 conversation (or look-up) a button would open in a group, if any."""
    if item.kind != "postback" or not item.data:
        return None
    data = dict(parse_qsl(item.data, keep_blank_values=True))
    target = data.get("flow")
    if target and target not in IN_GROUPS:
        return target
    if data.get("action") == "my_cases" or data.get("dengue") == "subscribe":
        return "-"
    return None


def _menus() -> list[tuple[QuickReply, ...]]:
    menus = [common.menu_buttons(), common.menu_buttons(active=True), common.disaster_buttons()]
    menus.append((common.menu_buttons(active=True)[0],) + common.disaster_buttons())
    return sorted(menus, key=len, reverse=True)


def _without_menu(buttons: tuple[QuickReply, ...]) -> tuple[QuickReply, ...]:
    for menu in _menus():
        if len(buttons) >= len(menu) and buttons[len(buttons) - len(menu):] == menu:
            buttons = buttons[:len(buttons) - len(menu)]
            break
    return tuple(b for b in buttons if blocked(b) is None)
