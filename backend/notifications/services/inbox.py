"""The in-app inbox: a person's own inbox rows, newest first, read or not."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from backend.db import utcnow
from backend.errors import NotFound
from backend.extensions import db
from backend.notifications.models import Channel, Notification
from backend.pagination import Page, keyset_page


class NotificationNotFound(NotFound):
    code = "notification-not-found"


def _inbox_of(account_id: str) -> sa.Select:
    return sa.select(Notification).where(
        Notification.account_id == account_id, Notification.channel == Channel.INBOX
    )


def list_inbox(*, account_id: str, unread: bool = False, cursor: str | None, limit: int) -> Page:
    statement = _inbox_of(account_id)
    if unread:
        statement = statement.where(Notification.read_at.is_(None))
    return keyset_page(
        statement,
        order_by=[Notification.id],
        key=lambda row: [row.id],
        cursor=cursor,
        limit=limit,
        descending=True,  # ids are ULIDs: newest first
    )


def unread_count(*, account_id: str) -> int:
    statement = _inbox_of(account_id).where(Notification.read_at.is_(None))
    return db.session.scalar(sa.select(sa.func.count()).select_from(statement.subquery()))


def mark_read(*, account_id: str, notification_id: str, now: datetime | None = None):
    """Mark one of the person's inbox rows read; another person's is 404 like a missing one."""
    row = db.session.scalar(_inbox_of(account_id).where(Notification.id == notification_id))
    if row is None:
        raise NotificationNotFound(("Không có thông báo này.", "No such notification."))
    if row.read_at is None:
        row.read_at = now or utcnow()
        db.session.flush()
    return row


def mark_all_read(*, account_id: str, now: datetime | None = None) -> int:
    result = db.session.execute(
        sa.update(Notification)
        .where(
            Notification.account_id == account_id,
            Notification.channel == Channel.INBOX,
            Notification.read_at.is_(None),
        )
        .values(read_at=now or utcnow())
    )
    db.session.flush()
    return result.rowcount
