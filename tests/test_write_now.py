"""An object's changed columns written at once by one UPDATE, the object left clean."""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from backend.db import utcnow
from backend.extensions import db
from backend.identity.models import Account, AccountKind
from backend.unitofwork import write_now


def _account() -> Account:
    account = Account(
        kind=AccountKind.CITIZEN, phone=f"+849{secrets.randbelow(10**8):08d}", created_at=utcnow()
    )
    db.session.add(account)
    db.session.flush()
    return account


@contextmanager
def _sent():
    sent: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement.split()[0].upper())

    engine = db.session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)


def test_changed_columns_go_in_one_update_and_the_next_flush_has_nothing_to_write(ctx):
    account = _account()
    later = account.updated_at + timedelta(minutes=5)
    account.full_name, account.assurance_level, account.updated_at = "Nguyễn Văn A", 2, later
    with _sent() as sent:
        write_now(account)
        assert not db.session.dirty
        db.session.flush()
    assert sent == ["UPDATE"]
    stored = db.session.execute(
        sa.select(Account.full_name, Account.assurance_level, Account.updated_at).where(
            Account.id == account.id
        )
    ).one()
    assert tuple(stored) == ("Nguyễn Văn A", 2, later)
    assert (account.full_name, account.assurance_level) == ("Nguyễn Văn A", 2)


def test_nothing_changed_sends_nothing(ctx):
    account = _account()
    with _sent() as sent:
        write_now(account)
    assert sent == []


@pytest.mark.parametrize("change", ["a collection", "no updated_at", "a new object"])
def test_a_change_a_statement_cannot_say_is_flushed_instead(ctx, change):
    account = _account()
    if change == "a collection":
        account.updated_at = utcnow()
        account.grants = []
    elif change == "no updated_at":
        account.full_name = "Trần Thị B"
    else:
        account = Account(
            kind=AccountKind.CITIZEN,
            phone=f"+849{secrets.randbelow(10**8):08d}",
            created_at=utcnow(),
        )
        db.session.add(account)
    flushed = []
    sa.event.listen(db.session(), "after_flush", lambda *_: flushed.append(1))
    write_now(account)
    assert flushed == [1]
    assert not db.session.dirty and not db.session.new


def test_a_row_gone_from_under_the_object_raises_as_a_flush_would(ctx):
    account = _account()
    db.session.execute(sa.delete(Account.__table__).where(Account.__table__.c.id == account.id))
    account.full_name, account.updated_at = "Lê Văn C", utcnow()
    with pytest.raises(StaleDataError):
        write_now(account)
