"""Phone one-time codes (NIST SP 800-63B-4 section 3.1.3; OWASP ASVS V2.7).

A code is six digits from ``secrets``, lives a few minutes, opens only its own challenge, and is
kept as an HMAC keyed with a server secret. The answer to "send me a code" is the same whether
the phone belongs to anyone. Limits that every pod sees live in the database: wrong tries per
challenge, challenges per phone per hour, wrong tries per phone per day (a new challenge never
resets them), and a resend cooldown. A phone's challenges are locked while one is checked, so
parallel guesses are counted one by one.

The code leaves by SMS through the notifications outbox, after the challenge is committed, and
sealed in the outbox row until it is sent. If the gateway fails, the answer is still 202: the
outbox retries within seconds, and never after the code expires. A 503 only for phones a code
was actually sent to would tell an attacker which phones belong to staff; with workers the API
cannot know the outcome anyway; and a gateway's short hiccup is cured by the retry before the
citizen could have asked again (the resend cooldown). When the gateway stays down, the
citizen's "send again" after the cooldown is the same as today's.
"""

from __future__ import annotations

import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm.attributes import set_committed_value

from backend.crypto import vault
from backend.db import new_id
from backend.errors import DomainError
from backend.extensions import db
from backend.identity.models import Account, AccountKind, OtpChallenge
from backend.identity.services.events import record_event
from backend.notifications.services import notify_phone
from backend.unitofwork import keep_despite_refusal
from backend.web import caller

_DAY = timedelta(days=1)
_HOUR = timedelta(hours=1)

SIGN_IN, FEEDBACK = "sign_in", "feedback"
# The text says what the code is for, so nobody reads a petition code as a sign-in one.
# The SMS says what the code is for (backend.notifications.templates has the words).
_SMS_KIND = {SIGN_IN: "otp", FEEDBACK: "otp.feedback"}


class OtpRefused(DomainError):
    """A code that cannot open this challenge. Never says whether the phone is known."""

    kind = "unauthorized"


class OtpWrong(OtpRefused):
    code = "otp-wrong"
    title = ("Mã xác thực không đúng", "Wrong code")


class OtpExpired(OtpRefused):
    code = "otp-expired"
    title = ("Mã xác thực đã hết hạn", "The code has expired")


class OtpUsed(OtpRefused):
    code = "otp-used"
    title = ("Mã xác thực đã được dùng", "The code was already used")


class OtpUnknown(OtpRefused):
    code = "otp-unknown-challenge"
    title = ("Không có yêu cầu mã này", "No such code request")


class OtpTooMany(DomainError):
    kind = "rate_limited"

    def __init__(self, detail, *, retry_after: float):
        seconds = max(1, math.ceil(retry_after))
        super().__init__(
            detail, headers={"Retry-After": str(seconds)}, extra={"retry_after": seconds}
        )


class OtpLocked(OtpTooMany):
    code = "otp-locked"
    title = ("Tạm khóa xác thực", "Too many wrong codes")


class OtpRequestLimited(OtpTooMany):
    code = "otp-rate-limited"
    title = ("Yêu cầu mã quá nhiều lần", "Too many code requests")


def _code_digest(challenge_id: str, code: str) -> str:
    return vault().digest(f"{challenge_id}:{code}", purpose="otp")


def _recent_of(phone: sa.ColumnElement[str]) -> sa.Select:
    return (
        sa.select(OtpChallenge)
        .where(OtpChallenge.phone == phone, OtpChallenge.created_at > sa.bindparam("since"))
        .order_by(OtpChallenge.created_at, OtpChallenge.id)
        .with_for_update(of=OtpChallenge)
        .execution_options(populate_existing=True)
    )


