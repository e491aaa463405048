"""A request's waits on PostgreSQL end, even when the server stops answering.

The app talks to the test server through a relay of our own on 127.0.0.1 that can stop
relaying: connections stay open and the kernel acknowledges every byte, but nothing is
answered, as with a server stopped by SIGSTOP (``tests/failure`` stops a real cluster so).
Each request runs in a thread the test waits for; one still running after ``PATIENCE`` hung.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import flask
import pytest
import sqlalchemy as sa
from flask import Flask
from psycopg.pq import TransactionStatus
from sqlalchemy.engine import make_url

from backend import create_app, extensions
from backend.dbwatch import Watchdog
from backend.extensions import db
from backend.identity.access import public
from tests.helpers.stacks import app_config
from tests.helpers.work import unit_of_work

pytestmark = pytest.mark.postgres_only

PATIENCE = 15  # seconds; the app gives up after DEADLINE (a wait) or CONNECT (a new connection)
DEADLINE = "1"
CONNECT = "2"


class FreezableRelay:
    """TCP between the app and PostgreSQL, which ``freeze`` stops relaying (both ways)."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._relaying = threading.Event()
        self._relaying.set()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
                upstream = socket.create_connection(self.target)
            except OSError:
                return
            self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self._relaying.wait()  # frozen: the bytes were received, nobody acts on them
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def freeze(self) -> None:
        self._relaying.clear()

    def thaw(self) -> None:
        self._relaying.set()

    def close(self) -> None:
        self.thaw()
        self.listener.close()
        for end in self._sockets:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


@pytest.fixture(scope="module")
def relay(stack):
    if not stack.postgres:  # before the app it serves is made; the marker skips the tests
        pytest.skip("needs PostgreSQL")
    url = make_url(stack.database_url)
    relay = FreezableRelay(url.host or "127.0.0.1", url.port or 5432)
    yield relay
    relay.close()


@pytest.fixture(scope="module")
def watched_app(stack, relay, tmp_path_factory) -> Flask:
    """The app on the test database through the relay, with routes that freeze it mid-way."""
    url = make_url(stack.database_url).set(host="127.0.0.1", port=relay.port)
    app = create_app(
        app_config(
            stack,
            tmp_path_factory.mktemp("dbwatch"),
            SQLALCHEMY_DATABASE_URI=url.render_as_string(hide_password=False),
            DATABASE_REQUEST_DEADLINE_SECONDS=float(DEADLINE),
            DATABASE_CONNECT_TIMEOUT=int(CONNECT),
            DATABASE_STATEMENT_TIMEOUT_MS=3500,
            DATABASE_LOCK_TIMEOUT_MS=2500,
            DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS=4500,
        )
    )

    @app.get("/probe/<step>")
    @public
    def probe(step: str):
        db.session.execute(sa.text("SELECT 1"))  # a connection in hand, a transaction open
        if step == "slow":
            # PostgreSQL cancels it itself: the server-side limit, not the watchdog.
            db.session.execute(sa.text("SET LOCAL statement_timeout = '100ms'"))
            db.session.execute(sa.text("SELECT pg_sleep(2)"))
        if step in {"statement", "commit", "end"}:
            relay.freeze()
        if step == "statement":
            db.session.execute(sa.text("SELECT 2"))
        elif step == "commit":
            db.session.commit()
        # "end": nothing more here; the session's rollback when the request ends still waits.
        return {"step": step}

    yield app
    relay.thaw()
    with unit_of_work(app):
        db.engine.dispose()


@pytest.fixture
def thaw_after(relay, watched_app):
    """The relay relays again after the test, and the app answers through it again."""
    yield
    relay.thaw()
    assert answer(watched_app, "/probe/none").status_code == 200


def answer(app: Flask, path: str):
    """The response, from a thread: a request still waiting after PATIENCE fails the test."""
    result = {}

    def send() -> None:
        result["response"] = app.test_client().get(path)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    sender.join(PATIENCE)
    assert not sender.is_alive(), f"{path}: the request hung"
    return result["response"]


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.get_data()[:300]
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 503
    assert response.headers["Retry-After"] == "5"


@pytest.mark.parametrize("step", ["statement", "commit"])
def test_a_wait_on_a_frozen_server_is_cut_to_a_503(watched_app, thaw_after, step):
    assert_unavailable(answer(watched_app, f"/probe/{step}"))


def test_the_closing_rollback_on_a_frozen_server_does_not_hold_the_response(
    watched_app, thaw_after
):
    """The request's work is done when the server freezes; only the session's rollback, in
    the app context's teardown, is left to wait. The answer still goes out."""
    response = answer(watched_app, "/probe/end")
    assert (response.status_code, response.get_json()) == (200, {"step": "end"})


def test_a_request_on_a_server_frozen_between_requests_is_a_503(watched_app, relay, thaw_after):
    """Pooled connections look open: the first wait on one (the request's statement, or the
    ping of one that sat idle) is cut, and a new connection gives up after
    DATABASE_CONNECT_TIMEOUT."""
    assert answer(watched_app, "/probe/none").status_code == 200  # a connection in the pool
    relay.freeze()
    assert_unavailable(answer(watched_app, "/probe/none"))


