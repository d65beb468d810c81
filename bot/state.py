"""Short-lived state in Redis. Every key is built here, and every key has a TTL.

| key                              | value                        | TTL   |
|----------------------------------|------------------------------|-------|
| conv:v1:<chat>:<user>            | conversation JSON            | 24 h  |
| lock:conv:v1:<chat>:<user>       | redis-py lock                | 30 s  |
| evt:v1:<webhookEventId>          | "1" (claim)                  | 24 h  |
| rate:v1:<user hash>:<minute>     | count of events this minute  | 2 min |
| inbox:v1                         | list of new event row ids    | none* |

*The inbox is a queue, emptied continuously by the workers' feeder; it holds only ids.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Iterator

from redis import Redis

CONV_TTL_S = 24 * 3600
CLAIM_TTL_S = 24 * 3600
LOCK_TTL_S = 30


def conv_key(chat_id: str, user_id: str) -> str:
    return f"conv:v1:{chat_id}:{user_id}"


def claim_key(event_id: str) -> str:
    return f"evt:v1:{event_id}"


INBOX_KEY = "inbox:v1"


class StateStore:
    def __init__(self, redis: Redis):
        self.redis = redis

    # conversations -----------------------------------------------------------------------
    def load(self, chat_id: str, user_id: str) -> dict[str, Any] | None:
        raw = self.redis.get(conv_key(chat_id, user_id))
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def save(self, chat_id: str, user_id: str, state: dict[str, Any]) -> None:
        self.redis.set(conv_key(chat_id, user_id), json.dumps(state, ensure_ascii=False), ex=CONV_TTL_S)

    def clear(self, chat_id: str, user_id: str) -> None:
        self.redis.delete(conv_key(chat_id, user_id))

    @contextmanager
    def lock(self, chat_id: str, user_id: str, wait_s: float = 10.0) -> Iterator[None]:
        """Serialise the events of one conversation across workers."""
        lock = self.redis.lock(f"lock:{conv_key(chat_id, user_id)}", timeout=LOCK_TTL_S,
                               blocking_timeout=wait_s)
        if not lock.acquire():
            raise TimeoutError("conversation is busy")
        try:
            yield
        finally:
            try:
                lock.release()
            except Exception:  # the lock expired; the next holder owns it now
                pass

    # event claims ------------------------------------------------------------------------
    def claim(self, event_id: str) -> bool:
        """True the first time an event id is seen (SET NX EX)."""
        return bool(self.redis.set(claim_key(event_id), "1", nx=True, ex=CLAIM_TTL_S))

    def unclaim(self, event_id: str) -> None:
        self.redis.delete(claim_key(event_id))

    def claim_all(self, event_ids: list[str]) -> list[bool]:
        """Claim several events in one round trip."""
        if len(event_ids) == 1:
            return [self.claim(event_ids[0])]
        pipe = self.redis.pipeline(transaction=False)
        for event_id in event_ids:
            pipe.set(claim_key(event_id), "1", nx=True, ex=CLAIM_TTL_S)
        return [bool(x) for x in pipe.execute()]

    # the inbox: new event rows, handed from the webhook to the workers ---------------------
    def push_inbox(self, row_ids: list[int]) -> None:
        self.redis.rpush(INBOX_KEY, *row_ids)

    def pop_inbox(self, block_s: float | None = None, batch: int = 100) -> list[int]:
        """Take waiting row ids; with ``block_s``, wait that long for the first one."""
        if block_s:
            item = self.redis.blpop([INBOX_KEY], timeout=block_s)
            if item is None:
                return []
            first = [int(item[1])]
            rest = self.redis.lpop(INBOX_KEY, batch - 1) or []
            return first + [int(x) for x in rest]
        rest = self.redis.lpop(INBOX_KEY, batch) or []
        return [int(x) for x in rest]

    # rate limit --------------------------------------------------------------------------
    def hit(self, user_hash: str, minute: int) -> int:
        key = f"rate:v1:{user_hash}:{minute}"
        pipe = self.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, 120)
        return int(pipe.execute()[0])
