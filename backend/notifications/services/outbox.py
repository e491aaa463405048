"""Writing to the outbox: rows join the caller's transaction and leave only after it commits.

``notify`` adds one row per channel the person chose for the kind (one per signed-in device
for push) to the current ``db.session``. The unit of work commits; when it does, the rows
are handed to delivery (backend.notifications.dispatch), and when it rolls back they never
existed. Nothing here talks to a provider.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from backend.crypto import vault
from backend.db import new_id, utcnow
from backend.extensions import db
from backend.identity.models import Account, Session
from backend.notifications.models import (
    Channel,
    Device,
    Notification,
    NotificationStatus,
)
from backend.notifications.services.preferences import chosen_channels
from backend.notifications.templates import Template, check_data, template_for
from backend.notifications.transports import transport_for

# Where a session keeps the ids of the rows it added until its transaction ends: a commit hands
# them to delivery (backend.notifications.dispatch), a rollback forgets them.
PENDING = "notifications.pending"


def after_commit(rows: Iterable[Notification]) -> None:
    """Deliver these rows once the current transaction commits."""
    ids = [row.id for row in rows if row.channel is not Channel.INBOX]
    if ids:
        db.session.info.setdefault(PENDING, []).extend(ids)


def sealing_context(notification_id: str) -> str:
    return f"notification:{notification_id}:data"


def _new_row(
    template: Template,
    data: dict[str, Any],
    *,
    channel: Channel,
    account_id: str | None,
    address: str | None,
    language: str,
    expires_at: datetime | None,
    now: datetime,
) -> Notification:
    row = Notification(
        id=new_id(),
        account_id=account_id,
        kind=template.kind,
        channel=channel,
        address=address,
        language=language,
        expires_at=expires_at,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    if channel is Channel.INBOX:
        row.status = NotificationStatus.DELIVERED
        row.delivered_at = now
    else:
        row.status = NotificationStatus.CREATED
        # If no worker has taken it by then (its job was lost), the sweeper sends it.
        grace = current_app.config["NOTIFY_DISPATCH_GRACE_SECONDS"]
        row.next_attempt_at = now + timedelta(seconds=grace)
    if template.secret:
        row.data = {}
        row.sealed_data = vault().encrypt(json.dumps(data), context=sealing_context(row.id))
    else:
        row.data = data
    return row


def _as_json(data: dict[str, Any]) -> dict[str, Any]:
    # Fail in the caller, with its stack, rather than at the flush.
    return json.loads(json.dumps(data))


def _live_devices(account_id: str, now: datetime) -> list[Device]:
    return list(
        db.session.scalars(
            sa.select(Device)
            .join(Session, Session.id == Device.session_id)
            .where(
                Device.account_id == account_id,
                Session.revoked_at.is_(None),
                Session.expires_at > now,
            )
            .order_by(Device.id)
        )
    )


def notify(
    account_id: str,
    kind: str,
    data: dict[str, Any],
    *,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> list[Notification]:
    """Queue ``kind`` for an account on the channels it chose; the unit of work commits.

    Raises ``UnknownKind`` or ``MissingData`` (programming errors) rather than dropping a
    message. Channels the account cannot be reached on (no e-mail address, no signed-in
    device, a channel switched off in configuration) get no row.
    """
    template = template_for(kind)
    if template.audience == "phone":
        raise ValueError(f"{kind} goes to a phone number: use notify_phone")
    data = _as_json(data)
    check_data(template, data)
    account = db.session.get(Account, account_id)
    if account is None:
        raise LookupError(f"no account {account_id}")
    now = now or utcnow()
    common = {
        "account_id": account.id,
        "language": account.preferred_language,
        "expires_at": expires_at,
        "now": now,
    }
    rows: list[Notification] = []
    for channel in sorted(chosen_channels(account_id=account.id, template=template)):
        if channel is Channel.INBOX:
            rows.append(_new_row(template, data, channel=channel, address=None, **common))
            continue
        if transport_for(channel) is None:
            continue
        if channel is Channel.PUSH:
            addresses = [device.id for device in _live_devices(account.id, now)]
        elif channel is Channel.SMS:
            addresses = [account.phone] if account.phone else []
        else:
            addresses = [account.email] if account.email else []
        rows += [
            _new_row(template, data, channel=channel, address=address, **common)
            for address in addresses
        ]
    db.session.add_all(rows)
    after_commit(rows)
    return rows


def notify_phone(
    *,
    phone: str,
    kind: str,
    data: dict[str, Any],
    language: str = "vi",
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> Notification:
    """Queue an SMS to a phone number that may belong to no account yet (a sign-in code)."""
    template = template_for(kind)
    if template.audience != "phone":
        raise ValueError(f"{kind} goes to an account: use notify")
    data = _as_json(data)
    check_data(template, data)
    row = _new_row(
        template,
        data,
        channel=Channel.SMS,
        account_id=None,
        address=phone,
        language=language,
        expires_at=expires_at,
        now=now or utcnow(),
    )
    db.session.add(row)
    after_commit([row])
    return row
