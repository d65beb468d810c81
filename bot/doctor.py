"""``flask --app app doctor [--json]``: is this deployment ready to serve? Exit 0 only when it is.

Each check gives one line in plain words: what is wrong and what to do. The checks:

- configuration: the secrets are set (and are not the local simulator's), ``PUBLIC_BASE_URL`` is
  https, ``MEDIA_DIR`` exists or can be created, is writable, and is not inside a folder the app
  serves as static files;
- the database answers and is at the newest Alembic migration;
- Redis answers;
- LINE (through ``services/line.py``): the channel access token is accepted (bot info), the
  webhook URL set in the LINE console is ``PUBLIC_BASE_URL/callback`` and in use, and the month's
  push messages are not used up.

A configuration the app would refuse to start with (a missing secret) does not stop ``doctor``:
it is reported as the ``config`` check, with the rest of what can be checked.

A check that cannot run because an earlier one failed (LINE's checks after a refused token) says
so instead of piling up errors.
"""
from __future__ import annotations

import json
import logging
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from bot import config as config_mod
from bot.extensions import Services, get_services

OK, WARN, FAIL = "ok", "warning", "problem"
QUOTA_WARN_SHARE = 0.8


@dataclass
class Check:
    name: str
    status: str
    message: str


def _secrets(cfg: dict) -> Check:
    missing = [k for k in ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "SECRET_KEY", "REDIS_URL")
               if not cfg.get(k)]
    if missing:
        return Check("secrets", FAIL, "not set: " + ", ".join(missing) + " (environment or .env)")
    local = [k for k, v in (("LINE_CHANNEL_SECRET", config_mod.LOCAL_SECRET),
                             ("LINE_CHANNEL_ACCESS_TOKEN", config_mod.LOCAL_TOKEN),
                             ("SECRET_KEY", "local-development-only")) if cfg.get(k) == v]
    if local:
        return Check("secrets", FAIL, "still the local simulator's: " + ", ".join(local))
    if len(str(cfg["SECRET_KEY"])) < 32:
        return Check("secrets", FAIL, "SECRET_KEY is shorter than 32 characters; make a long random one "
                                      "(python -c 'import secrets; print(secrets.token_urlsafe(48))')")
    return Check("secrets", OK, "LINE secret, access token, SECRET_KEY and REDIS_URL are set")


def _public_url(cfg: dict) -> Check:
    url = str(cfg.get("PUBLIC_BASE_URL") or "")
    if not url.startswith("https://"):
        return Check("public_url", FAIL, f"PUBLIC_BASE_URL must be the public https address, not {url!r}")
    return Check("public_url", OK, f"PUBLIC_BASE_URL is {url}")


def static_folders(app: Flask) -> list[Path]:
    """Every folder the app serves as static files (the app's and its blueprints')."""
    folders = [app.static_folder] + [bp.static_folder for bp in app.blueprints.values()]
    return [Path(f).resolve() for f in folders if f]


def _media_dir(app: Flask) -> Check:
    media = Path(app.config["MEDIA_DIR"]).resolve()
    for folder in static_folders(app):
        if media == folder or folder in media.parents or media in folder.parents:
            return Check("media_dir", FAIL, f"MEDIA_DIR {media} overlaps the served static folder {folder}; "
                                            "photos must never be public: move it outside")
    try:
        media.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=media, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check("media_dir", FAIL, f"MEDIA_DIR {media} is not writable by this user ({exc.strerror})")
    if media.stat().st_mode & 0o007:
        return Check("media_dir", WARN, f"MEDIA_DIR {media} is open to every user of the machine; chmod o-rwx it")
    return Check("media_dir", OK, f"MEDIA_DIR {media} is writable and not served")


def migration_heads(url: str) -> tuple[set[str], set[str]]:
    """(the revisions the database is at, the newest revisions of services/migrations)."""
    quiet = logging.getLogger("alembic")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # no "setup plugin ..." lines in the middle of the report
    try:
        return _revisions(url)
    finally:
        quiet.setLevel(level)


def _revisions(url: str) -> tuple[set[str], set[str]]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine
    from services.migrate import alembic_config
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
    return current, heads


def _database(cfg: dict) -> Check:
    try:
        current, heads = migration_heads(cfg["DATABASE_URL"])
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return Check("database", FAIL, f"the database does not answer ({type(exc).__name__}); check DATABASE_URL")
    if not current:
        return Check("database", FAIL, "the database has no schema: run `flask --app app db upgrade`")
    if current != heads:
        return Check("database", FAIL, f"the database is at {', '.join(sorted(current))}, the code needs "
                                       f"{', '.join(sorted(heads))}: run `flask --app app db upgrade`")
    return Check("database", OK, f"the database answers and is at the newest migration ({', '.join(heads)})")


