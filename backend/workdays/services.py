"""Legal deadlines in working days and working hours, and the admin's calendar overrides.

The calendar
    A working day is Monday to Friday, except the public holidays of ``holidays.VN`` (Tết,
    Hùng Kings with its observed day, 30/4, 1/5, 2/9 and the swaps the package already knows);
    a weekend day the package lists as a make-up working day is worked. An override row
    (``flask calendar add``) wins over all of that. Office hours are ``OFFICE_HOURS``
    (default 07:30-11:30 and 13:00-17:00, Vietnam time), and only they count.

The counting rule (``compute_due``)
    1. A dossier received outside office hours (at night, at lunch, on a day off) is deemed
       received at the next opening of the office: the dossiers issue, DESIGN §6 and one-stop
       practice count an after-hours online submission from the next working day.
    2. Working days: the day of receipt is not counted; counting starts on the next working
       day (Civil Code 2015, Art. 147(2): "ngày đầu tiên của thời hạn không được tính"). The
       dossier is due at the close of office of the Nth counted working day. Art. 148 ends a
       day term at the end of its last day; for a service delivered at a counter that is the
       close of office, the last moment an officer can hand over a result. Received Thursday
       12/02/2026 at 14:00 with 3 working days: Friday 13/02 is day 1, Tết (16-20/02) and two
       weekends are skipped, Monday 23/02 is day 2, so the result is due Tuesday 24/02 at 17:00.
    3. Working hours: counting starts at the (deemed) moment of receipt (Art. 147(1)), and the
       dossier is due when N office hours have passed: received 10:00 with 8 working hours, due
       10:00 the next working day.
    4. The clock stops while the dossier waits for the citizen (supplement requested until
       resubmitted, fees asked until paid). Such a wait is given back as the office time it
       covers, and only the part that falls after counting started: a wait on the uncounted day
       of receipt, or after the deadline had already passed, moves nothing. Because of that a
       working-days deadline after a pause can fall within a day (a 2-hour wait moves 17:00 to
       09:30 the next working day, not to the next evening).

    Rules 2 and 3 run on one office clock: N working days are N x the office time of a day,
    counted from the opening of the first counted day. That is what lets pauses be measured
    in office time for both units.

Late and soon
    ``is_overdue``: now is past the due moment (SQL: ``due_at < now``).
    ``due_soon_cutoff``: at most one working day of office time left
    (SQL: ``due_at >= now AND due_at <= cutoff``).
    ``working_days_left``: the same measure as a whole number for people to read.
    ``end_of_working_day``: the new due moment when an officer extends a late dossier to a day.

Every function takes keyword arguments; moments must be timezone-aware and are returned in UTC.
A ``WorkingCalendar`` reads the override table once per calendar year a computation touches;
``current_calendar()`` gives one to callers that compute many deadlines in one go.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from backend.errors import Conflict, NotFound, ValidationFailed
from backend.extensions import db
from backend.workdays.calendar import (
    WorkingCalendar,
    local_day,
    package_says_working_day,
    require_aware,
    require_day,
)
from backend.workdays.models import CalendarOverride, OverrideKind

MAX_NOTE_LENGTH = 500


class DeadlineUnit(enum.StrEnum):
    """The units a procedure's processing time is given in (as in the catalog)."""

    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"


class CalendarOverrideExists(Conflict):
    code = "calendar-override-exists"


class CalendarOverrideNotFound(NotFound):
    code = "calendar-override-not-found"


class CalendarOverrideInvalid(ValidationFailed):
    code = "calendar-override-invalid"


class NotAWorkingDay(ValidationFailed):
    code = "not-a-working-day"


# --- the calendar of this application -----------------------------------------------------


_OVERRIDES_BETWEEN = sa.select(CalendarOverride.day, CalendarOverride.kind).where(
    CalendarOverride.day.between(sa.bindparam("first"), sa.bindparam("last"))
)


def _overrides_of_year(year: int) -> dict[date, bool]:
    rows = db.session.execute(
        _OVERRIDES_BETWEEN, {"first": date(year, 1, 1), "last": date(year, 12, 31)}
    )
    return {day: kind is OverrideKind.WORKING_DAY for day, kind in rows}


