"""The office clock: which days are working days, and how much office time lies between moments.

Pure arithmetic, no database and no Flask: ``WorkingCalendar`` is given the office periods and a
function that returns the admin's overrides for a year. ``backend.workdays.services`` binds both
to the application and states the legal counting rules on top of this clock.

All moments going in must be timezone-aware; every moment coming out is in UTC. Days and office
hours are those of Vietnam (Asia/Ho_Chi_Minh, UTC+7, no daylight saving time).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

LEGAL_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")

# Saturday and Sunday (date.weekday() numbering): civil servants work Monday to Friday.
WEEKEND = frozenset({5, 6})

# A calendar whose days are all off (a runaway override table) must fail, not loop forever.
MAX_DAYS_WITHOUT_WORK = 366

OfficePeriods = tuple[tuple[time, time], ...]
# Overrides of one year: day -> True for a make-up working day, False for an extra day off.
OverrideLoader = Callable[[int], Mapping[date, bool]]


# The public holidays and make-up working days of the ``holidays`` package, written out for
# these years by ``flask calendar holidays-table``; tests/workdays fail when the table and the
# installed package disagree. A process that read the package itself would carry it (about
# 12 MiB) and import some 280 modules on its first deadline: its countries package loads
# every country. The package has no Vietnamese holidays past 2100 either.
HOLIDAY_TABLE = Path(__file__).with_name("vn_holidays.json")
TABLE_YEARS = range(2000, 2101)


@functools.cache
def _table() -> dict[str, dict[str, list[str]]]:
    return json.loads(HOLIDAY_TABLE.read_text(encoding="utf-8"))["years"]


@functools.lru_cache(maxsize=32)
def package_exceptions(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """What the ``holidays`` package says about ``year``, apart from ordinary weekends.

    Returns the weekdays that are public holidays (including observed days and the announced
    swaps the package already knows) and the weekend days that are make-up working days, as
    the table holds them. A year outside the table has neither, as in the package.
    """
    entry = _table().get(str(year), {})
    return (
        frozenset(date.fromisoformat(day) for day in entry.get("days_off", ())),
        frozenset(date.fromisoformat(day) for day in entry.get("make_up_days", ())),
    )


def holiday_table(package, years: Iterable[int] = TABLE_YEARS) -> dict:
    """The table ``package`` (the ``holidays`` module) gives for ``years``."""
    table = {}
    for year in years:
        public_holidays = package.VN(years=year)
        days_off = (d for d in public_holidays if d.year == year and d.weekday() not in WEEKEND)
        make_up_days = (d for d in public_holidays.weekend_workdays if d.year == year)
        table[str(year)] = {
            "days_off": [day.isoformat() for day in sorted(days_off)],
            "make_up_days": [day.isoformat() for day in sorted(make_up_days)],
        }
    return {"package": f"holidays {package.__version__}", "years": table}


def holiday_table_text(table: dict) -> str:
    """The table as the file holds it: a year a line, so that a package upgrade diffs well."""
    years = ",\n".join(
        f"  {json.dumps(year)}: {json.dumps(entry)}" for year, entry in table["years"].items()
    )
    return f'{{\n "package": {json.dumps(table["package"])},\n "years": {{\n{years}\n }}\n}}\n'


def package_says_working_day(day: date) -> bool:
    """Weekends and public holidays from the package alone, before any admin override."""
    days_off, make_up_days = package_exceptions(day.year)
    if day.weekday() in WEEKEND:
        return day in make_up_days
    return day not in days_off


def require_aware(name: str, moment: datetime) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)


def require_day(name: str, day: date) -> date:
    # A datetime is a date too; accepting one would silently drop its time and zone.
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"{name} must be a date, not {type(day).__name__}")
    return day


def local_day(moment: datetime) -> date:
    """The calendar day in Vietnam at that moment."""
    return moment.astimezone(LEGAL_TIMEZONE).date()


class WorkingCalendar:
    """Working days and office time for one computation.

    Overrides are loaded lazily, one call of ``load_overrides`` per calendar year touched, and
    kept for the life of the object: create one per computation (or per request) so that a
    change to the override table is seen by the next one.
    """

    def __init__(self, *, office_periods: OfficePeriods, load_overrides: OverrideLoader):
        if not office_periods:
            raise ValueError("a working day needs at least one office period")
        self.office_periods = office_periods
        self._load_overrides = load_overrides
        self._overrides: dict[int, Mapping[date, bool]] = {}

    @property
    def office_day(self) -> timedelta:
        """Office time in one working day (8 hours with the default office hours)."""
        return sum(
            (
                datetime.combine(date.min, end) - datetime.combine(date.min, start)
                for start, end in self.office_periods
            ),
            timedelta(),
        )

    def is_working_day(self, day: date) -> bool:
        """An override decides; otherwise the package's holidays and make-up days, then weekends."""
        if day.year not in self._overrides:
            self._overrides[day.year] = self._load_overrides(day.year)
        override = self._overrides[day.year].get(day)
        if override is not None:
            return override
        return package_says_working_day(day)

    def periods_of(self, day: date) -> list[tuple[datetime, datetime]]:
        """The office periods of ``day`` as UTC moments; none on a day off."""
        if not self.is_working_day(day):
            return []
        return [
            (
                datetime.combine(day, start, tzinfo=LEGAL_TIMEZONE).astimezone(UTC),
                datetime.combine(day, end, tzinfo=LEGAL_TIMEZONE).astimezone(UTC),
            )
            for start, end in self.office_periods
        ]

    def working_days_from(self, day: date) -> Iterator[date]:
        """``day`` (when it is a working day) and every working day after it, in order."""
        days_without_work = 0
        while True:
            if self.is_working_day(day):
                days_without_work = 0
                yield day
            else:
                days_without_work += 1
                if days_without_work > MAX_DAYS_WITHOUT_WORK:
                    raise RuntimeError(f"no working day in the year before {day.isoformat()}")
            day += timedelta(days=1)

    def office_periods_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Office time from ``moment`` on, as (start, end) UTC pairs, the first one cut at it."""
        for day in self.working_days_from(local_day(moment)):
            for start, end in self.periods_of(day):
                if end > moment:
                    yield max(start, moment), end

    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` itself when the office is open then, else the next opening."""
        start, _ = next(self.office_periods_from(moment))
        return start

    def opening_of(self, day: date) -> datetime:
        return self.periods_of(day)[0][0]

    def closing_of(self, day: date) -> datetime:
        return self.periods_of(day)[-1][1]

    def next_working_day_after(self, day: date) -> date:
        return next(self.working_days_from(day + timedelta(days=1)))

    def add_office_time(self, start: datetime, amount: timedelta) -> datetime:
        """The earliest moment by which ``amount`` of office time has passed since ``start``.

        That is the end of a period when the amount runs out exactly there (17:00, not the
        next morning), and ``start`` itself for a zero amount.
        """
        if amount < timedelta():
            raise ValueError("office time to add cannot be negative")
        if not amount:
            return start
        remaining = amount
        for period_start, period_end in self.office_periods_from(start):
            if remaining <= period_end - period_start:
                return period_start + remaining
            remaining -= period_end - period_start
        raise AssertionError("office_periods_from never ends")  # pragma: no cover

    def office_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Office time within [start, end); ``end`` must not come before ``start``."""
        if end < start:
            raise ValueError("the end of an interval cannot come before its start")
        total = timedelta()
        for period_start, period_end in self.office_periods_from(start):
            if period_start >= end:
                break
            total += min(period_end, end) - period_start
        return total

    def run_clock(
        self,
        *,
        start: datetime,
        budget: timedelta,
        pauses: Iterable[tuple[datetime, datetime]],
    ) -> datetime:
        """When ``budget`` of office time has run from ``start``, the clock stopped in ``pauses``.

        Pauses may come in any order and overlap (a fee wait inside a supplement wait stops the
        clock once). Office time before ``start`` and pauses after the budget ran out change
        nothing.
        """
        cursor, remaining = start, budget
        for pause_start, pause_end in sorted(pauses):
            if pause_end <= cursor:
                continue
            if pause_start > cursor:
                running = self.office_time_between(cursor, pause_start)
                if running >= remaining:
                    return self.add_office_time(cursor, remaining)
                remaining -= running
            cursor = pause_end
        return self.add_office_time(cursor, remaining)
