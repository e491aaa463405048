"""Report periods: days and months as Vietnam counts them, in SQL on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from backend.workdays.calendar import LEGAL_TIMEZONE


class vietnam_month(FunctionElement):
    """The month, in Vietnam, of a UTC moment: a value to group by (``month_key`` reads it).

    On PostgreSQL it is the number of the month within the period, found by ``width_bucket``
    over the month starts: a binary search per row, where any date arithmetic (``date_trunc``
    of the moment in Vietnam time, ``to_char``) costs several times more over a million rows.
    On SQLite it is ``'YYYY-MM'`` (Vietnam keeps +07:00 all year, no daylight saving time).
    """

    name = "vietnam_month"
    inherit_cache = True


@compiles(vietnam_month, "postgresql")
def _month_postgresql(element, compiler, **kw):
    moment, starts = element.clauses
    return f"width_bucket({compiler.process(moment, **kw)}, {compiler.process(starts, **kw)})"


@compiles(vietnam_month, "sqlite")
def _month_sqlite(element, compiler, **kw):
    moment, _ = element.clauses
    return f"strftime('%Y-%m', {compiler.process(moment, **kw)}, '+7 hours')"


def month_of(moment: sa.ColumnElement, months: list[str]) -> vietnam_month:
    """The month of ``moment`` among ``months`` (``YYYY-MM``, in order, covering every row)."""
    starts = [_month_start(month) for month in months]
    return vietnam_month(moment, sa.literal(starts, type_=ARRAY(sa.DateTime(timezone=True))))


def month_key(value: str | int, months: list[str]) -> str:
    """``'YYYY-MM'`` from what ``month_of`` gave: a month already, or its number from 1."""
    return value if isinstance(value, str) else months[value - 1]


def _month_start(month: str) -> datetime:
    year, number = (int(part) for part in month.split("-"))
    return datetime(year, number, 1, tzinfo=LEGAL_TIMEZONE).astimezone(UTC)


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[first moment of ``start``, first moment after ``end``) in Vietnam, as UTC moments."""
    first = datetime.combine(start, time(0), tzinfo=LEGAL_TIMEZONE)
    after = datetime.combine(end + timedelta(days=1), time(0), tzinfo=LEGAL_TIMEZONE)
    return first.astimezone(UTC), after.astimezone(UTC)


def months_between(start: date, end: date) -> list[str]:
    """Every ``YYYY-MM`` from the month of ``start`` to the month of ``end``, in order."""
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