def current_calendar() -> WorkingCalendar:
    """A calendar with this app's office hours and the override table as it is now."""
    return WorkingCalendar(
        office_periods=current_app.config["OFFICE_HOURS"], load_overrides=_overrides_of_year
    )


def _calendar(calendar: WorkingCalendar | None) -> WorkingCalendar:
    return calendar if calendar is not None else current_calendar()


# --- days and moments ------------------------------------------------------------------------


def is_working_day(*, day: date, calendar: WorkingCalendar | None = None) -> bool:
    """Whether the office is open on ``day`` (a calendar day in Vietnam)."""
    return _calendar(calendar).is_working_day(require_day("day", day))


def next_working_moment(*, moment: datetime, calendar: WorkingCalendar | None = None) -> datetime:
    """``moment`` when the office is open then, else the start of the next office period."""
    return _calendar(calendar).next_working_moment(require_aware("moment", moment))


def end_of_working_day(*, day: date, calendar: WorkingCalendar | None = None) -> datetime:
    """The close of office on ``day``: the due moment of a deadline moved to that day."""
    calendar = _calendar(calendar)
    if not calendar.is_working_day(require_day("day", day)):
        raise NotAWorkingDay(
            (
                f"Ngày {day:%d/%m/%Y} không phải ngày làm việc.",
                f"{day.isoformat()} is not a working day.",
            ),
            errors={"day": ["Not a working day."]},
        )
    return calendar.closing_of(day)


def office_time_between(
    *, start: datetime, end: datetime, calendar: WorkingCalendar | None = None
) -> timedelta:
    """Office time between two moments, e.g. how long a dossier waited for a supplement."""
    start, end = require_aware("start", start), require_aware("end", end)
    return _calendar(calendar).office_time_between(start, end)


def _first_counted_day(calendar: WorkingCalendar, received_at: datetime) -> date:
    """The receiving day is not counted; a dossier received after hours counts as received at
    the next opening, so its first counted day is the working day after that opening's day."""
    deemed_received = calendar.next_working_moment(received_at)
    return calendar.next_working_day_after(local_day(deemed_received))


def _positive(name: str, amount: int) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise ValueError(f"{name} must be a whole number of at least 1")
    return amount


def add_working_days(
    *, start: datetime, days: int, calendar: WorkingCalendar | None = None
) -> datetime:
    """Close of office on the ``days``-th working day after the day ``start`` counts as."""
    calendar = _calendar(calendar)
    day = _first_counted_day(calendar, require_aware("start", start))
    for _ in range(_positive("days", days) - 1):
        day = calendar.next_working_day_after(day)
    return calendar.closing_of(day)


def add_working_hours(
    *, start: datetime, hours: int, calendar: WorkingCalendar | None = None
) -> datetime:
    """The moment ``hours`` office hours after ``start`` (or after the next opening)."""
    calendar = _calendar(calendar)
    begin = calendar.next_working_moment(require_aware("start", start))
    return calendar.add_office_time(begin, timedelta(hours=_positive("hours", hours)))


