"""``flask seed-demo`` and ``flask catalog import FILE``."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from backend.catalog import services

DEMO_CATALOG = Path(__file__).with_name("demo_catalog.json")

catalog_cli = AppGroup("catalog", help="Manage the procedure catalog.")


def _import(path: Path) -> None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot read {path}: {error}") from error
    try:
        summary = services.import_catalog(document=document)
    except services.CatalogInvalid as error:
        lines = [f"  {field}: {'; '.join(messages)}" for field, messages in error.errors.items()]
        raise click.ClickException("catalog not imported:\n" + "\n".join(lines)) from error
    click.echo(
        f"agencies: {summary.agencies_created} created, {summary.agencies_updated} updated; "
        f"procedures: {summary.procedures_created} created, {summary.procedures_updated} updated; "
        f"versions frozen: {summary.versions_frozen}"
    )


@catalog_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(file: Path) -> None:
    """Import a catalog JSON file (all or nothing)."""
    _import(file)


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load the demo catalog (idempotent)."""
    _import(DEMO_CATALOG)


def init_app(app: Flask) -> None:
    app.cli.add_command(catalog_cli)
    app.cli.add_command(seed_demo_command)