def test_a_statement_the_server_cancels_is_a_503(watched_app):
    assert_unavailable(answer(watched_app, "/probe/slow"))


def test_every_connection_carries_the_server_side_limits(watched_app):
    with unit_of_work(watched_app):
        shown = {
            name: db.session.execute(sa.text(f"SHOW {name}")).scalar()
            for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
        }
    assert shown == {
        "statement_timeout": "3500ms",
        "lock_timeout": "2500ms",
        "idle_in_transaction_session_timeout": "4500ms",
    }


def test_a_command_outside_a_request_is_not_cut(watched_app):
    """A migration or a sweep may rightly wait longer than a request would."""
    with unit_of_work(watched_app):
        slept = db.session.execute(sa.text("SELECT pg_sleep(1.5) IS NULL")).scalar()
    assert slept is False  # pg_sleep returns void, which is not NULL


def test_no_free_pooled_connection_is_a_503(stack, tmp_path):
    app = create_app(
        app_config(
            stack,
            tmp_path,
            SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0, "pool_timeout": 1},
        )
    )
    with unit_of_work(app):
        held = db.engine.connect()  # the pool's only connection, busy
    try:
        assert_unavailable(app.test_client().get("/api/v1/procedures"))
    finally:
        held.close()
        with unit_of_work(app):
            db.engine.dispose()


def _pooled_connection_killed(app: Flask, database_url: str) -> int:
    """Use the pool's connection once, then end its server process from another connection."""
    with unit_of_work(app):
        pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    other = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with other.connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()
    return pid


@pytest.mark.parametrize("idle", [0, 60])
def test_a_connection_killed_in_the_pool_is_replaced(stack, tmp_path, idle):
    """Idle past DATABASE_PING_IDLE_SECONDS: pinged on checkout, replaced unseen. Returned a
    moment ago: not pinged; its first statement fails once, then the pool connects afresh."""
    app = create_app(
        app_config(
            stack,
            tmp_path,
            DATABASE_PING_IDLE_SECONDS=idle,
            SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0},
        )
    )

    @app.get("/probe/pid")
    @public
    def pid():
        return {"pid": db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()}

    client = app.test_client()
    killed = _pooled_connection_killed(app, stack.database_url)
    answers = [client.get("/probe/pid") for _ in range(2)]
    with unit_of_work(app):
        db.engine.dispose()
    statuses = [answer.status_code for answer in answers]
    assert statuses == ([200, 200] if idle == 0 else [503, 200])
    if idle == 60:
        assert_unavailable(answers[0])
    assert answers[-1].get_json()["pid"] != killed


class _Connection:
    """What the watchdog cuts: a driver connection's socket (one end of a local pair)."""

    def __init__(self):
        self.ours, self.theirs = socket.socketpair()
        self.pgconn = self

    @property
    def socket(self) -> int:
        return self.ours.fileno()

    def was_cut(self, within: float) -> bool:
        self.theirs.settimeout(within)
        try:
            return self.theirs.recv(1) == b""  # the far end of a shut-down socket reads EOF
        except TimeoutError:
            return False


def test_statements_do_not_each_wake_the_watchdog_yet_every_deadline_holds():
    dog = Watchdog()
    woken = []
    notify = dog._changed.notify
    dog._changed.notify = lambda *args: (woken.append(1), notify(*args))
    slow = _Connection()
    dog.watch(slow, 30)
    time.sleep(0.2)  # the thread has looked and knows when to look next
    for _ in range(100):  # a request's statements, each watched then released
        dog.watch(slow, 30)
        dog.release(slow)
    assert len(woken) <= 2
    # A deadline earlier than the thread's next look wakes it: it is kept to the moment.
    quick = _Connection()
    dog.watch(quick, 0.3)
    assert quick.was_cut(within=5)
    assert not slow.was_cut(within=0.1)


@pytest.mark.parametrize(
    ("method", "status", "watched"),
    [
        ("do_rollback", TransactionStatus.INTRANS, True),
        ("do_commit", TransactionStatus.INERROR, True),
        ("do_rollback", TransactionStatus.IDLE, False),  # psycopg sends nothing
        ("do_commit", TransactionStatus.IDLE, False),
        ("do_ping", TransactionStatus.IDLE, True),  # a ping always asks the server
    ],
)
def test_what_reaches_the_server_in_a_request_is_watched(monkeypatch, method, status, watched):
    seen = []
    monkeypatch.setattr(
        extensions.watchdog, "watch", lambda connection, _s: seen.append(connection)
    )
    monkeypatch.setattr(extensions.watchdog, "release", lambda connection: None)
    connection = _Connection()
    connection.transaction_status = status
    call = extensions._watched(lambda _connection: "sent", 5, idle_too=method == "do_ping")
    app = Flask(__name__)
    with app.app_context():
        assert call(connection) == "sent"
        assert seen == []  # outside a request nothing is watched
        flask.g.watch_database = True
        assert call(connection) == "sent"
    assert seen == ([connection] if watched else [])
