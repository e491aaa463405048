"""Sending outbox rows: claim, send through the channel's transport, record the outcome.

A worker first claims rows in a transaction of its own: on PostgreSQL it selects them
``FOR UPDATE SKIP LOCKED`` (two workers never wait on, nor take, the same row), then marks them
``sending`` with a claim token and commits. Only then does it call the provider, and it records
each outcome with an update guarded by its claim token, committing after every transport call
(one message for SMS, up to a batch for push and e-mail). On SQLite the claim is the same
guarded update; SQLite runs one writer at a time.

At-least-once, and where the edge is: a worker that dies after the provider accepted a message
but before its outcome was committed leaves the row ``sending``; the sweeper gives it back after
``NOTIFY_SENDING_TIMEOUT_SECONDS`` and it is sent again. Only messages in flight at that moment
(at most one transport call's worth per worker) can go twice, and each carries the notification
id so the provider can see the repeat: the SMS gateway gets it as ``Idempotency-Key``, a push as
its collapse key (the phone shows one), an e-mail as its Message-ID.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby

import sqlalchemy as sa
from flask import current_app

from backend.crypto import CannotDecrypt, vault
from backend.db import utcnow
from backend.extensions import db
from backend.notifications.models import (
    CLAIMABLE_STATUSES,
    Channel,
    Device,
    Notification,
    NotificationStatus,
)
from backend.notifications.services.outbox import sealing_context
from backend.notifications.templates import MissingData, UnknownKind, render, template_for
from backend.notifications.transports import transport_for
from backend.notifications.transports.base import Delivered, Message, Outcome, Retry, Undeliverable

log = logging.getLogger(__name__)
_random = secrets.SystemRandom()


@dataclass(frozen=True)
class Unsendable:
    """Our side cannot send it (no template, sealed data that does not open, expired): the
    dead letter at once, since trying again would change nothing."""

    reason: str


@dataclass
class DeliveryReport:
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, status: NotificationStatus) -> None:
        self.outcomes[status.value] = self.outcomes.get(status.value, 0) + 1


def claim(*, ids: list[str] | None, limit: int, now: datetime) -> tuple[str, list[sa.Row]]:
    """Take up to ``limit`` rows for this worker: the given ones, or any whose time has come."""
    claimable = Notification.status.in_(CLAIMABLE_STATUSES)
    candidates = sa.select(Notification.id).where(claimable)
    if ids is not None:
        candidates = candidates.where(Notification.id.in_(ids))
    else:
        candidates = candidates.where(Notification.next_attempt_at <= now).order_by(
            Notification.next_attempt_at
        )
    chosen = list(db.session.scalars(candidates.limit(limit).with_for_update(skip_locked=True)))
    if not chosen:
        db.session.rollback()
        return "", []
    token = uuid.uuid4().hex
    db.session.execute(
        sa.update(Notification)
        .where(Notification.id.in_(chosen), claimable)
        .values(
            status=NotificationStatus.SENDING,
            claim_token=token,
            claimed_at=now,
            attempts=Notification.attempts + 1,
        )
    )
    db.session.commit()
    # Plain rows, not ORM objects: outcomes are written with guarded updates, and these are not
    # reloaded after every commit nor shared with objects the caller's session holds.
    rows = db.session.execute(
        sa.select(Notification.__table__)
        .where(Notification.claim_token == token)
        .order_by(Notification.channel, Notification.id)
    ).all()
    return token, list(rows)


def backoff(*, attempts: int, urgent: bool) -> timedelta:
    """Exponential, with jitter so that a provider's outage does not end in a stampede."""
    config = current_app.config
    base = 2 if urgent else config["NOTIFY_RETRY_BASE_SECONDS"]
    ceiling = 30 if urgent else config["NOTIFY_RETRY_MAX_SECONDS"]
    delay = min(base * 2 ** max(attempts - 1, 0), ceiling)
    return timedelta(seconds=delay * _random.uniform(0.5, 1.0))


def _data(row: sa.Row) -> dict:
    if row.sealed_data:
        return json.loads(vault().decrypt(row.sealed_data, context=sealing_context(row.id)))
    return row.data


