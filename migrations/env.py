"""Alembic environment: the app's engine and metadata, batch mode so SQLite can alter tables."""

import logging

from alembic import context
from flask import current_app

from backend.db import UTCDateTime

logger = logging.getLogger("alembic.env")
config = context.config
target_db = current_app.extensions["migrate"].db


def render_item(kind, obj, autogen_context):
    """Write the project's column types as plain SQLAlchemy so migrations never import the app."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if kind == "type" and getattr(obj, "_variant_mapping", None):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    return False


def process_revision_directives(context, revision, directives):
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_online():
    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args.setdefault("render_item", render_item)
    with target_db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Pods starting together must not migrate at the same time; the lock is per session.
            # A migration may rightly rewrite a big table, and a pod may wait for another's:
            # the limits set for requests are not for it.
            connection.exec_driver_sql("SET statement_timeout = 0")
            connection.exec_driver_sql("SET lock_timeout = 0")
            connection.exec_driver_sql("SET idle_in_transaction_session_timeout = 0")
            connection.exec_driver_sql("SELECT pg_advisory_lock(2118001)")
            connection.commit()
        context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()
        if connection.dialect.name == "postgresql":
            # Back to the connection's own limits before the pool hands it to a request.
            connection.exec_driver_sql("RESET ALL")
            connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()
