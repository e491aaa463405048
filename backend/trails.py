"""Append-only trails: dossier and petition timelines, the catalog audit, security events.

One way to add an entry (``append``: the next number for its owner, then the row), one way to
read an owner's entries (``entries``) and one way to make a trail's rows unchangeable through
the ORM (``never_changed``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import created_column
from backend.extensions import db

Entry = TypeVar("Entry")


class TimelineEntry:
    """The columns of one step of a timeline (dossiers, petitions); the owner and the statuses
    are the model's own. Its table keeps (owner, seq) unique."""

    seq: Mapped[int] = mapped_column()
    action: Mapped[str] = mapped_column(sa.String(40))
    actor_id: Mapped[str | None] = mapped_column(sa.ForeignKey("accounts.id"))
    actor_kind: Mapped[str] = mapped_column(sa.String(20))
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_column()


# Each trail's "last number of an owner", built once per trail and owner column.
_LAST_SEQ: dict[tuple[type, str], sa.Select] = {}


def _next_seq(trail: type, owner: str, owner_id: str) -> int:
    """The next number of an append-only trail (events, audit records) for one owner.

    The trail's unique (owner, seq) constraint refuses a second writer that read the same
    number; the owner row is locked by the callers that can race.
    """
    statement = _LAST_SEQ.get((trail, owner))
    if statement is None:
        statement = _LAST_SEQ[trail, owner] = sa.select(sa.func.max(trail.seq)).where(
            getattr(trail, owner) == sa.bindparam("owner_id")
        )
    last = db.session.scalar(statement, {"owner_id": owner_id})
    return (last or 0) + 1


def append(trail: type, *, owner: str, owner_id: str, **values: Any) -> int:
    """Add the next entry of ``trail`` for the row ``owner`` names (the unit of work commits);
    returns its number.

    Written at once, numbered and added by one statement (``INSERT ... SELECT max + 1``),
    unless rows wait to be flushed (the owner may be one of them): then with them, as an object.
    The read of the last number and a flush of the entry cost a dossier's step two round trips
    and about 550 Python calls.
    """
    if db.session.new:
        number = _next_seq(trail, owner, owner_id)
        db.session.add(trail(**values, **{owner: owner_id}, seq=number))
        return number
    names = tuple(values)
    insert = _NUMBERED.get((trail, owner, names))
    if insert is None:
        insert = _NUMBERED[trail, owner, names] = _numbered(trail, owner, names)
    given = {f"given_{name}": value for name, value in values.items()}
    return db.session.scalar(insert, {**given, "owner_id": owner_id})


# Each trail's numbered INSERT for an owner column and the columns its callers give.
_NUMBERED: dict[tuple[type, str, tuple[str, ...]], sa.Insert] = {}


def _numbered(trail: type, owner: str, names: tuple[str, ...]) -> sa.Insert:
    table = trail.__table__
    given = [sa.bindparam(f"given_{name}", type_=table.c[name].type) for name in names]
    owner_id = sa.bindparam("owner_id", type_=table.c[owner].type)
    rows = sa.select(*given, owner_id, sa.func.coalesce(sa.func.max(table.c.seq), 0) + 1).where(
        table.c[owner] == owner_id
    )
    return sa.insert(table).from_select([*names, owner, "seq"], rows).returning(table.c.seq)


def entries(trail: type[Entry], *, owner: str, owner_id: str) -> list[Entry]:
    """The entries of ``trail`` for the row ``owner`` names, in the order they were added."""
    return list(
        db.session.scalars(
            sa.select(trail).where(getattr(trail, owner) == owner_id).order_by(trail.seq)
        )
    )


def never_changed(trail: type) -> None:
    """Refuse, through the ORM, to update or delete an entry of this trail once written."""

    def refuse(mapper, connection, target):
        raise ValueError(f"{trail.__tablename__} is append-only")

    event.listen(trail, "before_update", refuse)
    event.listen(trail, "before_delete", refuse)
