"""The LINE gateway: the only module that calls the LINE Messaging API.

- reply while the token is fresh, otherwise push with ``X-Line-Retry-Key``;
- a reply that fails (400 invalid token, timeout, 5xx) falls back to a push with the retry key;
- every call carries an explicit timeout;
- the loading animation only in 1:1 chats;
- content download that tells "not ready yet" (202) from "gone" (404/410).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Sequence

import urllib3
from linebot.v3.messaging import (ApiClient, ApiException, CameraAction, CameraRollAction, Configuration,
                                  LocationAction, MessageAction, MessagingApi, MessagingApiBlob,
                                  PostbackAction, PushMessageRequest, QuickReply, QuickReplyItem,
                                  ReplyMessageRequest, ShowLoadingAnimationRequest, TextMessage, URIAction,
                                  FlexContainer, FlexMessage)

from services import metrics
from services.messages import MAX_QUICK_REPLIES, QuickReply as QR, Text

log = logging.getLogger(__name__)

TIMEOUT = (3, 10)
CONTENT_TIMEOUT = (3, 30)
REPLY_MAX_AGE_S = 50          # since we received the webhook
REPLY_MAX_EVENT_AGE_S = 19 * 60  # since the event happened (LINE: 20 min for redeliveries)
MAX_TEXT = 5000
MAX_ALT_TEXT = 1500  # a Flex message's alt text


class ContentNotReady(Exception):
    """LINE answered 202: the content is still being prepared; try again later."""


class ContentGone(Exception):
    """LINE answered 404/410: the content was unsent or is no longer kept."""


class DeliveryError(Exception):
    """A push that should be retried later (5xx, 429, timeout)."""


@dataclass(frozen=True)
class Delivery:
    via: str  # reply | push | none
    status: int
    request_id: str | None = None


def _action(q: QR):
    if q.kind == "postback":
        return PostbackAction(label=q.label, data=q.data, display_text=q.text)
    if q.kind == "message":
        return MessageAction(label=q.label, text=q.text)
    if q.kind == "location":
        return LocationAction(label=q.label)
    if q.kind == "camera":
        return CameraAction(label=q.label)
    if q.kind == "camera_roll":
        return CameraRollAction(label=q.label)
    if q.kind == "uri":
        return URIAction(label=q.label, uri=q.uri)
    raise ValueError(f"unknown quick reply kind {q.kind}")


def to_sdk(texts: Sequence[Text]) -> list[TextMessage | FlexMessage]:
    """Our messages as SDK messages: at most 5, texts at most 5,000 characters, quick replies on
    the last. Beyond five, the trailing plain texts are merged into the fifth."""
    texts = list(texts)
    if len(texts) > 5:
        tail = texts[4:]
        if any(x.flex is not None for x in tail):
            texts = texts[:5]
        else:
            merged = Text("\n\n".join(x.text for x in tail), texts[-1].quick_replies)
            texts = texts[:4] + [merged]
    out: list[TextMessage | FlexMessage] = []
    for i, x in enumerate(texts):
        qr = None
        if x.quick_replies and i == len(texts) - 1:
            qr = QuickReply(items=[QuickReplyItem(action=_action(q)) for q in x.quick_replies[:MAX_QUICK_REPLIES]])
        if x.flex is not None:
            out.append(FlexMessage(alt_text=x.text[:MAX_ALT_TEXT], contents=FlexContainer.from_dict(x.flex),
                                   quick_reply=qr))
        else:
            out.append(TextMessage(text=x.text[:MAX_TEXT], quick_reply=qr, quote_token=x.quote_token))
    return out


class LineGateway:
    def __init__(self, access_token: str, base_url: str | None = None):
        conf = Configuration(access_token=access_token, host=base_url) if base_url else \
            Configuration(access_token=access_token)
        conf.retries = urllib3.Retry(total=0, connect=0, read=0, redirect=0)
        self._client = ApiClient(conf)
        self.api = MessagingApi(self._client)
        self.blob = MessagingApiBlob(self._client)

    def close(self) -> None:
        self._client.close()

    # -- sending -------------------------------------------------------------------------
    def reply_is_fresh(self, received_at: float | None, event_ts_ms: int | None, now: float | None = None) -> bool:
        now = now or time.time()
        if received_at is None or event_ts_ms is None:
            return False
        return now - received_at < REPLY_MAX_AGE_S and now - event_ts_ms / 1000 < REPLY_MAX_EVENT_AGE_S

    def reply(self, reply_token: str, texts: Sequence[Text]) -> int:
        resp = self.api.reply_message_with_http_info(
            ReplyMessageRequest(reply_token=reply_token, messages=to_sdk(texts)), _request_timeout=TIMEOUT)
        return resp.status_code

    def push(self, to: str, texts: Sequence[Text], retry_key: str) -> Delivery:
        """Push with a retry key; 409 means an earlier attempt with this key was accepted."""
        try:
            resp = self.api.push_message_with_http_info(
                PushMessageRequest(to=to, messages=to_sdk(texts)), x_line_retry_key=retry_key,
                _request_timeout=TIMEOUT)
            metrics.sent("push")
            return Delivery("push", resp.status_code, (resp.headers or {}).get("x-line-request-id"))
        except ApiException as exc:
            if exc.status == 409:
                metrics.sent("push_duplicate")
                return Delivery("push", 409, (exc.headers or {}).get("x-line-accepted-request-id"))
            if exc.status >= 500 or exc.status == 429:
                raise DeliveryError(f"push failed with {exc.status}") from exc
            raise
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise DeliveryError(f"push failed: {type(exc).__name__}") from exc

    def deliver(self, *, to: str | None, reply_token: str | None, texts: Sequence[Text], retry_key: str,
                received_at: float | None, event_ts_ms: int | None, allow_push: bool = True) -> Delivery:
        """Reply if the token is fresh; otherwise, or if the reply fails, push with the retry key."""
        if reply_token and self.reply_is_fresh(received_at, event_ts_ms):
            try:
                status = self.reply(reply_token, texts)
                metrics.sent("reply")
                return Delivery("reply", status)
            except ApiException as exc:
                log.warning("reply failed with %s; falling back to push", exc.status)
                if exc.status not in (400, 429) and exc.status < 500:
                    raise
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                # The reply may have reached LINE; a reply is never resent, a push with a key is.
                log.warning("reply transport error %s; falling back to push", type(exc).__name__)
        if not to or not allow_push:
            return Delivery("none", 0)
        return self.push(to, texts, retry_key)

    def show_loading(self, chat_id: str, seconds: int = 20) -> None:
        """The typing indicator, only for 1:1 chats (user ids start with U); failures are ignored."""
        if not chat_id or not chat_id.startswith("U"):
            return
        seconds = max(5, min(60, (seconds + 4) // 5 * 5))
        try:
            self.api.show_loading_animation(ShowLoadingAnimationRequest(chat_id=chat_id, loading_seconds=seconds),
                                            _request_timeout=TIMEOUT)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            log.info("loading animation not shown: %s", type(exc).__name__)

    def monthly_quota(self) -> int | None:
        """The account's monthly message limit, or None when unlimited or unknown."""
        try:
            quota = self.api.get_message_quota(_request_timeout=TIMEOUT)
        except (ApiException, urllib3.exceptions.HTTPError, OSError):
            return None
        return int(quota.value) if quota.type == "limited" and quota.value is not None else None

    # -- channel checks (flask --app app doctor) ------------------------------------------
    def bot_info(self):
        """The bot's own account (BotInfoResponse); ApiException 401 when the token is not valid."""
        return self.api.get_bot_info(_request_timeout=TIMEOUT)

    def webhook_endpoint(self):
        """The webhook URL set in LINE and whether it is in use (GetWebhookEndpointResponse)."""
        return self.api.get_webhook_endpoint(_request_timeout=TIMEOUT)

    def push_budget(self) -> tuple[int | None, int]:
        """(the month's limit or None when unlimited, messages counted against it so far).
        Raises ApiException or a transport error; see ``monthly_quota`` for the forgiving one."""
        quota = self.api.get_message_quota(_request_timeout=TIMEOUT)
        used = self.api.get_message_quota_consumption(_request_timeout=TIMEOUT).total_usage
        limit = int(quota.value) if quota.type == "limited" and quota.value is not None else None
        return limit, int(used or 0)

    # -- content ------------------------------------------------------------------------
    def get_content(self, message_id: str) -> bytes:
        try:
            data = self.blob.get_message_content(message_id, _request_timeout=CONTENT_TIMEOUT)
        except ApiException as exc:
            if exc.status in (404, 410):
                raise ContentGone(str(exc.status)) from exc
            raise
        if data is None:
            raise ContentNotReady(message_id)
        return data


def deploy_rich_menu(gateway: LineGateway, menu_request, image: bytes) -> str:
    """Create the menu, upload its image and make it everyone's default; returns its id.

    LINE cannot replace a menu's image, so every deploy creates a new menu (limit: 100/hour).
    """
    rich_menu_id = gateway.api.create_rich_menu(menu_request, _request_timeout=TIMEOUT).rich_menu_id
    gateway.blob.set_rich_menu_image(rich_menu_id, body=bytearray(image), _headers={"Content-Type": "image/png"},
                                     _request_timeout=CONTENT_TIMEOUT)
    gateway.api.set_default_rich_menu(rich_menu_id, _request_timeout=TIMEOUT)
    return rich_menu_id
