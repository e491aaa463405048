"""Identity providers agencies plug in, the logins in flight, and who is linked to whom.

Login transactions and one-time app codes live in the database so that any pod can finish a
login another pod started; both carry ``expires_at`` (indexed) for the sweep that purges them.
Secrets in flight (state, app codes) are stored only as SHA-256 digests.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.agencies.models import Agency
from backend.db import created_column, id_column, str_enum, updated_column
from backend.extensions import db
from backend.identity.models import Account, AccountKind


class ClientAuthMethod(enum.StrEnum):
    CLIENT_SECRET_BASIC = "client_secret_basic"  # noqa: S105 (a method name, not a secret)
    CLIENT_SECRET_POST = "client_secret_post"  # noqa: S105
    PRIVATE_KEY_JWT = "private_key_jwt"


class IdentityProvider(db.Model):
    """An OpenID provider we are a confidential relying party of."""

    __tablename__ = "identity_providers"

    id: Mapped[str] = id_column()
    slug: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str | None] = mapped_column(sa.String(200))
    logo_url: Mapped[str | None] = mapped_column(sa.String(500))
    agency_id: Mapped[str] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    issuer: Mapped[str] = mapped_column(sa.String(500))
    client_id: Mapped[str] = mapped_column(sa.String(255))
    client_auth_method: Mapped[ClientAuthMethod] = mapped_column(str_enum(ClientAuthMethod))
    client_secret_ciphertext: Mapped[str | None] = mapped_column(sa.String(1000))
    scopes: Mapped[list[Any]] = mapped_column()
    signing_algorithms: Mapped[list[Any]] = mapped_column()
    # Our profile field -> the provider's claim name (national_id, full_name, date_of_birth, ...).
    claim_mapping: Mapped[dict[str, Any]] = mapped_column()
    # The provider's acr value -> our assurance level (0, 1, 2).
    acr_levels: Mapped[dict[str, Any]] = mapped_column()
    minimum_level: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    enabled: Mapped[bool] = mapped_column(default=False)
    # Why the last discovery check failed (the provider stays disabled meanwhile).
    check_error: Mapped[str | None] = mapped_column(sa.String(500))
    checked_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()

    agency: Mapped[Agency] = relationship(lazy="joined", innerjoin=True)


class LoginTransaction(db.Model):
    """One trip through a provider's login page, found again by the ``state`` it carries."""

    __tablename__ = "login_transactions"

    id: Mapped[str] = id_column()
    state_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    provider_id: Mapped[str] = mapped_column(sa.ForeignKey("identity_providers.id"), index=True)
    audience: Mapped[AccountKind] = mapped_column(str_enum(AccountKind))
    nonce: Mapped[str] = mapped_column(sa.String(64))
    # Our PKCE verifier towards the provider, sealed: it is a secret for ten minutes.
    pkce_verifier_ciphertext: Mapped[str] = mapped_column(sa.String(200))
    app_redirect_uri: Mapped[str] = mapped_column(sa.String(500))
    app_code_challenge: Mapped[str] = mapped_column(sa.String(128))
    app_state: Mapped[str | None] = mapped_column(sa.String(500))
    # Set when a signed-in citizen asked to link this provider identity to their account.
    link_account_id: Mapped[str | None] = mapped_column(sa.ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = created_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)
    consumed_at: Mapped[datetime | None] = mapped_column()

    provider: Mapped[IdentityProvider] = relationship(lazy="joined", innerjoin=True)


class AppCode(db.Model):
    """The one-time code the app redeems at /auth/token for our tokens (RFC 8252, PKCE)."""

    __tablename__ = "app_codes"

    id: Mapped[str] = id_column()
    code_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    provider_id: Mapped[str] = mapped_column(sa.ForeignKey("identity_providers.id"))
    redirect_uri: Mapped[str] = mapped_column(sa.String(500))
    code_challenge: Mapped[str] = mapped_column(sa.String(128))
    acr: Mapped[int] = mapped_column(sa.SmallInteger)
    amr: Mapped[list[Any]] = mapped_column()
    mfa_complete: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = created_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)
    consumed_at: Mapped[datetime | None] = mapped_column()
    # The session it opened: a second redemption revokes it (RFC 6749 section 4.1.2).
    session_id: Mapped[str | None] = mapped_column(sa.ForeignKey("sessions.id"))

    account: Mapped[Account] = relationship(lazy="joined", innerjoin=True)


class IdentityLink(db.Model):
    """A provider identity (issuer, subject) that signs in as one account of a kind.

    The unique constraint is what makes it impossible for two citizens to share an identity,
    even when two logins race.
    """

    __tablename__ = "identity_links"
    __table_args__ = (sa.UniqueConstraint("issuer", "subject", "account_kind"),)

    id: Mapped[str] = id_column()
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    account_kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind))
    provider_id: Mapped[str] = mapped_column(sa.ForeignKey("identity_providers.id"), index=True)
    issuer: Mapped[str] = mapped_column(sa.String(500))
    subject: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = created_column()
    last_login_at: Mapped[datetime | None] = mapped_column()

    provider: Mapped[IdentityProvider] = relationship(lazy="joined", innerjoin=True)
