"""``flask storage check``: what the database and the blob store disagree on."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from backend.db import utcnow
from backend.storage import orphans

storage_cli = AppGroup("storage", help="Attachment storage.")


@storage_cli.command("check")
@click.option("--list", "show", is_flag=True, help="Print each missing and orphaned key.")
def check_command(show: bool) -> None:
    """Report rows whose blob is missing (exit 1) and blobs no row points at."""
    now = utcnow()
    report = orphans.check()
    old = report.old_orphans(now)
    click.echo(f"{report.stored} blobs stored")
    click.echo(f"{len(report.missing)} missing: rows pointing at no blob")
    click.echo(
        f"{len(report.orphans)} orphaned: blobs no row points at "
        f"({len(old)} old enough for `flask sweep` to remove)"
    )
    if show:
        for column, key in report.missing:
            click.echo(f"missing  {column}  {key}")
        for key, at in report.orphans:
            click.echo(f"orphan   {at:%Y-%m-%d %H:%M}  {key}")
    if report.missing:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    app.cli.add_command(storage_cli)
