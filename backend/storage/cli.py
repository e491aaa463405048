"""``flask storage check``: what the database and the blob store disagree on."""

from __future__ import annotations

import click
from flask import Flask

from backend.db import utcnow
from backend.storage import StorageUnavailable, get_store, orphans
from backend.unitofwork import CommandGroup

storage_cli = CommandGroup("storage", help="Attachment storage.")

# Exit codes: a monitor alerts on 1 (files lost) and on 2 (could not look).
MISSING, UNREADABLE = 1, 2


@storage_cli.command("check")
@click.option("--list", "show", is_flag=True, help="Also print each orphaned key.")
def check_command(show: bool) -> None:
    """Report rows whose blob is missing and blobs no row points at.

    Exits 0 when every row's blob is there (orphans alone are not an error: `flask sweep`
    removes them), 1 when some are missing, 2 when the store cannot be read.
    """
    now = utcnow()
    try:
        report = orphans.check()
    except StorageUnavailable as error:
        cause = error.__cause__ or error
        click.echo(f"storage check failed: {get_store()!r} did not answer: {cause}", err=True)
        raise SystemExit(UNREADABLE) from error
    old = report.old_orphans(now)
    click.echo(f"{report.stored} blobs stored, {report.rows} rows point at blobs")
    click.echo(f"{len(report.missing)} missing: rows pointing at no blob")
    for lost in report.missing:
        click.echo(f"  missing  {lost.column}  row {lost.row_id}  key {lost.key}")
    click.echo(
        f"{len(report.orphans)} orphaned: blobs no row points at "
        f"({len(old)} old enough for `flask sweep` to remove)"
    )
    if report.orphans and not report.rows:
        click.echo("  no row points at any blob: is this the right database for this store?")
    if show:
        for key, at in sorted(report.orphans, key=lambda orphan: orphan[1]):
            click.echo(f"  orphan   {at:%Y-%m-%d %H:%M} UTC  {key}")
    if report.missing:
        raise SystemExit(MISSING)


def init_app(app: Flask) -> None:
    app.cli.add_command(storage_cli)
