"""Global commands and answers that need no conversation: menu, cancel, back, human,
welcome, and kind answers to stickers, voice, video and files."""
from __future__ import annotations

from typing import Any

from handlers.flow import Flow, Outcome, ask
from services import nlu
from services.knowledge import t
from services.messages import QuickReply, Text, postback


def disaster_mode(ctx: Any = None) -> bool:
    """Is the disaster mode on? Asked through ``ctx`` (contexts without ``query`` say no)."""
    query = getattr(ctx, "query", None)
    return query is not None and bool((query("services.disaster:mode_status") or {}).get("on"))


def menu_buttons(active: bool = False, ctx: Any = None) -> tuple[QuickReply, ...]:
    """The buttons under an answer: the main menu's, or while the disaster mode is on (asked through
    ``ctx``) the disaster menu's; with 「繼續」 first when a conversation is going on."""
    if disaster_mode(ctx):
        items = list(disaster_buttons())
        if active:
            items.insert(0, postback(t("common.label.continue"), "cmd=continue"))
        return tuple(items)
    items = [postback(t("common.label.road"), "flow=road"),
             postback(t("common.label.faq"), "action=faq"),
             postback(t("common.label.my_cases"), "action=my_cases"),
             postback(t("common.label.human"), "cmd=human")]
    if active:
        items.insert(0, postback(t("common.label.continue"), "cmd=continue"))
    return tuple(items)


def flow_name(flow_id: str) -> str:
    """``flows.<id>``, or the conversation's own ``<id>.flow_name`` (per-conversation message files)."""
    try:
        return t(f"flows.{flow_id}")
    except KeyError:
        return t(f"{flow_id}.flow_name")


def disaster_buttons() -> tuple[QuickReply, ...]:
    """The greeting's buttons while the disaster mode is on: report, shelters and sandbags, phones."""
    return (postback(t("disaster.labels.report_new"), "flow=disaster"),
            postback(t("disaster.labels.shelter"), "action=disaster_info&topic=shelter"),
            postback(t("disaster.labels.phones"), "action=disaster_info&topic=phones"),
            postback(t("common.label.my_cases"), "action=my_cases"),
            postback(t("common.label.human"), "cmd=human"))


def welcome(ctx: Any = None) -> Outcome:
    """The greeting; while the disaster mode is on (asked through ``ctx``), the disaster greeting."""
    if disaster_mode(ctx):
        return Outcome(replies=(Text(t("disaster.welcome"), disaster_buttons()),), keep_state=True)
    return Outcome(replies=(Text(t("common.welcome"), menu_buttons()),), keep_state=True)


def is_thanks(text: str) -> bool:
    """A short thank-you (「謝謝」, 「感恩喔」, 「多謝🙏」), or thanks for a repair done (「感謝公所 路燈已經亮了」):
    it gets a short answer, not the greeting's list of what the bot does."""
    bare = nlu.normalize(text or "")
    return bool(bare) and nlu.has_word(bare, "common.thanks_words") and (len(bare) <= 8 or nlu.repair_thanked(bare))


def thanks(ctx: Any = None) -> Outcome:
    return Outcome(replies=(Text(t("common.thanks"), menu_buttons(ctx=ctx)),), keep_state=True)


def menu(flow: Flow | None, state: dict[str, Any] | None, ctx: Any = None) -> Outcome:
    if flow and state:
        return Outcome(replies=(Text(t("common.menu_with_flow", flow_name=flow_name(flow.id)),
                                     menu_buttons(active=True, ctx=ctx)),), keep_state=True)
    return Outcome(replies=(Text(t("common.menu"), menu_buttons(ctx=ctx)),), keep_state=True)


def cancel(state: dict[str, Any] | None, ctx: Any = None) -> Outcome:
    if state:
        return Outcome(replies=(Text(t("common.cancelled"), menu_buttons(ctx=ctx)),), state=None)
    return Outcome(replies=(Text(t("common.nothing_to_cancel"), menu_buttons(ctx=ctx)),), keep_state=True)


def human(flow: Flow | None, state: dict[str, Any] | None, ctx: Any = None) -> Outcome:
    replies = [Text(t("common.human"))]
    if flow and state:
        replies.append(Text(t("common.human_with_flow"), menu_buttons(active=True, ctx=ctx)))
    else:
        replies[0] = Text(replies[0].text, menu_buttons(ctx=ctx))
    return Outcome(replies=tuple(replies), keep_state=True)


def resume(flow: Flow, state: dict[str, Any]) -> Outcome:
    return Outcome(replies=tuple(ask(flow, state)), keep_state=True)


def media_answer(kind: str, flow: Flow | None, state: dict[str, Any] | None, ctx: Any = None) -> Outcome:
    """A sticker, voice message, video or file: say kindly what the bot can take."""
    key = {"sticker": "common.sticker", "audio": "common.audio", "video": "common.video"}.get(kind, "common.file")
    if flow and state:
        again = ask(flow, state)
        return Outcome(replies=(Text(t(key)), again[-1]), keep_state=True)
    return Outcome(replies=(Text(t(key), menu_buttons(ctx=ctx)),), keep_state=True)


def voice_outside(inc: Any, ctx: Any = None) -> Outcome:
    """A voice message outside any report: it is fetched and kept right away (LINE does not keep
    it), and the elder gets the choices most likely wanted: report a problem (the report starts
    with this voice kept as its description) or call the office. Never a dead end."""
    from handlers.report import voice_received
    ms = f"&ms={inc.duration_ms}" if inc.duration_ms is not None else ""
    kinds = ["road", "dengue"] + (["disaster"] if disaster_mode(ctx) else [])
    if disaster_mode(ctx):
        kinds.reverse()  # in a disaster, its report first
    items = [postback(flow_name(k), f"flow={k}&voice={inc.message_id}{ms}") for k in kinds]
    items.append(QuickReply("uri", t("common.voice.call"), uri="tel:" + _office_digits()))
    items.append(postback(t("common.label.menu"), "cmd=menu"))
    text = t("common.voice.outside", received=voice_received(inc.duration_ms))
    return Outcome(replies=(Text(text, tuple(items)),), media=(inc.message_id,), keep_state=True)


def _office_digits() -> str:
    from services import knowledge
    return "".join(ch for ch in knowledge.contacts()["office"]["phone"] if ch.isdigit())


def fallback(flow: Flow | None, state: dict[str, Any] | None, ctx: Any = None) -> Outcome:
    return Outcome(replies=(Text(t("common.fallback"), menu_buttons(active=bool(state), ctx=ctx)),),
                   keep_state=True)


def ask_switch(current: Flow, target: str) -> Outcome:
    items = (postback(t("common.switch_yes"), f"cmd=switch&flow={target}"),
             postback(t("common.switch_no"), "cmd=continue"))
    return Outcome(replies=(Text(t("common.busy_switch", flow_name=flow_name(current.id)), items),), keep_state=True)
