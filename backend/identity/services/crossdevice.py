"""Cross-device sign-in: another screen shows a QR, the citizen's phone approves.

Modelled on the device authorization grant (RFC 8628) and the OAuth cross-device security
BCP. A registered screen (portal, kiosk, counter desk) starts a request with a PKCE challenge
and shows a QR (a link holding only the request id: nothing in it signs anyone in) and a
two-digit code. The signed-in phone fetches the request, shows who asks (screen, agency,
place, time, level) and the citizen picks, among three, the code the screen shows: a QR a
phisher forwarded fails there. Approval needs a session at the requested level or above. The
screen polls with its PKCE verifier and, once approved, gets a session of its own, short,
listed among the citizen's sessions as approved from that phone, and revocable there.

Every state change is one conditional UPDATE (WHERE status = ...), so two phones, two polls
or a poll and a deny racing each other cannot both win.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from backend.agencies.models import Agency
from backend.errors import DomainError, NotFound
from backend.extensions import db
from backend.identity.models import (
    Account,
    AccountStatus,
    CrossDeviceRequest,
    CrossDeviceStatus,
    Session,
    SigninClient,
    SigninClientKind,
)
from backend.identity.services import sessions
from backend.identity.services.events import record_event
from backend.unitofwork import keep_despite_refusal
from backend.web import caller

WRONG_PICKS_ALLOWED = 3
SLOW_DOWN_SECONDS = 5  # RFC 8628 section 3.5: each slow_down adds five seconds


class UnknownClient(DomainError):
    code = "signin-client-unknown"
    kind = "bad_request"
    title = ("Màn hình đăng nhập chưa được đăng ký", "This sign-in screen is not registered")


class RequestNotFound(NotFound):
    code = "cross-device-request-not-found"
    title = ("Không có yêu cầu đăng nhập này", "No such sign-in request")


class PollRefused(DomainError):
    """RFC 8628 section 3.5: what a polling screen hears while it may not have tokens."""

    kind = "bad_request"
    error = "invalid_request"

    def __init__(self, detail, **extra):
        super().__init__(detail, extra={"error": self.error, **extra})


class AuthorizationPending(PollRefused):
    code = "authorization-pending"
    error = "authorization_pending"
    title = ("Đang chờ xác nhận trên điện thoại", "Waiting for the phone to approve")


class SlowDown(PollRefused):
    code = "slow-down"
    error = "slow_down"
    title = ("Hỏi quá nhanh", "Polling too fast")


class ExpiredRequest(PollRefused):
    code = "cross-device-expired"
    error = "expired_token"
    title = ("Yêu cầu đăng nhập đã hết hạn", "The sign-in request has expired")


class AccessDenied(PollRefused):
    code = "cross-device-denied"
    error = "access_denied"
    title = ("Đăng nhập đã bị từ chối", "The sign-in was denied")


class NotPending(DomainError):
    code = "cross-device-decided"
    kind = "conflict"
    title = ("Yêu cầu đăng nhập đã được xử lý", "The sign-in request was already decided")


class WrongPick(DomainError):
    code = "cross-device-wrong-code"
    kind = "invalid"
    title = ("Mã không khớp với màn hình", "That is not the code the screen shows")


@dataclass
class Started:
    request: CrossDeviceRequest
    link: str
    expires_in: int


def _s256(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def _client_seen() -> dict[str, str | None]:
    seen = caller()
    return {"ip": seen.ip, "user_agent": seen.user_agent}


# --- the screens an agency registers ----------------------------------------------------


def register_client(
    *, agency: Agency, kind: SigninClientKind, name: str, name_en: str | None, place: str | None,
    registered_by: str, now: datetime,
) -> SigninClient:  # fmt: skip
    client = SigninClient(
        agency=agency, kind=kind, name=name, name_en=name_en, place=place,
        registered_by=registered_by, created_at=now,
    )  # fmt: skip
    db.session.add(client)
    db.session.flush()
    record_event("signin_client_registered", account_id=registered_by, client_id=client.id)
    return client


def list_clients(*, visible_agencies: frozenset[str]) -> list[SigninClient]:
    return list(
        db.session.scalars(
            sa.select(SigninClient)
            .where(SigninClient.agency_id.in_(visible_agencies), SigninClient.retired_at.is_(None))
            .order_by(SigninClient.created_at, SigninClient.id)
        )
    )


def retire_client(
    *, client_id: str, visible_agencies: frozenset[str], by: str, now: datetime
) -> None:
    client = db.session.get(SigninClient, client_id)
    if client is None or client.agency_id not in visible_agencies or client.retired_at:
        raise NotFound(("Không có màn hình đăng nhập này.", "No such sign-in screen."))
    client.retired_at = now
    record_event("signin_client_retired", account_id=by, client_id=client.id)


# --- the screen ----------------------------------------------------------------------------


def start(*, client_id: str, code_challenge: str, acr: int, now: datetime) -> Started:
    """A registered screen asks to be signed in; the answer is what it shows (QR and code)."""
    client = db.session.get(SigninClient, client_id)
    if client is None or client.retired_at is not None:
        raise UnknownClient(
            ("Màn hình này chưa được cơ quan đăng ký.", "No agency registered this screen.")
        )
    config = current_app.config
    lifetime = config["CROSS_DEVICE_REQUEST_SECONDS"]
    shown = secrets.randbelow(90) + 10
    decoys: set[int] = set()
    while len(decoys) < 2:
        decoy = secrets.randbelow(90) + 10
        if decoy != shown:
            decoys.add(decoy)
    choices = [str(c) for c in [shown, *decoys]]
    secrets.SystemRandom().shuffle(choices)
    pending = CrossDeviceRequest(
        id=secrets.token_urlsafe(32),
        client=client,
        requested_acr=acr,
        code_challenge=code_challenge,
        display_code=str(shown),
        choices=choices,
        interval=config["CROSS_DEVICE_POLL_SECONDS"],
        next_poll_at=now,
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
        **_client_seen(),
    )
    db.session.add(pending)
    db.session.flush()
    record_event("cross_device_started", client_id=client.id, request_id=pending.id, acr=acr)
    return Started(pending, link_of(pending), lifetime)


def link_of(pending: CrossDeviceRequest) -> str:
    """What the QR holds: the app's link with the request id, and nothing that signs in."""
    return current_app.config["CROSS_DEVICE_LINK"] + pending.id


