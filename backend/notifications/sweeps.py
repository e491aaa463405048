"""Periodic housekeeping, run by ``flask sweep`` (once, or ``--every N`` seconds).

Each pass: rows stuck in ``sending`` (their worker died) go back to be retried or, out of
attempts, to the dead letter; rows whose retry time has come (or whose job was lost) are
delivered; expired rows of every registered table are deleted; registered tasks run. Any number
of sweepers may run at once: they take rows with ``SKIP LOCKED`` and deletes are idempotent.

Extension points for other domains:

- ``register_purge(model, column, max_age)``: delete rows whose ``column`` is older than
  ``max_age`` (idempotency keys, login transactions, ...).
- ``register_sweep_task(name, task)``: ``task(now=...)`` runs on every pass and returns how
  many things it did. The officer digest is meant to be one: once per working day, for each
  officer, count the dossiers due within one working day and those overdue, flag them, and
  ``notify(officer_id, "officer.digest", {"due_soon": n, "overdue": m})`` (the template
  exists). The task must make itself idempotent per day, since sweeps run often.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from backend.extensions import db
from backend.identity.models import CrossDeviceRequest, OtpChallenge, RefreshToken, Session
from backend.notifications import delivery, dispatch
from backend.notifications.models import (
    CLAIMABLE_STATUSES,
    FINAL_STATUSES,
    Channel,
    Device,
    Notification,
    NotificationStatus,
)

SweepTask = Callable[..., int]


@dataclass(frozen=True)
class Purge:
    model: Any
    column: sa.ColumnElement
    max_age: timedelta | Callable[[], timedelta]
    where: Callable[[], sa.ColumnElement] | None = None


_PURGES: dict[str, Purge] = {}
_TASKS: dict[str, SweepTask] = {}


def register_purge(
    model: Any,
    column: Any,
    max_age: timedelta | Callable[[], timedelta],
    *,
    where: Callable[[], sa.ColumnElement] | None = None,
) -> None:
    """Delete ``model`` rows whose ``column`` is older than ``max_age`` on every sweep, by
    their ``id``, ``PURGE_BATCH`` at a time."""
    _PURGES[f"{model.__tablename__}.{column.key}"] = Purge(model, column, max_age, where)


def register_sweep_task(name: str, task: SweepTask) -> None:
    _TASKS[name] = task


def reclaim_stuck(*, now: datetime) -> int:
    """Give back rows whose worker died while sending them (at-least-once: see delivery)."""
    config = current_app.config
    timeout = timedelta(seconds=config["NOTIFY_SENDING_TIMEOUT_SECONDS"])
    stuck = list(
        db.session.scalars(
            sa.select(Notification)
            .where(
                Notification.status == NotificationStatus.SENDING,
                Notification.claimed_at < now - timeout,
            )
            .limit(500)
            .with_for_update(skip_locked=True)
        )
    )
    for row in stuck:
        row.claim_token = None
        if row.attempts >= config["NOTIFY_MAX_ATTEMPTS"]:
            row.status = NotificationStatus.TECHNICAL_FAILURE
            row.sealed_data = None
            row.next_attempt_at = None
            row.last_error = f"gave up after {row.attempts}: worker lost while sending"
        else:
            row.status = NotificationStatus.TEMPORARY_FAILURE
            row.next_attempt_at = now
            row.last_error = "worker lost while sending"
    db.session.commit()
    return len(stuck)


def send_due(*, now: datetime) -> int:
    """Retries whose time has come and rows whose job was lost: sent here, or queued."""
    config = current_app.config
    batch = config["NOTIFY_BATCH_SIZE"]
    if config["NOTIFY_DELIVERY"] == "inline":
        sent = 0
        for _ in range(100):  # bounded: a sweep must end
            report = delivery.deliver(limit=batch, now=now)
            sent += report.claimed
            if report.claimed < batch:
                break
        return sent
    due = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.status.in_(CLAIMABLE_STATUSES), Notification.next_attempt_at <= now)
    )
    db.session.rollback()
    if due:
        # Jobs that each claim any due rows: workers share them out with SKIP LOCKED.
        dispatch.enqueue(jobs=math.ceil(due / batch))
    return due


# Rows one DELETE of a purge takes at most: a backlog (a table that grew before its rule
# existed, a sweeper stopped for days) goes in many short transactions, not one long one.
PURGE_BATCH = 5000


def purge(*, now: datetime) -> dict[str, int]:
    deleted = {}
    for name, rule in _PURGES.items():
        max_age = rule.max_age() if callable(rule.max_age) else rule.max_age
        due = sa.select(rule.model.id).where(rule.column < now - max_age)
        if rule.where is not None:
            due = due.where(rule.where())
        statement = sa.delete(rule.model).where(
            rule.model.id.in_(due.limit(PURGE_BATCH).scalar_subquery())
        )
        deleted[name] = 0
        while True:
            taken = db.session.execute(statement).rowcount
            db.session.commit()
            deleted[name] += taken
            if taken < PURGE_BATCH:
                break
    return deleted


def forget_devices_of_ended_sessions(*, now: datetime) -> int:
    """Sessions that expired (rather than being revoked) leave their push tokens behind."""
    ended = sa.select(Session.id).where(
        sa.or_(Session.revoked_at.is_not(None), Session.expires_at <= now)
    )
    count = db.session.execute(sa.delete(Device).where(Device.session_id.in_(ended))).rowcount
    db.session.commit()
    return count


def sweep(*, now: datetime) -> dict[str, Any]:
    report: dict[str, Any] = {
        "reclaimed": reclaim_stuck(now=now),
        "due": send_due(now=now),
        "purged": purge(now=now),
    }
    report["tasks"] = {name: task(now=now) for name, task in _TASKS.items()}
    return report


# Codes are worthless a day after they expire; the daily failure count looks back one day.
register_purge(OtpChallenge, OtpChallenge.expires_at, timedelta(days=1))
register_purge(CrossDeviceRequest, CrossDeviceRequest.expires_at, timedelta(days=1))
# Each refresh leaves its used token. A day past its expiry a token goes, unless it is its
# session's newest (the session's last sighting, Session.last_seen_at); a copy presented after
# that is refused as unknown rather than as reused, which no longer matters once it expired.
_NEWER_TOKEN = aliased(RefreshToken)
register_purge(
    RefreshToken,
    RefreshToken.expires_at,
    timedelta(days=1),
    where=lambda: sa.exists().where(
        _NEWER_TOKEN.session_id == RefreshToken.session_id,
        _NEWER_TOKEN.issued_at > RefreshToken.issued_at,
    ),
)
# Delivery records (not the inbox, which is the person's own) are kept NOTIFY_KEEP_DAYS.
register_purge(
    Notification,
    Notification.created_at,
    lambda: timedelta(days=current_app.config["NOTIFY_KEEP_DAYS"]),
    where=lambda: sa.and_(
        Notification.channel != Channel.INBOX, Notification.status.in_(FINAL_STATUSES)
    ),
)
register_sweep_task("forget_devices_of_ended_sessions", forget_devices_of_ended_sessions)
