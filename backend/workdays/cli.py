"""``flask calendar add|remove|list``: the announced day swaps the holiday package does not know.

``flask calendar holidays-table`` writes what the package does know, for the processes to read.
"""

from __future__ import annotations

from datetime import date, datetime

import click
from flask import Flask

from backend.errors import DomainError
from backend.i18n import pick
from backend.unitofwork import CommandGroup
from backend.workdays import calendar, services
from backend.workdays.models import OverrideKind

calendar_cli = CommandGroup(
    "calendar", help="Extra days off and make-up working days announced by the authorities."
)

DAY = click.DateTime(formats=["%Y-%m-%d"])


def _refused(error: DomainError) -> click.ClickException:
    return click.ClickException(pick(error.detail or error.title, "en"))


@calendar_cli.command("add")
@click.argument("day", type=DAY, metavar="DAY")
@click.argument("kind", type=click.Choice([kind.value for kind in OverrideKind]), metavar="KIND")
@click.option("--note", required=True, help="The announcement that decided it.")
def add_command(day: datetime, kind: str, note: str) -> None:
    """Make DAY (YYYY-MM-DD) a day_off or a working_day."""
    try:
        override = services.add_override(day=day.date(), kind=OverrideKind(kind), note=note)
    except DomainError as error:
        raise _refused(error) from error
    click.echo(f"added {override.day.isoformat()} {override.kind.value}: {override.note}")


@calendar_cli.command("remove")
@click.argument("day", type=DAY, metavar="DAY")
def remove_command(day: datetime) -> None:
    """Remove the override of DAY (YYYY-MM-DD)."""
    try:
        services.remove_override(day=day.date())
    except DomainError as error:
        raise _refused(error) from error
    click.echo(f"removed {day.date().isoformat()}")


@calendar_cli.command("list")
@click.option("--year", type=click.IntRange(date.min.year, date.max.year), help="Only this year.")
def list_command(year: int | None) -> None:
    """List the overrides in date order."""
    overrides = services.list_overrides(year=year)
    if not overrides:
        click.echo("no calendar overrides")
    for override in overrides:
        click.echo(f"{override.day.isoformat()}  {override.kind.value:<11}  {override.note}")


@calendar_cli.command("holidays-table")
def holidays_table_command() -> None:
    """Write the holiday package's days for the working calendar (after upgrading it)."""
    import holidays

    table = calendar.holiday_table(holidays)
    calendar.HOLIDAY_TABLE.write_text(calendar.holiday_table_text(table), encoding="utf-8")
    click.echo(
        f"{calendar.HOLIDAY_TABLE.name}: {len(table['years'])} years from {table['package']}"
    )


def init_app(app: Flask) -> None:
    app.cli.add_command(calendar_cli)
