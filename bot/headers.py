"""Security headers shared by the staff dashboard and the public page: no sniffing, no referrer to
other sites, and a Content-Security-Policy that allows the app's own files and the map tiles."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Response, current_app


def tile_origin() -> str:
    """The origin of ``MAP_TILE_URL`` (``{s}`` subdomains as ``*``) for the policy's img-src."""
    parts = urlsplit(current_app.config.get("MAP_TILE_URL") or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        host = re.sub(r"\{[a-z]\}", "*", parts.netloc)
        if "{" not in host:
            return f"{parts.scheme}://{host}"
    return "https:"


def secure(resp: Response, form_action: str) -> Response:
    """Set the shared headers, unless a view set its own; ``form_action`` is where forms may post
    (``'self'`` for the dashboard, ``'none'`` for the public page, which has no form)."""
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    resp.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data: {tile_origin()}; connect-src 'self'; object-src 'none'; "
        f"base-uri 'none'; form-action {form_action}; frame-ancestors 'none'")
    return resp
