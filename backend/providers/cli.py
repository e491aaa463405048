"""``flask providers add|list|disable|add-demo|rotate-client-key``."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click
from flask import Flask, current_app

from backend.db import utcnow
from backend.errors import DomainError
from backend.identity import tokens
from backend.providers import demo
from backend.providers.models import ClientAuthMethod
from backend.providers.services import registry
from backend.unitofwork import CommandGroup

providers_cli = CommandGroup("providers", help="Manage the identity providers agencies plug in.")


def _pairs(values: tuple[str, ...], *, option: str, as_int: bool = False) -> dict:
    pairs = {}
    for value in values:
        key, sep, item = value.rpartition("=")
        if not sep or not key:
            raise click.BadParameter("use KEY=VALUE", param_hint=option)
        pairs[key] = int(item) if as_int else item
    return pairs


def _report(provider) -> None:
    state = "enabled" if provider.enabled else f"NOT enabled: {provider.check_error or 'disabled'}"
    click.echo(f"{provider.slug}: {provider.issuer} ({state})")


@providers_cli.command("add")
@click.option("--slug", required=True)
@click.option("--name", required=True, help="Name on the login screen (Vietnamese)")
@click.option("--name-en")
@click.option("--logo-url")
@click.option("--agency", "agency_code", required=True, help="QCVN 102 code of the owner")
@click.option("--issuer", required=True)
@click.option("--client-id", required=True)
@click.option(
    "--client-auth-method",
    type=click.Choice([m.value for m in ClientAuthMethod]),
    default=ClientAuthMethod.CLIENT_SECRET_BASIC.value,
)
@click.option(
    "--client-secret-env",
    help="Name of the environment variable holding the client secret (kept out of shell history)",
)
@click.option("--scope", "scopes", multiple=True, default=("openid", "profile"))
@click.option("--alg", "algorithms", multiple=True, default=("RS256", "ES256"))
@click.option("--claim", "claims", multiple=True, help="field=claim, e.g. national_id=cccd")
@click.option("--acr", "acrs", multiple=True, help="acr=level, e.g. urn:vneid:level2=2")
@click.option("--minimum-level", type=click.IntRange(0, 2), default=0)
def add_provider(**options) -> None:
    """Register a provider; it is enabled when its discovery document checks out."""
    secret_env = options.pop("client_secret_env")
    data = {
        "slug": options["slug"],
        "name": options["name"],
        "name_en": options["name_en"],
        "logo_url": options["logo_url"],
        "agency": options["agency_code"],
        "issuer": options["issuer"],
        "client_id": options["client_id"],
        "client_auth_method": ClientAuthMethod(options["client_auth_method"]),
        "scopes": list(options["scopes"]),
        "signing_algorithms": list(options["algorithms"]),
        "acr_levels": _pairs(options["acrs"], option="--acr", as_int=True),
        "minimum_level": options["minimum_level"],
    }
    mapping = _pairs(options["claims"], option="--claim")
    try:
        provider = registry.create_provider(
            data=data,
            client_secret=os.environ.get(secret_env) if secret_env else None,
            enable=True,
            by=None,
            now=utcnow(),
        )
        if mapping:
            merged = {**provider.claim_mapping, **mapping}
            registry.update_provider(
                provider=provider,
                changes={"claim_mapping": merged},
                client_secret=None,
                enable=None,
                by=None,
                now=utcnow(),
            )
    except DomainError as error:
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in (error.errors or {}).items())
        raise click.ClickException(f"{error} {details}".strip()) from error
    _report(provider)


@providers_cli.command("list")
def list_providers() -> None:
    """Every registered provider and whether it is enabled."""
    for provider in registry.list_providers(visible_agencies=None):
        _report(provider)


@providers_cli.command("disable")
@click.argument("slug")
def disable_provider(slug: str) -> None:
    """Take a provider off the login screen; logins in flight through it fail."""
    try:
        provider = registry.disable_provider(provider=registry.get_provider(slug=slug), by=None)
    except DomainError as error:
        raise click.ClickException(str(error)) from error
    _report(provider)


@providers_cli.command("add-demo")
@click.option("--agency", "agency_code", default="000.00.00.H56", show_default=True)
def add_demo(agency_code: str) -> None:
    """Register (or refresh) the built-in demo provider; needs DEMO_IDP_ENABLED=1."""
    if not current_app.config["DEMO_IDP_ENABLED"]:
        raise click.ClickException("set DEMO_IDP_ENABLED=1 (never in production)")
    settings = {
        "name": "Định danh điện tử DEMO",
        "name_en": "Demo e-ID",
        "issuer": demo.issuer(),
        "client_id": demo.CLIENT_ID,
        "client_auth_method": ClientAuthMethod.CLIENT_SECRET_BASIC,
        "scopes": ["openid", "profile", "phone"],
        "signing_algorithms": ["ES256"],
        "acr_levels": dict(demo.LEVELS),
        "minimum_level": 1,
    }
    try:
        try:
            provider = registry.get_provider(slug="demo")
        except registry.ProviderNotFound:
            provider = registry.create_provider(
                data={"slug": "demo", "agency": agency_code, **settings},
                client_secret=demo.client_secret(),
                enable=True,
                by=None,
                now=utcnow(),
            )
        else:
            provider = registry.update_provider(
                provider=provider,
                changes=settings,
                client_secret=demo.client_secret(),
                enable=True,
                by=None,
                now=utcnow(),
            )
    except DomainError as error:
        raise click.ClickException(str(error)) from error
    _report(provider)


@providers_cli.command("rotate-client-key")
def rotate_client_key() -> None:
    """New private_key_jwt signing key; the old one stays published for a while."""
    path = Path(current_app.config["CLIENT_SIGNING_KEYS_FILE"])
    entries = tokens.load_entries(path, create=False) if path.exists() else []
    entries = tokens.rotate(entries, now=int(time.time()))
    tokens.save_entries(path, entries)
    click.echo(f"client key {entries[0]['jwk']['kid']} active; restart the API pods to use it")


def init_app(app: Flask) -> None:
    app.cli.add_command(providers_cli)
