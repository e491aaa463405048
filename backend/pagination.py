"""Cursor (keyset) pagination: stable under inserts, cheap at any depth, opaque to clients."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.sql import visitors

from backend.db import UTCDateTime, grouper
from backend.errors import ValidationFailed
from backend.extensions import connection, db
from backend.parsing import Token, Unparsable, check_text, check_token, parse_moment
from backend.web import Schema

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class InvalidCursor(ValidationFailed):
    code = "invalid-cursor"


class CursorArgs(Schema):
    cursor = Token(
        max_length=512,
        metadata={
            "description": "`next_cursor` of the previous page, passed back unchanged: an opaque "
            "base64url string (no padding) that only this API reads"
        },
    )
    limit = ma.fields.Integer(
        load_default=DEFAULT_LIMIT, validate=ma.validate.Range(min=1, max=MAX_LIMIT)
    )


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """``{"items": [...], "next_cursor": "..." | null}`` for the given item schema."""
    return Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "next_cursor": ma.fields.String(
                allow_none=True,
                required=True,
                metadata={"description": "Pass as `cursor` for the next page; null on the last"},
            ),
        },
        name=name,
    )


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps(list(values), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid() -> InvalidCursor:
    return InvalidCursor(errors={"cursor": ["Not a valid cursor."]})


def decode_cursor(cursor: str, width: int) -> list[Any]:
    """The values a cursor holds; anyone can forge one, so each value is checked in ``_bind``."""
    try:
        check_token(cursor, max_length=512)
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (Unparsable, binascii.Error, ValueError, RecursionError) as error:
        raise _invalid() from error
    if not isinstance(values, list) or len(values) != width:
        raise _invalid()
    if not all(type(v) in (str, int) for v in values):
        raise _invalid()
    return values


def _checked(value: Any, column: sa.ColumnElement) -> Any:
    """A cursor's value for ``column``, parsed as the column's type, or the cursor refused."""
    try:
        if isinstance(column.type, UTCDateTime | sa.DateTime):
            return parse_moment(value)
        if isinstance(column.type, sa.Integer):
            if type(value) is not int or abs(value) > 2**62:
                raise Unparsable("not an integer in range")
            return value
        if isinstance(column.type, sa.String):
            check_text(value, max_length=512)
            return value
        raise Unparsable(f"no cursor rule for {column.type!r}")
    except Unparsable as error:
        raise _invalid() from error


def _bind(value: Any, column: sa.ColumnElement) -> sa.BindParameter:
    return sa.bindparam(None, _checked(value, column), type_=column.type)


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None


def keyset_page(
    statement: sa.Select,
    *,
    order_by: Sequence[sa.ColumnElement],
    key: Callable[[Any], Sequence[Any]],
    cursor: str | None,
    limit: int,
    descending: bool = False,
) -> Page:
    """Run ``statement`` ordered by ``order_by`` (unique together), after the cursor's row.

    ``key`` gives a row's values for ``order_by``; the last row's key becomes the next cursor.
    A statement of one entity pages its objects; one of columns pages plain rows.
    """
    if cursor:
        after = decode_cursor(cursor, len(order_by))
        row = sa.tuple_(*order_by)
        bound = sa.tuple_(
            *[_bind(value, column) for value, column in zip(after, order_by, strict=True)]
        )
        statement = statement.where(row < bound if descending else row > bound)
    ordering = [c.desc() for c in order_by] if descending else list(order_by)
    return _page(statement.order_by(*ordering).limit(limit + 1), {}, key=key, limit=limit)


def _page(statement: sa.Select, params: dict[str, Any], *, key, limit: int) -> Page:
    result = db.session.execute(statement, params)
    # One entity: its objects. Asked of the result, not of the statement, whose
    # ``column_descriptions`` compiles the ORM query a second time.
    if len(result.keys()) == 1:
        result = result.scalars().unique()  # joined collections repeat an object's row
    rows = result.all()
    items = list(rows[:limit])
    next_cursor = encode_cursor(key(items[-1])) if len(rows) > limit else None
    return Page(items=items, next_cursor=next_cursor)


class Keyset:
    """A list that a hot path pages through: ``keyset_page`` with its statement built once for
    each shape a request can take, not on every request.

    ``statement`` selects columns, not entities, and names what every request binds
    (``sa.bindparam("citizen_id")``); ``optional`` holds the conditions a request adds when it
    gives their name a value that is neither None nor False. A condition binds parameters of
    its own names (``sa.bindparam("status")``), or none: then it is a switch that ``True``
    turns on. A request's values are bound, never built in: building the statement and
    computing its cache key on every request took nearly a tenth of my dossiers' time in its
    profile. The page is read as plain Core rows, on the request's connection: the ORM's
    execution of the same statement cost about 170 Python calls more a page (my dossiers,
    profiled on the bench data). Columns the item shows together are ``grouped``.
    """

    def __init__(
        self,
        statement: sa.Select,
        *,
        order_by: Sequence[sa.ColumnElement],
        key: Callable[[Any], Sequence[Any]],
        descending: bool = False,
        optional: dict[str, sa.ColumnElement[bool]] | None = None,
    ) -> None:
        self.statement = statement
        self.order_by = list(order_by)
        self.key = key
        self.descending = descending
        self.optional = dict(optional or {})
        self.names = frozenset().union(
            _parameters(statement), *(_parameters(c) for c in self.optional.values())
        )
        self._item = grouper(list(statement.selected_columns.keys()))
        self._shapes: dict[tuple[tuple[str, ...], bool], tuple[sa.Select, frozenset[str]]] = {}

    def _shaped(self, given: tuple[str, ...], after: bool) -> tuple[sa.Select, frozenset[str]]:
        shape = (given, after)
        if shape not in self._shapes:
            statement = self.statement.where(*[self.optional[name] for name in given])
            if after:
                row = sa.tuple_(*self.order_by)
                bound = sa.tuple_(
                    *[
                        sa.bindparam(f"after_{number}", type_=column.type)
                        for number, column in enumerate(self.order_by)
                    ]
                )
                statement = statement.where(row < bound if self.descending else row > bound)
            ordering = [c.desc() for c in self.order_by] if self.descending else self.order_by
            limited = sa.bindparam("page_limit", type_=sa.Integer)
            statement = statement.order_by(*ordering).limit(limited)
            self._shapes[shape] = (statement, frozenset(_parameters(statement)))
        return self._shapes[shape]

    def page(self, *, cursor: str | None, limit: int, **values: Any) -> Page:
        """The page after ``cursor``. ``values`` binds the statement's parameters, each of
        them even when None (a None citizen matches nothing), and turns on the optional
        conditions whose names it gives."""
        unknown = values.keys() - self.names - self.optional.keys()
        if unknown:
            raise TypeError(f"no parameter named {', '.join(sorted(unknown))}")
        given = tuple(
            name
            for name in self.optional
            if values.get(name) is not None and values[name] is not False
        )
        statement, names = self._shaped(given, bool(cursor))
        params = {name: value for name, value in values.items() if name in names}
        if cursor:
            after = decode_cursor(cursor, len(self.order_by))
            for number, (value, column) in enumerate(zip(after, self.order_by, strict=True)):
                params[f"after_{number}"] = _checked(value, column)
        params["page_limit"] = limit + 1
        rows = connection().execute(statement, params).all()
        if self._item is not None:
            rows = [self._item(row) for row in rows]
        items = rows[:limit]
        next_cursor = encode_cursor(self.key(items[-1])) if len(rows) > limit else None
        return Page(items=items, next_cursor=next_cursor)


def _parameters(clause: sa.ClauseElement) -> set[str]:
    """The names of the parameters ``clause`` binds by name (not those SQLAlchemy named)."""
    return {
        element.key
        for element in visitors.iterate(clause)
        if isinstance(element, sa.BindParameter) and not element.unique
    }
