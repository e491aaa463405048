"""Authenticator apps (RFC 6238 via pyotp): enrolment, verification once per step, recovery codes.

Secrets are encrypted at rest and bound to their account. A code is accepted within one step
either side of now, and only for a step later than the last one accepted, so a code seen over a
shoulder cannot be replayed. Recovery codes are single use and stored as keyed digests.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
import sqlalchemy as sa

from backend.crypto import vault
from backend.errors import Conflict, DomainError
from backend.extensions import db
from backend.identity.models import Account, RecoveryCode, TotpCredential
from backend.identity.services.events import record_event
from backend.unitofwork import keep_despite_refusal

ISSUER = "DVC Mobile"
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes: read off paper


class TotpWrong(DomainError):
    code = "totp-wrong"
    kind = "unauthorized"
    title = ("Mã ứng dụng xác thực không đúng", "Wrong authenticator code")


class TotpNotEnrolled(Conflict):
    code = "totp-not-enrolled"


class TotpAlreadyEnrolled(Conflict):
    code = "totp-already-enrolled"


def _context(account_id: str) -> str:
    return f"totp:{account_id}"


def _secret(credential: TotpCredential) -> str:
    return vault().decrypt(credential.secret_ciphertext, context=_context(credential.account_id))


def _accept(credential: TotpCredential, code: str, now: datetime) -> bool:
    """True (and the step remembered) for a fresh code within one step of now."""
    if not (len(code) == 6 and code.isdigit()):
        return False
    totp = pyotp.TOTP(_secret(credential))
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if credential.last_used_step is not None and step <= credential.last_used_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            credential.last_used_step = step
            return True
    return False


def credential_for(account_id: str, *, for_update: bool = False) -> TotpCredential | None:
    statement = sa.select(TotpCredential).where(TotpCredential.account_id == account_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(statement)


def has_confirmed_totp(account_id: str) -> bool:
    credential = credential_for(account_id)
    return credential is not None and credential.confirmed_at is not None


@dataclass
class Enrolment:
    secret: str
    uri: str
    qr_svg: str


def begin_enrolment(*, account: Account, now: datetime) -> Enrolment:
    """A new secret for the account's authenticator app; it counts once a code confirms it."""
    credential = credential_for(account.id, for_update=True)
    if credential is not None and credential.confirmed_at is not None:
        raise TotpAlreadyEnrolled(
            ("Tài khoản đã có ứng dụng xác thực.", "An authenticator app is already set up.")
        )
    secret = pyotp.random_base32()
    ciphertext = vault().encrypt(secret, context=_context(account.id))
    if credential is None:
        credential = TotpCredential(account_id=account.id, created_at=now)
        db.session.add(credential)
    credential.secret_ciphertext = ciphertext
    credential.last_used_step = None
    db.session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=account.phone or account.id, issuer_name=ISSUER)
    import segno  # QR drawing loads with the first enrolment, not with the app

    return Enrolment(secret=secret, uri=uri, qr_svg=segno.make(uri).svg_data_uri(scale=4))


def _new_recovery_codes(account_id: str) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
    codes = ["".join(secrets.choice(_ALPHABET) for _ in range(10)) for _ in range(RECOVERY_CODES)]
    for code in codes:
        db.session.add(
            RecoveryCode(account_id=account_id, digest=vault().digest(code, purpose="recovery"))
        )
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def confirm_enrolment(*, account: Account, code: str, now: datetime) -> list[str]:
    """Confirm with a first code; returns the recovery codes, shown once."""
    credential = credential_for(account.id, for_update=True)
    if credential is None or credential.confirmed_at is not None:
        raise TotpNotEnrolled(
            ("Hãy bắt đầu cài đặt ứng dụng xác thực trước.", "Start the set-up first.")
        )
    if not _accept(credential, code, now):
        raise TotpWrong(("Hãy nhập mã đang hiện trên ứng dụng.", "Enter the code the app shows."))
    credential.confirmed_at = now
    record_event("totp_enrolled", account_id=account.id)
    return _new_recovery_codes(account.id)


def check_second_factor(
    *, account_id: str, code: str | None, recovery_code: str | None, now: datetime
) -> str | None:
    """The method that passed (``"totp"`` or ``"recovery"``), or None."""
    credential = credential_for(account_id, for_update=True)
    if credential is None or credential.confirmed_at is None:
        return None
    if code and _accept(credential, code, now):
        return "totp"
    if recovery_code:
        digest = vault().digest(recovery_code.replace("-", "").strip().lower(), purpose="recovery")
        stored = db.session.scalar(
            sa.select(RecoveryCode)
            .where(
                RecoveryCode.account_id == account_id,
                RecoveryCode.digest == digest,
                RecoveryCode.used_at.is_(None),
            )
            .with_for_update()
        )
        if stored is not None:
            stored.used_at = now
            record_event("recovery_code_used", account_id=account_id)
            return "recovery"
    return None


def require_enrolled(account_id: str) -> None:
    if not has_confirmed_totp(account_id):
        raise TotpNotEnrolled(
            ("Tài khoản chưa cài đặt ứng dụng xác thực.", "No authenticator app is set up.")
        )


def regenerate_recovery_codes(*, account: Account, code: str, now: datetime) -> list[str]:
    require_enrolled(account.id)
    if check_second_factor(account_id=account.id, code=code, recovery_code=None, now=now) is None:
        keep_despite_refusal()
        raise TotpWrong(("Hãy nhập mã đang hiện trên ứng dụng.", "Enter the code the app shows."))
    codes = _new_recovery_codes(account.id)
    record_event("recovery_codes_regenerated", account_id=account.id)
    db.session.flush()
    return codes


def disable(*, account: Account, code: str, now: datetime) -> None:
    """Remove the authenticator (citizens only: staff must keep one)."""
    require_enrolled(account.id)
    if check_second_factor(account_id=account.id, code=code, recovery_code=None, now=now) is None:
        keep_despite_refusal()
        raise TotpWrong(("Hãy nhập mã đang hiện trên ứng dụng.", "Enter the code the app shows."))
    db.session.execute(sa.delete(TotpCredential).where(TotpCredential.account_id == account.id))
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
    record_event("totp_removed", account_id=account.id)
    db.session.flush()
