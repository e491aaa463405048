"""Fixtures: the app on each stack, a rolled-back transaction per test, signed-in callers.

Every test runs twice: on the production stack (PostgreSQL + Redis, real connections) and on the
embedded default (SQLite + in-process memory). ``TEST_STACKS=sqlite`` or ``=postgres`` runs one.
Each run creates its own PostgreSQL database and migrates it to head, like production does.
Plain helpers live in ``tests/helpers/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import flask_migrate
import marshmallow as ma
import pytest
import redis

from backend import create_app, web
from backend.extensions import db
from tests.helpers.dumps import difference
from tests.helpers.signin import (
    sign_in_with_code,
    staff_with_authenticator,
)
from tests.helpers.stacks import (
    REDIS_URL,
    STACKS,
    IsolatedClient,
    Stack,
    app_config,
    create_postgres_database,
    drop_postgres_database,
    empty_tables,
    flush_redis,
    unavailable,
)
from tests.helpers.work import unit_of_work


@pytest.fixture(scope="session", autouse=True)
def _dumps_as_marshmallow() -> Iterator[None]:
    """Every answer the suite reads is dumped twice, by the schema's plan and by marshmallow
    itself, and must come out the same (``backend.dumping``)."""
    planned = web.Schema.dump

    def dump(schema, obj, *, many=None):
        answer = planned(schema, obj, many=many)
        expected = ma.Schema.dump(schema, obj, many=many)
        # repr tells True from 1 and 1.0 from 1, and shows the keys' order
        assert repr(answer) == repr(expected), difference(type(schema).__name__, answer, expected)
        return answer

    web.Schema.dump = dump
    yield
    del web.Schema.dump  # marshmallow's own, by the plan, again


@pytest.fixture(scope="session", params=STACKS)
def stack(request, tmp_path_factory) -> Iterator[Stack]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "test.sqlite3"
        yield Stack("sqlite", f"sqlite:///{path}", None)
        return
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as error:
        unavailable(f"Redis not reachable at {REDIS_URL}: {error}")
    url = create_postgres_database()
    yield Stack("postgres", url, REDIS_URL)
    drop_postgres_database(url)


@pytest.fixture(scope="session")
def app(stack, tmp_path_factory):
    instance = tmp_path_factory.mktemp(f"instance-{stack.name}")
    app = create_app(app_config(stack, instance))
    app.stack = stack
    with app.app_context():
        flask_migrate.upgrade()
        db.session.remove()
    # Sessions join the test's outer transaction through savepoints.
    db.session.session_factory.kw["join_transaction_mode"] = "create_savepoint"
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _isolated(request, app) -> Iterator[None]:
    """Each test sees the migrated, empty database and an empty Redis.

    By default the test runs inside a transaction that is rolled back afterwards. Tests marked
    ``committing`` (threads, processes) write for real; their tables are emptied afterwards.
    No app context stays pushed: each request gets its own, as in production (use ``ctx``).
    """
    flush_redis(app)
    if request.node.get_closest_marker("committing"):
        yield
        with app.app_context():
            db.session.remove()
            empty_tables()
        flush_redis(app)
        return
    with app.app_context():
        engines = db.engines
        real_engine = engines[None]
        connection = real_engine.connect()
        outer = connection.begin()
        engines[None] = connection
    try:
        yield
    finally:
        with app.app_context():
            db.session.remove()
        engines[None] = real_engine
        outer.rollback()
        connection.close()


@pytest.fixture
def ctx(app):
    """An app context for tests that call services directly (not with ``client``)."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture(autouse=True)
def _stack_markers(request, app) -> None:
    if request.node.get_closest_marker("postgres_only") and not app.stack.postgres:
        pytest.skip("needs PostgreSQL")


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def browser(tmp_path):
    """Debian's Chromium, headless and offline but for 127.0.0.1 (tests/browser.py)."""
    from tests.browser import chromium

    with chromium(tmp_path) as driver:
        yield driver


@pytest.fixture
def demo_catalog(app):
    """The demo catalog, imported through the same service as ``flask seed-demo``."""
    import json

    from backend.catalog.cli import DEMO_CATALOG
    from backend.catalog.services import import_catalog

    with unit_of_work(app):
        import_catalog(document=json.loads(DEMO_CATALOG.read_text(encoding="utf-8")))


# --- signing in through the real API ----------------------------------------------------


@pytest.fixture
def sign_in(app, client):
    """``sign_in_with_code`` on this test's app and client."""
    return partial(sign_in_with_code, app, client)


@pytest.fixture
def citizen(sign_in) -> dict:
    """Tokens of citizen A (0912345678)."""
    return sign_in("0912345678")


@pytest.fixture
def citizen_b(sign_in) -> dict:
    """Tokens of citizen B (0987654321)."""
    return sign_in("0987654321")


@pytest.fixture
def make_staff(app, client):
    """``staff_with_authenticator`` on this test's app and client: ``(tokens, totp)``."""
    return partial(staff_with_authenticator, app, client)
