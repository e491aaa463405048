"""Accounts, their device sessions and credentials, and the security events they leave."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from backend.agencies.models import Agency
from backend.db import created_column, id_column, str_enum, updated_column
from backend.extensions import db
from backend.trails import never_changed


class AccountKind(enum.StrEnum):
    CITIZEN = "citizen"
    STAFF = "staff"


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class Account(db.Model):
    """A person who signs in. The same phone may hold a citizen and a staff account."""

    __tablename__ = "accounts"
    __table_args__ = (
        sa.UniqueConstraint("kind", "phone"),
        sa.UniqueConstraint("kind", "national_id_digest"),
    )

    id: Mapped[str] = id_column()
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind))
    status: Mapped[AccountStatus] = mapped_column(
        str_enum(AccountStatus), default=AccountStatus.ACTIVE
    )
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    full_name: Mapped[str | None] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    preferred_language: Mapped[str] = mapped_column(sa.String(5), default="vi")
    address: Mapped[dict[str, Any] | None] = mapped_column()
    # Set only from an identity provider's verified claims, never by the person.
    identity_verified: Mapped[bool] = mapped_column(default=False)
    assurance_level: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    national_id_ciphertext: Mapped[str | None] = mapped_column(sa.String(200))
    national_id_digest: Mapped[str | None] = mapped_column(sa.String(64))
    national_id_last4: Mapped[str | None] = mapped_column(sa.String(4))
    date_of_birth: Mapped[date | None] = mapped_column()
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="account",
        lazy="select",
        cascade="all, delete-orphan",
        foreign_keys="RoleGrant.account_id",
    )


class RoleGrant(db.Model):
    """A staff role held at an agency; it reaches the agency's children too."""

    __tablename__ = "role_grants"
    __table_args__ = (sa.UniqueConstraint("account_id", "role", "agency_id"),)

    id: Mapped[str] = id_column()
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(40))
    agency_id: Mapped[str] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    granted_by: Mapped[str | None] = mapped_column(sa.ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = created_column()

    account: Mapped[Account] = relationship(back_populates="grants", foreign_keys=[account_id])
    agency: Mapped[Agency] = relationship(lazy="joined", innerjoin=True)


class Session(db.Model):
    """One signed-in device. Revoking it ends its refresh tokens and its access tokens."""

    __tablename__ = "sessions"

    id: Mapped[str] = id_column()
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    acr: Mapped[int] = mapped_column(sa.SmallInteger)
    amr: Mapped[list[Any]] = mapped_column()
    # Staff sessions without a second factor may only enrol one.
    mfa_complete: Mapped[bool] = mapped_column(default=False)
    device_name: Mapped[str | None] = mapped_column(sa.String(100))
    platform: Mapped[str | None] = mapped_column(sa.String(20))
    app_version: Mapped[str | None] = mapped_column(sa.String(40))
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = created_column()
    # Retired (last_seen_at below reads the tokens): nullable and no longer written, it stays one
    # release so that pods of the previous one keep signing in during a rolling update; the
    # next release's migration drops it.
    retired_last_seen_at: Mapped[datetime | None] = mapped_column("last_seen_at", deferred=True)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(40))
    # A screen's session that a phone approved (cross-device sign-in): that phone's session.
    approved_by_session_id: Mapped[str | None] = mapped_column(sa.ForeignKey("sessions.id"))
    # The RFC 7638 thumbprint of the key the device proves with (DPoP, RFC 9449): its access
    # tokens carry it as cnf.jkt and its refresh tokens work only with a proof by that key.
    dpop_jkt: Mapped[str | None] = mapped_column(sa.String(43))
    # When the person last proved who they are on this device (sign-in, or a step-up since):
    # what "signed in within the last few minutes" is measured from. None reads as created_at.
    authenticated_at: Mapped[datetime | None] = mapped_column()

    account: Mapped[Account] = relationship(lazy="joined", innerjoin=True)
    approved_by: Mapped[Session | None] = relationship(
        remote_side=[id], foreign_keys=[approved_by_session_id], lazy="select"
    )


