"""Device sessions and the tokens that keep them alive.

A session is one signed-in device. It holds one live refresh token at a time: each use rotates
it, and presenting a token that was already used means it was copied, so the whole session is
revoked (RFC 6819 section 5.2.2.3; OAuth 2.0 Security BCP section 4.14).

One exception keeps a phone on a bad network signed in: it sends a refresh, loses the answer and
sends the same token again. Within ``REFRESH_REUSE_GRACE_SECONDS`` of the rotation, and while
the token it was exchanged for has not been used (so the session has not moved on without it),
the retry gets the same pair again. Later, or once the successor was used, it is reuse.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import undefer

from backend.crypto import CannotDecrypt, vault
from backend.db import new_id, utcnow
from backend.errors import DomainError, NotFound
from backend.extensions import connection, db
from backend.identity import dpop, tokens
from backend.identity.models import Account, AccountStatus, RefreshToken, Session
from backend.identity.services.events import record_event
from backend.notifications.services.devices import forget_session_devices
from backend.unitofwork import keep_despite_refusal
from backend.web import caller


class InvalidGrant(DomainError):
    code = "invalid-grant"
    kind = "unauthorized"
    title = ("Phiên đăng nhập đã hết hạn", "The sign-in has expired")

    def __init__(self):
        super().__init__(
            ("Hãy đăng nhập lại.", "Sign in again."),
            extra={"error": "invalid_grant"},
        )


class SessionNotFound(NotFound):
    code = "session-not-found"


@dataclass
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    # What the answer says of the session, read when issued: nothing more is read from it.
    session_id: str
    acr: int
    dpop_jkt: str | None
    mfa_enrollment_required: bool = False


def _digest(token: str) -> str:
    # 256 random bits need no key or slow hash: SHA-256 is enough to hide them at rest.
    return hashlib.sha256(token.encode()).hexdigest()


# Tokens are read and written by these statements, built once, not through the ORM's unit of
# work: a refresh then has nothing to flush (the flush's bookkeeping was about a fifth of its
# Python calls) and builds no statement.
_TOKENS = RefreshToken.__table__
_SESSIONS = Session.__table__
_ADD_TOKEN = sa.insert(_TOKENS)  # the id and issued_at come from the columns' defaults
_USE_TOKEN = (
    sa.update(_TOKENS)
    .where(_TOKENS.c.id == sa.bindparam("token_id"))
    .values(used_at=sa.bindparam("when_used"), successor_sealed=sa.bindparam("sealed"))
)
_TOKEN = sa.select(RefreshToken).where(RefreshToken.digest == sa.bindparam("digest"))
# A refresh reads its token with what a new pair needs of the session and account, as one plain
# row: the ORM's three objects cost about a fifth of the request's Python calls. The row stands
# for the session where a pair is issued (``_issue_pair``); the token's own columns are
# ``token_*``. Locked, so that two refreshes with one token take turns.
_LOCK_TOKEN_ROW = (
    sa.select(
        _TOKENS.c.id.label("token_id"),
        _TOKENS.c.expires_at.label("token_expires_at"),
        _TOKENS.c.used_at.label("token_used_at"),
        Session.id,
        Session.account_id,
        Session.acr,
        Session.amr,
        Session.dpop_jkt,
        Session.expires_at,
        Session.revoked_at,
        Account.kind,
        Account.status,
    )
    .join(Session, Session.id == _TOKENS.c.session_id)
    .join(Account, Account.id == Session.account_id)
    .where(_TOKENS.c.digest == sa.bindparam("digest"))
    .with_for_update(of=_TOKENS)
)
_BIND_SESSION = (
    sa.update(_SESSIONS)
    .where(_SESSIONS.c.id == sa.bindparam("session_id"))
    .values(dpop_jkt=sa.bindparam("jkt"))
)


def _issue_pair(session: Any, *, kind: str, now: datetime) -> TokenPair:
    """A new pair for ``session``: the ORM object or a row with its columns by their names
    (``id``, ``account_id``, ``acr``, ``amr``, ``dpop_jkt``, ``expires_at``)."""
    dpop.require_binding(kind=kind, acr=session.acr, bound_jkt=session.dpop_jkt)
    idle = timedelta(seconds=current_app.config["REFRESH_IDLE_SECONDS"])
    refresh_expires = min(now + idle, session.expires_at)
    refresh = secrets.token_urlsafe(32)
    db.session.execute(
        _ADD_TOKEN,
        {"session_id": session.id, "digest": _digest(refresh), "expires_at": refresh_expires},
    )
    access, lifetime = tokens.issue_access_token(
        account_id=session.account_id,
        session_id=session.id,
        kind=kind,
        acr=session.acr,
        amr=list(session.amr),
        now=now,
        dpop_jkt=session.dpop_jkt,
    )
    return TokenPair(
        access_token=access,
        expires_in=lifetime,
        refresh_token=refresh,
        refresh_expires_in=int((refresh_expires - now).total_seconds()),
        session_id=session.id,
        acr=session.acr,
        dpop_jkt=session.dpop_jkt,
    )


_ADD_SESSION = sa.insert(_SESSIONS)


def start_session(
    *,
    account: Account,
    acr: int,
    amr: list[str],
    mfa_complete: bool,
    device: dict[str, Any],
    now: datetime,
    max_seconds: int | None = None,
    approved_by: Session | None = None,
) -> TokenPair:
    """Open a session for a device and issue its first tokens; the unit of work commits.

    ``max_seconds`` shortens the session below ``SESSION_MAX_SECONDS`` (a screen's session,
    which ``approved_by`` a phone's). A token endpoint that checked a DPoP proof
    (``dpop.token_endpoint``) binds the session to the proof's key.
    """
    if account.id is None or account in db.session.new:
        db.session.flush()  # the account is new: its row first
    lifetime = current_app.config["SESSION_MAX_SECONDS"]
    seen = caller()
    # Written by one statement from its values, no object: a flush of its own cost a phone
    # sign-in about 400 of its 6,200 Python calls, an object joined to the ORM session as the
    # row about 300 more. Whoever reads the session later in the request reads the row.
    session = {
        "id": new_id(),
        "account_id": account.id,
        "acr": acr,
        "amr": amr,
        "mfa_complete": mfa_complete,
        "device_name": device.get("name"),
        "platform": device.get("platform"),
        "app_version": device.get("app_version"),
        "ip": seen.ip,
        "user_agent": seen.user_agent,
        "created_at": now,
        "authenticated_at": now,
        "expires_at": now + timedelta(seconds=min(max_seconds or lifetime, lifetime)),
        "revoked_at": None,
        "revoked_reason": None,
        "approved_by_session_id": approved_by.id if approved_by is not None else None,
        "dpop_jkt": dpop.request_key(),
    }
    db.session.execute(_ADD_SESSION, session)
    return _issue_pair(SimpleNamespace(**session), kind=account.kind.value, now=now)


def reissue_access(session: Session, *, now: datetime) -> TokenPair:
    """New tokens after the session itself changed (second factor added, step-up)."""
    _retire_live_tokens(session, now=now)
    return _issue_pair(session, kind=session.account.kind.value, now=now)


def _retire_live_tokens(session: Session, *, now: datetime) -> None:
    db.session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.session_id == session.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    )


def _is_live(session: Any, status: AccountStatus, now: datetime) -> bool:
    """Whether a session (the object, or a row with its columns) may still get tokens."""
    return (
        session.revoked_at is None and session.expires_at > now and status is AccountStatus.ACTIVE
    )


def refresh(*, refresh_token: str, now: datetime) -> TokenPair:
    """Rotate a refresh token. A token used twice revokes its session."""
    digest = _digest(refresh_token)
    found = connection().execute(_LOCK_TOKEN_ROW, {"digest": digest}).first()
    if found is None:
        raise InvalidGrant()
    # A bound session's token refreshes only with its key, retries within the grace included;
    # without it nothing happens, so a copied token cannot even revoke the session.
    dpop.require_holder(bound_jkt=found.dpop_jkt)
    if found.token_used_at is not None:
        return _reused(db.session.scalar(_TOKEN, {"digest": digest}), now=now)
    if found.token_expires_at <= now or not _is_live(found, found.status, now):
        raise InvalidGrant()
    session: Any = found
    if found.dpop_jkt is None and (key := dpop.request_key()) is not None:
        # A session opened before the app had a key: bound from now on.
        db.session.execute(_BIND_SESSION, {"session_id": found.id, "jkt": key})
        session = SimpleNamespace(**{**found._mapping, "dpop_jkt": key})
    pair = _issue_pair(session, kind=found.kind.value, now=now)
    sealed = None
    if current_app.config["REFRESH_REUSE_GRACE_SECONDS"] > 0:
        sealed = _seal_successor(found.token_id, pair, now=now)
    # Writes go through the session, which notes them for the unit of work to commit.
    db.session.execute(_USE_TOKEN, {"token_id": found.token_id, "when_used": now, "sealed": sealed})
    return pair


def _reused(stored: RefreshToken, *, now: datetime) -> TokenPair:
    """A token used before: the same pair again for a retry within the grace, else the
    session is revoked (once), and the refusal stands."""
    again = _retried(stored, now=now)
    if again is not None:
        return again
    session = stored.session
    if session.revoked_at is None:
        _revoke(session, reason="refresh_reuse", now=now)
        record_event("refresh_reuse", account_id=session.account_id, session_id=session.id)
        keep_despite_refusal()
    raise InvalidGrant()


def _seal_successor(token_id: str, pair: TokenPair, *, now: datetime) -> str:
    answer = {
        "access_token": pair.access_token,
        "access_expires_at": (now + timedelta(seconds=pair.expires_in)).timestamp(),
        "refresh_token": pair.refresh_token,
    }
    return vault().encrypt(json.dumps(answer), context=f"refresh-successor:{token_id}")


def _retried(stored: RefreshToken, *, now: datetime) -> TokenPair | None:
    """The pair ``stored`` was exchanged for, when this is a retry within the grace period."""
    grace = timedelta(seconds=current_app.config["REFRESH_REUSE_GRACE_SECONDS"])
    session = stored.session
    if stored.successor_sealed is None or now - stored.used_at > grace:
        return None
    if not _is_live(session, session.account.status, now):
        return None
    try:
        answer = json.loads(
            vault().decrypt(stored.successor_sealed, context=f"refresh-successor:{stored.id}")
        )
    except CannotDecrypt:
        return None
    successor = db.session.scalar(_TOKEN, {"digest": _digest(answer["refresh_token"])})
    if successor is None or successor.used_at is not None or successor.expires_at <= now:
        return None  # the session moved on: whoever sends the old token now copied it
    record_event("refresh_retry", account_id=session.account_id, session_id=session.id)
    db.session.flush()
    return TokenPair(
        access_token=answer["access_token"],
        expires_in=max(0, int(answer["access_expires_at"] - now.timestamp())),
        refresh_token=answer["refresh_token"],
        refresh_expires_in=int((successor.expires_at - now).total_seconds()),
        session_id=session.id,
        acr=session.acr,
        dpop_jkt=session.dpop_jkt,
    )


# Every authenticated request asks this: built once, it costs neither building nor hashing.
_LIVE = (
    sa.select(Account.kind, Session.mfa_complete)
    .join(Account, Account.id == Session.account_id)
    .where(
        Session.id == sa.bindparam("session_id"),
        Session.account_id == sa.bindparam("account_id"),
        Session.revoked_at.is_(None),
        Session.expires_at > sa.bindparam("now"),
        Account.status == AccountStatus.ACTIVE,
    )
)


def live_session(
    *,
    session_id: str,
    account_id: str,
    now: datetime,
    ride: Ride | None = None,
    **params,
) -> list[sa.Row]:
    """The account kind and second-factor state behind an access token (``kind``,
    ``mfa_complete``); InvalidToken when the session was revoked, has expired or its account is
    no longer active.

    Every authenticated request asks this, so it reads two columns by primary key rather than
    the session and account rows; ``Principal.session`` loads the row for the few that need it.
    With ``ride``, a view's first read goes in the same statement; its bind parameters come in
    ``params``. One row, or one per row of a read of many (the check's columns in each).
    """
    values = {"session_id": session_id, "account_id": account_id, "now": now, **params}
    # Plain Core on the request's connection: columns need none of the ORM's work.
    statement = _LIVE if ride is None else ride.statement
    rows = connection().execute(statement, values).all()
    if not rows:
        raise tokens.InvalidToken()
    return rows


@dataclass(frozen=True)
class Ride:
    """A view's first read, sent in one statement with the session check: one round trip
    instead of two. The read is outer-joined to the check, so that the session check alone
    decides whether there is a row at all; the read's part of it is None when it found
    nothing. It may use the bind parameter ``account_id`` (the caller) and the view's URL
    arguments."""

    statement: sa.Select

    @classmethod
    def columns(cls, read: sa.Subquery) -> Ride:
        """Plain columns: ``read``'s, by their names in the row (a row each, if many)."""
        return cls(_LIVE.add_columns(*read.c).outerjoin(read, sa.true()))


def _revoke(session: Session, *, reason: str, now: datetime) -> None:
    session.revoked_at = now
    session.revoked_reason = reason
    _retire_live_tokens(session, now=now)
    forget_session_devices(session_id=session.id)  # a signed-out phone gets no more pushes


def revoke_session(*, account_id: str, session_id: str, reason: str, now: datetime) -> None:
    session = db.session.get(Session, session_id)
    if session is None or session.account_id != account_id or session.revoked_at is not None:
        raise SessionNotFound(("Không có phiên đăng nhập này.", "No such session."))
    _revoke(session, reason=reason, now=now)
    record_event("session_revoked", account_id=account_id, session_id=session_id, reason=reason)
    db.session.flush()


def list_sessions(*, account_id: str, now: datetime | None = None) -> list[Session]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            sa.select(Session)
            .where(
                Session.account_id == account_id,
                Session.revoked_at.is_(None),
                Session.expires_at > now,
            )
            .options(undefer(Session.last_seen_at))
            .order_by(Session.last_seen_at.desc(), Session.id.desc())
        )
    )
