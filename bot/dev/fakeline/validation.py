"""What LINE checks in the messages of a reply or a push: counts, lengths, types and quick-reply
actions (LINE answers 400 with one detail per problem)."""
from __future__ import annotations

from typing import Any

MAX_MESSAGES = 5
MAX_TEXT_UTF16 = 5000
MAX_ALT_TEXT = 1500
MAX_QUICK_REPLY_ITEMS = 13
MAX_ACTION_LABEL = 20
MAX_POSTBACK_DATA = 300
MAX_ACTION_TEXT = 300
MAX_URI = 1000

MESSAGE_TYPES = {
    "text", "textV2", "sticker", "image", "video", "audio", "location",
    "imagemap", "template", "flex",
}
QUICK_REPLY_ACTIONS = {
    "postback", "message", "uri", "datetimepicker", "camera", "cameraRoll", "location",
    "clipboard",
}
# Fields each message type must carry (LINE answers 400 without them).
REQUIRED_MESSAGE_FIELDS = {
    "text": ("text",),
    "textV2": ("text",),
    "sticker": ("packageId", "stickerId"),
    "image": ("originalContentUrl", "previewImageUrl"),
    "video": ("originalContentUrl", "previewImageUrl"),
    "audio": ("originalContentUrl", "duration"),
    "location": ("title", "address", "latitude", "longitude"),
    "imagemap": ("baseUrl", "altText", "baseSize", "actions"),
    "template": ("altText", "template"),
    "flex": ("altText", "contents"),
}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _validate_quick_reply_action(action: Any, prop: str, errors: list[dict]) -> None:
    if not isinstance(action, dict):
        errors.append({"message": "must be specified", "property": prop})
        return
    kind = action.get("type")
    if kind not in QUICK_REPLY_ACTIONS:
        errors.append({"message": "invalid action type", "property": f"{prop}.type"})
        return
    label = action.get("label")
    if not label:
        errors.append({"message": "must be specified", "property": f"{prop}.label"})
    elif not isinstance(label, str) or len(label) > MAX_ACTION_LABEL:
        errors.append({"message": f"Length must be between 0 and {MAX_ACTION_LABEL}",
                       "property": f"{prop}.label"})
    if kind == "postback":
        data = action.get("data")
        if not isinstance(data, str) or not data:
            errors.append({"message": "must be specified", "property": f"{prop}.data"})
        elif len(data) > MAX_POSTBACK_DATA:
            errors.append({"message": f"Length must be between 0 and {MAX_POSTBACK_DATA}",
                           "property": f"{prop}.data"})
        if len(action.get("displayText") or "") > MAX_ACTION_TEXT:
            errors.append({"message": f"Length must be between 0 and {MAX_ACTION_TEXT}",
                           "property": f"{prop}.displayText"})
    elif kind == "message":
        text = action.get("text")
        if not isinstance(text, str) or not text:
            errors.append({"message": "must be specified", "property": f"{prop}.text"})
        elif len(text) > MAX_ACTION_TEXT:
            errors.append({"message": f"Length must be between 0 and {MAX_ACTION_TEXT}",
                           "property": f"{prop}.text"})
    elif kind == "uri":
        uri = action.get("uri")
        if not isinstance(uri, str) or not uri:
            errors.append({"message": "must be specified", "property": f"{prop}.uri"})
        elif len(uri) > MAX_URI or uri.split(":", 1)[0] not in {"http", "https", "line", "tel"}:
            errors.append({"message": "invalid uri", "property": f"{prop}.uri"})
    elif kind == "datetimepicker":
        if action.get("mode") not in {"date", "time", "datetime"}:
            errors.append({"message": "invalid mode", "property": f"{prop}.mode"})
        if not action.get("data"):
            errors.append({"message": "must be specified", "property": f"{prop}.data"})


def validate_messages(messages: Any) -> list[dict]:
    """Check message objects the way LINE does; return error details (empty when valid)."""
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        return [{"message": f"Size must be between 1 and {MAX_MESSAGES}", "property": "messages"}]
    errors: list[dict] = []
    for i, message in enumerate(messages):
        prop = f"messages[{i}]"
        if not isinstance(message, dict) or message.get("type") not in MESSAGE_TYPES:
            errors.append({"message": "invalid message type", "property": f"{prop}.type"})
            continue
        for name in REQUIRED_MESSAGE_FIELDS[message["type"]]:
            if message.get(name) in (None, "", [], {}):
                errors.append({"message": "must be specified", "property": f"{prop}.{name}"})
        text = message.get("text")
        if message["type"] in {"text", "textV2"} and isinstance(text, str) \
                and _utf16_len(text) > MAX_TEXT_UTF16:
            errors.append({"message": f"Length must be between 0 and {MAX_TEXT_UTF16}",
                           "property": f"{prop}.text"})
        alt_text = message.get("altText")
        if isinstance(alt_text, str) and len(alt_text) > MAX_ALT_TEXT:
            errors.append({"message": f"Length must be between 0 and {MAX_ALT_TEXT}",
                           "property": f"{prop}.altText"})
        quick_reply = message.get("quickReply")
        if quick_reply is None:
            continue
        items = quick_reply.get("items") if isinstance(quick_reply, dict) else None
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_QUICK_REPLY_ITEMS:
            errors.append({"message": f"Size must be between 1 and {MAX_QUICK_REPLY_ITEMS}",
                           "property": f"{prop}.quickReply.items"})
            continue
        for j, item in enumerate(items):
            item_prop = f"{prop}.quickReply.items[{j}]"
            if not isinstance(item, dict) or item.get("type", "action") != "action":
                errors.append({"message": "invalid quick reply item", "property": item_prop})
                continue
            _validate_quick_reply_action(item.get("action"), f"{item_prop}.action", errors)
    return errors


# -- HTTP -----------------------------------------------------------------------------------
