"""Group commit for the webhook: the storage round trips of concurrent requests, batched.

PostgreSQL: a batch is one statement, one round trip and one commit (``inbound.store``). It
inserts the events (``ON CONFLICT (webhook_event_id) DO NOTHING``: the durable dedupe) and, for
each new row, notifies the workers' feeder, which then claims the event in Redis and enqueues
its job.
The request itself never touches Redis, so a Redis outage cannot lose an event or fail the
webhook.

SQLite (the local mode): one Redis round trip claims the events and puts the new ones on the
inbox list, then the claimed ones are inserted; if the insert fails the claims are released.

Concurrent requests of one process share these round trips; a lone request costs nothing extra.
Every request answers only after its events are committed.
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
    """Leader/follower group commit: the request that finds no write in progress writes the
    whole waiting batch (its own events included) and keeps going while more are waiting;
    the others wait for it. No extra thread, and one round trip per store per batch."""

    def __init__(self, svc: Services):
        self.svc = svc
        self.postgres = svc.db.engine.dialect.name == "postgresql"
        self.lock = threading.Lock()
        self.pending: list[_Item] = []
        self.writing = False

    def submit(self, raws: list[dict[str, Any]]) -> list[bool]:
        """Claim and store the events; returns which were new. Raises StorageError."""
        item = _Item(raws)
        with self.lock:
            self.pending.append(item)
            lead = not self.writing
            if lead:
                self.writing = True
        if lead:
            self._lead()
        elif not item.done.wait(WAIT_S):
            raise inbound.StorageError("timeout")
        if item.error is not None:
            raise item.error
        return item.claimed

    def _lead(self) -> None:
        while True:
            with self.lock:
                batch, self.pending = self.pending, []
                if not batch:
                    self.writing = False
                    return
            try:
                self._write(batch)
            except Exception as exc:  # every waiting request gets the error, none is left hanging
                log.exception("ingest: batch failed")
                for item in batch:
                    if not item.done.is_set():
                        item.error = inbound.StorageError(type(exc).__name__)
                        item.done.set()

    def _write(self, batch: list[_Item]) -> None:
        raws = [raw for item in batch for raw in item.raws]
        if self.postgres:
            try:
                claimed = [row_id is not None for row_id in inbound.store(self.svc.db, raws)]
            except inbound.StorageError as exc:
                for item in batch:
                    item.error = exc
                    item.done.set()
                return
            self._finish(batch, claimed, None)
            return
        ids = [inbound.event_key(raw) for raw in raws]  # an id the column cannot hold is refused by store
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
                        self.svc.state.unclaim(inbound.event_key(raw))
                    except RedisError:
                        pass
        self._finish(batch, claimed, error)

    @staticmethod
    def _finish(batch: list[_Item], claimed: list[bool], error: Exception | None) -> None:
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
