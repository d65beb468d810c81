"""``/healthz`` (the process is up) and ``/readyz`` (the database and Redis answer).

``/readyz`` also gives ``details.events_failed_24h``: LINE events that ended ``failed`` in the
last 24 hours (refused by the webhook, rejected by the SDK's models, or given up after many
attempts). It does not change readiness; the staff digest announces them (services/digest.py)."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, jsonify
from sqlalchemy import text

from bot.extensions import get_services
from services import inbound
from services.models import utcnow

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    svc = get_services()
    checks = {}
    details = {}
    try:
        with svc.db.session() as s:
            s.execute(text("SELECT 1"))
            details["events_failed_24h"] = inbound.failed_since(s, utcnow() - dt.timedelta(hours=24))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = type(exc).__name__
    try:
        svc.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = type(exc).__name__
    ok = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ok else "unavailable", checks=checks, details=details), 200 if ok else 503
