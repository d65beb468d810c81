"""The public page at ``/public``: a map of public cases by status and the last 12 months' figures
per category, with charts and the same figures as CSV (docs/open311.md). No login, no cookie, no
personal data: everything comes from ``services.public_stats`` and ``services.open311``.

Light and cached: the figures and the markers are kept in Redis for a few minutes (one computation
per period for every visitor), and every answer says ``Cache-Control: public, max-age=300``.
"""
from __future__ import annotations

import csv
import io
import json
import logging
from typing import Any, Callable

from flask import Blueprint, Response, current_app, render_template, request
from redis.exceptions import RedisError

from bot import headers
from bot.dashboard import BOT_DIR, DEFAULT_TILE_ATTRIBUTION, DEFAULT_TILE_URL
from bot.extensions import get_services
from bot.state import public_cache_key
from services import knowledge, open311, public_stats, workflow

log = logging.getLogger(__name__)

bp = Blueprint("public", __name__, url_prefix="/public",
               static_folder=str(BOT_DIR / "static"), static_url_path="/static",
               template_folder=str(BOT_DIR / "templates"))
CACHE_SECONDS = 300


def cached(name: str, compute: Callable[[], Any]) -> Any:
    """``compute()``'s JSON-ready value, kept in Redis for CACHE_SECONDS; without Redis, computed."""
    redis = get_services().redis
    key = public_cache_key(name)
    try:
        hit = redis.get(key)
        if hit is not None:
            return json.loads(hit)
    except RedisError as exc:
        log.warning("public cache read failed: %s", type(exc).__name__)
    value = compute()
    try:
        redis.set(key, json.dumps(value, ensure_ascii=False), ex=CACHE_SECONDS)
    except RedisError as exc:
        log.warning("public cache write failed: %s", type(exc).__name__)
    return value


def figures() -> dict:
    def compute() -> dict:
        with get_services().db.session() as s:
            return public_stats.figures(s)
    return cached("figures", compute)


def markers() -> list[dict]:
    def compute() -> list[dict]:
        with get_services().db.session() as s:
            return public_stats.markers(s)
    return cached("markers", compute)


@bp.after_request
def _headers(resp: Response) -> Response:
    if request.endpoint != "public.static":
        resp.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    else:
        resp.headers.setdefault("Cache-Control", "public, max-age=86400")
    return headers.secure(resp, "'none'")


@bp.get("")
@bp.get("/")
def page():
    data = figures()
    return render_template(
        "public/index.html", data=data, office_phone=knowledge.contacts()["office"]["phone"],
        statuses={k: workflow.status_label(k) for k in workflow.cfg()["statuses"]},
        tile_url=current_app.config.get("MAP_TILE_URL") or DEFAULT_TILE_URL,
        tile_attribution=current_app.config.get("MAP_TILE_ATTRIBUTION") or DEFAULT_TILE_ATTRIBUTION)


@bp.get("/cases.json")
def cases_json():
    return Response(json.dumps({"cases": markers()}, ensure_ascii=False, separators=(",", ":")),
                    mimetype="application/json")


@bp.get("/stats.json")
def stats_json():
    return Response(json.dumps(figures(), ensure_ascii=False), mimetype="application/json")


@bp.get("/stats.csv")
def stats_csv():
    out = io.StringIO()
    csv.writer(out).writerows(public_stats.csv_rows(figures(), open311.words()["public"]["csv_headers"]))
    resp = Response("\ufeff" + out.getvalue(), mimetype="text/csv")  # the BOM: Excel reads UTF-8
    resp.headers["Content-Disposition"] = "attachment; filename=zuozhen-public-stats.csv"
    return resp
