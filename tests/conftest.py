"""Fixtures: the app on each stack, a rolled-back transaction per test, HTTP helpers.

Every test runs twice: on the production stack (PostgreSQL + Redis, real connections) and on the
embedded default (SQLite + in-process memory). ``TEST_STACKS=sqlite`` or ``=postgres`` runs one.
Each run creates its own PostgreSQL database and migrates it to head, like production does.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import flask_migrate
import pytest
import redis
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from backend import create_app
from backend.extensions import db, limiter

ROOT = Path(__file__).resolve().parent.parent
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


def _unavailable(message: str) -> None:
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
        _unavailable(f"PostgreSQL not reachable at {server.render_as_string()}: {error.orig}")
    finally:
        engine.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    engine = sa.create_engine(_server_url(PG_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


@pytest.fixture(scope="session", params=STACKS)
def stack(request, tmp_path_factory) -> Iterator[Stack]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "test.sqlite3"
        yield Stack("sqlite", f"sqlite:///{path}", None)
        return
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as error:
        _unavailable(f"Redis not reachable at {REDIS_URL}: {error}")
    url = create_postgres_database()
    yield Stack("postgres", url, REDIS_URL)
    drop_postgres_database(url)


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


def _flush_redis(app) -> None:
    client = app.extensions.get("redis")
    if client is not None:
        client.flushdb()
    limiter.reset()  # the in-memory storage of the embedded stack


@pytest.fixture(autouse=True)
def _isolated(request, app) -> Iterator[None]:
    """Each test sees the migrated, empty database and an empty Redis.

    By default the test runs inside a transaction that is rolled back afterwards. Tests marked
    ``committing`` (threads, processes) write for real; their tables are emptied afterwards.
    No app context stays pushed: each request gets its own, as in production (use ``ctx``).
    """
    _flush_redis(app)
    if request.node.get_closest_marker("committing"):
        yield
        with app.app_context():
            db.session.remove()
            _empty_tables()
        _flush_redis(app)
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


def _empty_tables() -> None:
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(autouse=True)
def _stack_markers(request, app) -> None:
    if request.node.get_closest_marker("postgres_only") and not app.stack.postgres:
        pytest.skip("needs PostgreSQL")


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own app context, session and ``g``.

    Flask would reuse an app context the test pushed, sharing one database session and one
    ``g`` across requests; production never does that, so neither do the tests.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            raise RuntimeError(
                "a request inside the test's app context would share its session; "
                "check the database in a `with app.app_context():` block instead of `ctx`"
            )
        return super().open(*args, **kwargs)


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

    with app.app_context():
        import_catalog(document=json.loads(DEMO_CATALOG.read_text(encoding="utf-8")))
        db.session.remove()


# --- signing in through the real API ----------------------------------------------------

DEVICE = {"name": "Test phone", "platform": "android", "app_version": "1.0.0"}


def outbox_lines(app) -> list[dict]:
    import json

    path = Path(app.config["SMS_OUTBOX_FILE"])
    if not path.exists():
        return []
    # JSON Lines are split on "\n" only: str.splitlines() would also cut at U+2028, U+0085...,
    # which json.dumps(ensure_ascii=False) leaves unescaped inside strings.
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line]


def last_code(app, phone_e164: str) -> str:
    import re

    for line in reversed(outbox_lines(app)):
        if line["to"] == phone_e164:
            return re.search(r"\b(\d{6})\b", line["text"]).group(1)
    raise AssertionError(f"no code was sent to {phone_e164}")


def bearer(tokens: dict) -> dict:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def sign_in_with_code(
    app, client, phone="0912345678", *, audience="citizen", device=None, **extra
) -> dict:
    """Sign in through /auth/otp and /auth/otp/verify, reading the code from the outbox."""
    from backend.phones import to_e164

    sent = client.post("/api/v1/auth/otp", json={"phone": phone, "audience": audience})
    assert sent.status_code == 202, sent.get_json()
    body = {
        "challenge_id": sent.get_json()["challenge_id"],
        "code": last_code(app, to_e164(phone)),
        "device": device or DEVICE,
        **extra,
    }
    verified = client.post("/api/v1/auth/otp/verify", json=body)
    assert verified.status_code == 200, verified.get_json()
    return verified.get_json()


def staff_with_authenticator(app, client, phone: str, *, agency: str, role: str):
    """Create a staff member, set up their authenticator through the API, sign them in.

    Returns ``(tokens, totp)`` where ``totp`` is a pyotp.TOTP for later codes.
    """
    import pyotp

    from backend.db import utcnow
    from backend.identity.services import enrolment
    from backend.identity.services.accounts import create_staff
    from backend.phones import to_e164

    with app.app_context():
        account = create_staff(
            phone=to_e164(phone),
            full_name=f"Cán bộ {phone[-4:]}",
            agency_code=agency,
            role=role,
            granted_by=None,
        )
        code = enrolment.issue(account=account, issued_by=None, now=utcnow()).code
        db.session.remove()
    first = sign_in_with_code(app, client, phone, audience="staff")
    assert first["mfa_enrollment_required"] is True
    begun = client.post("/api/v1/me/totp", json={"enrolment_code": code}, headers=bearer(first))
    assert begun.status_code == 201, begun.get_json()
    secret = begun.get_json()["secret"]
    totp = pyotp.TOTP(secret)
    confirmed = client.post(
        "/api/v1/me/totp/confirm", json={"code": totp.now()}, headers=bearer(first)
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    return confirmed.get_json()["tokens"], totp


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
