"""Migrations build exactly the models' schema, on SQLite and PostgreSQL, up and down."""

from __future__ import annotations

import flask_migrate
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from backend import create_app
from backend.extensions import db
from tests.helpers.stacks import Stack, app_config, create_postgres_database, drop_postgres_database
from tests.helpers.work import unit_of_work


def test_head_is_exactly_the_models(ctx):
    context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
    assert compare_metadata(context, db.metadata) == []


def test_upgrade_downgrade_upgrade_on_an_empty_database(stack, tmp_path):
    url = (
        create_postgres_database("dvc_migrate")
        if stack.postgres
        else (f"sqlite:///{tmp_path / 'migrate.sqlite3'}")
    )
    app = create_app(app_config(Stack(stack.name, url, stack.redis_url), tmp_path))
    try:
        with unit_of_work(app):
            flask_migrate.upgrade()
            tables = set(sa.inspect(db.engine).get_table_names())
            assert set(db.metadata.tables) <= tables
            flask_migrate.downgrade(revision="base")
            assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
            flask_migrate.upgrade()
            context = MigrationContext.configure(db.engine.connect(), opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
            context.connection.close()
            db.engine.dispose()
    finally:
        if stack.postgres:
            drop_postgres_database(url)
