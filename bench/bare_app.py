"""The baseline for the webhook benchmark: the least any LINE webhook must do.

One route, ``POST /callback``: verify the signature and parse the body into the SDK's models
with ``WebhookParser``, answer 200. (``bot/webhook.py`` verifies with the same SDK validator and
parses the JSON; it leaves the typed models to the worker.) No Redis, no
database, no queue. Served by gunicorn with the same settings as the real app::

    LINE_CHANNEL_SECRET=... gunicorn -w 2 --threads 4 -k gthread -b 127.0.0.1:8001 bench.bare_app:app
"""
from __future__ import annotations

import os

from flask import Flask, request
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError


def create_bare_app(secret: str) -> Flask:
    app = Flask(__name__)
    parser = WebhookParser(secret)

    @app.post("/callback")
    def callback():
        signature = request.headers.get("X-Line-Signature", "")
        body = request.get_data(as_text=True)
        try:
            parser.parse(body, signature)
        except InvalidSignatureError:
            return "bad signature", 400
        return "OK", 200

    return app


def _from_env() -> Flask | None:
    secret = os.environ.get("LINE_CHANNEL_SECRET")
    return create_bare_app(secret) if secret else None


# The WSGI entry point (gunicorn bench.bare_app:app); None when imported without a secret.
app = _from_env()
