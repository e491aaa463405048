"""Staff enrolment codes: what the SIM does not give.

A staff account's first sign-in proves only that someone holds its phone. Whoever held the SIM
at that moment could set up their own authenticator and own the account. So an administrator
hands the new staff member an enrolment code (in person, or read out over a known line): single
use, short-lived (``STAFF_ENROLMENT_CODE_SECONDS``), shown once and kept only as a keyed digest.
Setting up the authenticator needs it; confirming the authenticator uses it up.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from backend.crypto import vault
from backend.errors import Conflict, DomainError, ValidationFailed
from backend.extensions import db
from backend.identity.models import Account, AccountKind, StaffEnrolmentCode
from backend.identity.services import totp
from backend.identity.services.events import record_event
from backend.unitofwork import keep_despite_refusal

_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # 31 look-alike-free characters: ~49 bits in 10


class EnrolmentCodeWrong(DomainError):
    code = "enrolment-code-wrong"
    kind = "unauthorized"
    title = ("Mã kích hoạt không đúng", "Wrong enrolment code")

    def __init__(self):
        super().__init__(
            (
                "Mã kích hoạt không đúng hoặc đã hết hạn; hãy xin quản trị viên mã mới.",
                "The enrolment code is wrong or expired; ask your administrator for a new one.",
            )
        )


class EnrolmentCodeNeeded(Conflict):
    code = "enrolment-code-needed"

    def __init__(self):
        super().__init__(
            (
                "Hãy bắt đầu lại việc cài đặt với mã kích hoạt mới.",
                "Start the set-up again with a new enrolment code.",
            )
        )


@dataclass
class IssuedCode:
    code: str  # shown once
    expires_at: datetime


def _digest(account_id: str, code: str) -> str:
    plain = code.lower().replace("-", "").replace(" ", "")
    return vault().digest(f"{account_id}:{plain}", purpose="staff-enrolment")


def issue(*, account: Account, issued_by: str | None, now: datetime) -> IssuedCode:
    """A new code for a staff account not yet enrolled; it replaces any earlier one."""
    if totp.has_confirmed_totp(account.id):
        raise totp.TotpAlreadyEnrolled(
            ("Cán bộ đã cài đặt ứng dụng xác thực.", "This staff member has an authenticator.")
        )
    plain = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    expires_at = now + timedelta(seconds=current_app.config["STAFF_ENROLMENT_CODE_SECONDS"])
    db.session.execute(
        sa.delete(StaffEnrolmentCode).where(StaffEnrolmentCode.account_id == account.id)
    )
    db.session.add(
        StaffEnrolmentCode(
            account_id=account.id,
            digest=_digest(account.id, plain),
            issued_by=issued_by,
            issued_at=now,
            expires_at=expires_at,
        )
    )
    record_event("enrolment_code_issued", account_id=account.id, by=issued_by)
    db.session.flush()
    return IssuedCode(code=f"{plain[:5]}-{plain[5:]}", expires_at=expires_at)


def _live(account_id: str, now: datetime) -> StaffEnrolmentCode | None:
    row = db.session.get(StaffEnrolmentCode, account_id)
    return row if row is not None and row.expires_at > now else None


def check(*, account_id: str, code: str, now: datetime) -> None:
    """EnrolmentCodeWrong unless ``code`` is the account's live enrolment code."""
    row = _live(account_id, now)
    expected = row.digest if row is not None else _digest(account_id, "-")
    if not hmac.compare_digest(_digest(account_id, code), expected) or row is None:
        record_event("enrolment_code_wrong", account_id=account_id)
        keep_despite_refusal()
        raise EnrolmentCodeWrong()


def begin(*, account: Account, code: str | None, now: datetime) -> totp.Enrolment:
    """Start setting up an authenticator; a staff account needs its enrolment code for it."""
    if account.kind is AccountKind.STAFF and not totp.has_confirmed_totp(account.id):
        if not code:
            raise ValidationFailed(
                errors={
                    "enrolment_code": ["Staff need the enrolment code from their administrator."]
                }
            )
        check(account_id=account.id, code=code, now=now)
    return totp.begin_enrolment(account=account, now=now)


def use_up(*, account_id: str, now: datetime) -> None:
    """At confirmation: the code that began the set-up, gone for good (the unit of work commits)."""
    row = _live(account_id, now)
    if row is None:
        raise EnrolmentCodeNeeded()
    db.session.delete(row)
