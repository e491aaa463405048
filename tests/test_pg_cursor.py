"""PostgreSQL cursors describe a result only when something reads the description
(``extensions.DescribedOnRead``): SQLAlchemy asks after every statement, reads it once."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from backend.extensions import db
from backend.identity.models import Account

pytestmark = pytest.mark.postgres_only

_READ = sa.select(Account.id, Account.kind, Account.created_at).where(
    Account.phone == sa.bindparam("phone")
)


def test_a_statement_run_again_reads_its_rows_without_describing_them(ctx, monkeypatch):
    made: list[int] = []
    build = psycopg.Column.__init__

    def counted(self, cursor, index):
        made.append(index)
        build(self, cursor, index)

    monkeypatch.setattr(psycopg.Column, "__init__", counted)
    db.session.add(Account(kind="citizen", phone="+84912000999"))
    db.session.flush()
    first = db.session.execute(_READ, {"phone": "+84912000999"}).all()
    described = len(made)
    again = db.session.execute(_READ, {"phone": "+84912000999"}).all()
    assert len(made) == described  # the columns SQLAlchemy kept from the first run serve
    assert again == first and len(first) == 1
    assert first[0].kind.value == "citizen"  # and typed as the model says


def test_a_description_is_there_when_read_and_none_without_rows(ctx):
    connection = db.session.connection()
    row = connection.exec_driver_sql("SELECT 1 AS one, 'x' AS two").one()
    assert row._mapping == {"one": 1, "two": "x"}  # SQLAlchemy read the names from it
    cursor = connection.connection.dbapi_connection.cursor()
    cursor.execute("SELECT 2 AS n")
    assert [column.name for column in cursor.description] == ["n"]
    assert len(cursor.description) == 1
    cursor.execute("SET LOCAL lock_timeout = 1000")
    assert cursor.description is None
