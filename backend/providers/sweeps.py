"""Expired login transactions and one-time app codes are deleted by ``flask sweep``."""

from __future__ import annotations

from datetime import timedelta

from backend.notifications.sweeps import register_purge
from backend.providers.models import AppCode, LoginTransaction

register_purge(LoginTransaction, LoginTransaction.expires_at, timedelta(0))
register_purge(AppCode, AppCode.expires_at, timedelta(0))
