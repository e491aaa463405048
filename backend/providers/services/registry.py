"""The provider registry: what agencies plug in, checked against the provider's discovery.

Saving a provider that should be enabled fetches its discovery document. When that fails (no
answer, not JSON, another ``issuer`` than configured, missing endpoints) the provider is saved
disabled with the reason in ``check_error``, so an administrator sees what to fix.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backend.agencies.services import get_agency
from backend.crypto import vault
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.extensions import db
from backend.identity.access import Forbidden
from backend.identity.services.events import record_event
from backend.providers.models import ClientAuthMethod, IdentityProvider
from backend.providers.services.exchange import client_keys, secret_context
from backend.providers.services.remote import ProviderError, cache, check_url, fetch_discovery

DEFAULT_CLAIM_MAPPING = {
    "full_name": "name",
    "national_id": "national_id",
    "date_of_birth": "birthdate",
    "phone": "phone_number",
    "address": "address",
}
EDITABLE = (
    "name",
    "name_en",
    "logo_url",
    "issuer",
    "client_id",
    "client_auth_method",
    "scopes",
    "signing_algorithms",
    "claim_mapping",
    "acr_levels",
    "minimum_level",
)


class ProviderNotFound(NotFound):
    code = "identity-provider-not-found"

    def __init__(self):
        super().__init__(("Không có nhà cung cấp định danh này.", "No such identity provider."))


class ProviderExists(Conflict):
    code = "identity-provider-exists"


class TopAdministratorNeeded(Forbidden):
    code = "level-2-needs-a-top-administrator"

    def __init__(self):
        super().__init__(
            (
                "Chỉ quản trị cơ quan cấp cao nhất mới được công nhận mức định danh 2 cho một nhà "
                "cung cấp; hãy ánh xạ tối đa mức 1 hoặc đề nghị cấp trên.",
                "Only an administrator of a top-level agency may let a provider vouch for level "
                "2; map at most level 1, or ask them.",
            )
        )


def get_provider(*, slug: str, visible_agencies: frozenset[str] | None = None) -> IdentityProvider:
    """A provider by slug; outside the viewer's agencies it does not exist (None: anywhere)."""
    provider = db.session.scalar(sa.select(IdentityProvider).where(IdentityProvider.slug == slug))
    if provider is None or (
        visible_agencies is not None and provider.agency_id not in visible_agencies
    ):
        raise ProviderNotFound()
    return provider


def get_enabled_provider(*, slug: str) -> IdentityProvider:
    provider = get_provider(slug=slug)
    if not provider.enabled:
        raise ProviderNotFound()
    return provider


def list_providers(*, visible_agencies: frozenset[str] | None) -> list[IdentityProvider]:
    statement = sa.select(IdentityProvider).order_by(IdentityProvider.slug)
    if visible_agencies is not None:
        statement = statement.where(IdentityProvider.agency_id.in_(visible_agencies))
    return list(db.session.scalars(statement))


def enabled_providers() -> list[IdentityProvider]:
    return list(
        db.session.scalars(
            sa.select(IdentityProvider)
            .where(IdentityProvider.enabled.is_(True))
            .order_by(IdentityProvider.name, IdentityProvider.slug)
        )
    )


def _check_settings(provider: IdentityProvider, client_secret: str | None) -> None:
    errors: dict[str, list[str]] = {}
    try:
        check_url(provider.issuer, name="issuer")
    except ProviderError:
        errors["issuer"] = ["Must be an https URL (http is allowed outside production)."]
    if "openid" not in provider.scopes:
        errors["scopes"] = ["Must include openid."]
    if provider.client_auth_method is ClientAuthMethod.PRIVATE_KEY_JWT:
        if client_keys() is None:
            errors["client_auth_method"] = ["No client signing key: flask providers client-key."]
    elif not (client_secret or provider.client_secret_ciphertext):
        errors["client_secret"] = ["Required with client_secret_basic and client_secret_post."]
    if errors:
        raise ValidationFailed(errors=errors)


