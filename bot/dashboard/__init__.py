"""The staff dashboard at ``/staff``: case list, map, case page, exports, questions, accounts.

``init_app(app)`` sets the session rules, turns on CSRF protection for the whole app (the LINE
webhook and the local simulator are exempt: they are called by machines with their own
signatures, not by a browser with a session) and registers the blueprint. Call it after the
webhook and simulator blueprints are registered (``simulator.init_app`` builds the fake LINE
API's blueprint per app, and Flask-WTF exempts blueprint objects, not names).

Page texts are in ``bot/templates/dashboard/``; the zh-TW words Python needs (flash messages,
error texts, export headers) are in ``knowledge/dashboard.yaml``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from services.knowledge import load

BOT_DIR = Path(__file__).resolve().parent.parent
EXEMPT_BLUEPRINTS = ("line", "simulator", "fake_line", "open311")
DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = ('&copy; <a href="https://www.openstreetmap.org/copyright">'
                            "OpenStreetMap</a> contributors")

bp = Blueprint("dashboard", __name__, url_prefix="/staff",
               static_folder=str(BOT_DIR / "static"), static_url_path="/static",
               template_folder=str(BOT_DIR / "templates"))


def text(key: str, **values: Any) -> str:
    """A zh-TW text from knowledge/dashboard.yaml by dotted key, placeholders filled."""
    node: Any = load("dashboard")
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"missing dashboard text: {key}")
        node = node[part]
    if not isinstance(node, str):
        raise KeyError(f"dashboard text is not a string: {key}")
    return node.format(**values) if values else node


def init_app(app: Flask) -> None:
    # The page modules add their routes and request hooks to bp: the shared hooks (common), the
    # case list and one case, accounts, questions, dengue reminders, disaster pages.
    from bot.dashboard import accounts, auth, case_page, cases, common, questions  # noqa: F401
    from bot.dashboard import dengue, disaster, publish  # noqa: F401
    from bot.dashboard import knowledge  # noqa: F401  (teaching the bot, issue 16)

    auth.configure(app)
    app.config.setdefault("MAP_TILE_URL", DEFAULT_TILE_URL)
    app.config.setdefault("MAP_TILE_ATTRIBUTION", DEFAULT_TILE_ATTRIBUTION)

    csrf = CSRFProtect(app)
    # Flask-WTF records exempt blueprints by object: exempt those registered so far, and the
    # module-level ones even if they are registered later (the fake LINE API's blueprint is
    # built per app, so it must be registered before this call, as create_app does).
    from bot import simulator, webhook
    for exempt in (webhook.bp, simulator.bp, *(app.blueprints.get(n) for n in EXEMPT_BLUEPRINTS)):
        if exempt is not None:
            csrf.exempt(exempt)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        if request.blueprint != "dashboard":
            return exc
        return render_template("dashboard/error.html", message=text("flash.session_expired"),
                               code=400), 400

    auth.init_app(app)
    app.register_blueprint(bp)
    app.after_request(_hsts)


HSTS = "max-age=31536000; includeSubDomains"


def _hsts(resp):
    """Strict-Transport-Security on every answer served over HTTPS: the request came in over TLS
    (``request.is_secure``, which honours X-Forwarded-Proto from a trusted proxy), or the public
    address is https (TLS ends at a proxy in front). Never on plain http, where it means nothing
    and would be wrong for a local trial."""
    if request.is_secure or str(current_app.config.get("PUBLIC_BASE_URL") or "").startswith("https://"):
        resp.headers.setdefault("Strict-Transport-Security", HSTS)
    return resp
