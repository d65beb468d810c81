"""The Flask side: the app factory, the webhook, the workers, the CLI, the simulator."""
from __future__ import annotations

import logging

from dotenv import load_dotenv
from flask import Flask

from bot import config as config_mod


def create_app(config: dict | None = None) -> Flask:
    """Build the app. ``config`` overrides the environment (tests pass their own)."""
    load_dotenv(override=False)
    cfg = config_mod.from_env(local=(config or {}).get("LOCAL_MODE"))
    if config:
        cfg.update(config)
    try:
        config_mod.validate(cfg)
    except config_mod.ConfigError as exc:
        if config_mod.cli_command() != "doctor":
            raise
        cfg["CONFIG_ERROR"] = str(exc)  # doctor reports it with everything else it finds

    app = Flask(__name__, instance_path=str(config_mod.INSTANCE), static_folder=None)
    app.config.update(cfg)
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024 if not cfg["LOCAL_MODE"] else 12 * 1024 * 1024
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from bot import logs
    logs.init_app(app)
    from bot import cli, dashboard, extensions, health, metrics, open311, public, simulator, webhook
    extensions.init_app(app)
    app.register_blueprint(webhook.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(open311.bp)   # read-only open data, no login (docs/open311.md)
    app.register_blueprint(public.bp)
    metrics.init_app(app)
    simulator.init_app(app)
    dashboard.init_app(app)  # after the simulator: it exempts the webhook and simulator from CSRF
    cli.init_app(app)
    if cfg.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix
        n = int(cfg["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    return app
