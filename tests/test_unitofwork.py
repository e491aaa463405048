"""One unit of work per request, CLI command and job (backend.unitofwork).

A small app of its own (SQLite in a temporary folder) with routes that write a calendar row and
then answer in each way a view can: the row is there afterwards only when the rules say so.
"""

from __future__ import annotations

import ast
import sqlite3
from datetime import date
from pathlib import Path

import click
import pytest
import sqlalchemy as sa

from backend import create_app
from backend.errors import ValidationFailed
from backend.extensions import connection, db
from backend.identity.access import public
from backend.unitofwork import CommandGroup, if_rolled_back, keep_despite_refusal, reads_only
from backend.workdays.models import CalendarOverride, OverrideKind
from tests.helpers.stacks import (
    Stack,
    app_config,
    create_postgres_database,
    drop_postgres_database,
)

pytestmark = pytest.mark.committing  # the app below writes for real, in a file of its own

ROOT = Path(__file__).resolve().parent.parent / "backend"
DAY = date(2030, 1, 2)

# Where a transaction may end: the unit of work itself, and the notification worker's jobs and
# sweeps, which commit per batch of rows they took so that a long pass holds no lock for long.
MAY_END_TRANSACTIONS = {
    "unitofwork.py",
    "notifications/delivery.py",
    "notifications/sweeps.py",
    "notifications/digests.py",
    "storage/orphans.py",
}


def _write(note: str) -> None:
    db.session.add(CalendarOverride(day=DAY, kind=OverrideKind.DAY_OFF, note=note))
    db.session.flush()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("unitofwork")
    stack = Stack("sqlite", f"sqlite:///{folder / 'db.sqlite3'}", None)
    app = create_app(app_config(stack, folder))
    undone: list[str] = []
    app.undone = undone

    @app.post("/t/<outcome>")
    @public
    def write_then(outcome: str):
        _write(outcome)
        if_rolled_back(lambda: undone.append(outcome))
        if outcome == "refused":
            raise ValidationFailed(errors={"day": ["No."]})
        if outcome == "kept":
            keep_despite_refusal()
            raise ValidationFailed(errors={"day": ["No, but it counts."]})
        if outcome == "broken":
            raise RuntimeError("a bug")
        return {"ok": True}, 201

    group = CommandGroup("uow-test")

    @group.command("write")
    @click.option("--fail", is_flag=True)
    def write_command(fail: bool) -> None:
        _write("cli")
        if fail:
            raise click.ClickException("refused")

    app.cli.add_command(group)
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture(autouse=True)
def _empty(app):
    yield
    with app.app_context():
        db.session.execute(sa.delete(CalendarOverride))
        db.session.commit()
    app.undone.clear()


def _rows(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(CalendarOverride.note)))


@pytest.mark.parametrize(
    ("outcome", "status", "rows", "undone"),
    [
        ("done", 201, ["done"], []),
        ("refused", 422, [], ["refused"]),
        ("kept", 422, ["kept"], []),
        ("broken", 500, [], ["broken"]),
    ],
)
def test_a_request_commits_once_by_its_answer(app, outcome, status, rows, undone):
    answer = app.test_client().post(f"/t/{outcome}")
    assert answer.status_code == status
    assert _rows(app) == rows
    assert app.undone == undone


def test_a_commit_that_fails_never_answers_done(app):
    def lose_the_database(session):
        orig = sqlite3.OperationalError("database is locked")
        raise sa.exc.OperationalError("COMMIT", {}, orig)

    with app.app_context():
        sa.event.listen(db.session, "before_commit", lose_the_database)
        try:
            answer = app.test_client().post("/t/done")
        finally:
            sa.event.remove(db.session, "before_commit", lose_the_database)
    assert answer.status_code == 503
    assert answer.content_type == "application/problem+json"
    assert _rows(app) == []
    assert app.undone == ["done"]


def test_a_cli_command_is_one_unit_of_work(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["uow-test", "write", "--fail"]).exit_code == 1
    assert _rows(app) == []
    assert runner.invoke(args=["uow-test", "write"]).exit_code == 0
    assert _rows(app) == ["cli"]


