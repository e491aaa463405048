"""The two stacks every test runs on, their databases, and the app settings for tests.

The production stack (PostgreSQL + Redis, real connections) and the embedded default (SQLite
+ in-process memory). ``TEST_STACKS=sqlite`` or ``=postgres`` runs one.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from backend import ratelimits
from backend.extensions import db

ROOT = Path(__file__).resolve().parent.parent.parent


PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _worker_redis_url(url: str) -> str:
    """Each pytest-xdist worker flushes a Redis database of its own: 15, 14, ... below the base."""
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0) - index
    if database < 0:
        raise RuntimeError(f"{url}: no Redis database left for pytest-xdist worker {index}")
    return urlunsplit(parts._replace(path=f"/{database}"))


REDIS_URL = _worker_redis_url(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))


STACKS = [s for s in os.environ.get("TEST_STACKS", "postgres,sqlite").split(",") if s]


IN_CI = os.environ.get("CI", "").lower() == "true"


@dataclass(frozen=True)
class Stack:
    name: str
    database_url: str
    redis_url: str | None

    @property
    def postgres(self) -> bool:
        return self.name == "postgres"


def unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing service is a failure)")
    pytest.skip(message)


def _server_url(url: str) -> sa.URL:
    return make_url(url).set(drivername="postgresql+psycopg")


def create_postgres_database(prefix: str = "dvc_test") -> str:
    """A brand-new database on the test server; returns its URL."""
    server = _server_url(PG_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as error:
        unavailable(f"PostgreSQL not reachable at {server.render_as_string()}: {error.orig}")
    finally:
        engine.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    engine = sa.create_engine(_server_url(PG_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


def app_config(stack: Stack, instance: Path, **overrides) -> dict:
    config = {
        "APP_ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": stack.database_url,
        "REDIS_URL": stack.redis_url,
        "RATELIMIT_STORAGE_URI": stack.redis_url or "memory://",
        "LOG_LEVEL": "WARNING",
        # Per-IP limits would trip over a test's many sign-ins from 127.0.0.1; the tests of
        # those limits set them back.
        "RATELIMIT_OTP_PER_IP": "1000/minute",
        "RATELIMIT_VERIFY_PER_IP": "1000/minute",
        "RATELIMIT_VERIFY_PER_DEVICE": "1000/minute",
        # Sent in-process right after each commit, on both stacks, so tests read the outbox
        # file at once; the worker tests set "queue" and run real RQ workers.
        "NOTIFY_DELIVERY": "inline",
    }
    config.update(overrides)
    return config


def flush_redis(app) -> None:
    client = app.extensions.get("redis")
    if client is not None:
        client.flushdb()
    ratelimits.reset(app)  # the in-memory counts of the embedded stack


def empty_tables() -> None:
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own app context, session and ``g``.

    Flask would reuse an app context the test pushed, sharing one database session and one
    ``g`` across requests; production never does that, so neither do the tests.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            raise RuntimeError(
                "a request inside the test's app context would share its session; "
                "check the database in a `with unit_of_work(app):` block instead of `ctx`"
            )
        return super().open(*args, **kwargs)
