"""Configuration from the environment (optionally a .env file), validated in the factory.

With ``REDIS_URL`` unset the app runs in local mode: SQLite, an embedded Redis stand-in,
the simulator at /simulator and built-in LINE credentials that only the simulator accepts.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"

LOCAL_SECRET = "local-simulator-channel-secret"
LOCAL_TOKEN = "local-simulator-access-token"


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def from_env(env: dict[str, str] | None = None) -> dict:
    env = dict(os.environ if env is None else env)
    local = not env.get("REDIS_URL")
    port = int(env.get("PORT", "5000"))
    cfg = {
        "LOCAL_MODE": local,
        "LINE_CHANNEL_SECRET": env.get("LINE_CHANNEL_SECRET") or (LOCAL_SECRET if local else None),
        "LINE_CHANNEL_ACCESS_TOKEN": env.get("LINE_CHANNEL_ACCESS_TOKEN") or (LOCAL_TOKEN if local else None),
        "LINE_API_BASE_URL": env.get("LINE_API_BASE_URL")
        or (f"http://127.0.0.1:{port}/simulator/line" if local else None),
        "DATABASE_URL": env.get("DATABASE_URL") or f"sqlite:///{INSTANCE / 'zuozhen.db'}",
        "REDIS_URL": env.get("REDIS_URL") or None,
        "MEDIA_DIR": env.get("MEDIA_DIR") or str(INSTANCE / "media"),
        "SECRET_KEY": env.get("SECRET_KEY") or ("local-development-only" if local else None),
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}",
        "STAFF_GROUP_ID": env.get("STAFF_GROUP_ID") or None,
        "PORT": port,
        # Queue settings: in tests the worker is run explicitly, so nothing starts by itself.
        "EMBEDDED_WORKER": local,
        "SPAM_LIMIT_PER_MINUTE": int(env.get("SPAM_LIMIT_PER_MINUTE", "30")),
        # How many reverse proxies in front of the app set X-Forwarded-* (0: none, trust nothing).
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        "MAP_TILE_URL": env.get("MAP_TILE_URL") or "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    }
    return cfg


def validate(cfg: dict) -> None:
    missing = [k for k in ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "SECRET_KEY", "DATABASE_URL")
               if not cfg.get(k)]
    if missing:
        raise ConfigError(
            "missing settings: " + ", ".join(missing)
            + ". Set them in the environment or in .env (see README.md, 'Production').")
    if not cfg["LOCAL_MODE"] and cfg["LINE_CHANNEL_SECRET"] == LOCAL_SECRET:
        raise ConfigError("LINE_CHANNEL_SECRET is the local simulator's; set the channel's real secret.")
