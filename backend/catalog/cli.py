"""``flask seed-demo`` and ``flask catalog import FILE``."""

from __future__ import annotations

import json
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import with_appcontext

from backend.catalog import services
from backend.extensions import db
from backend.identity.models import Account, AccountKind
from backend.phones import InvalidPhone, to_e164
from backend.unitofwork import CommandGroup, transactional

DEMO_CATALOG = Path(__file__).with_name("demo_catalog.json")

catalog_cli = CommandGroup("catalog", help="Manage the procedure catalog.")


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


@catalog_cli.command("pilot-add")
@click.argument("code")
@click.argument("phone")
def pilot_add_command(code: str, phone: str) -> None:
    """Let the citizen with PHONE see and file the pilot procedure CODE."""
    try:
        e164 = to_e164(phone)
    except InvalidPhone as error:
        raise click.BadParameter("not a valid phone number", param_hint="PHONE") from error
    account = db.session.scalar(
        sa.select(Account).where(Account.kind == AccountKind.CITIZEN, Account.phone == e164)
    )
    if account is None:
        raise click.ClickException("no citizen has this phone yet: they sign in once first")
    try:
        services.add_pilot_member(code=code, account_id=account.id)
    except services.ProcedureNotFound as error:
        raise click.ClickException(f"no procedure {code}") from error
    click.echo(f"{e164} may now file {code} while it is in pilot")


@click.command("seed-demo")
@with_appcontext
@transactional
def seed_demo_command() -> None:
    """Load the demo catalog (idempotent)."""
    _import(DEMO_CATALOG)


def init_app(app: Flask) -> None:
    app.cli.add_command(catalog_cli)
    app.cli.add_command(seed_demo_command)