def _waits(pauses: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    checked = []
    for start, end in pauses:
        start, end = require_aware("pause start", start), require_aware("pause end", end)
        if end < start:
            raise ValueError("a pause cannot end before it starts")
        checked.append((start, end))
    return checked


def compute_due(
    *,
    received_at: datetime,
    amount: int,
    unit: DeadlineUnit | str,
    pauses: Iterable[tuple[datetime, datetime]] = (),
    calendar: WorkingCalendar | None = None,
) -> datetime:
    """The due moment of a dossier (or a petition): see the counting rule above.

    ``pauses`` are the finished waits for the citizen, (start, end) in any order, overlaps
    allowed. While a wait is still open, the deadline is unknown; passing (start, now) gives the
    earliest the dossier could be due if it resumed now.
    """
    calendar = _calendar(calendar)
    received_at = require_aware("received_at", received_at)
    unit, amount = DeadlineUnit(unit), _positive("amount", amount)
    waits = _waits(pauses)
    if unit is DeadlineUnit.WORKING_HOURS:
        clock_start = calendar.next_working_moment(received_at)
        budget = timedelta(hours=amount)
    else:
        clock_start = calendar.opening_of(_first_counted_day(calendar, received_at))
        budget = amount * calendar.office_day
    return calendar.run_clock(start=clock_start, budget=budget, pauses=waits)


# --- late and soon -----------------------------------------------------------------------------


def is_overdue(*, now: datetime, due: datetime) -> bool:
    """Past the due moment; the same test as ``due_at < now`` in SQL."""
    return require_aware("now", now) > require_aware("due", due)


def due_soon_cutoff(
    *, now: datetime, within_working_days: int = 1, calendar: WorkingCalendar | None = None
) -> datetime:
    """The latest due moment that is still "due soon" as of ``now``.

    Due soon means at most ``within_working_days`` working days of office time remain, so a
    query can select ``now <= due_at <= cutoff``. On Friday at 16:00 the cutoff with one day is
    Monday 16:00: the weekend does not count.
    """
    calendar = _calendar(calendar)
    budget = _positive("within_working_days", within_working_days) * calendar.office_day
    return calendar.add_office_time(require_aware("now", now), budget)


def working_days_left(
    *, now: datetime, due: datetime, calendar: WorkingCalendar | None = None
) -> int:
    """Whole working days of office time left until ``due``, any part counting as one.

    Never zero: 1 while less than a day of office time is left (up to the due moment itself),
    -1 when late by up to one working day, -2 when late by more, and so on.
    """
    calendar = _calendar(calendar)
    now, due = require_aware("now", now), require_aware("due", due)
    if is_overdue(now=now, due=due):
        late = calendar.office_time_between(due, now)
        return -max(1, -(-late // calendar.office_day))
    left = calendar.office_time_between(now, due)
    return max(1, -(-left // calendar.office_day))


# --- the override table --------------------------------------------------------------------


def _clean_note(note: str) -> str:
    note = (note or "").strip()
    if not note or len(note) > MAX_NOTE_LENGTH:
        raise CalendarOverrideInvalid(
            (
                "Hãy ghi căn cứ (văn bản thông báo) trong tối đa 500 ký tự.",
                "Say which announcement decided it, in at most 500 characters.",
            ),
            errors={"note": [f"Length must be between 1 and {MAX_NOTE_LENGTH}."]},
        )
    return note


_ALREADY = {
    OverrideKind.WORKING_DAY: ("ngày làm việc", "a working day"),
    OverrideKind.DAY_OFF: ("ngày nghỉ", "a day off"),
}


def add_override(*, day: date, kind: OverrideKind | str, note: str) -> CalendarOverride:
    """Record an announced extra day off or make-up working day."""
    day, kind, note = require_day("day", day), OverrideKind(kind), _clean_note(note)
    # An override that says what the calendar already says is almost always a wrong date.
    if package_says_working_day(day) == (kind is OverrideKind.WORKING_DAY):
        state_vi, state_en = _ALREADY[kind]
        raise CalendarOverrideInvalid(
            (
                f"Ngày {day:%d/%m/%Y} vốn đã là {state_vi}; hãy kiểm tra lại ngày.",
                f"{day.isoformat()} is already {state_en}; check the date.",
            ),
            errors={"day": [f"Already {state_en}."]},
        )
    override = CalendarOverride(day=day, kind=kind, note=note)
    try:
        with db.session.begin_nested():
            db.session.add(override)
    except IntegrityError as error:  # the unique day, also when two admins add it at once
        raise CalendarOverrideExists(
            (
                f"Ngày {day:%d/%m/%Y} đã có điều chỉnh lịch; hãy xoá trước khi thêm lại.",
                f"{day.isoformat()} already has an override; remove it first.",
            )
        ) from error
    return override


def remove_override(*, day: date) -> None:
    """Forget the override of ``day``; the package and the weekend decide again."""
    override = db.session.scalar(
        sa.select(CalendarOverride).where(CalendarOverride.day == require_day("day", day))
    )
    if override is None:
        raise CalendarOverrideNotFound(
            (
                f"Ngày {day:%d/%m/%Y} không có điều chỉnh lịch nào.",
                f"{day.isoformat()} has no override.",
            )
        )
    db.session.delete(override)
    db.session.flush()


def list_overrides(*, year: int | None = None) -> list[CalendarOverride]:
    """The overrides in date order, of one year or all of them."""
    statement = sa.select(CalendarOverride).order_by(CalendarOverride.day)
    if year is not None:
        statement = statement.where(
            CalendarOverride.day.between(date(year, 1, 1), date(year, 12, 31))
        )
    return list(db.session.scalars(statement))
