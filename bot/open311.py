"""Open311 GeoReport v2 at ``/open311/v2/``, read-only, JSON and XML (docs/open311.md).

The records are built by ``services.open311`` (what may be published, and nothing else); this
module only reads the query, picks the format and writes the answer. No login, no cookie session,
no CSRF (nothing here changes anything); answers are cacheable for a minute and open to any origin.
"""
from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, abort, request, url_for

from bot.extensions import get_services
from services import open311

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FORMATS = "any(json,xml)"
MAX_AGE = 60
# The element name of a list's items in XML, by the list's own name (the spec's examples).
XML_ITEMS = {"services": "service", "service_requests": "request", "endpoints": "endpoint",
             "formats": "format", "attributes": "attribute", "errors": "error"}


def _xml_value(parent: ET.Element, name: str, value: Any) -> None:
    node = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for key, item in value.items():
            _xml_value(node, key, item)
    elif isinstance(value, list):
        for item in value:
            _xml_value(node, XML_ITEMS.get(name, "item"), item)
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    elif value is not None:
        node.text = str(value)


def to_xml(root: str, value: Any) -> bytes:
    """A record or list as the spec's XML: ``<services><service>…</service></services>``."""
    top = ET.Element(root)
    if isinstance(value, list):
        for item in value:
            _xml_value(top, XML_ITEMS[root], item)
    else:
        for key, item in value.items():
            _xml_value(top, key, item)
    return ET.tostring(top, encoding="utf-8", xml_declaration=True)


def answer(fmt: str, root: str, value: Any, status: int = 200) -> Response:
    if fmt == "xml":
        resp = Response(to_xml(root, value), status=status, mimetype="text/xml")
    else:
        resp = Response(json.dumps(value, ensure_ascii=False), status=status, mimetype="application/json")
    if status == 200:
        resp.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return resp


def error(fmt: str, status: int, key: str, **values: Any) -> Response:
    """The spec's error answer: a list of ``{code, description}``."""
    text = open311.words()["open311"]["errors"][key].format(**values)
    return answer(fmt, "errors", [{"code": status, "description": text}], status)


@bp.after_request
def _headers(resp: Response) -> Response:
    resp.headers["Access-Control-Allow-Origin"] = "*"
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
    resp.headers.setdefault("Cache-Control", "no-store")
    return resp


@bp.errorhandler(404)
def _not_found(exc):
    fmt = "xml" if request.path.endswith(".xml") else "json"
    return error(fmt, 404, "not_found")


@bp.get(f"/discovery.<{FORMATS}:fmt>")
def discovery(fmt: str):
    base = url_for("open311.discovery", fmt="json", _external=True).rsplit("/", 1)[0]
    return answer(fmt, "discovery", open311.discovery_record(base))


@bp.get(f"/services.<{FORMATS}:fmt>")
def services(fmt: str):
    return answer(fmt, "services", [open311.service_record(s) for s in open311.services()])


@bp.get(f"/services/<code>.<{FORMATS}:fmt>")
def service_definition(code: str, fmt: str):
    svc = open311.service(code)
    if svc is None:
        return error(fmt, 404, "not_found")
    return answer(fmt, "service_definition", open311.definition_record(svc))


def _records(session, subs) -> list[dict]:
    more = open311.extras(session, subs)
    media = lambda att_id: url_for("open311.media", attachment_id=att_id, _external=True)  # noqa: E731
    return [open311.request_record(s, more[s.id], media) for s in subs]


@bp.get(f"/requests.<{FORMATS}:fmt>")
def requests_(fmt: str):
    try:
        query = open311.RequestQuery.parse(request.args)
    except open311.QueryError as exc:
        return answer(fmt, "errors", [{"code": 400, "description": str(exc)}], 400)
    with get_services().db.session() as s:
        subs = list(s.execute(query.select()).scalars())
        return answer(fmt, "service_requests", _records(s, subs))


@bp.post(f"/requests.<{FORMATS}:fmt>")
def create_request(fmt: str):
    """Creating requests is not part of this API (discovery says so)."""
    resp = error(fmt, 405, "post_not_supported")
    resp.headers["Allow"] = "GET, HEAD"
    return resp


@bp.get(f"/requests/<ref>.<{FORMATS}:fmt>")
def request_one(ref: str, fmt: str):
    with get_services().db.session() as s:
        sub = open311.find(s, ref)
        if sub is None:   # unknown, or a private kind's case: the same answer
            return error(fmt, 404, "not_found")
        return answer(fmt, "service_requests", _records(s, [sub]))


@bp.get("/media/<int(max=2147483647):attachment_id>.jpg")
def media(attachment_id: int):
    """A published case's photo (EXIF and GPS already stripped when it was stored)."""
    svc = get_services()
    with svc.db.session() as s:
        att = open311.photo_case(s, attachment_id)
        key = att.clean_key if att else None
    if not key:
        abort(404)
    try:
        path = svc.media.path(key)
    except ValueError:
        abort(404)
    if not path.is_file():
        abort(404)
    resp = Response(path.read_bytes(), mimetype="image/jpeg")
    resp.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return resp
