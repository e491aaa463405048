"""The one checked way to read a date, a moment or an opaque token from a client.

Python and the database accept more than the code behind them can use: ``9999-12-31T23:59:59-23:59``
is a valid RFC 3339 moment that overflows when turned into UTC, a NUL or a lone surrogate is a
valid Python string that PostgreSQL or the UTF-8 codec refuses half-way through a query. Every
parameter of that kind goes through here, so an input either becomes a value the rest of the code
can always use, or a 422 naming the field; never an exception that escapes as a 500.

Moments and days are kept within ``EARLIEST`` and ``LATEST``: wide enough for any birth date,
deadline or sync point the service will ever see, narrow enough that adding a year or a time
zone to one cannot leave Python's range.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import marshmallow as ma

EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
MAX_MOMENT_LENGTH = 40
# RFC 3339 only (no week dates, no ordinal days, no bare dates): what the document promises.
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# Base64url and the few other characters tokens we hand out may hold; documented as the pattern.
TOKEN_PATTERN = r"^[A-Za-z0-9_\-.~]+$"  # noqa: S105 - a pattern, not a secret
_TOKEN = re.compile(TOKEN_PATTERN.strip("^$"))


class Unparsable(ValueError):
    """What a client sent cannot be read as the kind of value asked for."""


def check_text(value: Any, *, max_length: int = 4096) -> str:
    """A string the database and every codec take: no NUL, no lone surrogate, bounded."""
    if not isinstance(value, str):
        raise Unparsable("not a string")
    if len(value) > max_length:
        raise Unparsable("too long")
    if "\x00" in value:
        raise Unparsable("NUL characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise Unparsable("not valid Unicode") from error
    return value


def _in_range(day: date) -> None:
    if not EARLIEST <= day <= LATEST:
        raise Unparsable(f"must lie between {EARLIEST.isoformat()} and {LATEST.isoformat()}")


def parse_moment(value: Any) -> datetime:
    """An RFC 3339 date-time with an offset, as an aware datetime in UTC."""
    text = check_text(value, max_length=MAX_MOMENT_LENGTH)
    if not _MOMENT.fullmatch(text):
        raise Unparsable("not an RFC 3339 date-time with a time zone")
    try:
        # fromisoformat takes at most microseconds: cut nanoseconds rather than refuse them
        head, dot, tail = text.partition(".")
        if dot:
            digits = len(tail) - len(tail.lstrip("0123456789"))
            text = f"{head}.{tail[: min(digits, 6)]}{tail[digits:]}"
        moment = datetime.fromisoformat(text.upper().replace(" ", "T"))
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise Unparsable("not a valid date-time") from error
    _in_range(moment.date())
    return moment


def parse_day(value: Any) -> date:
    """A calendar day written YYYY-MM-DD."""
    text = check_text(value, max_length=10)
    if not _DAY.fullmatch(text):
        raise Unparsable("not a date (YYYY-MM-DD)")
    try:
        day = date.fromisoformat(text)
    except ValueError as error:
        raise Unparsable("not a valid date") from error
    _in_range(day)
    return day


def check_token(value: Any, *, max_length: int = 512) -> str:
    """An opaque token we issued: base64url-like ASCII, bounded; its meaning is checked later."""
    text = check_text(value, max_length=max_length)
    if not _TOKEN.fullmatch(text):
        raise Unparsable("not a valid token")
    return text


class Moment(ma.fields.DateTime):
    """A date-time argument read by ``parse_moment``; documented as RFC 3339 ``date-time``."""

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        try:
            return parse_moment(value)
        except Unparsable as error:
            raise ma.ValidationError(f"Not a valid date-time: {error}.") from error


class Day(ma.fields.Date):
    """A date argument read by ``parse_day``; documented as ``date``."""

    def _deserialize(self, value, attr, data, **kwargs) -> date:
        try:
            return parse_day(value)
        except Unparsable as error:
            raise ma.ValidationError(f"Not a valid date: {error}.") from error


class Token(ma.fields.String):
    """An opaque token argument read by ``check_token``."""

    def __init__(self, *, max_length: int = 512, **kwargs):
        metadata = {"pattern": TOKEN_PATTERN, "maxLength": max_length, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)
        self.max_length = max_length

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        try:
            return check_token(value, max_length=self.max_length)
        except Unparsable as error:
            raise ma.ValidationError(f"Not a valid token: {error}.") from error