class RefreshToken(db.Model):
    """Opaque refresh tokens, stored as SHA-256 digests, one live token per session."""

    __tablename__ = "refresh_tokens"
    # A session's tokens, newest last: retiring them, and when the session was last seen; and
    # the expired ones, for the sweep that deletes them (notifications/sweeps.py).
    __table_args__ = (
        sa.Index("ix_refresh_tokens_session_id_issued_at", "session_id", "issued_at"),
        sa.Index("ix_refresh_tokens_expires_at", "expires_at"),
    )

    id: Mapped[str] = id_column()
    session_id: Mapped[str] = mapped_column(sa.ForeignKey("sessions.id"))
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    issued_at: Mapped[datetime] = created_column()
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    # The pair this token was exchanged for, sealed: a retry within the grace period (the
    # phone lost the answer) gets it again instead of revoking the session.
    successor_sealed: Mapped[str | None] = mapped_column(sa.Text)

    session: Mapped[Session] = relationship(lazy="joined", innerjoin=True)


# When the device was last seen: every sign-in and every refresh issues a token, so the newest
# token's time is the last, and a refresh writes no session row to keep it. Read only where it
# is shown (the device list), by the index on a session's tokens.
Session.last_seen_at = column_property(
    sa.select(sa.func.coalesce(sa.func.max(RefreshToken.issued_at), Session.created_at))
    .where(RefreshToken.session_id == Session.id)
    .correlate_except(RefreshToken)
    .scalar_subquery(),
    deferred=True,
)


class OtpChallenge(db.Model):
    """A code sent to a phone. Only its keyed digest is kept."""

    __tablename__ = "otp_challenges"
    __table_args__ = (sa.Index("ix_otp_challenges_phone_created_at", "phone", "created_at"),)

    id: Mapped[str] = id_column()
    phone: Mapped[str] = mapped_column(sa.String(20))
    audience: Mapped[AccountKind] = mapped_column(str_enum(AccountKind))
    # What the code opens: a sign-in, or the phone proof of an anonymous petition. A code
    # sent for one purpose never opens the other.
    purpose: Mapped[str] = mapped_column(sa.String(20), default="sign_in", server_default="sign_in")
    code_digest: Mapped[str] = mapped_column(sa.String(64))
    failed_attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = created_column()
    expires_at: Mapped[datetime] = mapped_column()
    consumed_at: Mapped[datetime | None] = mapped_column()
    ip: Mapped[str | None] = mapped_column(sa.String(45))

    # The account the code is for, once it exists: the same phone, of the audience's kind.
    # Checking a code reads it with the phone's challenges (otp.check_code).
    account: Mapped[Account | None] = relationship(
        primaryjoin="and_(foreign(OtpChallenge.phone) == Account.phone, "
        "OtpChallenge.audience == Account.kind)",
        viewonly=True,
    )


class TotpCredential(db.Model):
    __tablename__ = "totp_credentials"

    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)
    secret_ciphertext: Mapped[str] = mapped_column(sa.String(200))
    confirmed_at: Mapped[datetime | None] = mapped_column()
    # The last time step accepted: a code is good once (RFC 6238 section 5.2).
    last_used_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = created_column()


class StaffEnrolmentCode(db.Model):
    """What an administrator hands a new staff member, so the SIM alone cannot enrol them.

    One live code per account, kept as a keyed digest; used up when the authenticator is set up.
    """

    __tablename__ = "staff_enrolment_codes"

    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)
    digest: Mapped[str] = mapped_column(sa.String(64))
    issued_by: Mapped[str | None] = mapped_column(sa.String(26))
    issued_at: Mapped[datetime] = created_column()
    expires_at: Mapped[datetime] = mapped_column()


class RecoveryCode(db.Model):
    __tablename__ = "recovery_codes"

    id: Mapped[str] = id_column()
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    digest: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[datetime | None] = mapped_column()


class SecurityEvent(db.Model):
    """Append-only record of what happened to an account's security."""

    __tablename__ = "security_events"

    id: Mapped[str] = id_column()
    account_id: Mapped[str | None] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40), index=True)
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = created_column()


never_changed(SecurityEvent)


class SigninClientKind(enum.StrEnum):
    PORTAL = "portal"  # a web portal on someone's computer
    KIOSK = "kiosk"  # a self-service kiosk at the one-stop counter
    COUNTER = "counter"  # an officer's desk where a citizen signs in to a counter dossier


