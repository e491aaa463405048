"""Signing in with a phone code (plus an authenticator for staff), and stepping up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backend.errors import DomainError
from backend.extensions import db
from backend.identity.models import Account, AccountKind, AccountStatus, OtpChallenge, Session
from backend.identity.services import enrolment, otp, sessions, totp
from backend.identity.services.events import record_event
from backend.unitofwork import keep_despite_refusal


class AccountDisabled(DomainError):
    code = "account-disabled"
    kind = "forbidden"
    title = ("Tài khoản đã bị khóa", "The account is disabled")


@dataclass
class SignIn:
    tokens: sessions.TokenPair
    account: Account


def _account(challenge: OtpChallenge) -> Account | None:
    """The account the code was for. It came with the phone's locked challenges; when none
    did, it is read again under that lock, since a sign-in of the same phone that held the lock
    first may have made it (the locked read saw the account table as it was before the wait)."""
    if challenge.account is not None:
        return challenge.account
    return db.session.scalar(
        sa.select(Account).where(
            Account.kind == challenge.audience, Account.phone == challenge.phone
        )
    )


def _citizen(challenge: OtpChallenge, now: datetime) -> Account:
    account = _account(challenge)
    if account is None:
        # A first successful sign-in creates the citizen: level 0, phone verified.
        account = Account(kind=AccountKind.CITIZEN, phone=challenge.phone, created_at=now)
        db.session.add(account)
        db.session.flush()
        record_event("account_created", account_id=account.id, method="otp")
    return account


def sign_in_with_phone(
    *,
    challenge_id: str,
    code: str,
    device: dict[str, Any],
    totp_code: str | None = None,
    recovery_code: str | None = None,
    now: datetime,
) -> SignIn:
    challenge = otp.check_code(challenge_id=challenge_id, code=code, now=now)
    if challenge.audience is AccountKind.CITIZEN:
        account = _citizen(challenge, now)
        amr, mfa_complete, enrol = ["otp"], True, False
    else:
        account = _account(challenge)
        if account is None:  # no code was sent to this phone: the guess was lucky
            left = otp.fail_second_factor(challenge, now=now)
            raise otp.OtpWrong(extra={"attempts_left": max(left, 0)})
        if totp.has_confirmed_totp(account.id):
            method = totp.check_second_factor(
                account_id=account.id, code=totp_code, recovery_code=recovery_code, now=now
            )
            if method is None:
                left = otp.fail_second_factor(challenge, now=now)
                raise totp.TotpWrong(
                    ("Cần mã từ ứng dụng xác thực.", "An authenticator code is required."),
                    extra={"attempts_left": max(left, 0)},
                )
            amr, mfa_complete, enrol = ["otp", method], True, False
        else:
            amr, mfa_complete, enrol = ["otp"], False, True
    if account.status is not AccountStatus.ACTIVE:
        raise AccountDisabled(("Liên hệ cơ quan quản lý.", "Contact the administration."))
    pair = sessions.start_session(
        account=account, acr=0, amr=amr, mfa_complete=mfa_complete, device=device, now=now
    )
    record_event("login_succeeded", account_id=account.id, session_id=pair.session_id, amr=amr)
    db.session.flush()
    pair.mfa_enrollment_required = enrol
    return SignIn(tokens=pair, account=account)


def confirm_totp_and_upgrade(
    *, session: Session, code: str, now: datetime
) -> tuple[list[str], Any]:
    """Confirm an authenticator; the session that did it now counts as two-factor."""
    codes = totp.confirm_enrolment(account=session.account, code=code, now=now)
    if session.account.kind is AccountKind.STAFF:
        enrolment.use_up(account_id=session.account_id, now=now)
    session.mfa_complete = True
    session.amr = sorted({*session.amr, "totp"})
    session.authenticated_at = now
    pair = sessions.reissue_access(session, now=now)
    db.session.flush()
    return codes, pair


def step_up_with_totp(*, session: Session, code: str, now: datetime) -> sessions.TokenPair:
    """A citizen proves the authenticator again; the session's tokens then say so (amr)."""
    totp.require_enrolled(session.account_id)
    method = totp.check_second_factor(
        account_id=session.account_id, code=code, recovery_code=None, now=now
    )
    if method is None:
        record_event("step_up_failed", account_id=session.account_id)
        keep_despite_refusal()
        raise totp.TotpWrong(
            ("Hãy nhập mã đang hiện trên ứng dụng.", "Enter the code the app shows.")
        )
    session.amr = sorted({*session.amr, "totp"})
    session.authenticated_at = now
    pair = sessions.reissue_access(session, now=now)
    record_event("step_up", account_id=session.account_id, session_id=session.id)
    db.session.flush()
    return pair
