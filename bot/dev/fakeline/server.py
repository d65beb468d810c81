"""The fake as its own server on 127.0.0.1 (tests and benchmarks); the simulator mounts the
blueprint inside the app instead."""
from __future__ import annotations

import threading

from flask import Flask
from werkzeug.serving import make_server

from bot.dev.fakeline.api import create_fake_line_blueprint
from bot.dev.fakeline.store import FakeLineStore


def create_fake_line_app(store: FakeLineStore) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.register_blueprint(create_fake_line_blueprint(store))
    return app


class FakeLineServer:
    """Runs the fake on 127.0.0.1 (a free port) in a daemon thread."""

    def __init__(self, store: FakeLineStore | None = None) -> None:
        self.store = store if store is not None else FakeLineStore()
        self.base_url = ""
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeLineServer:
        if self._server is not None:
            return self
        self._server = make_server("127.0.0.1", 0, create_fake_line_app(self.store), threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="fake-line", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeLineServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