class SigninClient(db.Model):
    """A screen an agency registered to start sign-ins that a citizen approves on the phone."""

    __tablename__ = "signin_clients"

    id: Mapped[str] = id_column()
    agency_id: Mapped[str] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    kind: Mapped[SigninClientKind] = mapped_column(str_enum(SigninClientKind))
    name: Mapped[str] = mapped_column(sa.String(120))
    name_en: Mapped[str | None] = mapped_column(sa.String(120))
    place: Mapped[str | None] = mapped_column(sa.String(200))
    registered_by: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = created_column()
    retired_at: Mapped[datetime | None] = mapped_column()

    agency: Mapped[Agency] = relationship(lazy="joined", innerjoin=True)


class CrossDeviceStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    REDEEMED = "redeemed"


class CrossDeviceRequest(db.Model):
    """A screen's request to be signed in by a phone: QR, number matching, then the screen's
    own session, redeemed once with the PKCE verifier only that screen holds."""

    __tablename__ = "cross_device_requests"

    # Random, not a ULID: it travels in the QR, and neighbours must not be guessable.
    id: Mapped[str] = mapped_column(sa.String(43), primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("signin_clients.id"), index=True)
    status: Mapped[CrossDeviceStatus] = mapped_column(
        str_enum(CrossDeviceStatus), default=CrossDeviceStatus.PENDING
    )
    requested_acr: Mapped[int] = mapped_column(sa.SmallInteger)
    code_challenge: Mapped[str] = mapped_column(sa.String(43))
    display_code: Mapped[str] = mapped_column(sa.String(2))
    choices: Mapped[list[Any]] = mapped_column()
    wrong_picks: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    interval: Mapped[int] = mapped_column(sa.SmallInteger)
    next_poll_at: Mapped[datetime] = mapped_column()
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = created_column()
    expires_at: Mapped[datetime] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()
    account_id: Mapped[str | None] = mapped_column(sa.ForeignKey("accounts.id"))
    approving_session_id: Mapped[str | None] = mapped_column(sa.ForeignKey("sessions.id"))
    session_id: Mapped[str | None] = mapped_column(sa.ForeignKey("sessions.id"))

    client: Mapped[SigninClient] = relationship(lazy="joined", innerjoin=True)


class Passkey(db.Model):
    """A WebAuthn credential (a passkey) the person signs in with: the phone's screen lock.

    It signs in at the assurance level the session that registered it had: a passkey made in a
    level-2 e-ID session stands for that proof, one made after an SMS code alone for level 0.
    """

    __tablename__ = "passkeys"

    id: Mapped[str] = id_column()
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    # base64url of the authenticator's credential id (at most 1,023 bytes).
    credential_id: Mapped[str] = mapped_column(sa.String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(sa.LargeBinary)
    sign_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # The user.id the authenticator stores beside the credential (base64url, no personal data).
    user_handle: Mapped[str] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(100))
    aaguid: Mapped[str | None] = mapped_column(sa.String(36))
    transports: Mapped[list[Any]] = mapped_column(default=list)
    # Synced to a cloud keychain (backed up): the key may live on several devices.
    backed_up: Mapped[bool] = mapped_column(default=False)
    acr: Mapped[int] = mapped_column(sa.SmallInteger)
    registered_session_id: Mapped[str | None] = mapped_column(sa.String(26))
    created_at: Mapped[datetime] = created_column()
    last_used_at: Mapped[datetime | None] = mapped_column()

    account: Mapped[Account] = relationship(lazy="joined", innerjoin=True)


class WebauthnChallenge(db.Model):
    """A ceremony's challenge: good for one answer, for a few minutes, for the ceremony asked."""

    __tablename__ = "webauthn_challenges"

    # Random, handed to the app with the options and sent back with the answer.
    id: Mapped[str] = mapped_column(sa.String(43), primary_key=True)
    ceremony: Mapped[str] = mapped_column(sa.String(12))  # "register" or "sign_in"
    challenge: Mapped[str] = mapped_column(sa.String(86))
    # A registration's account and session; a sign-in's audience (citizen or staff).
    account_id: Mapped[str | None] = mapped_column(sa.ForeignKey("accounts.id"))
    session_id: Mapped[str | None] = mapped_column(sa.String(26))
    audience: Mapped[str | None] = mapped_column(sa.String(10))
    created_at: Mapped[datetime] = created_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None] = mapped_column()
