"""Short-lived state in Redis. Every key is built here, and every key has a TTL.

| key                              | value                        | TTL   |
|----------------------------------|------------------------------|-------|
| conv:v1:<chat>:<user>            | conversation JSON            | 24 h  |
| lock:conv:v1:<chat>:<user>       | redis-py lock                | 30 s  |
| evt:v1:<webhookEventId>          | "1" (claim)                  | 24 h  |
| rate:v1:<user hash>:<minute>     | count of events this minute  | 2 min |
| inbox:v1                         | list of new event ids        | none* |
| digest:v1:<Taipei date>          | "1" (today's digest is sent) | 2 d   |
| public:v1:<name>                 | a public page's figures JSON | 5 min |

Event claims are the Redis half of the dedupe on ``webhookEventId`` (the database's unique key is
the other). With PostgreSQL the workers' feeder makes them, after the webhook's insert, when it
hands a new row to the queue (``claim``). In the local mode (SQLite) the webhook makes them, and
puts the ids on the inbox in the same round trip (``claim_and_hand_off``).

*The inbox is a queue, emptied continuously by the workers' feeder; it holds only ids.
"""
from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from typing import Any, Iterator

from redis import Redis
from redis.exceptions import NoScriptError

CONV_TTL_S = 24 * 3600
CLAIM_TTL_S = 24 * 3600
LOCK_TTL_S = 30
DIGEST_TTL_S = 2 * 24 * 3600


def conv_key(chat_id: str, user_id: str) -> str:
    return f"conv:v1:{chat_id}:{user_id}"


def claim_key(event_id: str) -> str:
    return f"evt:v1:{event_id}"


def rate_key(user_hash: str, minute: int) -> str:
    return f"rate:v1:{user_hash}:{minute}"


def digest_key(day: str) -> str:
    return f"digest:v1:{day}"


def public_cache_key(name: str) -> str:
    return f"public:v1:{name}"


INBOX_KEY = "inbox:v1"

# KEYS[1] the inbox, KEYS[2..] claim keys; ARGV[1] the claim TTL, ARGV[2..] the event ids.
_CLAIM_LUA = """
local out = {}
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[1]) then
    redis.call('RPUSH', KEYS[1], ARGV[i])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
"""


_CLAIM_SHA = hashlib.sha1(_CLAIM_LUA.encode()).hexdigest()


def _s(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


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
    def unclaim(self, event_id: str) -> None:
        self.redis.delete(claim_key(event_id))

    def claim(self, event_ids: list[str]) -> list[bool]:
        """Claim each event (SET NX EX 24 h), all in one round trip; True for those that were new."""
        pipe = self.redis.pipeline(transaction=False)
        for event_id in event_ids:
            pipe.set(claim_key(event_id), "1", nx=True, ex=CLAIM_TTL_S)
        return [bool(x) for x in pipe.execute()]

    def claim_and_hand_off(self, event_ids: list[str]) -> list[bool]:
        """Local mode: claim each event (SET NX EX) and, if it is new, put its id on the inbox,
        in one round trip.

        The webhook then stores the claimed events before answering; the workers' feeder takes
        the ids from the inbox and enqueues the stored rows.
        """
        keys = [INBOX_KEY] + [claim_key(e) for e in event_ids]
        try:
            result = self.redis.evalsha(_CLAIM_SHA, len(keys), *keys, CLAIM_TTL_S, *event_ids)
        except NoScriptError:
            result = self.redis.eval(_CLAIM_LUA, len(keys), *keys, CLAIM_TTL_S, *event_ids)
        return [bool(x) for x in result]

    # the inbox: ids of new events, handed from the webhook to the workers -------------------
    def pop_inbox(self, block_s: float | None = None, batch: int = 100) -> list[str]:
        """Take waiting event ids; with ``block_s``, wait that long for the first one."""
        if block_s:
            item = self.redis.blpop([INBOX_KEY], timeout=block_s)
            if item is None:
                return []
            rest = self.redis.lpop(INBOX_KEY, batch - 1) or []
            return [_s(item[1])] + [_s(x) for x in rest]
        return [_s(x) for x in (self.redis.lpop(INBOX_KEY, batch) or [])]

    # once a day ---------------------------------------------------------------------------
    def claim_digest(self, day: str) -> bool:
        """True for the first worker to ask on ``day`` (a Taipei date): it sends the digest."""
        return bool(self.redis.set(digest_key(day), "1", nx=True, ex=DIGEST_TTL_S))

    # rate limit --------------------------------------------------------------------------
    def hit(self, user_hash: str, minute: int) -> int:
        key = rate_key(user_hash, minute)
        pipe = self.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, 120)
        return int(pipe.execute()[0])