# Built once: every code asked for and every code checked runs one of these.
_RECENT = _recent_of(sa.bindparam("phone"))
_CHALLENGE = sa.bindparam("challenge_id")
_RECENT_WITH_ACCOUNT = (
    _recent_of(sa.select(OtpChallenge.phone).where(OtpChallenge.id == _CHALLENGE).scalar_subquery())
    .add_columns(Account)
    .outerjoin(
        Account,
        sa.and_(
            OtpChallenge.id == _CHALLENGE,
            Account.phone == OtpChallenge.phone,
            Account.kind == OtpChallenge.audience,
        ),
    )
)


_CHALLENGES = OtpChallenge.__table__
# A right code's use: written at once (``check_code``).
_CONSUME = (
    sa.update(_CHALLENGES)
    .where(_CHALLENGES.c.id == sa.bindparam("challenge_id"))
    .values(consumed_at=sa.bindparam("now"))
)


def _lock_recent(phone: str, now: datetime) -> list[OtpChallenge]:
    """The phone's challenges of the last day, locked: checks for one phone run one at a time."""
    return list(db.session.scalars(_RECENT, {"phone": phone, "since": now - _DAY}))


def _lock_recent_with(challenge_id: str, now: datetime) -> list[OtpChallenge]:
    """The last day's challenges of the phone ``challenge_id`` was sent to, locked like
    ``_lock_recent``; that challenge's ``account`` comes in the same statement (not locked)."""
    rows = db.session.execute(
        _RECENT_WITH_ACCOUNT, {"challenge_id": challenge_id, "since": now - _DAY}
    ).all()
    for challenge, account in rows:
        if challenge.id == challenge_id:
            set_committed_value(challenge, "account", account)
    return [challenge for challenge, _ in rows]


def _daily_failures_exhausted(recent: list[OtpChallenge], now: datetime) -> float | None:
    """Seconds until the phone may try again, or None while under the daily limit."""
    limit = current_app.config["OTP_FAILURES_PER_PHONE_PER_DAY"]
    failing = [c for c in recent if c.failed_attempts]
    if sum(c.failed_attempts for c in failing) < limit:
        return None
    return (failing[0].created_at + _DAY - now).total_seconds()


@dataclass
class CodeRequest:
    challenge: OtpChallenge
    expires_in: int
    resend_after: int


