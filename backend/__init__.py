"""dvc-mobile: the API behind the smartphone app for online public services."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from backend import (
    compression,
    crypto,
    errors,
    i18n,
    observability,
    ratelimits,
    unitofwork,
    web,
)
from backend import config as config_module
from backend.apidoc import init_api
from backend.extensions import (
    REDIS_TIMEOUTS,
    db,
    end_sessions_safely,
    init_redis,
    ping_when_idle,
    transactional_on_return,
    tune_postgres,
    tune_sqlite,
    watch_postgres,
)
from backend.identity import access
from backend.notifications import dispatch, transports

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def create_app(config: Mapping[str, Any] | None = None, *, commands: bool = True) -> Flask:
    """The application. ``commands=False`` is for a server process (``backend.wsgi``): it
    leaves out what only ``flask`` commands use, Flask-Migrate with alembic (11 MiB a worker)."""
    app = web.App(__name__, instance_relative_config=True)
    instance = (config or {}).get("INSTANCE_PATH") or os.environ.get("INSTANCE_PATH")
    app.config.from_mapping(config_module.load(instance or app.instance_path))
    if config:
        app.config.from_mapping(config)
    app.json.ensure_ascii = False  # Vietnamese text stays readable and shorter on the wire

    if app.config["TRUSTED_PROXY_COUNT"]:
        count = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    observability.init_app(app)
    i18n.init_app(app)
    tune_postgres(app)
    db.init_app(app)
    end_sessions_safely(app)
    with app.app_context():
        tune_sqlite(db.engine)
        watch_postgres(app, db.engine)
        ping_when_idle(app, db.engine)
        transactional_on_return(db.engine)
    if commands:
        from flask_migrate import Migrate

        migrate = Migrate(render_as_batch=True, compare_type=True)
        migrate.init_app(
            app, db, directory=str(MIGRATIONS) if MIGRATIONS.is_dir() else "migrations"
        )
    init_redis(app)
    ratelimits.init_app(app, REDIS_TIMEOUTS)
    crypto.init_app(app)
    transports.init_app(app)
    dispatch.init_app(app)
    api = init_api(app)
    app.extensions["api"] = api
    errors.init_app(app)
    access.init_app(app)  # who is calling, before anything about what they sent
    web.init_app(app)
    compression.init_app(app)

    _register_domains(app, api)
    unitofwork.init_app(app)  # last: each request's one commit runs before the other hooks
    return app


def _register_domains(app: Flask, api) -> None:
    from backend import docs, health
    from backend.catalog import cli as catalog_cli
    from backend.catalog.routes import admin as catalog_admin
    from backend.catalog.routes import public as catalog_routes
    from backend.dossiers.routes import agency as agency_dossiers
    from backend.dossiers.routes import citizen as citizen_dossiers
    from backend.dossiers.routes import tracking
    from backend.engagement.routes import agency as agency_feedback
    from backend.engagement.routes import feedback, ratings
    from backend.identity import cli as identity_cli
    from backend.identity import signin_page
    from backend.identity.routes import admin, auth, crossdevice, me, passkeys
    from backend.notifications import routes as notification_routes
    from backend.notifications import worker as notification_worker
    from backend.providers import cli as providers_cli
    from backend.providers import demo as demo_provider
    from backend.providers.routes import admin as providers_admin
    from backend.providers.routes import login as providers_routes
    from backend.reports import routes as reports
    from backend.storage import cli as storage_cli
    from backend.workdays import cli as workdays_cli
    from backend.workdays import routes as calendar_routes

    # Housekeeping each domain registers with `flask sweep` (digests, expired rows).
    importlib.import_module("backend.dossiers.sweeps")
    importlib.import_module("backend.providers.sweeps")
    importlib.import_module("backend.engagement.sweeps")
    importlib.import_module("backend.storage.sweeps")

    docs.init_app(app)
    app.register_blueprint(signin_page.blp)
    app.register_blueprint(passkeys.trust)
    api.register_blueprint(health.blp)
    api.register_blueprint(auth.well_known, url_prefix="/.well-known")
    api.register_blueprint(catalog_routes.blp, url_prefix="/api/v1")
    api.register_blueprint(auth.blp, url_prefix="/api/v1/auth")
    api.register_blueprint(me.blp, url_prefix="/api/v1/me")
    api.register_blueprint(notification_routes.blp, url_prefix="/api/v1/me")
    api.register_blueprint(admin.blp, url_prefix="/api/v1/admin")
    api.register_blueprint(passkeys.auth, url_prefix="/api/v1/auth/passkey")
    api.register_blueprint(passkeys.mine, url_prefix="/api/v1/me/passkeys")
    api.register_blueprint(crossdevice.screen, url_prefix="/api/v1/auth/cross-device")
    api.register_blueprint(crossdevice.phone, url_prefix="/api/v1/me/cross-device")
    api.register_blueprint(crossdevice.admin, url_prefix="/api/v1/admin/signin-clients")
    api.register_blueprint(citizen_dossiers.blp, url_prefix="/api/v1/dossiers")
    api.register_blueprint(citizen_dossiers.documents, url_prefix="/api/v1/me/documents")
    api.register_blueprint(agency_dossiers.blp, url_prefix="/api/v1/agency/dossiers")
    api.register_blueprint(tracking.blp, url_prefix="/api/v1/tracking")
    api.register_blueprint(calendar_routes.blp, url_prefix="/api/v1/admin/calendar")
    api.register_blueprint(providers_routes.well_known, url_prefix="/.well-known")
    api.register_blueprint(providers_routes.blp, url_prefix="/api/v1/auth/providers")
    api.register_blueprint(providers_routes.me_blp, url_prefix="/api/v1/me/identities")
    api.register_blueprint(providers_admin.blp, url_prefix="/api/v1/admin/identity-providers")
    api.register_blueprint(ratings.blp, url_prefix="/api/v1/dossiers")
    api.register_blueprint(feedback.blp, url_prefix="/api/v1/feedback")
    api.register_blueprint(agency_feedback.blp, url_prefix="/api/v1/agency/feedback")
    api.register_blueprint(reports.blp, url_prefix="/api/v1/reports")
    api.register_blueprint(catalog_admin.blp, url_prefix="/api/v1/admin/catalog")
    catalog_cli.init_app(app)
    identity_cli.init_app(app)
    workdays_cli.init_app(app)
    providers_cli.init_app(app)
    storage_cli.init_app(app)
    demo_provider.init_app(app)  # only when DEMO_IDP_ENABLED (never in production)
    notification_worker.init_app(app)
