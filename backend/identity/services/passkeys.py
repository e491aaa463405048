"""Passkeys (WebAuthn): the phone's screen lock signs the person in.

Every ceremony check — client data, origin, RP id hash, flags, the COSE key, the signature —
is py_webauthn's; what is ours is the policy around it:

- A challenge is random, good for one answer, for ``WEBAUTHN_CHALLENGE_SECONDS``, and for the
  ceremony (and, for a registration, the session) that asked for it: spent by one conditional
  UPDATE, so two answers racing cannot both use it.
- Registering needs a session that proved who it is within ``PASSKEY_FRESH_SECONDS`` (else the
  RFC 9470 answer with ``max_age``), user verification, a discoverable credential; staff need
  their second factor first. The passkey keeps the level of the session that made it: that is
  the level it signs in at.
- Signing in is usernameless (the authenticator names the account through its user handle) or
  with a phone number hint (the account's credentials are listed; an unknown number gets a
  stand-in list of the same shape, so the answer tells nobody whether the number has an
  account). A signature count that goes backwards (a cloned authenticator) refuses the sign-in
  and is recorded; synced passkeys that always say 0 are not that.
- Adding or removing a passkey is a security event and a message on every channel the person
  has.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import webauthn
from flask import current_app
from webauthn.helpers import options_to_json_dict
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from backend.crypto import vault
from backend.errors import Conflict, DomainError, NotFound
from backend.extensions import db
from backend.identity.models import (
    Account,
    AccountKind,
    AccountStatus,
    Passkey,
    Session,
    WebauthnChallenge,
)
from backend.identity.services import sessions
from backend.identity.services.events import record_event
from backend.identity.services.login import AccountDisabled
from backend.notifications.services.outbox import notify
from backend.unitofwork import keep_despite_refusal
from backend.workdays.calendar import LEGAL_TIMEZONE

REGISTER = "register"
SIGN_IN = "sign_in"


class PasskeyRefused(DomainError):
    """An answer to a ceremony that does not prove what it must: 401, nothing signed in."""

    code = "passkey-refused"
    kind = "unauthorized"
    title = ("Khóa truy cập không hợp lệ", "The passkey was not accepted")

    def __init__(self, detail=None):
        super().__init__(
            detail
            or (
                "Không xác thực được khóa truy cập; hãy thử lại.",
                "The passkey could not be verified; try again.",
            ),
            headers={"WWW-Authenticate": 'Bearer realm="dvc-mobile"'},
        )


class ChallengeUnknown(DomainError):
    code = "passkey-challenge-unknown"
    kind = "invalid"
    title = ("Phiên xác thực không còn hiệu lực", "The passkey request is no longer valid")

    def __init__(self):
        super().__init__(
            (
                "Yêu cầu đã dùng, đã hết hạn hoặc không dành cho thao tác này; hãy bắt đầu lại.",
                "The request was used, expired or is for another step; start again.",
            )
        )


class FreshSignInRequired(DomainError):
    """RFC 9470 with ``max_age``: sign in again (or step up) before changing passkeys."""

    code = "fresh-sign-in-required"
    kind = "unauthorized"
    title = ("Cần đăng nhập lại", "A recent sign-in is required")

    def __init__(self, max_age: int):
        super().__init__(
            (
                f"Hãy đăng nhập lại (trong vòng {max_age // 60} phút) rồi thử lại.",
                f"Sign in again (within {max_age // 60} minutes), then try again.",
            ),
            headers={
                "WWW-Authenticate": 'Bearer error="insufficient_user_authentication", '
                'error_description="A more recent authentication is required", '
                f'max_age="{max_age}"'
            },
            extra={"error": "insufficient_user_authentication", "max_age": max_age},
        )


class SecondFactorFirst(DomainError):
    code = "second-factor-missing"
    kind = "forbidden"
    title = ("Cần xác thực hai lớp", "Second factor required")


class PasskeyNotFound(NotFound):
    code = "passkey-not-found"


class TooManyPasskeys(Conflict):
    code = "too-many-passkeys"


@dataclass
class Ceremony:
    challenge_id: str
    options: dict[str, Any]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _config(name: str) -> Any:
    return current_app.config[name]


def _user_handle(account_id: str) -> bytes:
    """The user.id the authenticator keeps: keyed, so it says nothing about the person."""
    return bytes.fromhex(vault().digest(account_id, purpose="webauthn-user"))


def _new_ceremony(kind: str, *, now: datetime, **fields: Any) -> WebauthnChallenge:
    # Spent and expired challenges of the last minutes go with each new one: the table stays
    # as small as the ceremonies in flight.
    db.session.execute(
        sa.delete(WebauthnChallenge).where(WebauthnChallenge.expires_at < now - timedelta(hours=1))
    )
    row = WebauthnChallenge(
        id=secrets.token_urlsafe(32),
        ceremony=kind,
        challenge=_b64(secrets.token_bytes(32)),
        created_at=now,
        expires_at=now + timedelta(seconds=_config("WEBAUTHN_CHALLENGE_SECONDS")),
        **fields,
    )
    db.session.add(row)
    return row


def _spend(challenge_id: str, kind: str, *, now: datetime, **match: Any) -> WebauthnChallenge:
    """The challenge, spent by this answer; ChallengeUnknown when it cannot be."""
    if not isinstance(challenge_id, str) or not 0 < len(challenge_id) <= 43:
        raise ChallengeUnknown()
    conditions = [
        WebauthnChallenge.id == challenge_id,
        WebauthnChallenge.ceremony == kind,
        WebauthnChallenge.used_at.is_(None),
        WebauthnChallenge.expires_at > now,
        *(getattr(WebauthnChallenge, name) == value for name, value in match.items()),
    ]
    spent = db.session.execute(
        sa.update(WebauthnChallenge)
        .where(*conditions)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        raise ChallengeUnknown()
    return db.session.get(WebauthnChallenge, challenge_id)


def _timeout_ms() -> int:
    return _config("WEBAUTHN_CHALLENGE_SECONDS") * 1000


def _descriptors(passkeys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=_unb64(p.credential_id),
            transports=[
                AuthenticatorTransport(t)
                for t in p.transports
                if t in AuthenticatorTransport._value2member_map_
            ],
        )
        for p in passkeys
    ]


def list_passkeys(account_id: str) -> list[Passkey]:
    return list(
        db.session.scalars(
            sa.select(Passkey).where(Passkey.account_id == account_id).order_by(Passkey.id)
        )
    )


# --- registration ---------------------------------------------------------------------------


def _require_fresh(session: Session, now: datetime) -> None:
    fresh = _config("PASSKEY_FRESH_SECONDS")
    proven = session.authenticated_at or session.created_at
    if now - proven > timedelta(seconds=fresh):
        raise FreshSignInRequired(fresh)


def _may_change_passkeys(session: Session, now: datetime) -> None:
    if session.account.kind is AccountKind.STAFF and not session.mfa_complete:
        raise SecondFactorFirst(
            (
                "Hãy cài đặt ứng dụng xác thực trước khi thêm khóa truy cập.",
                "Set up the authenticator app before adding a passkey.",
            )
        )
    _require_fresh(session, now)


def registration_options(*, session: Session, now: datetime) -> Ceremony:
    """What the app hands ``navigator.credentials.create`` (or the platform's passkey API)."""
    _may_change_passkeys(session, now)
    account = session.account
    existing = list_passkeys(account.id)
    if len(existing) >= _config("PASSKEYS_PER_ACCOUNT"):
        raise TooManyPasskeys(("Hãy xóa bớt một khóa truy cập cũ.", "Remove an old passkey first."))
    row = _new_ceremony(REGISTER, now=now, account_id=account.id, session_id=session.id)
    options = webauthn.generate_registration_options(
        rp_id=_config("WEBAUTHN_RP_ID"),
        rp_name=_config("WEBAUTHN_RP_NAME"),
        user_id=_user_handle(account.id),
        user_name=account.phone or account.id,
        user_display_name=account.full_name or account.phone or account.id,
        challenge=_unb64(row.challenge),
        timeout=_timeout_ms(),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        # The same authenticator twice would be one passkey listed twice.
        exclude_credentials=_descriptors(existing),
    )
    db.session.flush()
    return Ceremony(challenge_id=row.id, options=options_to_json_dict(options))


def register(
    *,
    session: Session,
    challenge_id: str,
    credential: dict[str, Any],
    name: str | None,
    now: datetime,
) -> Passkey:
    """Check the authenticator's answer and keep the passkey; the session's level goes with it."""
    _may_change_passkeys(session, now)
    row = _spend(challenge_id, REGISTER, now=now, session_id=session.id)
    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=_unb64(row.challenge),
            expected_rp_id=_config("WEBAUTHN_RP_ID"),
            expected_origin=list(_config("WEBAUTHN_ORIGINS")),
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        record_event("passkey_registration_refused", account_id=session.account_id)
        keep_despite_refusal()
        raise PasskeyRefused() from error
    credential_id = _b64(verified.credential_id)
    if db.session.scalar(sa.select(Passkey.id).where(Passkey.credential_id == credential_id)):
        keep_despite_refusal()  # the spent challenge stays spent
        raise Conflict(
            ("Khóa truy cập này đã được đăng ký.", "This passkey is already registered."),
        )
    response = credential.get("response") or {}
    transports = response.get("transports") if isinstance(response, dict) else None
    passkey = Passkey(
        account_id=session.account_id,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        user_handle=_b64(_user_handle(session.account_id)),
        name=(name or "").strip() or _default_name(session),
        aaguid=str(verified.aaguid) if verified.aaguid else None,
        transports=[t for t in transports or [] if isinstance(t, str)][:8],
        backed_up=verified.credential_backed_up,
        acr=session.acr,
        registered_session_id=session.id,
        created_at=now,
    )
    db.session.add(passkey)
    db.session.flush()
    record_event(
        "passkey_added", account_id=session.account_id, passkey_id=passkey.id, acr=session.acr
    )
    _tell_the_person(session.account_id, "account.passkey_added", passkey, now=now)
    db.session.flush()
    return passkey


def _default_name(session: Session) -> str:
    return (session.device_name or "Khóa truy cập · Passkey")[:100]


def _tell_the_person(account_id: str, kind: str, passkey: Passkey, *, now: datetime) -> None:
    notify(
        account_id,
        kind,
        {"name": passkey.name, "changed_date": now.astimezone(LEGAL_TIMEZONE).date().isoformat()},
        now=now,
    )


def _owned(account_id: str, passkey_id: str) -> Passkey:
    passkey = db.session.get(Passkey, passkey_id) if len(passkey_id) <= 26 else None
    if passkey is None or passkey.account_id != account_id:
        raise PasskeyNotFound(("Không có khóa truy cập này.", "No such passkey."))
    return passkey


def rename(*, account_id: str, passkey_id: str, name: str) -> Passkey:
    passkey = _owned(account_id, passkey_id)
    passkey.name = name.strip()
    db.session.flush()
    return passkey


def remove(*, session: Session, passkey_id: str, now: datetime) -> None:
    passkey = _owned(session.account_id, passkey_id)
    _require_fresh(session, now)
    db.session.delete(passkey)
    record_event("passkey_removed", account_id=session.account_id, passkey_id=passkey_id)
    _tell_the_person(session.account_id, "account.passkey_removed", passkey, now=now)
    db.session.flush()


# --- signing in -----------------------------------------------------------------------------


def _stand_in_credentials(phone: str) -> list[PublicKeyCredentialDescriptor]:
    """A list shaped like a real account's, stable per number, for a number with no passkey."""
    seed = vault().digest(phone, purpose="webauthn-stand-in")
    return [PublicKeyCredentialDescriptor(id=bytes.fromhex(seed))]


def sign_in_options(*, audience: AccountKind, phone: str | None, now: datetime) -> Ceremony:
    """Options for ``navigator.credentials.get``: usernameless, or for a phone number."""
    allow: list[PublicKeyCredentialDescriptor] = []
    if phone is not None:
        account_id = db.session.scalar(
            sa.select(Account.id).where(Account.kind == audience, Account.phone == phone)
        )
        passkeys = list_passkeys(account_id) if account_id else []
        allow = _descriptors(passkeys) or _stand_in_credentials(f"{audience.value}:{phone}")
    row = _new_ceremony(SIGN_IN, now=now, audience=audience.value)
    options = webauthn.generate_authentication_options(
        rp_id=_config("WEBAUTHN_RP_ID"),
        challenge=_unb64(row.challenge),
        timeout=_timeout_ms(),
        allow_credentials=allow,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    db.session.flush()
    return Ceremony(challenge_id=row.id, options=options_to_json_dict(options))


def amr_of(passkey: Passkey) -> list[str]:
    """RFC 8176: a key on the device (hwk) or synced across devices (swk), unlocked by the
    person (user verification: "user"), two factors in one gesture ("mfa")."""
    return ["mfa", "swk" if passkey.backed_up else "hwk", "user"]


def sign_in(
    *, challenge_id: str, credential: dict[str, Any], device: dict[str, Any], now: datetime
) -> sessions.TokenPair:
    row = _spend(challenge_id, SIGN_IN, now=now)
    credential_id = credential.get("id")
    passkey = (
        db.session.scalar(
            sa.select(Passkey)
            .where(Passkey.credential_id == credential_id)
            .with_for_update(of=Passkey)
        )
        if isinstance(credential_id, str) and 0 < len(credential_id) <= 1400
        else None
    )
    if passkey is None or passkey.account.kind.value != row.audience:
        record_event("passkey_sign_in_refused", reason="unknown_credential")
        keep_despite_refusal()
        raise PasskeyRefused()
    response = credential.get("response")
    handle = response.get("userHandle") if isinstance(response, dict) else None
    if handle is not None and not hmac.compare_digest(str(handle), passkey.user_handle):
        _refuse(passkey, "user_handle_mismatch")
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=_unb64(row.challenge),
            expected_rp_id=_config("WEBAUTHN_RP_ID"),
            expected_origin=list(_config("WEBAUTHN_ORIGINS")),
            credential_public_key=passkey.public_key,
            # The count is compared below, once the signature is known to be good.
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError):
        _refuse(passkey, "verification_failed")
    stored, new = passkey.sign_count, verified.new_sign_count
    if (stored or new) and new <= stored:
        _refuse(passkey, "sign_count_regressed", stored=stored, received=new)
    if passkey.account.status is not AccountStatus.ACTIVE:
        raise AccountDisabled(("Liên hệ cơ quan quản lý.", "Contact the administration."))
    passkey.sign_count = new
    passkey.backed_up = verified.credential_backed_up
    passkey.last_used_at = now
    amr = amr_of(passkey)
    pair = sessions.start_session(
        account=passkey.account,
        acr=passkey.acr,
        amr=amr,
        mfa_complete=True,
        device=device,
        now=now,
    )
    record_event(
        "login_succeeded",
        account_id=passkey.account_id,
        session_id=pair.session_id,
        amr=amr,
        passkey_id=passkey.id,
    )
    db.session.flush()
    return pair


def _refuse(passkey: Passkey, reason: str, **detail: Any):
    record_event(
        "passkey_sign_in_refused",
        account_id=passkey.account_id,
        passkey_id=passkey.id,
        reason=reason,
        **detail,
    )
    keep_despite_refusal()
    raise PasskeyRefused()
