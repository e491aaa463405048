"""``flask staff add|enrolment-code`` and ``flask keys rotate|prune``."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import Flask, current_app

from backend.db import utcnow
from backend.errors import DomainError
from backend.identity import tokens
from backend.identity.roles import ROLES
from backend.identity.services import accounts, enrolment
from backend.phones import InvalidPhone, to_e164
from backend.unitofwork import CommandGroup

staff_cli = CommandGroup("staff", help="Manage staff accounts.")
keys_cli = CommandGroup("keys", help="Manage the token signing keys.")


@staff_cli.command("add")
@click.option("--phone", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--agency", "agency_code", required=True, help="QCVN 102 agency code")
@click.option("--role", required=True, type=click.Choice(sorted(ROLES)))
def add_staff(phone: str, full_name: str, agency_code: str, role: str) -> None:
    """Create a staff account and print the enrolment code their first sign-in needs."""
    try:
        account = accounts.create_staff(
            phone=to_e164(phone),
            full_name=full_name,
            agency_code=agency_code,
            role=role,
            granted_by=None,
        )
        issued = enrolment.issue(account=account, issued_by=None, now=utcnow())
    except InvalidPhone as error:
        raise click.BadParameter("not a valid phone number", param_hint="--phone") from error
    except DomainError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"staff {account.id} created with role {role} at {agency_code}")
    _show(issued)


@staff_cli.command("enrolment-code")
@click.option("--phone", required=True)
def new_enrolment_code(phone: str) -> None:
    """A new enrolment code for a staff member who has not set up an authenticator yet."""
    try:
        account = accounts.staff_by_phone(to_e164(phone))
        issued = enrolment.issue(account=account, issued_by=None, now=utcnow())
    except InvalidPhone as error:
        raise click.BadParameter("not a valid phone number", param_hint="--phone") from error
    except DomainError as error:
        raise click.ClickException(str(error)) from error
    _show(issued)


def _show(issued: enrolment.IssuedCode) -> None:
    click.echo(
        f"enrolment code: {issued.code} (until {issued.expires_at:%Y-%m-%d %H:%M} UTC; shown "
        "once: hand it over in person, it sets up their authenticator app)"
    )


def _path() -> Path:
    return Path(current_app.config["SIGNING_KEYS_FILE"])


@keys_cli.command("rotate")
def rotate_keys() -> None:
    """Start signing with a new key; the old one keeps verifying until its tokens expire."""
    path = _path()
    entries = tokens.load_entries(path, create=False) if path.exists() else []
    entries = tokens.rotate(entries, now=int(time.time()))
    tokens.save_entries(path, entries)
    click.echo(f"signing key {entries[0]['jwk']['kid']} active; restart the API pods to use it")


@keys_cli.command("prune")
def prune_keys() -> None:
    """Forget retired keys whose tokens have all expired."""
    path = _path()
    entries = tokens.load_entries(path, create=False)
    kept = tokens.prune(
        entries, now=int(time.time()), max_token_age=current_app.config["ACCESS_TOKEN_SECONDS"] + 60
    )
    tokens.save_entries(path, kept)
    click.echo(f"{len(entries) - len(kept)} retired key(s) removed, {len(kept)} kept")


def init_app(app: Flask) -> None:
    app.cli.add_command(staff_cli)
    app.cli.add_command(keys_cli)
