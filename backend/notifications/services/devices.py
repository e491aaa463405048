"""Push tokens: registered by a signed-in session, forgotten when it ends."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backend.db import utcnow
from backend.extensions import db
from backend.identity.models import Session
from backend.notifications.models import Device


def _bind_token(*, account_id: str, session_id: str, token: str, platform: str, now: datetime):
    device = db.session.scalar(sa.select(Device).where(Device.token == token).with_for_update())
    created = device is None
    if created:
        device = Device(token=token, created_at=now)
        db.session.add(device)
    device.account_id = account_id
    device.session_id = session_id
    device.platform = platform
    device.updated_at = now
    db.session.flush()
    return device, created


def register_device(
    *, session: Session, token: str, platform: str, now: datetime | None = None
) -> tuple[Device, bool]:
    """Bind a push token to this session; returns the device and whether it is new.

    A token is one app installation: if another session held it (the phone signed in again,
    perhaps as someone else), it moves here, so pushes follow whoever is signed in now.
    """
    binding = {
        "account_id": session.account_id,
        "session_id": session.id,
        "token": token,
        "platform": platform,
        "now": now or utcnow(),
    }
    try:
        with db.session.begin_nested():
            return _bind_token(**binding)
    except IntegrityError:
        # The same new token registered twice at once: the other insert won; update it.
        return _bind_token(**binding)


def forget_session_devices(*, session_id: str) -> int:
    """Part of ending a session (the unit of work commits): its pushes stop with it."""
    result = db.session.execute(sa.delete(Device).where(Device.session_id == session_id))
    return result.rowcount
