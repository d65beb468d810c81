"""Logging: text for people (the default), one JSON object per line in production
(``LOG_FORMAT=json``), and a request id that follows a LINE event from the webhook to the worker.

The request id: every HTTP request gets one (``X-Request-Id`` from a trusted proxy such as Caddy,
else a new one) and answers with it. The webhook stores it with each event (the ``_requestId``
key of the stored payload, removed before the SDK reads the event), the worker takes it back
when it processes the event, and the jobs that processing enqueues (messages, photos) carry it
in their RQ meta. So ``grep <id>`` finds the webhook's line, the worker's and the sends'.

What is logged does not change: never a message text, a phone number, a location or a raw LINE
user id. The JSON object has ``ts``, ``level``, ``logger``, ``msg``, ``request_id`` (when there
is one) and ``exc`` (the traceback, when there is one).
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import time
import uuid
from typing import Iterator

from flask import Flask, request

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
EVENT_KEY = "_requestId"  # where the webhook keeps it in a stored event
META_KEY = "request_id"  # where a job keeps it (RQ job meta)
_VALID = re.compile(r"[A-Za-z0-9._-]{8,64}")
HEADER = "X-Request-Id"


def new_id() -> str:
    return uuid.uuid4().hex


def current() -> str | None:
    return REQUEST_ID.get()


@contextlib.contextmanager
def bound(request_id: str | None) -> Iterator[None]:
    """Log under ``request_id`` inside the block (jobs in the worker)."""
    token = REQUEST_ID.set(request_id if isinstance(request_id, str) and _VALID.fullmatch(request_id) else None)
    try:
        yield
    finally:
        REQUEST_ID.reset(token)


def from_job() -> str | None:
    """The request id in the meta of the RQ job being run, if any."""
    from rq import get_current_job
    job = get_current_job()
    return (job.meta or {}).get(META_KEY) if job is not None else None


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    converter = time.gmtime  # the "Z" in ts

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
               "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        request_id = getattr(record, "request_id", None)
        if request_id:
            out["request_id"] = request_id
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} [rid={request_id}]" if request_id else line


def configure(log_format: str) -> None:
    """Put the chosen formatter and the request-id filter on the root logger's console handler
    (the one ``logging.basicConfig`` made; handlers others installed, e.g. a test runner's, are
    left alone)."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO)
    formatter = JsonFormatter() if log_format == "json" else \
        TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in root.handlers:
        if type(handler) is not logging.StreamHandler:
            continue
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
        handler.setFormatter(formatter)


def _incoming_id(app: Flask) -> str:
    given = request.headers.get(HEADER, "")
    if app.config.get("TRUSTED_PROXIES") and _VALID.fullmatch(given):
        return given
    return new_id()


def init_app(app: Flask) -> None:
    configure(app.config.get("LOG_FORMAT", "text"))

    @app.before_request
    def _bind_request_id() -> None:
        request.environ["zuozhen.request_id_token"] = REQUEST_ID.set(_incoming_id(app))

    @app.after_request
    def _answer_request_id(response):
        request_id = REQUEST_ID.get()
        if request_id:
            response.headers[HEADER] = request_id
        return response

    @app.teardown_request
    def _unbind(_exc) -> None:
        token = request.environ.pop("zuozhen.request_id_token", None)
        if token is not None:
            try:
                REQUEST_ID.reset(token)
            except ValueError:  # set in another context (a streamed response); nothing to undo
                REQUEST_ID.set(None)
