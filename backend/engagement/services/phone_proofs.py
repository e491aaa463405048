"""Anonymous petitions: a phone proves itself before anything it sends is accepted.

1. ``request_proof_code``: a phone code for the ``feedback`` purpose, through the sign-in
   OTP machinery (``backend.identity.services.otp``), so the same per-phone limits hold:
   codes per hour, a resend cooldown, wrong tries per code and per day. A sign-in code never
   opens a proof, and a proof code never signs anyone in.
2. ``issue_proof``: the right code gives a random proof (sent once; only its keyed digest is
   kept) valid ``FEEDBACK_PHONE_PROOF_SECONDS`` (30 minutes), the time to file a petition and
   attach its files, or to come back and read the answer.
3. ``phone_of_proof``: the ``X-Phone-Proof`` header of a later request, back to its phone.

The petitions filed with a phone are limited per day (``FEEDBACK_PER_SENDER_PER_DAY``), and
the routes are limited per IP address.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from backend.crypto import vault
from backend.engagement.models import PhoneProof
from backend.errors import DomainError
from backend.extensions import db
from backend.identity.models import AccountKind
from backend.identity.services import otp


class PhoneProofInvalid(DomainError):
    code = "phone-proof-invalid"
    kind = "unauthorized"
    title = ("Cần xác nhận lại số điện thoại", "The phone must be confirmed again")

    def __init__(self):
        super().__init__(
            (
                "Xác nhận số điện thoại không hợp lệ hoặc đã hết hạn; hãy nhận mã mới.",
                "The phone proof is not valid or has expired; ask for a new code.",
            ),
            headers={"WWW-Authenticate": 'Bearer realm="dvc-mobile"'},
        )


@dataclass
class IssuedProof:
    proof: str
    expires_in: int


def _digest(proof: str) -> str:
    return vault().digest(proof, purpose="feedback-phone-proof")


def request_proof_code(*, phone: str, now: datetime) -> otp.CodeRequest:
    return otp.request_code(
        phone=phone, audience=AccountKind.CITIZEN, now=now, purpose=otp.FEEDBACK
    )


def issue_proof(*, challenge_id: str, code: str, now: datetime) -> IssuedProof:
    challenge = otp.check_code(challenge_id=challenge_id, code=code, now=now, purpose=otp.FEEDBACK)
    lifetime = current_app.config["FEEDBACK_PHONE_PROOF_SECONDS"]
    proof = secrets.token_urlsafe(32)
    db.session.add(
        PhoneProof(
            phone=challenge.phone,
            digest=_digest(proof),
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime),
        )
    )
    # Proofs nobody can use any more are of no interest to anyone.
    db.session.execute(sa.delete(PhoneProof).where(PhoneProof.expires_at < now - timedelta(days=1)))
    db.session.flush()
    return IssuedProof(proof=proof, expires_in=lifetime)


def phone_of_proof(*, proof: str, now: datetime) -> str:
    if not proof or len(proof) > 100:
        raise PhoneProofInvalid()
    found = db.session.scalar(sa.select(PhoneProof).where(PhoneProof.digest == _digest(proof)))
    if found is None or found.expires_at <= now:
        raise PhoneProofInvalid()
    return found.phone
