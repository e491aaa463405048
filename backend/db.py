"""Database building blocks shared by every domain: the declarative base, column types, ids."""

from __future__ import annotations

import enum
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from operator import attrgetter
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

# Constraint names must not depend on the dialect, or migrations written on SQLite and
# PostgreSQL would disagree (and SQLite batch mode needs names to drop anything).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Two characters for each 10 bits: an id is 13 lookups, not 26 steps of a generator (which cost
# a phone sign-in, five ids, about 120 Python calls).
_PAIRS = tuple(a + b for a in _CROCKFORD for b in _CROCKFORD)
_SHIFTS = tuple(range(120, -1, -10))


_last_id = 0
_id_lock = threading.Lock()


def new_id() -> str:
    """A ULID: 26 characters, sortable by creation time, never guessable from a neighbour.

    Within one process ids also follow creation order inside a millisecond (or a clock that
    stood still or went back): the next one is the last plus a random step of up to 40 bits,
    so an inbox or a timeline ordered by id lists two rows of one request in the order made.
    """
    global _last_id
    with _id_lock:
        value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
        if value <= _last_id:
            value = _last_id + 1 + secrets.randbits(40)
        _last_id = value
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _SHIFTS])


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator):
    """Aware UTC datetimes in and out, on PostgreSQL (timestamptz) and SQLite (naive text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use backend.db.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={
            datetime: UTCDateTime(),
            dict[str, Any]: JSONType,
            list[Any]: JSONType,
        },
    )


def str_enum(cls: type[enum.Enum]) -> sa.Enum:
    """An enum stored as a plain string: adding a value later needs no ALTER TYPE."""
    return sa.Enum(
        cls, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e]
    )


def id_column() -> Mapped[str]:
    return mapped_column(sa.String(26), primary_key=True, default=new_id)


def created_column() -> Mapped[datetime]:
    return mapped_column(default=utcnow)


def updated_column() -> Mapped[datetime]:
    return mapped_column(default=utcnow, onupdate=utcnow)


# What separates a group's name from a column's in a label made by ``grouped``.
GROUPED = "__"


def grouped(name: str, *columns: sa.ColumnElement) -> list[sa.Label]:
    """Columns an item shows together as ``item.<name>`` (a procedure's code and name):
    labelled ``<name>__<column>`` in the statement, gathered from each row by ``grouper``."""
    return [column.label(f"{name}{GROUPED}{column.key}") for column in columns]


def _taker(names: Sequence[str]) -> Callable[[sa.Row], tuple]:
    if not names:
        return lambda row: ()
    if len(names) == 1:  # attrgetter of one name gives the value, not a tuple
        return lambda row, take=attrgetter(names[0]): (take(row),)
    return attrgetter(*names)


def grouper(keys: Sequence[str]) -> Callable[[sa.Row], SimpleNamespace] | None:
    """What makes a row with (at least) these columns into an object whose ``grouped``
    columns are an object of their own (``item.procedure.code``); None when no column is
    grouped, and the row serves as it is. Columns are taken by name."""
    groups: dict[str, list[str]] = {}
    plain: list[str] = []
    for key in keys:
        group, is_grouped, name = key.partition(GROUPED)
        if is_grouped:
            groups.setdefault(group, []).append(name)
        else:
            plain.append(key)
    if not groups:
        return None
    names = tuple(plain)
    take = _taker(names)
    parts = [
        (group, tuple(members), _taker([f"{group}{GROUPED}{name}" for name in members]))
        for group, members in groups.items()
    ]

    def item(row: sa.Row) -> SimpleNamespace:
        made = SimpleNamespace(**dict(zip(names, take(row), strict=True)))
        for group, members, values in parts:
            setattr(made, group, SimpleNamespace(**dict(zip(members, values(row), strict=True))))
        return made

    return item
