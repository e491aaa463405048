"""The outbox (one row per message and channel), push devices and channel preferences."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import created_column, id_column, str_enum, updated_column
from backend.extensions import db


class Channel(enum.StrEnum):
    INBOX = "inbox"  # the in-app list; written with the change, nothing leaves the process
    PUSH = "push"
    SMS = "sms"
    EMAIL = "email"


class NotificationStatus(enum.StrEnum):
    """GOV.UK Notify's delivery statuses.

    ``temporary-failure`` rows are retried at ``next_attempt_at``; ``permanent-failure`` means the
    address can never work (a number or a device the provider refuses); ``technical-failure``
    is the dead letter: attempts exhausted, expired before it could go, or a message we could
    not build. The last three, and ``delivered``, are final.
    """

    CREATED = "created"
    SENDING = "sending"
    DELIVERED = "delivered"
    TEMPORARY_FAILURE = "temporary-failure"
    PERMANENT_FAILURE = "permanent-failure"
    TECHNICAL_FAILURE = "technical-failure"


FINAL_STATUSES = frozenset(
    {
        NotificationStatus.DELIVERED,
        NotificationStatus.PERMANENT_FAILURE,
        NotificationStatus.TECHNICAL_FAILURE,
    }
)
# What a worker may pick up.
CLAIMABLE_STATUSES = (NotificationStatus.CREATED, NotificationStatus.TEMPORARY_FAILURE)


class Notification(db.Model):
    """One message on one channel. Inbox rows are the citizen's in-app list and are final at once.

    ``address`` is where it goes: a phone number (SMS), an e-mail address, or a device id
    (push; the device's token is read when sending, so a signed-out device gets nothing).
    A kind whose data is secret (a sign-in code) keeps it only sealed with the row's id as
    context, in ``sealed_data``, which is cleared once the row is final.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_account_id_channel_id", "account_id", "channel", "id"),
        sa.Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[str] = id_column()
    account_id: Mapped[str | None] = mapped_column(sa.ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    status: Mapped[NotificationStatus] = mapped_column(str_enum(NotificationStatus))
    address: Mapped[str | None] = mapped_column(sa.String(254))
    language: Mapped[str] = mapped_column(sa.String(5), default="vi")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sealed_data: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    # Set by the worker that claimed the row; its marks only land while the claim is still its own.
    claim_token: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column()
    # A message worth nothing after this time (a sign-in code) is not sent late.
    expires_at: Mapped[datetime | None] = mapped_column()
    provider_reference: Mapped[str | None] = mapped_column(sa.String(200))
    last_error: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()
    delivered_at: Mapped[datetime | None] = mapped_column()
    read_at: Mapped[datetime | None] = mapped_column()


class Device(db.Model):
    """A push token of one signed-in session; it goes when the session ends."""

    __tablename__ = "devices"

    id: Mapped[str] = id_column()
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    session_id: Mapped[str] = mapped_column(sa.ForeignKey("sessions.id"), index=True)
    token: Mapped[str] = mapped_column(sa.String(512), unique=True)
    platform: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class NotificationPreference(db.Model):
    """The channels a person chose for one kind; kinds without a row use the defaults."""

    __tablename__ = "notification_preferences"

    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    channels: Mapped[list[Any]] = mapped_column()
    updated_at: Mapped[datetime] = updated_column()
