"""Extension objects, created once and bound to an app in create_app()."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import psycopg
import redis
import sqlalchemy as sa
from flask import Flask, current_app, g, has_app_context
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from psycopg.pq import ExecStatus, TransactionStatus
from sqlalchemy import event

from backend.db import Base
from backend.dbwatch import watchdog

log = logging.getLogger(__name__)

# Where a read-only view's connection is kept for its request (``unitofwork.reads_only``).
READ_CONNECTION = "read_connection"


def _read_connection() -> sa.Connection | None:
    return g.get(READ_CONNECTION) if has_app_context() else None


class Session(FlaskSession):
    """Flask-SQLAlchemy's session, which in a read-only view's request runs its statements on
    that request's connection (``connection()``), outside any transaction. Which one is looked
    up once, when the request makes its session: every statement and flush asks for its bind
    (looking it up each time cost a submission about 270 Python calls)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._read_connection = _read_connection()
        if self._read_connection is not None:
            # Once a Core statement ran on the connection, SQLAlchemy counts a transaction on
            # it (in autocommit nothing was sent). The session joins that as it is: joining
            # with a savepoint would fail, as autocommit cannot hold one.
            self.join_transaction_mode = "rollback_only"

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and self._read_connection is not None:
            return self._read_connection
        return super().get_bind(mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": Session})


def connection() -> sa.Connection:
    """The connection for a Core statement of this request: a read-only view's own, checked
    out by ``unitofwork`` without a transaction and without an ORM session (the session's
    transaction, begun and closed, cost a poll about a fifth of its Python calls); else the
    session's, in its transaction."""
    read = _read_connection()
    return read if read is not None else db.session.connection()


class _Description(Sequence):
    """A result's ``cursor.description``, made the first time something reads it."""

    __slots__ = ("_columns", "_cursor")

    def __init__(self, cursor: psycopg.Cursor) -> None:
        self._cursor, self._columns = cursor, None

    def _made(self) -> list:
        if self._columns is None:
            self._columns = psycopg.Cursor.description.fget(self._cursor) or []
        return self._columns

    def __len__(self) -> int:
        return len(self._made())

    def __getitem__(self, index):
        return self._made()[index]


_TUPLES = (ExecStatus.TUPLES_OK, ExecStatus.SINGLE_TUPLE, ExecStatus.TUPLES_CHUNK)


class DescribedOnRead(psycopg.Cursor):
    """psycopg's cursor, whose ``description`` is made only when read.

    SQLAlchemy asks for it after every statement, to know whether rows came back, but reads it
    only for a statement it has not run before (it keeps a compiled statement's result columns);
    psycopg builds a ``Column`` per column on every asking, 200 of a dossier view's Python
    calls. The test for "rows came back" is psycopg's own.
    """

    @property
    def description(self):
        result = self.pgresult
        if result and (result.nfields or result.status in _TUPLES):
            return _Description(self)
        return None


def tune_postgres(app: Flask) -> None:
    """Bound how long a request waits on a PostgreSQL that went away (call before db.init_app).

    A new connection gives up after DATABASE_CONNECT_TIMEOUT; an open one whose server stopped
    answering on the network is noticed by TCP keepalives within about a minute, and unsent
    data is given up after 30 s, so the pool drops it and the request answers 503. The server
    itself cancels long statements, lock waits and idle transactions; ``watch_postgres`` covers
    a server too frozen to do so.
    """
    if not str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    given = dict(options.get("connect_args", {}))
    server_limits = " ".join(
        f"-c {name}={app.config[key]}"
        for name, key in (
            ("statement_timeout", "DATABASE_STATEMENT_TIMEOUT_MS"),
            ("lock_timeout", "DATABASE_LOCK_TIMEOUT_MS"),
            ("idle_in_transaction_session_timeout", "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS"),
        )
    )
    connect_args = {
        "connect_timeout": app.config["DATABASE_CONNECT_TIMEOUT"],
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
        "tcp_user_timeout": 30_000,
        "cursor_factory": DescribedOnRead,
        **given,
        "options": f"{server_limits} {given.get('options', '')}".strip(),
    }
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, "connect_args": connect_args}


def ping_when_idle(app: Flask, engine) -> None:
    """Ping a pooled connection before use only when it sat unused for a while.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: a round trip on every request. A
    connection returned a moment ago is alive unless the server went away since; then its
    first statement fails, SQLAlchemy invalidates the whole pool, that request answers 503 with
    Retry-After, and the next one connects afresh. A connection that waited longer than
    ``DATABASE_PING_IDLE_SECONDS`` (a quiet night, a restart, a proxy that drops idle
    connections) is pinged first, as the pre-ping would; a dead one is replaced unseen.
    """
    if engine.dialect.name != "postgresql":
        return
    idle = app.config["DATABASE_PING_IDLE_SECONDS"]
    dialect = engine.dialect

    @event.listens_for(engine.pool, "checkin")
    def _returned(dbapi_connection, record) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _check(dbapi_connection, record, proxy) -> None:
        returned = record.info.get("returned_at")  # none yet: a new connection
        if returned is None or time.monotonic() - returned < idle:
            return
        try:
            dialect.do_ping(dbapi_connection)  # watched, as the pre-ping was (dbwatch)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise sa.exc.InvalidatePoolError() from error  # the pool reconnects
            raise


def transactional_on_return(engine) -> None:
    """A connection goes back to the pool out of autocommit, whoever switched it on.

    A read-only request reads in psycopg's autocommit (``unitofwork._begin``). The connection's
    next user must find transactions as usual: a write request's statements would otherwise
    each commit alone. One whose switch cannot be turned back (it broke meanwhile) is closed
    rather than handed out again.
    """
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine.pool, "checkin")
    def _transactional_again(dbapi_connection, record) -> None:
        if dbapi_connection is None or not dbapi_connection.autocommit:
            return
        try:
            dbapi_connection.autocommit = False
        except psycopg.Error as error:
            record.invalidate(error)