def _message(row: sa.Row, now: datetime) -> Message | Outcome | Unsendable:
    """The message to send for a row, or the outcome that makes sending pointless."""
    if transport_for(row.channel) is None:
        return Unsendable(f"the {row.channel.value} channel is switched off")
    if row.expires_at is not None and row.expires_at <= now:
        return Unsendable("expired before it could be sent")
    try:
        text = render(row.kind, _data(row), row.language)
    except (UnknownKind, MissingData, CannotDecrypt, ValueError) as error:
        return Unsendable(f"cannot build the message ({type(error).__name__})")
    to = row.address or ""
    if row.channel is Channel.PUSH:
        device = db.session.get(Device, row.address)
        if device is None:
            return Undeliverable("the device signed out")
        to = device.token
    body = text.sms if row.channel is Channel.SMS else text.body
    return Message(id=row.id, kind=row.kind, to=to, title=text.title, text=body, link=text.link)


def _final(status: NotificationStatus, reason: str | None = None) -> dict:
    return {
        "status": status,
        "sealed_data": None,  # a final row keeps no secret
        "next_attempt_at": None,
        "claim_token": None,
        "last_error": reason[:200] if reason else None,
    }


def _values(row: sa.Row, outcome: Outcome | Unsendable, now: datetime) -> dict:
    if isinstance(outcome, Delivered):
        return {
            **_final(NotificationStatus.DELIVERED),
            "provider_reference": outcome.reference[:200],
            "delivered_at": now,
        }
    if isinstance(outcome, Unsendable):
        return _final(NotificationStatus.TECHNICAL_FAILURE, outcome.reason)
    if isinstance(outcome, Undeliverable):
        return _final(NotificationStatus.PERMANENT_FAILURE, outcome.reason)
    if row.attempts >= current_app.config["NOTIFY_MAX_ATTEMPTS"]:
        return _final(
            NotificationStatus.TECHNICAL_FAILURE, f"gave up after {row.attempts}: {outcome.reason}"
        )
    next_attempt = now + backoff(attempts=row.attempts, urgent=template_for(row.kind).urgent)
    if row.expires_at is not None and next_attempt >= row.expires_at:
        return _final(NotificationStatus.TECHNICAL_FAILURE, f"expired: {outcome.reason}")
    return {
        "status": NotificationStatus.TEMPORARY_FAILURE,
        "next_attempt_at": next_attempt,
        "claim_token": None,
        "last_error": outcome.reason[:200],
    }


def _record(row: sa.Row, token: str, outcome: Outcome | Unsendable, report: DeliveryReport) -> None:
    now = utcnow()
    values = _values(row, outcome, now)
    landed = db.session.execute(
        sa.update(Notification)
        .where(Notification.id == row.id, Notification.claim_token == token)
        .values(**values)
    ).rowcount
    if not landed:
        # The sweeper took the row back (this worker was too slow); its new owner decides.
        log.warning("notification claim lost", extra={"notification_id": row.id})
        return
    if isinstance(outcome, Undeliverable) and outcome.forget_address:
        db.session.execute(sa.delete(Device).where(Device.id == row.address))
    report.count(values["status"])
    log.info(
        "notification %s",
        values["status"].value,
        extra={
            "notification_id": row.id,
            "kind": row.kind,
            "channel": row.channel.value,
            "attempt": row.attempts,
            "reason": values.get("last_error"),
        },
    )


def _send(rows: list[sa.Row], token: str, report: DeliveryReport) -> None:
    transport = transport_for(rows[0].channel)
    size = transport.batch_size if transport else len(rows)
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        ready: list[tuple[sa.Row, Message]] = []
        for row in chunk:
            prepared = _message(row, utcnow())
            if isinstance(prepared, Message):
                ready.append((row, prepared))
            else:
                _record(row, token, prepared, report)
        if ready:
            try:
                outcomes = transport.send([message for _, message in ready])
            except Exception as error:
                log.exception("transport failed", extra={"channel": rows[0].channel.value})
                outcomes = [Retry(f"transport error ({type(error).__name__})")] * len(ready)
            for (row, _), outcome in zip(ready, outcomes, strict=True):
                _record(row, token, outcome, report)
        db.session.commit()


def deliver(
    *, ids: list[str] | None = None, limit: int | None = None, now: datetime | None = None
) -> DeliveryReport:
    """Claim and send the given rows (or up to ``limit`` due ones) and record what happened."""
    limit = limit or (len(ids) if ids else current_app.config["NOTIFY_BATCH_SIZE"])
    token, rows = claim(ids=ids, limit=limit, now=now or utcnow())
    report = DeliveryReport(claimed=len(rows))
    for _, same_channel in groupby(rows, key=lambda row: row.channel):
        _send(list(same_channel), token, report)
    return report
