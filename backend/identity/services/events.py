"""The security event log: append-only, no secrets, no personal data in ``detail``."""

from __future__ import annotations

from typing import Any

from backend.extensions import db
from backend.identity.models import SecurityEvent
from backend.web import caller


def record_event(kind: str, *, account_id: str | None = None, **detail: Any) -> SecurityEvent:
    """Add an event to the current transaction (the unit of work commits)."""
    seen = caller()
    event = SecurityEvent(
        kind=kind, account_id=account_id, detail=detail, ip=seen.ip, user_agent=seen.user_agent
    )
    db.session.add(event)
    return event
