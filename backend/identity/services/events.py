"""The security event log: append-only, no secrets, no personal data in ``detail``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.extensions import db
from backend.identity.models import SecurityEvent
from backend.web import caller

_WRITE = sa.insert(SecurityEvent.__table__)  # the id and time come from the columns' defaults


def record_event(kind: str, *, account_id: str | None = None, **detail: Any) -> None:
    """Add an event to the current transaction (the unit of work commits).

    Written at once by one statement, unless rows wait to be flushed (the account it names may
    be one of them): then with them. A sign-in's last event cost a flush of its own before.
    """
    seen = caller()
    values = {
        "kind": kind,
        "account_id": account_id,
        "detail": detail,
        "ip": seen.ip,
        "user_agent": seen.user_agent,
    }
    if db.session.new:
        db.session.add(SecurityEvent(**values))
    else:
        db.session.execute(_WRITE, values)
