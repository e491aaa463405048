"""Working days, the next office moment and office time between moments."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import holidays
import pytest
import sqlalchemy as sa

from backend import config as config_module
from backend.extensions import db
from backend.workdays import calendar as calendar_module
from backend.workdays import services
from backend.workdays.models import OverrideKind
from tests.helpers.processes import python_output
from tests.workdays import vn

pytestmark = pytest.mark.usefixtures("ctx")


@pytest.mark.parametrize(
    "day, working",
    [
        (date(2026, 1, 1), False),  # New Year
        (date(2026, 2, 13), True),  # the Friday before Tết
        (date(2026, 2, 14), False),  # Saturday
        *[(date(2026, 2, d), False) for d in range(16, 21)],  # Tết, Mon 16 - Fri 20
        (date(2026, 2, 23), True),  # back to work
        (date(2026, 4, 26), False),  # Hùng Kings, a Sunday
        (date(2026, 4, 27), False),  # ... observed on Monday
        (date(2026, 4, 28), True),
        (date(2026, 4, 30), False),  # Reunification Day, Thursday
        (date(2026, 5, 1), False),  # Labour Day, Friday
        (date(2026, 5, 4), True),
        (date(2026, 8, 22), True),  # Saturday worked for the 31/8 swap
        (date(2026, 8, 31), False),  # the day off it pays for
        (date(2026, 9, 1), False),  # National Day, two days
        (date(2026, 9, 2), False),
        (date(2026, 9, 3), True),
        (date(2026, 11, 24), False),  # Vietnam Culture Day, a day off since 2026
    ],
)
def test_vietnamese_calendar_2026(day, working):
    assert services.is_working_day(day=day) is working


@pytest.mark.parametrize(
    "day, kind, working",
    [
        (date(2026, 4, 25), OverrideKind.WORKING_DAY, True),  # a Saturday
        (date(2026, 2, 20), OverrideKind.WORKING_DAY, True),  # a Tết holiday of the package
        (date(2026, 4, 28), OverrideKind.DAY_OFF, False),  # an ordinary Tuesday
        (date(2026, 8, 22), OverrideKind.DAY_OFF, False),  # the package's make-up Saturday
    ],
)
def test_overrides_win_over_weekends_and_the_holiday_list(day, kind, working):
    assert services.is_working_day(day=day) is not working
    services.add_override(day=day, kind=kind, note="Thông báo của Bộ Nội vụ")
    assert services.is_working_day(day=day) is working


def test_a_datetime_is_not_a_day():
    with pytest.raises(TypeError):
        services.is_working_day(day=datetime(2026, 4, 28, 9, tzinfo=UTC))


@pytest.mark.parametrize(
    "moment, expected",
    [
        (vn(2026, 2, 12, 10), vn(2026, 2, 12, 10)),  # open: the moment itself
        (vn(2026, 2, 12, 7, 30), vn(2026, 2, 12, 7, 30)),  # opening time is open
        (vn(2026, 2, 12, 6), vn(2026, 2, 12, 7, 30)),  # early morning
        (vn(2026, 2, 12, 11, 30), vn(2026, 2, 12, 13)),  # closing for lunch is closed
        (vn(2026, 2, 12, 11, 45), vn(2026, 2, 12, 13)),  # lunch
        (vn(2026, 2, 12, 17), vn(2026, 2, 13, 7, 30)),  # evening closing time
        (vn(2026, 2, 13, 17, 30), vn(2026, 2, 23, 7, 30)),  # Friday night before Tết
        (vn(2026, 4, 25, 9), vn(2026, 4, 28, 7, 30)),  # Saturday before Hùng Kings observed
        (vn(2026, 4, 29, 18), vn(2026, 5, 4, 7, 30)),  # the evening before 30/4-1/5
        (datetime(2026, 2, 12, 0, tzinfo=UTC), vn(2026, 2, 12, 7, 30)),  # 00:00 UTC = 07:00
    ],
)
def test_next_working_moment(moment, expected):
    result = services.next_working_moment(moment=moment)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    "start, end, expected",
    [
        # 10:00-11:30 = 1.5 h, 13:00-14:00 = 1 h.
        (vn(2026, 2, 12, 10), vn(2026, 2, 12, 14), timedelta(hours=2.5)),
        # Lunch only.
        (vn(2026, 2, 12, 12), vn(2026, 2, 12, 12, 30), timedelta()),
        # One whole day.
        (vn(2026, 4, 29, 7, 30), vn(2026, 4, 29, 17), timedelta(hours=8)),
        # Fri 13/02 15:00-17:00 = 2 h; Tết and two weekends; Mon 23 07:30-09:00 = 1.5 h.
        (vn(2026, 2, 13, 15), vn(2026, 2, 23, 9), timedelta(hours=3.5)),
        # Saturday to Monday evening around Hùng Kings: nothing.
        (vn(2026, 4, 25, 8), vn(2026, 4, 27, 20), timedelta()),
        # Wed 29/04 to Wed 06/05: Wed 29, Mon 4, Tue 5, Wed 6 = 4 days.
        (vn(2026, 4, 29, 7, 30), vn(2026, 5, 6, 17), timedelta(hours=32)),
        # An empty interval.
        (vn(2026, 4, 29, 9), vn(2026, 4, 29, 9), timedelta()),
        # In UTC: 03:00-07:00 UTC is 10:00-14:00 in Vietnam.
        (
            datetime(2026, 2, 12, 3, tzinfo=UTC),
            datetime(2026, 2, 12, 7, tzinfo=UTC),
            timedelta(hours=2.5),
        ),
    ],
)
def test_office_time_between(start, end, expected):
    assert services.office_time_between(start=start, end=end) == expected


def test_office_time_between_counts_a_make_up_saturday():
    # Fri 24/04 17:00 to Tue 28/04 07:30: only the make-up Saturday, 8 h.
    services.add_override(
        day=date(2026, 4, 25), kind=OverrideKind.WORKING_DAY, note="Làm bù cho ngày 28/4"
    )
    elapsed = services.office_time_between(start=vn(2026, 4, 24, 17), end=vn(2026, 4, 28, 7, 30))
    assert elapsed == timedelta(hours=8)


def test_office_time_between_refuses_a_backwards_interval():
    with pytest.raises(ValueError):
        services.office_time_between(start=vn(2026, 4, 29, 10), end=vn(2026, 4, 29, 9))


def test_naive_moments_are_refused():
    with pytest.raises(ValueError):
        services.next_working_moment(moment=datetime(2026, 4, 29, 10))


# --- efficiency -------------------------------------------------------------------------------


@pytest.fixture
def override_queries(app):
    """Counts the statements that read the override table."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "calendar_overrides" in statement:
            statements.append(statement)

    connection = db.engine  # the test's connection (see conftest)
    sa.event.listen(connection, "before_cursor_execute", record)
    yield statements
    sa.event.remove(connection, "before_cursor_execute", record)