def watch_postgres(app: Flask, engine) -> None:
    """Give every wait of a request on PostgreSQL a deadline the client keeps (``dbwatch``)."""
    if engine.dialect.name != "postgresql":
        return
    seconds = app.config["DATABASE_REQUEST_DEADLINE_SECONDS"]

    @app.before_request
    def _watch_this_request() -> None:
        # Kept on the app context, not the request's: the session's closing rollback runs in
        # the app context's teardown, after the request context is gone, and the client is
        # still waiting for it (the response leaves once the contexts are popped).
        g.watch_database = True

    def _dbapi(connection):
        try:
            return connection.connection.dbapi_connection
        except (AttributeError, sa.exc.SQLAlchemyError):
            return None

    def _arm(connection, *args) -> None:
        dbapi_connection = _dbapi(connection)
        if dbapi_connection is not None and _in_request():
            watchdog.watch(dbapi_connection, seconds)

    def _disarm(connection, *args) -> None:
        dbapi_connection = _dbapi(connection)
        if dbapi_connection is not None:
            watchdog.release(dbapi_connection)

    event.listen(engine, "before_cursor_execute", _arm)
    event.listen(engine, "after_cursor_execute", _disarm)
    event.listen(
        engine,
        "handle_error",
        lambda context: context.connection is not None and _disarm(context.connection),
    )
    event.listen(
        engine.pool,
        "checkin",
        lambda dbapi_connection, record: (
            dbapi_connection is not None and watchdog.release(dbapi_connection)
        ),
    )
    # A commit, a rollback (the session's, or the pool's reset of a returned connection) and
    # the pool's liveness ping on checkout reach the driver without a cursor event: each is
    # watched for as long as it runs.
    dialect = engine.dialect
    for name in ("do_ping", "do_commit", "do_rollback"):
        setattr(
            dialect, name, _watched(getattr(dialect, name), seconds, idle_too=name == "do_ping")
        )


def _in_request() -> bool:
    return has_app_context() and g.get("watch_database", False)


def _watched(method, seconds: float, *, idle_too: bool):
    """``method`` watched while it runs in a request. A commit or rollback of a connection
    outside any transaction (``idle_too`` false) sends nothing and waits on nothing: the pool's
    rollback of every returned connection, after a read in autocommit or a commit."""

    def call(connection):
        if not _in_request():
            return method(connection)
        # The pool hands its own proxy to commit and rollback, the bare connection to a ping.
        dbapi_connection = getattr(connection, "dbapi_connection", connection)
        if not idle_too and _idle(dbapi_connection):
            return method(connection)
        with watchdog.watching(dbapi_connection, seconds):
            return method(connection)

    return call


def _idle(dbapi_connection) -> bool:
    """Whether psycopg would send nothing to commit or roll back this connection."""
    server = getattr(dbapi_connection, "pgconn", None)
    return getattr(server, "transaction_status", None) == TransactionStatus.IDLE


def tune_sqlite(engine) -> None:
    """Make the embedded SQLite behave: real transactions and savepoints, foreign keys, WAL."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN")


def end_sessions_safely(app: Flask) -> None:
    """End each request's session even when its database connection died under it.

    Registered after ``db.init_app``, so it runs before Flask-SQLAlchemy's own teardown. When
    PostgreSQL restarts between a request's last query and its end, the closing ROLLBACK fails;
    an error raised from a teardown would skip errors.py and reach the client as the WSGI
    server's HTML 500. The failed rollback invalidates the connection; closing again ends the
    session and the pool opens a new connection next time.
    """

    @app.teardown_appcontext
    def _end_session(_error: BaseException | None = None) -> None:
        try:
            db.session.remove()
        except sa.exc.SQLAlchemyError as error:
            log.warning(
                "database connection lost at the end of a request: %s", type(error).__name__
            )
            try:
                db.session.remove()
            except sa.exc.SQLAlchemyError:
                db.session.registry.clear()
        read = g.pop(READ_CONNECTION, None)
        if read is not None:
            try:
                read.close()  # back to the pool, which ends its autocommit
            except sa.exc.SQLAlchemyError as error:
                log.warning(
                    "database connection lost at the end of a read: %s", type(error).__name__
                )


# Seconds to wait on Redis: one that stops answering turns requests into quick 503s, not hangs.
REDIS_TIMEOUTS = {"socket_timeout": 2, "socket_connect_timeout": 2}


def init_redis(app) -> None:
    url = app.config.get("REDIS_URL")
    app.extensions["redis"] = redis.Redis.from_url(url, **REDIS_TIMEOUTS) if url else None


def on_conflict(insert: sa.Insert, clause: str) -> sa.Insert:
    """``insert`` with ``clause`` after its values: ``ON CONFLICT (...) DO ...``, which
    PostgreSQL and SQLite spell the same way (quote a column that is a keyword in either).

    Not SQLAlchemy's ``postgresql.insert(...).on_conflict_do_*()``: the dialects' inserts opt
    out of its compiled cache (``inherit_cache = False``), so each execution compiled the
    statement again, about 400 Python calls (a submission runs two). A standard INSERT with the
    clause as text is cached like any other statement, and is still an INSERT to the unit of
    work. The clause goes where the dialects' own inserts keep theirs.
    """
    insert._post_values_clause = sa.text(clause)
    return insert


def get_redis() -> redis.Redis | None:
    """The shared Redis client, or None on the embedded default."""
    return current_app.extensions.get("redis")