def check_discovery(provider: IdentityProvider, *, now: datetime) -> bool:
    """Fetch and check discovery; enable the provider if it passes, else keep the reason."""
    cache().forget(provider.id)
    provider.checked_at = now
    try:
        fetch_discovery(provider.issuer)
    except ProviderError as error:
        provider.enabled = False
        provider.check_error = str(error)[:500]
        return False
    provider.enabled = True
    provider.check_error = None
    return True


def _store(
    provider: IdentityProvider, *, client_secret: str | None, enable: bool, now: datetime
) -> None:
    _check_settings(provider, client_secret)
    if client_secret:
        provider.client_secret_ciphertext = vault().encrypt(
            client_secret, context=secret_context(provider.id)
        )
    if provider.client_auth_method is ClientAuthMethod.PRIVATE_KEY_JWT:
        provider.client_secret_ciphertext = None
    if enable:
        check_discovery(provider, now=now)
    else:
        provider.enabled = False
        cache().forget(provider.id)


def _check_levels(acr_levels: dict | None, *, level_2_allowed: bool) -> None:
    """Level 2 opens every procedure that asks for an identity as sure as the national e-ID's,
    in every agency: a provider may vouch for it only on the word of an administrator at the
    top of the agency tree, not of one agency's own (the command line, run by the operators,
    is not limited)."""
    if acr_levels and 2 in acr_levels.values() and not level_2_allowed:
        raise TopAdministratorNeeded()


def create_provider(
    *,
    data: dict[str, Any],
    client_secret: str | None,
    enable: bool,
    by: str | None,
    now: datetime,
    level_2_allowed: bool = True,
) -> IdentityProvider:
    _check_levels(data.get("acr_levels"), level_2_allowed=level_2_allowed)
    if db.session.scalar(
        sa.select(IdentityProvider.id).where(IdentityProvider.slug == data["slug"])
    ):
        raise ProviderExists(
            ("Đã có nhà cung cấp với mã này.", "A provider with this slug exists."),
            errors={"slug": ["Already taken."]},
        )
    agency = get_agency(code=data["agency"])
    settings = {
        "claim_mapping": dict(DEFAULT_CLAIM_MAPPING),
        "acr_levels": {},
        **{name: data[name] for name in EDITABLE if name in data},
    }
    provider = IdentityProvider(slug=data["slug"], agency_id=agency.id, created_at=now, **settings)
    db.session.add(provider)
    db.session.flush()  # the id binds the sealed secret to this row
    _store(provider, client_secret=client_secret, enable=enable, now=now)
    record_event("identity_provider_added", account_id=by, provider=provider.slug)
    db.session.flush()
    return provider


def update_provider(
    *,
    provider: IdentityProvider,
    changes: dict[str, Any],
    client_secret: str | None,
    enable: bool | None,
    by: str | None,
    now: datetime,
    level_2_allowed: bool = True,
) -> IdentityProvider:
    _check_levels(changes.get("acr_levels"), level_2_allowed=level_2_allowed)
    for name in EDITABLE:
        if name in changes:
            setattr(provider, name, changes[name])
    _store(
        provider,
        client_secret=client_secret,
        enable=provider.enabled if enable is None else enable,
        now=now,
    )
    record_event(
        "identity_provider_changed",
        account_id=by,
        provider=provider.slug,
        fields=sorted(changes) + (["client_secret"] if client_secret else []),
        enabled=provider.enabled,
    )
    db.session.flush()
    return provider


def disable_provider(*, provider: IdentityProvider, by: str | None) -> IdentityProvider:
    provider.enabled = False
    cache().forget(provider.id)
    record_event("identity_provider_disabled", account_id=by, provider=provider.slug)
    db.session.flush()
    return provider


def level_for_acr(provider: IdentityProvider, acr: Any) -> int:
    """Our assurance level for the provider's ``acr``; missing or unknown values are level 0."""
    level = provider.acr_levels.get(acr) if isinstance(acr, str) else None
    return level if isinstance(level, int) else 0
