"""The security event log: append-only, no secrets, no personal data in ``detail``."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from backend.extensions import db
from backend.identity.models import SecurityEvent


def record_event(kind: str, *, account_id: str | None = None, **detail: Any) -> SecurityEvent:
    """Add an event to the current transaction (the caller commits)."""
    event = SecurityEvent(kind=kind, account_id=account_id, detail=detail)
    if has_request_context():
        event.ip = request.remote_addr
        event.user_agent = (request.user_agent.string or "")[:300] or None
    db.session.add(event)
    return event