def test_overrides_are_read_once_per_year_touched(override_queries):
    # 5 working days over Tết: weeks of days checked, one query.
    services.compute_due(received_at=vn(2026, 2, 12, 14), amount=5, unit="working_days")
    assert len(override_queries) == 1
    # Across New Year: 2026 and 2027.
    services.compute_due(received_at=vn(2026, 12, 30, 10), amount=5, unit="working_days")
    assert len(override_queries) == 3


def test_the_holiday_table_is_what_the_installed_package_says():
    # After upgrading the package: `flask calendar holidays-table`, and read the diff.
    table = calendar_module.holiday_table(holidays)
    written = calendar_module.HOLIDAY_TABLE.read_text(encoding="utf-8")
    assert calendar_module.holiday_table_text(table) == written
    assert json.loads(written) == table
    # Tết 2026 (16-20 February) and the make-up Saturday the package knows for 2025.
    days_off, _ = calendar_module.package_exceptions(2026)
    assert {date(2026, 2, day) for day in range(16, 21)} <= days_off
    assert calendar_module.package_exceptions(2025)[1] == frozenset(
        date.fromisoformat(day) for day in table["years"]["2025"]["make_up_days"]
    )
    # Past the table, as past the package's own data: weekends only.
    assert calendar_module.package_exceptions(2150) == (frozenset(), frozenset())
    assert not holidays.VN(years=2150)


def test_the_served_app_does_not_load_the_holiday_package(tmp_path):
    script = (
        "import sys\n"
        "from datetime import datetime\n"
        "from backend import create_app\n"
        "from backend.extensions import db\n"
        "from backend.workdays import services\n"
        "from tests.workdays import vn\n"
        "with create_app().app_context():\n"
        "    db.create_all()\n"
        "    services.compute_due(received_at=vn(2026, 2, 12, 14), amount=5, unit='working_days')\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'holidays'))\n"
    )
    assert python_output(script, tmp_path) == "[]"


# --- office hours from the configuration --------------------------------------------------------


def test_office_hours_come_from_the_configuration(app, monkeypatch):
    monkeypatch.setitem(app.config, "OFFICE_HOURS", ((time(8), time(12)), (time(13), time(17))))
    # 10:00 + 2 h ends at 12:00 sharp, where the default hours would break at 11:30.
    assert services.add_working_hours(start=vn(2026, 4, 23, 10), hours=2) == vn(2026, 4, 23, 12)
    assert services.next_working_moment(moment=vn(2026, 4, 23, 7, 45)) == vn(2026, 4, 23, 8)


def test_a_working_day_is_the_office_time_of_the_configuration(app, monkeypatch):
    monkeypatch.setitem(app.config, "OFFICE_HOURS", ((time(6), time(12)),))
    # A 6-hour day from 06:00. Received Thu 23/04 06:30 (still Wed 23:30 in UTC: days are
    # Vietnamese days): Thu not counted, Fri 24 = 1, closing at 12:00.
    due = services.compute_due(received_at=vn(2026, 4, 23, 6, 30), amount=1, unit="working_days")
    assert due == vn(2026, 4, 24, 12)
    # Fri 06:00-12:00 is exactly one such day; a minute more on Thursday makes two.
    assert services.working_days_left(now=vn(2026, 4, 24, 6), due=due) == 1
    assert services.working_days_left(now=vn(2026, 4, 23, 11, 59), due=due) == 2


@pytest.mark.parametrize(
    "text, expected",
    [
        (None, ((time(7, 30), time(11, 30)), (time(13), time(17)))),  # the default
        ("08:00-12:00, 13:30-17:30", ((time(8), time(12)), (time(13, 30), time(17, 30)))),
        ("07:00-15:00", ((time(7), time(15)),)),
    ],
)
def test_office_hours_setting(tmp_path, text, expected):
    environ = {"SECRET_KEY": "x", **({"OFFICE_HOURS": text} if text else {})}
    assert config_module.load(str(tmp_path), environ)["OFFICE_HOURS"] == expected


@pytest.mark.parametrize(
    "text",
    ["7h30-11h30", "07:30-11:30;13:00-17:00", "11:30-07:30", "07:30-11:30,11:00-17:00", "08:00"],
)
def test_bad_office_hours_stop_the_start(tmp_path, text):
    with pytest.raises(RuntimeError, match="OFFICE_HOURS"):
        config_module.load(str(tmp_path), {"SECRET_KEY": "x", "OFFICE_HOURS": text})
