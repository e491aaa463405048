"""The override table: services and ``flask calendar add|remove|list``."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from backend.extensions import db
from backend.workdays import services
from backend.workdays.models import CalendarOverride, OverrideKind
from tests.helpers.work import unit_of_work
from tests.workdays import vn

SWAP_NOTE = "Thông báo hoán đổi ngày làm việc dịp 30/4"


def overrides_in_table(app) -> list[tuple[str, str, str]]:
    with unit_of_work(app):
        rows = db.session.scalars(sa.select(CalendarOverride).order_by(CalendarOverride.day))
        return [(row.day.isoformat(), row.kind.value, row.note) for row in rows]


# --- services -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("ctx")
class TestServices:
    def test_add_list_and_remove(self):
        services.add_override(day=date(2026, 4, 28), kind="day_off", note=f"  {SWAP_NOTE} ")
        services.add_override(day=date(2026, 4, 25), kind=OverrideKind.WORKING_DAY, note=SWAP_NOTE)
        services.add_override(day=date(2025, 12, 27), kind="working_day", note="Làm bù Tết")

        listed = [(o.day, o.kind, o.note) for o in services.list_overrides(year=2026)]
        assert listed == [
            (date(2026, 4, 25), OverrideKind.WORKING_DAY, SWAP_NOTE),
            (date(2026, 4, 28), OverrideKind.DAY_OFF, SWAP_NOTE),  # the note is trimmed
        ]
        assert [o.day for o in services.list_overrides()] == [
            date(2025, 12, 27),
            date(2026, 4, 25),
            date(2026, 4, 28),
        ]

        services.remove_override(day=date(2026, 4, 28))
        assert [o.day for o in services.list_overrides(year=2026)] == [date(2026, 4, 25)]
        assert services.is_working_day(day=date(2026, 4, 28))

    def test_a_change_is_seen_by_the_next_computation(self):
        received = {"received_at": vn(2026, 4, 24, 9), "amount": 2, "unit": "working_days"}
        # Tue 28 = 1, Wed 29 = 2.
        assert services.compute_due(**received) == vn(2026, 4, 29, 17)
        services.add_override(day=date(2026, 4, 28), kind="day_off", note=SWAP_NOTE)
        # Wed 29 = 1; 30/4 - 3/5 off; Mon 4 = 2.
        assert services.compute_due(**received) == vn(2026, 5, 4, 17)
        services.remove_override(day=date(2026, 4, 28))
        assert services.compute_due(**received) == vn(2026, 4, 29, 17)

    def test_a_day_has_one_override(self):
        services.add_override(day=date(2026, 4, 25), kind="working_day", note=SWAP_NOTE)
        with pytest.raises(services.CalendarOverrideExists) as caught:
            services.add_override(day=date(2026, 4, 25), kind="working_day", note="again")
        assert caught.value.kind == "conflict"
        assert [(o.kind, o.note) for o in services.list_overrides()] == [
            (OverrideKind.WORKING_DAY, SWAP_NOTE)
        ]
        # The refused insert left the session usable.
        services.add_override(day=date(2026, 4, 28), kind="day_off", note=SWAP_NOTE)
        assert len(services.list_overrides()) == 2

    @pytest.mark.parametrize(
        "day, kind",
        [
            (date(2026, 4, 29), "working_day"),  # a Wednesday is worked anyway
            (date(2026, 4, 26), "day_off"),  # a Sunday
            (date(2026, 4, 30), "day_off"),  # already a public holiday
            (date(2026, 8, 22), "working_day"),  # already the package's make-up Saturday
        ],
    )
    def test_an_override_that_changes_nothing_is_refused(self, day, kind):
        with pytest.raises(services.CalendarOverrideInvalid) as caught:
            services.add_override(day=day, kind=kind, note=SWAP_NOTE)
        assert set(caught.value.errors) == {"day"}
        assert services.list_overrides() == []

    @pytest.mark.parametrize("note", ["", "   ", "x" * 501])
    def test_an_override_says_which_announcement_decided_it(self, note):
        with pytest.raises(services.CalendarOverrideInvalid) as caught:
            services.add_override(day=date(2026, 4, 28), kind="day_off", note=note)
        assert set(caught.value.errors) == {"note"}
        assert services.list_overrides() == []

    def test_removing_an_unknown_day(self):
        with pytest.raises(services.CalendarOverrideNotFound) as caught:
            services.remove_override(day=date(2026, 4, 28))
        assert caught.value.kind == "not_found"


# --- command line ----------------------------------------------------------------------------


def test_cli_add_list_remove(runner, app):
    added = runner.invoke(args=["calendar", "add", "2026-04-25", "working_day", "--note", "Làm bù"])
    assert added.exit_code == 0, added.output
    assert "added 2026-04-25 working_day: Làm bù" in added.output
    for day, kind, note in [("2026-04-28", "day_off", SWAP_NOTE), ("2027-02-03", "day_off", "Tết")]:
        assert runner.invoke(args=["calendar", "add", day, kind, "--note", note]).exit_code == 0

    listed = runner.invoke(args=["calendar", "list", "--year", "2026"])
    assert listed.exit_code == 0
    assert listed.output.splitlines() == [
        "2026-04-25  working_day  Làm bù",
        f"2026-04-28  day_off      {SWAP_NOTE}",
    ]

    removed = runner.invoke(args=["calendar", "remove", "2026-04-28"])
    assert removed.exit_code == 0, removed.output
    assert overrides_in_table(app) == [
        ("2026-04-25", "working_day", "Làm bù"),
        ("2027-02-03", "day_off", "Tết"),
    ]


def test_cli_list_when_empty(runner):
    listed = runner.invoke(args=["calendar", "list"])
    assert listed.exit_code == 0
    assert listed.output == "no calendar overrides\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (["add", "2026-04-29", "working_day", "--note", "x"], "already a working day"),
        (["add", "2026-04-28", "day_off", "--note", " "], "at most 500 characters"),
        (["remove", "2026-05-05"], "2026-05-05 has no override"),
        (["add", "28/04/2026", "day_off", "--note", "x"], "Invalid value for 'DAY'"),
        (["add", "2026-04-28", "holiday", "--note", "x"], "Invalid value for 'KIND'"),
        (["add", "2026-04-28", "day_off"], "Missing option '--note'"),
    ],
)
def test_cli_refusals(runner, app, args, message):
    result = runner.invoke(args=["calendar", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert overrides_in_table(app) == []


def test_cli_refuses_a_second_override_of_a_day(runner, app):
    runner.invoke(args=["calendar", "add", "2026-04-28", "day_off", "--note", SWAP_NOTE])
    again = runner.invoke(args=["calendar", "add", "2026-04-28", "day_off", "--note", "again"])
    assert again.exit_code == 1
    assert "2026-04-28 already has an override; remove it first." in again.output
    assert overrides_in_table(app) == [("2026-04-28", "day_off", SWAP_NOTE)]