def _conditional(request_id: str, *conditions, **values) -> bool:
    """Move the request on only if it still is as ``conditions`` say; True if it moved."""
    moved = db.session.execute(
        sa.update(CrossDeviceRequest)
        .where(CrossDeviceRequest.id == request_id, *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return moved.rowcount == 1


def redeem(*, request_id: str, code_verifier: str, now: datetime) -> sessions.TokenPair:
    """The screen's poll: RFC 8628 errors until approved, then its own session, once."""
    pending = db.session.get(CrossDeviceRequest, request_id)
    if pending is None or not secrets.compare_digest(_s256(code_verifier), pending.code_challenge):
        # Without the verifier a QR's request id is worth nothing, not even its state.
        raise sessions.InvalidGrant()
    if pending.status is CrossDeviceStatus.DENIED:
        raise AccessDenied(("Người dùng đã từ chối trên điện thoại.", "Denied on the phone."))
    if pending.status is CrossDeviceStatus.REDEEMED:
        raise sessions.InvalidGrant()
    if pending.expires_at <= now:
        raise ExpiredRequest(("Hãy bắt đầu lại.", "Start again."))
    if pending.status is CrossDeviceStatus.PENDING:
        return _still_pending(pending, now=now)
    if not _conditional(
        request_id,
        CrossDeviceRequest.status == CrossDeviceStatus.APPROVED,
        status=CrossDeviceStatus.REDEEMED,
    ):
        raise sessions.InvalidGrant()  # another poll with the verifier won the race
    return _screen_session(pending, now=now)


def _still_pending(pending: CrossDeviceRequest, *, now: datetime):
    if now < pending.next_poll_at:
        interval = pending.interval + SLOW_DOWN_SECONDS
        _conditional(pending.id, interval=interval, next_poll_at=now + timedelta(seconds=interval))
        keep_despite_refusal()  # the longer interval holds although the answer is an error
        raise SlowDown(
            (f"Hãy hỏi lại sau {interval} giây.", f"Ask again in {interval} seconds."),
            interval=interval,
        )
    _conditional(pending.id, next_poll_at=now + timedelta(seconds=pending.interval))
    keep_despite_refusal()
    raise AuthorizationPending(
        ("Hãy xác nhận trên điện thoại.", "Approve on the phone."), interval=pending.interval
    )


def _screen_session(pending: CrossDeviceRequest, *, now: datetime) -> sessions.TokenPair:
    phone = db.session.get(Session, pending.approving_session_id)
    account = db.session.get(Account, pending.account_id)
    if phone is None or phone.revoked_at is not None or account.status is not AccountStatus.ACTIVE:
        raise sessions.InvalidGrant()  # the phone signed out, or the account was closed
    client = pending.client
    pair = sessions.start_session(
        account=account,
        acr=pending.requested_acr,
        # RFC 8176: "mca", confirmed over a second channel, on top of how the phone signed in.
        amr=["mca", *[m for m in phone.amr if m != "mca"]],
        mfa_complete=True,
        device={"name": client.name[:100], "platform": client.kind.value},
        now=now,
        max_seconds=current_app.config["CROSS_DEVICE_SESSION_SECONDS"],
        approved_by=phone,
    )
    pending.session_id = pair.session_id
    record_event(
        "cross_device_signed_in",
        account_id=account.id,
        client_id=client.id,
        request_id=pending.id,
        session_id=pair.session_id,
        approved_by_session_id=phone.id,
    )
    return pair


# --- the phone -------------------------------------------------------------------------------


def for_phone(*, request_id: str, now: datetime) -> CrossDeviceRequest:
    """The request, as the phone that scanned its QR shows it (live ones only)."""
    pending = db.session.get(CrossDeviceRequest, request_id)
    if pending is None or pending.expires_at <= now:
        raise RequestNotFound()
    return pending


def approve(
    pending: CrossDeviceRequest, *, picked: str, account_id: str, session_id: str, now: datetime
) -> CrossDeviceRequest:
    """The citizen picked a code: the right one approves, three wrong ones deny.

    The caller has checked that the session is at the requested level (step-up otherwise).
    """
    if pending.status is not CrossDeviceStatus.PENDING:
        raise NotPending()
    if not secrets.compare_digest(picked.encode(), pending.display_code.encode()):
        _wrong_pick(pending, account_id=account_id, now=now)
    if not _conditional(
        pending.id,
        CrossDeviceRequest.status == CrossDeviceStatus.PENDING,
        CrossDeviceRequest.expires_at > now,
        status=CrossDeviceStatus.APPROVED,
        account_id=account_id,
        approving_session_id=session_id,
        decided_at=now,
    ):
        raise NotPending()
    record_event(
        "cross_device_approved",
        account_id=account_id,
        client_id=pending.client_id,
        request_id=pending.id,
        session_id=session_id,
    )
    db.session.refresh(pending)
    return pending


def _wrong_pick(pending: CrossDeviceRequest, *, account_id: str, now: datetime) -> None:
    pending_now = CrossDeviceRequest.status == CrossDeviceStatus.PENDING
    _conditional(pending.id, pending_now, wrong_picks=CrossDeviceRequest.wrong_picks + 1)
    denied = _conditional(
        pending.id,
        pending_now,
        CrossDeviceRequest.wrong_picks >= WRONG_PICKS_ALLOWED,
        status=CrossDeviceStatus.DENIED,
        decided_at=now,
        account_id=account_id,
    )
    db.session.refresh(pending)
    record_event(
        "cross_device_wrong_code",
        account_id=account_id,
        client_id=pending.client_id,
        request_id=pending.id,
        denied=denied,
    )
    keep_despite_refusal()  # the wrong pick counts although the answer is an error
    left = max(WRONG_PICKS_ALLOWED - pending.wrong_picks, 0)
    raise WrongPick(
        (
            "Mã không khớp. Hãy chọn mã đang hiện trên màn hình.",
            "That code does not match. Pick the code the screen shows.",
        )
        if left
        else ("Chọn sai quá nhiều lần: yêu cầu đã bị từ chối.", "Too many wrong picks: denied."),
        extra={"attempts_left": left},
    )


def deny(*, request_id: str, account_id: str, now: datetime) -> None:
    pending = for_phone(request_id=request_id, now=now)
    if not _conditional(
        request_id,
        CrossDeviceRequest.status == CrossDeviceStatus.PENDING,
        status=CrossDeviceStatus.DENIED,
        account_id=account_id,
        decided_at=now,
    ):
        raise NotPending()
    record_event(
        "cross_device_denied",
        account_id=account_id,
        client_id=pending.client_id,
        request_id=request_id,
    )