@pytest.fixture(scope="module")
def pg_app(tmp_path_factory):
    """PostgreSQL through a real engine (the suite's other apps share one test transaction)."""
    url = create_postgres_database("dvc_uow")
    app = create_app(app_config(Stack("postgres", url, None), tmp_path_factory.mktemp("pg")))

    def transaction_status():
        db.session.execute(sa.select(CalendarOverride.id).limit(1)).all()
        dbapi = db.session.connection().connection.dbapi_connection
        return {"status": dbapi.info.transaction_status.name}

    @app.get("/t/read")
    @public
    def read():
        return transaction_status()

    @app.get("/t/read-only")
    @public
    @reads_only
    def read_only():
        return transaction_status()

    @app.get("/t/read-only-rows")
    @public
    @reads_only
    def read_only_rows():
        rows = connection().execute(sa.select(CalendarOverride.id).limit(1)).all()
        dbapi = connection().connection.dbapi_connection
        return {
            "rows": len(rows),
            "status": dbapi.info.transaction_status.name,
            "orm_session": db.session.registry.has(),
            "checked_out": db.engine.pool.checkedout(),
        }

    @app.get("/t/read-only-objects")
    @public
    @reads_only
    def read_only_objects():
        objects = db.session.scalars(sa.select(CalendarOverride).limit(1)).all()
        connection().execute(sa.select(CalendarOverride.id).limit(1)).all()
        return {
            "objects": len(objects),
            "one_connection": db.session.connection() is connection(),
            "checked_out": db.engine.pool.checkedout(),
        }

    @app.get("/t/read-only-rows-then-objects")
    @public
    @reads_only
    def read_only_rows_then_objects():
        # As a view does after the session check: a Core statement first, then objects.
        connection().execute(sa.select(CalendarOverride.id).limit(1)).all()
        objects = db.session.scalars(sa.select(CalendarOverride).limit(1)).all()
        dbapi = connection().connection.dbapi_connection
        return {"objects": len(objects), "status": dbapi.info.transaction_status.name}

    @app.post("/t/read-only-but-writes")
    @public
    @reads_only
    def sneaky():
        _write("sneaky")
        return {}, 201

    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()
    drop_postgres_database(url)


def test_a_read_only_view_runs_outside_a_transaction_and_cannot_write(pg_app):
    client = pg_app.test_client()
    assert client.get("/t/read").get_json() == {"status": "INTRANS"}
    assert client.get("/t/read-only").get_json() == {"status": "IDLE"}  # no BEGIN was sent
    assert client.post("/t/read-only-but-writes").status_code == 500
    assert _rows(pg_app) == []
    assert client.get("/t/read").get_json() == {"status": "INTRANS"}  # the pool's next user


def test_a_read_only_view_reads_rows_on_its_own_connection_without_an_orm_session(pg_app):
    client = pg_app.test_client()
    expected = {"rows": 0, "status": "IDLE", "orm_session": False, "checked_out": 1}
    assert client.get("/t/read-only-rows").get_json() == expected
    # Objects are read by a session on the same connection, still outside a transaction.
    answer = client.get("/t/read-only-objects").get_json()
    assert answer == {"objects": 0, "one_connection": True, "checked_out": 1}
    with pg_app.app_context():
        assert db.engine.pool.checkedout() == 0  # each went back to the pool
    assert client.get("/t/read").get_json() == {"status": "INTRANS"}


@pytest.mark.parametrize("joining", ["conditional_savepoint", "create_savepoint"])
def test_a_read_only_view_reads_objects_after_rows_whatever_the_session_would_join(
    pg_app, monkeypatch, joining
):
    # The suite's own sessions join a connection's transaction with a savepoint; a read-only
    # view's connection is in autocommit, where a savepoint cannot be made.
    monkeypatch.setitem(db.session.session_factory.kw, "join_transaction_mode", joining)
    answer = pg_app.test_client().get("/t/read-only-rows-then-objects")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json() == {"objects": 0, "status": "IDLE"}


def _ends_a_transaction(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"commit", "rollback"}
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "session"
    )


def test_only_the_unit_of_work_and_the_jobs_end_a_transaction():
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative in MAY_END_TRANSACTIONS:
            continue
        tree = ast.parse(path.read_text(), relative)
        found += [
            f"{relative}:{node.lineno}" for node in ast.walk(tree) if _ends_a_transaction(node)
        ]
    assert found == [], "services and routes flush; the unit of work commits (backend.unitofwork)"