def request_code(
    *, phone: str, audience: AccountKind, now: datetime, purpose: str = SIGN_IN
) -> CodeRequest:
    """Create a challenge for ``phone`` (E.164) and send its code when someone can receive it.

    Every purpose shares the phone's limits: a second door must not double the codes a phone
    can be sent or the guesses it can take.
    """
    config = current_app.config
    recent = _lock_recent(phone, now)
    wait = _daily_failures_exhausted(recent, now)
    if wait is not None:
        raise OtpLocked(
            (
                "Số điện thoại này tạm bị khóa vì nhập sai mã nhiều lần.",
                "This phone is locked for a while after too many wrong codes.",
            ),
            retry_after=wait,
        )
    resend = timedelta(seconds=config["OTP_RESEND_SECONDS"])
    if recent and recent[-1].created_at + resend > now:
        raise OtpRequestLimited(
            ("Hãy đợi trước khi yêu cầu mã mới.", "Wait before asking for a new code."),
            retry_after=(recent[-1].created_at + resend - now).total_seconds(),
        )
    this_hour = [c for c in recent if c.created_at > now - _HOUR]
    if len(this_hour) >= config["OTP_PER_PHONE_PER_HOUR"]:
        raise OtpRequestLimited(
            ("Đã yêu cầu quá nhiều mã trong một giờ.", "Too many codes asked for in an hour."),
            retry_after=(this_hour[0].created_at + _HOUR - now).total_seconds(),
        )

    code = f"{secrets.randbelow(1_000_000):06d}"
    ttl = config["OTP_TTL_SECONDS"]
    challenge_id = new_id()
    challenge = OtpChallenge(
        id=challenge_id,
        phone=phone,
        audience=audience,
        purpose=purpose,
        code_digest=_code_digest(challenge_id, code),
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
        ip=caller().ip,
    )
    db.session.add(challenge)
    # Staff codes go only to phones of staff; the answer is the same either way.
    if audience is AccountKind.CITIZEN or _find_account(phone, audience) is not None:
        # Sent after the commit, through the outbox; see the module docstring for failures.
        notify_phone(
            phone=phone,
            kind=_SMS_KIND[purpose],
            data={"code": code, "minutes": ttl // 60},
            expires_at=challenge.expires_at,
            now=now,
        )
    db.session.flush()
    return CodeRequest(
        challenge=challenge, expires_in=ttl, resend_after=int(resend.total_seconds())
    )


def _find_account(phone: str, kind: AccountKind) -> Account | None:
    return db.session.scalar(sa.select(Account).where(Account.kind == kind, Account.phone == phone))


def _fail(challenge: OtpChallenge, *, reason: str, now: datetime) -> int:
    """Count a wrong answer against the challenge and the phone; returns tries left."""
    challenge.failed_attempts += 1
    left = current_app.config["OTP_MAX_ATTEMPTS"] - challenge.failed_attempts
    record_event("login_failed", reason=reason, challenge_id=challenge.id, attempts_left=left)
    if left <= 0:
        record_event("login_locked", challenge_id=challenge.id)
    keep_despite_refusal()  # the caller refuses; the wrong answer counts all the same
    return left


def check_code(
    *, challenge_id: str, code: str, now: datetime, purpose: str = SIGN_IN
) -> OtpChallenge:
    """Consume a challenge whose code is right; every refusal leaves no session behind.

    The caller still has to finish the sign-in (second factor, session); the challenge's
    ``account``, if there is one yet, was read with it. A challenge made for another purpose
    is unknown here.
    """
    # In one statement, the phone's challenges of the last day with this one among them, locked
    # in one order (by age) so that parallel checks cannot deadlock, and read as the last
    # committed check left them. One older than a day is read alone: it has expired anyway.
    recent = _lock_recent_with(challenge_id, now)
    challenge = next((c for c in recent if c.id == challenge_id), None) or db.session.get(
        OtpChallenge, challenge_id
    )
    if challenge is None or challenge.purpose != purpose:
        raise OtpUnknown(("Hãy yêu cầu mã mới.", "Ask for a new code."))
    wait = _daily_failures_exhausted(recent, now)
    if wait is not None or challenge.failed_attempts >= current_app.config["OTP_MAX_ATTEMPTS"]:
        raise OtpLocked(
            (
                "Đã nhập sai quá nhiều lần; hãy yêu cầu mã mới sau ít phút.",
                "Too many wrong codes; ask for a new code later.",
            ),
            retry_after=wait if wait is not None else current_app.config["OTP_RESEND_SECONDS"],
        )
    if challenge.consumed_at is not None:
        raise OtpUsed(("Hãy yêu cầu mã mới.", "Ask for a new code."))
    if challenge.expires_at <= now:
        raise OtpExpired(("Hãy yêu cầu mã mới.", "Ask for a new code."))
    if not hmac.compare_digest(_code_digest(challenge.id, code), challenge.code_digest):
        left = _fail(challenge, reason="otp_wrong", now=now)
        raise OtpWrong(
            (f"Mã không đúng; còn {left} lần thử.", f"Wrong code; {left} tries left."),
            extra={"attempts_left": max(left, 0)},
        )
    # One statement now rather than a flush of the changed object later (about 300 Python
    # calls of a sign-in); the object knows its row says so.
    db.session.execute(_CONSUME, {"challenge_id": challenge.id, "now": now})
    set_committed_value(challenge, "consumed_at", now)
    return challenge


def fail_second_factor(challenge: OtpChallenge, *, now: datetime) -> int:
    """A wrong authenticator code spends one of the challenge's tries too."""
    challenge.consumed_at = None
    return _fail(challenge, reason="totp_wrong", now=now)
