"""Calling services outside a request, the way a CLI command does: one unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask

from backend.extensions import db
from backend.unitofwork import transaction


@contextmanager
def unit_of_work(app: Flask) -> Iterator[None]:
    """An app context whose writes commit when the block ends (roll back if it raises).

    Rows read in the block stay readable after it, for the test's assertions.
    """
    with app.app_context(), transaction():
        yield
        db.session().expire_on_commit = False
