"""Configuration from the environment (optionally a .env file), validated in the factory.

Local mode (SQLite, an embedded Redis stand-in, the simulator at /simulator and built-in LINE
credentials that only the simulator accepts) is never assumed from a missing setting. It is
asked for:

- by ``LOCAL_MODE=1`` (``LOCAL_MODE=0`` forbids it, whatever the command), or
- by running one of the Flask CLI's local commands with ``REDIS_URL`` unset: ``serve-local``
  (what ``make run`` starts) and the offline tools that serve nothing and send nothing
  (``route``, ``nlu-eval``, ``welfare-screen``, ``knowledge``, ``db``, ``create-staff``,
  ``chief-code``).

Anything else (gunicorn, ``flask run``, ``worker``, ``sweep``, ``digest``, ``richmenu``) without
``REDIS_URL`` stops at start with a message naming it.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"

LOCAL_SECRET = "local-simulator-channel-secret"
LOCAL_TOKEN = "local-simulator-access-token"


# Flask CLI commands that ask for local mode when REDIS_URL is unset (see the module's doc).
LOCAL_COMMANDS = frozenset({"serve-local", "route", "nlu-eval", "welfare-screen", "knowledge", "db",
                            "create-staff", "chief-code"})
# Options of the ``flask`` command itself that take a value (skipped to find the command).
_FLASK_VALUE_OPTIONS = frozenset({"--app", "-A", "--env-file", "-e"})
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def cli_command(argv: list[str] | None = None) -> str | None:
    """The Flask CLI command being run (``flask --app app serve-local`` -> ``serve-local``)."""
    argv = sys.argv if argv is None else argv
    if not argv:
        return None
    prog = Path(argv[0])
    if prog.name != "flask" and not (prog.name == "__main__.py" and prog.parent.name == "flask"):
        return None
    args = iter(argv[1:])
    for arg in args:
        if arg in _FLASK_VALUE_OPTIONS:
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def local_mode_asked(env: dict[str, str], argv: list[str] | None = None) -> bool:
    """Whether local mode was asked for: ``LOCAL_MODE``, else a local CLI command without Redis."""
    flag = (env.get("LOCAL_MODE") or "").strip().lower()
    if flag in _TRUE:
        return True
    if flag in _FALSE:
        return False
    if flag:
        raise ConfigError(f"LOCAL_MODE must be 1 or 0, not {flag!r}.")
    return not env.get("REDIS_URL") and cli_command(argv) in LOCAL_COMMANDS


def from_env(env: dict[str, str] | None = None, *, argv: list[str] | None = None,
             local: bool | None = None) -> dict:
    """The configuration from ``env``; ``local`` (a caller's own LOCAL_MODE) overrides the asking."""
    env = dict(os.environ if env is None else env)
    if local is None:
        local = local_mode_asked(env, argv)
    port = int(env.get("PORT", "5000"))
    # The built-in credentials and fixed key are for the simulator only: never alongside real
    # LINE credentials, which need a real SECRET_KEY and talk to LINE's own API.
    simulated = local and not env.get("LINE_CHANNEL_SECRET") and not env.get("LINE_CHANNEL_ACCESS_TOKEN")
    cfg = {
        "LOCAL_MODE": local,
        "LINE_CHANNEL_SECRET": env.get("LINE_CHANNEL_SECRET") or (LOCAL_SECRET if simulated else None),
        "LINE_CHANNEL_ACCESS_TOKEN": env.get("LINE_CHANNEL_ACCESS_TOKEN") or (LOCAL_TOKEN if simulated else None),
        "LINE_API_BASE_URL": env.get("LINE_API_BASE_URL")
        or (f"http://127.0.0.1:{port}/simulator/line" if simulated else None),
        "DATABASE_URL": env.get("DATABASE_URL") or f"sqlite:///{INSTANCE / 'zuozhen.db'}",
        "REDIS_URL": env.get("REDIS_URL") or None,
        "MEDIA_DIR": env.get("MEDIA_DIR") or str(INSTANCE / "media"),
        "SECRET_KEY": env.get("SECRET_KEY") or ("local-development-only" if simulated else None),
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}",
        "STAFF_GROUP_ID": env.get("STAFF_GROUP_ID") or None,
        "PORT": port,
        # Queue settings: in tests the worker is run explicitly, so nothing starts by itself.
        "EMBEDDED_WORKER": local,
        "SPAM_LIMIT_PER_MINUTE": int(env.get("SPAM_LIMIT_PER_MINUTE", "30")),
        # How many reverse proxies in front of the app set X-Forwarded-* (0: none, trust nothing).
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        "MAP_TILE_URL": env.get("MAP_TILE_URL") or "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        # /metrics: with a token, only `Authorization: Bearer <token>`; without, only this machine.
        "METRICS_TOKEN": env.get("METRICS_TOKEN") or None,
        # Logs: "json" (one object per line, for production) or "text" (the default).
        "LOG_FORMAT": (env.get("LOG_FORMAT") or "text").strip().lower(),
    }
    return cfg


def validate(cfg: dict) -> None:
    required = ["LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "SECRET_KEY", "DATABASE_URL"]
    if not cfg.get("LOCAL_MODE"):
        required.append("REDIS_URL")
    missing = [k for k in required if not cfg.get(k)]
    if missing:
        hint = (" For a local trial with the simulator, use `make run` (or set LOCAL_MODE=1)."
                if not cfg.get("LOCAL_MODE") else "")
        raise ConfigError(
            "missing settings: " + ", ".join(missing)
            + ". Set them in the environment or in .env (see README.md, 'Production')." + hint)
    if cfg.get("LOG_FORMAT", "text") not in ("text", "json"):
        raise ConfigError(f"LOG_FORMAT must be json or text, not {cfg['LOG_FORMAT']!r}.")
    if not cfg["LOCAL_MODE"] and cfg["LINE_CHANNEL_SECRET"] == LOCAL_SECRET:
        raise ConfigError("LINE_CHANNEL_SECRET is the local simulator's; set the channel's real secret.")
    if cfg["SECRET_KEY"] == "local-development-only" and cfg["LINE_CHANNEL_SECRET"] != LOCAL_SECRET:
        raise ConfigError("SECRET_KEY is the local simulator's fixed key; set a secret one with real "
                          "LINE credentials.")
