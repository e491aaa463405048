"""Due dates across Tết 2026, Hùng Kings and 30/4-1/5, with pauses, computed by hand.

Office hours are the defaults, 07:30-11:30 and 13:00-17:00 Vietnam time (8 hours a day).
2026 as the holidays package gives it: Tết Mon 16 - Fri 20 Feb; Hùng Kings Sun 26 Apr, observed
Mon 27 Apr; 30 Apr (Thu) and 1 May (Fri); a swap: Mon 31 Aug off, Sat 22 Aug worked.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backend.workdays import services
from backend.workdays.models import OverrideKind
from tests.workdays import vn

pytestmark = pytest.mark.usefixtures("ctx")

DAYS, HOURS = "working_days", "working_hours"
MAKE_UP_SAT_25_APR = (date(2026, 4, 25), OverrideKind.WORKING_DAY)
BRIDGE_TUE_28_APR = (date(2026, 4, 28), OverrideKind.DAY_OFF)

# (received_at, amount, unit, pauses, overrides, expected due)
DUE_DATES = {
    # Thu 12/02 14:00: Thu not counted; Fri 13 = 1; Sat 14 - Sun 22 off (Tết and two weekends);
    # Mon 23 = 2; Tue 24 = 3 -> close of office Tue 24/02.
    "tet-3-days": (vn(2026, 2, 12, 14), 3, DAYS, [], [], vn(2026, 2, 24, 17)),
    # Thu 12/02 17:30 is after hours: deemed received Fri 13 07:30, Fri not counted;
    # Mon 23 = 1, Tue 24 = 2, Wed 25 = 3.
    "tet-after-hours": (vn(2026, 2, 12, 17, 30), 3, DAYS, [], [], vn(2026, 2, 25, 17)),
    # 17:00 sharp is already closed: deemed Fri 13 07:30; Mon 23 = 1.
    "closing-time-sharp": (vn(2026, 2, 12, 17), 1, DAYS, [], [], vn(2026, 2, 23, 17)),
    # Before opening (06:00) the day itself is the receiving day: Thu not counted; Fri 13 = 1.
    "before-opening": (vn(2026, 2, 12, 6), 1, DAYS, [], [], vn(2026, 2, 13, 17)),
    # Sat 14/02, in the Tết break: deemed Mon 23 07:30, Mon not counted; Tue 24 = 1.
    "saturday-in-tet": (vn(2026, 2, 14, 10), 1, DAYS, [], [], vn(2026, 2, 24, 17)),
    # Fri 13/02 11:45 is lunch: deemed Fri 13:00, still Friday, not counted; Mon 23 = 1.
    "lunch-before-tet": (vn(2026, 2, 13, 11, 45), 1, DAYS, [], [], vn(2026, 2, 23, 17)),
    # Fri 24/04 09:00: Sat 25, Sun 26 (Hùng Kings), Mon 27 (observed) off; Tue 28 = 1, Wed 29 = 2.
    "hung-kings": (vn(2026, 4, 24, 9), 2, DAYS, [], [], vn(2026, 4, 29, 17)),
    # Wed 29/04 10:00: Thu 30/4, Fri 1/5, Sat 2, Sun 3 off; Mon 4 = 1, Tue 5 = 2.
    "30-4-and-1-5": (vn(2026, 4, 29, 10), 2, DAYS, [], [], vn(2026, 5, 5, 17)),
    # Wed 29/04 17:30: deemed Mon 04/05 07:30, Mon not counted; Tue 5 = 1.
    "after-hours-before-30-4": (vn(2026, 4, 29, 17, 30), 1, DAYS, [], [], vn(2026, 5, 5, 17)),
    # Override: Sat 25/04 is a make-up working day. Fri 24 09:00: Sat 25 = 1; Sun 26, Mon 27 off;
    # Tue 28 = 2.
    "make-up-saturday": (
        vn(2026, 4, 24, 9), 2, DAYS, [], [MAKE_UP_SAT_25_APR], vn(2026, 4, 28, 17),
    ),
    # Received on that make-up Saturday: Sat not counted; Sun 26, Mon 27 off; Tue 28 = 1.
    "received-on-make-up-saturday": (
        vn(2026, 4, 25, 10), 1, DAYS, [], [MAKE_UP_SAT_25_APR], vn(2026, 4, 28, 17),
    ),
    # Override: Tue 28/04 is an extra day off (bridging 27/4 to 30/4). Fri 24 09:00:
    # Sat 25 - Tue 28 off; Wed 29 = 1; Thu 30 - Sun 3 off; Mon 4 = 2.
    "bridging-day-off": (
        vn(2026, 4, 24, 9), 2, DAYS, [], [BRIDGE_TUE_28_APR], vn(2026, 5, 4, 17),
    ),
    # The package's own swap: Fri 21/08 = 1, Sat 22/08 (make-up day) = 2.
    "package-make-up-saturday": (vn(2026, 8, 20, 10), 2, DAYS, [], [], vn(2026, 8, 22, 17)),
    # Wed 30/12/2026: Thu 31 = 1; Fri 1/1/2027 New Year, Sat 2, Sun 3 off; Mon 4/1/2027 = 2.
    "new-year": (vn(2026, 12, 30, 10), 2, DAYS, [], [], vn(2027, 1, 4, 17)),
    # Hours over lunch: Thu 12/02 10:30-11:30 = 1 h, 13:00-14:00 = 1 h.
    "hours-over-lunch": (vn(2026, 2, 12, 10, 30), 2, HOURS, [], [], vn(2026, 2, 12, 14)),
    # Hours over a night: Thu 23/04 16:00-17:00 = 1 h; Fri 24 07:30-09:30 = 2 h.
    "hours-over-a-night": (vn(2026, 4, 23, 16), 3, HOURS, [], [], vn(2026, 4, 24, 9, 30)),
    # Received at lunch (11:45): the hours start at 13:00; 13:00-17:00 = 4 h.
    "hours-from-lunch": (vn(2026, 4, 23, 11, 45), 4, HOURS, [], [], vn(2026, 4, 23, 17)),
    # 8 h across 30/4-1/5: Wed 29/04 10:00-11:30 = 1.5 h, 13:00-17:00 = 4 h; 2.5 h left;
    # Thu 30 - Sun 3 off; Mon 04/05 07:30 + 2.5 h = 10:00.
    "hours-over-30-4": (vn(2026, 4, 29, 10), 8, HOURS, [], [], vn(2026, 5, 4, 10)),
    # Sat 14/02 in the Tết break: the hours start Mon 23/02 07:30; 4 h = 11:30.
    "hours-from-saturday": (vn(2026, 2, 14, 10), 4, HOURS, [], [], vn(2026, 2, 23, 11, 30)),
    # A whole day of hours ends at closing time, not at the next opening.
    "hours-whole-day": (vn(2026, 2, 24, 7, 30), 8, HOURS, [], [], vn(2026, 2, 24, 17)),
    # Supplement over a weekend and Hùng Kings. Thu 23/04 09:00, 5 days: Fri 24 = 1, Tue 28 = 2,
    # Wed 29 = 3, Mon 4 = 4, Tue 5 = 5 -> Tue 05/05 17:00 without the wait. Waiting Fri 24 15:00
    # to Tue 28 09:00 covers Fri 15:00-17:00 = 2 h, Sat, Sun, Mon 27 = 0, Tue 07:30-09:00
    # = 1.5 h: 3.5 h given back -> Wed 06/05 07:30 + 3.5 h = 11:00.
    "supplement-over-weekend-and-holiday": (
        vn(2026, 4, 23, 9), 5, DAYS,
        [(vn(2026, 4, 24, 15), vn(2026, 4, 28, 9))], [], vn(2026, 5, 6, 11),
    ),
    # A fee wait on the uncounted day of receipt (Thu 10:00-15:00) gives nothing back:
    # Fri 13 = 1, as without it.
    "fees-on-receiving-day": (
        vn(2026, 2, 12, 9), 1, DAYS,
        [(vn(2026, 2, 12, 10), vn(2026, 2, 12, 15))], [], vn(2026, 2, 13, 17),
    ),
    # A supplement asked on the day of receipt (Thu 14:00) and answered Fri 09:30: only
    # Fri 07:30-09:30 = 2 h was counted time. Due Fri 24 17:00 + 2 h -> Tue 28 07:30 + 2 h.
    "supplement-from-receiving-day": (
        vn(2026, 4, 23, 9), 1, DAYS,
        [(vn(2026, 4, 23, 14), vn(2026, 4, 24, 9, 30))], [], vn(2026, 4, 28, 9, 30),
    ),
    # Overlapping waits (fees Fri 08:00-10:00 inside supplement 09:00-11:00) count once:
    # 08:00-11:00 = 3 h. Due Fri 24 17:00 + 3 h -> Tue 28 07:30 + 3 h = 10:30.
    "overlapping-waits": (
        vn(2026, 4, 23, 9), 1, DAYS,
        [(vn(2026, 4, 24, 9), vn(2026, 4, 24, 11)), (vn(2026, 4, 24, 8), vn(2026, 4, 24, 10))],
        [], vn(2026, 4, 28, 10, 30),
    ),
    # A wait after the deadline had passed (Tue 28 08:00-10:00) does not make it on time.
    "wait-after-deadline": (
        vn(2026, 4, 23, 9), 1, DAYS,
        [(vn(2026, 4, 28, 8), vn(2026, 4, 28, 10))], [], vn(2026, 4, 24, 17),
    ),
    # Hours with a supplement across Tết: Thu 12/02 15:00, 8 h. Runs 15:00-16:00 = 1 h, waits
    # Thu 16:00 to Mon 23/02 08:30, 7 h left: 08:30-11:30 = 3 h, 13:00-17:00 = 4 h.
    "hours-supplement-across-tet": (
        vn(2026, 2, 12, 15), 8, HOURS,
        [(vn(2026, 2, 12, 16), vn(2026, 2, 23, 8, 30))], [], vn(2026, 2, 23, 17),
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    "received_at, amount, unit, pauses, overrides, expected",
    DUE_DATES.values(),
    ids=DUE_DATES.keys(),
)
def test_due_dates(received_at, amount, unit, pauses, overrides, expected):
    for day, kind in overrides:
        services.add_override(day=day, kind=kind, note="Thông báo hoán đổi ngày làm việc")

    due = services.compute_due(received_at=received_at, amount=amount, unit=unit, pauses=pauses)

    assert due == expected
    assert due.tzinfo is UTC


def test_due_moments_are_utc_instants():
    due = services.compute_due(received_at=vn(2026, 2, 12, 14), amount=3, unit=DAYS)
    # 17:00 in Vietnam is 10:00 UTC.
    assert due.isoformat() == "2026-02-24T10:00:00+00:00"


def test_received_at_in_any_timezone_is_the_same_instant():
    # 07:00 UTC is 14:00 in Vietnam: the Tết row again.
    received_at = datetime(2026, 2, 12, 7, tzinfo=UTC)
    due = services.compute_due(received_at=received_at, amount=3, unit=DAYS)
    assert due == vn(2026, 2, 24, 17)


def test_adding_days_and_hours_directly():
    assert services.add_working_days(start=vn(2026, 2, 12, 14), days=3) == vn(2026, 2, 24, 17)
    assert services.add_working_days(start=vn(2026, 4, 29, 17, 30), days=1) == vn(2026, 5, 5, 17)
    assert services.add_working_hours(start=vn(2026, 4, 29, 10), hours=8) == vn(2026, 5, 4, 10)
    assert services.add_working_hours(start=vn(2026, 4, 23, 11, 45), hours=4) == vn(2026, 4, 23, 17)


@pytest.mark.parametrize(
    "arguments",
    [
        {"received_at": datetime(2026, 2, 12, 14), "amount": 3, "unit": DAYS},  # naive
        {"received_at": vn(2026, 2, 12, 14), "amount": 0, "unit": DAYS},
        {"received_at": vn(2026, 2, 12, 14), "amount": 3, "unit": "months"},
        {
            "received_at": vn(2026, 2, 12, 14),
            "amount": 3,
            "unit": DAYS,
            "pauses": [(vn(2026, 2, 13, 10), vn(2026, 2, 13, 9))],  # ends before it starts
        },
    ],
    ids=["naive", "zero", "unit", "backwards-pause"],
)
def test_bad_arguments_are_programming_errors(arguments):
    with pytest.raises(ValueError):
        services.compute_due(**arguments)


# --- late and soon -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "now, due, expected",
    [
        # One hour of office time left.
        (vn(2026, 4, 24, 16), vn(2026, 4, 24, 17), 1),
        # Fri 16:00-17:00 = 1 h, Tue 28 07:30-16:00 = 7 h (Mon 27 is off): exactly one day.
        (vn(2026, 4, 24, 16), vn(2026, 4, 28, 16), 1),
        # One hour more: 9 h, the start of a second day.
        (vn(2026, 4, 24, 16), vn(2026, 4, 28, 17), 2),
        # Due now: not late yet.
        (vn(2026, 4, 24, 17), vn(2026, 4, 24, 17), 1),
        # Late after hours, no office time lost yet: still one day late.
        (vn(2026, 4, 24, 17, 30), vn(2026, 4, 24, 17), -1),
        # Due Fri 24 17:00, now Tue 28 17:00: a whole working day (Tue) late.
        (vn(2026, 4, 28, 17), vn(2026, 4, 24, 17), -1),
        # Now Wed 29 10:00: Tue 8 h + Wed 07:30-10:00 2.5 h = 10.5 h late: two days.
        (vn(2026, 4, 29, 10), vn(2026, 4, 24, 17), -2),
    ],
)
def test_working_days_left(now, due, expected):
    assert services.working_days_left(now=now, due=due) == expected


def test_overdue_is_strictly_after_the_due_moment():
    due = vn(2026, 4, 24, 17)
    assert not services.is_overdue(now=due, due=due)
    assert services.is_overdue(now=due + timedelta(seconds=1), due=due)


def test_due_soon_cutoff_skips_days_off():
    # Fri 24/04 16:00 + 8 office hours: Fri 16:00-17:00 = 1 h; Sat, Sun, Mon 27 off;
    # Tue 28 07:30-11:30 = 4 h, 13:00-16:00 = 3 h.
    cutoff = services.due_soon_cutoff(now=vn(2026, 4, 24, 16))
    assert cutoff == vn(2026, 4, 28, 16)
    assert cutoff.tzinfo is UTC
    # Wed 29/04 18:00, two days: Mon 04/05 07:30 + 16 h = Tue 05/05 17:00.
    assert services.due_soon_cutoff(now=vn(2026, 4, 29, 18), within_working_days=2) == vn(
        2026, 5, 5, 17
    )


@pytest.mark.parametrize(
    "due, due_soon",
    [
        (vn(2026, 4, 24, 17), True),
        (vn(2026, 4, 28, 15, 59), True),
        (vn(2026, 4, 28, 16), True),
        (vn(2026, 4, 28, 16, 1), False),
        (vn(2026, 4, 28, 17), False),
    ],
)
def test_due_soon_cutoff_agrees_with_working_days_left(due, due_soon):
    now = vn(2026, 4, 24, 16)
    cutoff = services.due_soon_cutoff(now=now)
    assert (due <= cutoff) is due_soon
    assert (services.working_days_left(now=now, due=due) == 1) is due_soon


def test_end_of_working_day():
    assert services.end_of_working_day(day=date(2026, 4, 28)) == vn(2026, 4, 28, 17)
    with pytest.raises(services.NotAWorkingDay):
        services.end_of_working_day(day=date(2026, 4, 27))  # Hùng Kings, observed
