"""dvc-mobile: the API behind the smartphone app for online public services."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from backend import config as config_module
from backend import errors, observability, web
from backend.extensions import db, init_api, init_redis, limiter, migrate, tune_sqlite

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(config_module.load(app.instance_path))
    if config:
        app.config.from_mapping(config)
    app.json.ensure_ascii = False  # Vietnamese text stays readable and shorter on the wire

    if app.config["TRUSTED_PROXY_COUNT"]:
        count = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    observability.init_app(app)
    db.init_app(app)
    with app.app_context():
        tune_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(MIGRATIONS) if MIGRATIONS.is_dir() else "migrations")
    init_redis(app)
    limiter.init_app(app)
    api = init_api(app)
    app.extensions["api"] = api
    errors.init_app(app)
    web.init_app(app)

    _register_domains(app, api)
    return app


def _register_domains(app: Flask, api) -> None:
    from backend import health
    from backend.catalog import cli as catalog_cli
    from backend.catalog import routes as catalog_routes
    from backend.workdays import cli as workdays_cli

    api.register_blueprint(health.blp)
    api.register_blueprint(catalog_routes.blp, url_prefix="/api/v1")
    catalog_cli.init_app(app)
    workdays_cli.init_app(app)
