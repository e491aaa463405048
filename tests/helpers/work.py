"""Calling services outside a request, the way a CLI command does: one unit of work; and
the statements a request sends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa
from flask import Flask

from backend.extensions import db
from backend.unitofwork import transaction

T = TypeVar("T")


@contextmanager
def unit_of_work(app: Flask) -> Iterator[None]:
    """An app context whose writes commit when the block ends (roll back if it raises).

    Rows read in the block stay readable after it, for the test's assertions.
    """
    with app.app_context(), transaction():
        yield
        db.session().expire_on_commit = False


def statements_sent(app: Flask, send: Callable[[], T]) -> tuple[T, list[str]]:
    """What ``send()`` returned, and the statements it sent, each on one line; the unit of
    work's savepoints and rollbacks are left out."""
    sent: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            sent.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engines[None].engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        return send(), sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
