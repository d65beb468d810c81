"""Group commit for the webhook: claims, hand-off and inserts of concurrent requests, batched.

Each request thread submits its events and waits; one writer thread per process takes
everything that is waiting and does one Redis round trip (claim + hand-off for all events) and
one database round trip (the inserts), then wakes the requests. Under load many requests share
a round trip, which is what keeps the webhook close to a bare endpoint's throughput; with one
request at a time it costs one thread switch. Every request still answers only after its events
are committed.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError

from bot.extensions import Services
from services import inbound

log = logging.getLogger(__name__)
WAIT_S = 5.0


@dataclass
class _Item:
    raws: list[dict[str, Any]]
    done: threading.Event = field(default_factory=threading.Event)
    claimed: list[bool] = field(default_factory=list)
    error: Exception | None = None


class Ingestor:
    def __init__(self, svc: Services):
        self.svc = svc
        self.cond = threading.Condition()
        self.pending: list[_Item] = []
        self.thread: threading.Thread | None = None

    def submit(self, raws: list[dict[str, Any]]) -> list[bool]:
        """Claim and store the events; returns which were new. Raises StorageError."""
        item = _Item(raws)
        with self.cond:
            self.pending.append(item)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="webhook-ingest", daemon=True)
                self.thread.start()
            self.cond.notify()
        if not item.done.wait(WAIT_S):
            raise inbound.StorageError("timeout")
        if item.error is not None:
            raise item.error
        return item.claimed

    def _run(self) -> None:
        while True:
            with self.cond:
                while not self.pending:
                    self.cond.wait()
                batch, self.pending = self.pending, []
            try:
                self._write(batch)
            except Exception as exc:  # never let the writer die; each request gets the error
                log.exception("ingest: batch failed")
                for item in batch:
                    if not item.done.is_set():
                        item.error = inbound.StorageError(type(exc).__name__)
                        item.done.set()

    def _write(self, batch: list[_Item]) -> None:
        raws = [raw for item in batch for raw in item.raws]
        ids = [raw["webhookEventId"] for raw in raws]
        try:
            claimed = self.svc.state.claim_and_hand_off(ids)
        except RedisError:
            log.error("webhook: redis unavailable; relying on the database key and the sweeper")
            claimed = [True] * len(raws)
        fresh = [raw for raw, ok in zip(raws, claimed) if ok]
        error = None
        if fresh:
            try:
                inbound.store(self.svc.db, fresh)
            except inbound.StorageError as exc:
                error = exc
                for raw in fresh:
                    try:
                        self.svc.state.unclaim(raw["webhookEventId"])
                    except RedisError:
                        pass
        i = 0
        for item in batch:
            item.claimed = claimed[i:i + len(item.raws)]
            i += len(item.raws)
            item.error = error if error is not None and any(item.claimed) else None
            item.done.set()


_ingestors: dict[int, Ingestor] = {}
_lock = threading.Lock()


def ingestor(svc: Services) -> Ingestor:
    with _lock:
        ing = _ingestors.get(id(svc))
        if ing is None or ing.svc is not svc:
            ing = _ingestors[id(svc)] = Ingestor(svc)
        return ing
