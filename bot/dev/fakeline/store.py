"""The fake's memory: recorded requests, delivered messages, reply tokens, content, injected
failures, rich menus, the webhook endpoint and the push quota."""
from __future__ import annotations

import fnmatch
import itertools
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

# Canned profile display name.
DEFAULT_DISPLAY_NAME = "Test Resident"


@dataclass
class RecordedRequest:
    """One call the fake received. ``path`` is relative to the mount point."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    at: float
    status: int | None = None  # filled in once the fake has answered


@dataclass
class _ReplyToken:
    to: str | None
    expires_at: float | None  # None: never issued, valid until used
    used: bool = False


@dataclass
class _Content:
    data: bytes = b""
    content_type: str = "application/octet-stream"
    status: int = 200


@dataclass
class _Failure:
    status: int
    body: dict | None
    times: int


@dataclass
class _Accepted:
    request_id: str
    sent_messages: list[dict]


class LineApiError(Exception):
    """An error answer: HTTP status, LINE error body and extra headers."""

    def __init__(self, status: int, message: str, details: list[dict] | None = None,
                 headers: dict[str, str] | None = None, extra: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message}
        if details:
            self.body["details"] = details
        if extra:
            self.body.update(extra)
        self.headers = headers or {}


class FakeLineStore:
    """Everything the fake LINE platform remembers. Thread-safe; one per app or test."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.display_name = DEFAULT_DISPLAY_NAME
        self.reset()

    # -- inspection -------------------------------------------------------------------------

    def sent(self, to: str | None = None) -> list[dict]:
        """Delivered message objects in order, optionally only those for one chat.

        Each item: ``{"via": "reply"|"push", "to", "reply_token", "message", "seq", "id", "at"}``.
        ``to`` is the push recipient, or for a reply the chat its token was issued to (``None``
        when the token was never issued or issued without a chat).
        """
        with self._lock:
            return [dict(m) for m in self._sent if to is None or m["to"] == to]

    # -- configuration ----------------------------------------------------------------------

    def issue_reply_token(self, token: str, to: str | None = None, ttl_s: float = 60.0) -> None:
        with self._lock:
            self._tokens[token] = _ReplyToken(to=to, expires_at=time.time() + ttl_s)

    def expire_reply_token(self, token: str) -> None:
        with self._lock:
            known = self._tokens.get(token)
            self._tokens[token] = _ReplyToken(to=known.to if known else None, expires_at=0.0)

    def put_content(self, message_id: str, data: bytes, content_type: str = "image/jpeg") -> None:
        with self._lock:
            self._content[message_id] = _Content(data=bytes(data), content_type=content_type)

    def set_content_status(self, message_id: str, status: int) -> None:
        """200 serves the stored bytes; 202 "still preparing"; 404 unknown; 410 unsent."""
        with self._lock:
            self._content.setdefault(message_id, _Content()).status = int(status)

    def fail_next(self, path: str, status: int, body: dict | None = None, times: int = 1) -> None:
        """Answer the next ``times`` calls to ``path`` (glob patterns allowed) with ``status``."""
        with self._lock:
            self._failures.append((path, _Failure(status=int(status), body=body, times=int(times))))

    def reset(self) -> None:
        with self._lock:
            self.requests: list[RecordedRequest] = []
            self._sent: list[dict] = []
            self._seq = itertools.count(1)
            self._message_ids = itertools.count(int(time.time() * 1000) * 1000)
            self._tokens: dict[str, _ReplyToken] = {}
            self._retry_keys: dict[str, _Accepted] = {}
            self._content: dict[str, _Content] = {}
            self._failures: list[tuple[str, _Failure]] = []
            self.rich_menus: dict[str, dict] = {}
            self.default_rich_menu: str | None = None
            # Channel settings that ``flask --app app doctor`` reads.
            self.access_tokens: set[str] | None = None  # None: any non-empty token is valid
            self.webhook_endpoint = ""
            self.webhook_active = False
            self.quota_limit: int | None = None  # None: {"type": "none"}
            self.quota_used_before = 0  # messages counted this month before this store existed

    # -- used by the blueprint --------------------------------------------------------------

    def _record(self, entry: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(entry)

    def _take_failure(self, path: str) -> _Failure | None:
        with self._lock:
            for i, (pattern, failure) in enumerate(self._failures):
                if pattern == path or fnmatch.fnmatchcase(path, pattern):
                    failure.times -= 1
                    if failure.times <= 0:
                        del self._failures[i]
                    return failure
        return None

    def _deliver(self, via: str, to: str | None, reply_token: str | None,
                 messages: list[dict]) -> list[dict]:
        """Record messages as sent (caller holds the lock) and build ``sentMessages``."""
        now = time.time()
        sent_messages = []
        for message in messages:
            message_id = str(next(self._message_ids))
            self._sent.append({
                "via": via, "to": to, "reply_token": reply_token, "message": message,
                "seq": next(self._seq), "id": message_id, "at": now,
            })
            sent_messages.append({"id": message_id, "quoteToken": uuid.uuid4().hex})
        return sent_messages

    def _reply(self, token: str, messages: list[dict]) -> list[dict]:
        with self._lock:
            entry = self._tokens.get(token)
            if entry is None:
                entry = self._tokens[token] = _ReplyToken(to=None, expires_at=None)
            if entry.used or (entry.expires_at is not None and time.time() > entry.expires_at):
                raise LineApiError(400, "Invalid reply token")
            entry.used = True
            return self._deliver("reply", entry.to, token, messages)

    def _push(self, to: str, messages: list[dict], retry_key: str | None) -> tuple[str, list[dict]]:
        with self._lock:
            if retry_key is not None and retry_key in self._retry_keys:
                accepted = self._retry_keys[retry_key]
                raise LineApiError(
                    409, "The retry key is already accepted",
                    headers={"x-line-accepted-request-id": accepted.request_id},
                    extra={"sentMessages": accepted.sent_messages},
                )
            request_id = str(uuid.uuid4())
            sent_messages = self._deliver("push", to, None, messages)
            if retry_key is not None:
                self._retry_keys[retry_key] = _Accepted(request_id, sent_messages)
            return request_id, sent_messages

    def _get_content(self, message_id: str) -> _Content | None:
        with self._lock:
            return self._content.get(message_id)

    def _push_count(self) -> int:
        with self._lock:
            return sum(1 for m in self._sent if m["via"] == "push")


# -- validation -----------------------------------------------------------------------------
