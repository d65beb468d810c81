"""WSGI entry point for the benchmark: the real app, built from environment variables.

Every setting is required (no silent fall-back to local mode)::

    LINE_CHANNEL_SECRET LINE_CHANNEL_ACCESS_TOKEN LINE_API_BASE_URL SECRET_KEY
    DATABASE_URL REDIS_URL MEDIA_DIR

    gunicorn -w 2 --threads 4 -k gthread -b 127.0.0.1:8002 bench.ours_wsgi:app
"""
from __future__ import annotations

import os

REQUIRED = ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "LINE_API_BASE_URL", "SECRET_KEY",
            "DATABASE_URL", "REDIS_URL", "MEDIA_DIR")


def config_from_env(env=None) -> dict:
    env = os.environ if env is None else env
    missing = [k for k in REQUIRED if not env.get(k)]
    if missing:
        raise RuntimeError("bench app: missing environment variables: " + ", ".join(missing))
    cfg = {k: env[k] for k in REQUIRED}
    cfg.update(LOCAL_MODE=False, EMBEDDED_WORKER=False)
    return cfg


def build_app():
    from bot import create_app
    return create_app(config_from_env())


app = build_app() if os.environ.get("BENCH_BUILD_APP", "1") == "1" else None
