"""Clients the app uses, built once per app and kept in ``app.extensions["zuozhen"]``."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from flask import Flask, current_app
from redis import Redis
from rq import Queue

from bot.state import StateStore
from services.db import Database
from services.line import LineGateway
from services.media import MediaStore

EVENTS_QUEUE = "events"
MEDIA_QUEUE = "media"
SEND_QUEUE = "send"


@dataclass
class Services:
    config: dict
    db: Database
    redis: Redis
    state: StateStore
    line: LineGateway
    media: MediaStore
    queues: dict[str, Queue]

    def queue(self, name: str) -> Queue:
        return self.queues[name]

    def user_hash(self, user_id: str | None) -> str:
        """A salted hash for logs and for data that must not hold the raw LINE id."""
        if not user_id:
            return "-"
        key = str(self.config["SECRET_KEY"]).encode()
        return hmac.new(key, user_id.encode(), hashlib.sha256).hexdigest()[:24]

    def close(self) -> None:
        self.line.close()
        self.db.dispose()


_FAKE_SERVERS: dict[str, object] = {}


def make_redis(url: str | None) -> Redis:
    """A real Redis for a URL; without one, an in-process stand-in shared by web and worker."""
    if url and url.startswith("fakeredis://"):  # a private stand-in, for tests
        import fakeredis
        return fakeredis.FakeRedis(server=fakeredis.FakeServer())
    if url:
        return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3, health_check_interval=30)
    import fakeredis  # the embedded local mode only
    server = _FAKE_SERVERS.setdefault("local", fakeredis.FakeServer())
    return fakeredis.FakeRedis(server=server)


def init_app(app: Flask) -> Services:
    cfg = app.config
    redis = make_redis(cfg["REDIS_URL"])
    services = Services(
        config=cfg,
        db=Database(cfg["DATABASE_URL"]),
        redis=redis,
        state=StateStore(redis),
        # No token only under `doctor`, which reports it (a start without one stops in config).
        line=LineGateway(cfg["LINE_CHANNEL_ACCESS_TOKEN"] or "", cfg["LINE_API_BASE_URL"]),
        media=MediaStore(cfg["MEDIA_DIR"]),
        queues={name: Queue(name, connection=redis, default_timeout=60)
                for name in (EVENTS_QUEUE, MEDIA_QUEUE, SEND_QUEUE)},
    )
    app.extensions["zuozhen"] = services
    return services


def get_services(app: Flask | None = None) -> Services:
    return (app or current_app).extensions["zuozhen"]
