"""Notification use cases, one module per concern. Other domains call ``notify``."""

from backend.notifications.services.outbox import notify, notify_phone

__all__ = ["notify", "notify_phone"]