def _redis(svc: Services) -> Check:
    if not svc.config.get("REDIS_URL"):
        return Check("redis", FAIL, "REDIS_URL is not set, so there is no Redis to check")
    try:
        svc.redis.ping()
    except Exception as exc:  # noqa: BLE001
        return Check("redis", FAIL, f"Redis does not answer ({type(exc).__name__}); check REDIS_URL")
    return Check("redis", OK, "Redis answers")


def _line_error(exc: Exception) -> str:
    status = getattr(exc, "status", None)
    if status == 401:
        return "LINE refused the channel access token (401): issue a new one in the LINE Developers console"
    if status:
        return f"LINE answered {status}"
    return f"LINE could not be reached ({type(exc).__name__}); check the network or LINE_API_BASE_URL"


def _line_token(svc: Services) -> Check:
    try:
        info = svc.line.bot_info()
    except Exception as exc:  # noqa: BLE001
        return Check("line_token", FAIL, _line_error(exc))
    return Check("line_token", OK, f"the access token works for {info.display_name} ({info.basic_id})")


def _line_webhook(svc: Services, cfg: dict) -> Check:
    want = str(cfg.get("PUBLIC_BASE_URL") or "").rstrip("/") + "/callback"
    try:
        got = svc.line.webhook_endpoint()
    except Exception as exc:  # noqa: BLE001
        return Check("line_webhook", FAIL, _line_error(exc))
    if (got.endpoint or "").rstrip("/") != want:
        return Check("line_webhook", FAIL, f"the webhook URL in LINE is {got.endpoint or '(none)'!r}, it must be "
                                           f"{want!r}: set it in the LINE Developers console (Messaging API)")
    if not got.active:
        return Check("line_webhook", FAIL, "the webhook URL is right but 'Use webhook' is off in the console")
    return Check("line_webhook", OK, f"LINE sends events to {want}")


def _line_quota(svc: Services) -> Check:
    try:
        limit, used = svc.line.push_budget()
    except Exception as exc:  # noqa: BLE001
        return Check("line_quota", FAIL, _line_error(exc))
    if limit is None:
        return Check("line_quota", OK, f"no monthly message limit; {used} sent this month")
    if used >= limit:
        return Check("line_quota", FAIL, f"this month's {limit} push messages are used up ({used}): residents get "
                                         "no status updates until the plan is raised or the month ends")
    if used >= QUOTA_WARN_SHARE * limit:
        return Check("line_quota", WARN, f"{used} of this month's {limit} push messages used")
    return Check("line_quota", OK, f"{used} of this month's {limit} push messages used")


def run_checks(app: Flask) -> list[Check]:
    cfg = app.config
    svc = get_services(app)
    checks = [Check("config", FAIL, cfg["CONFIG_ERROR"])] if cfg.get("CONFIG_ERROR") else []
    checks += [_secrets(cfg), _public_url(cfg), _media_dir(app), _database(cfg), _redis(svc)]
    if not cfg.get("LINE_CHANNEL_ACCESS_TOKEN"):
        return checks + [Check(name, FAIL, "not checked: LINE_CHANNEL_ACCESS_TOKEN is not set")
                         for name in ("line_token", "line_webhook", "line_quota")]
    token = _line_token(svc)
    checks.append(token)
    if token.status == OK:
        checks += [_line_webhook(svc, cfg), _line_quota(svc)]
    else:
        checks += [Check(name, FAIL, "not checked: the access token could not be confirmed (see line_token)")
                   for name in ("line_webhook", "line_quota")]
    return checks


@click.command("doctor")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="One JSON object: ok, and every check.")
def doctor_cmd(as_json: bool) -> None:
    """Check the configuration, database, Redis and LINE channel; exit 0 only when all is well."""
    checks = run_checks(current_app._get_current_object())
    ok = all(c.status != FAIL for c in checks)
    if as_json:
        click.echo(json.dumps({"ok": ok, "checks": [asdict(c) for c in checks]}, ensure_ascii=False))
    else:
        for c in checks:
            click.echo(f"{c.status.upper():8} {c.name:13} {c.message}")
        click.echo("all is well" if ok else "problems found: fix them and run doctor again")
    sys.exit(0 if ok else 1)
