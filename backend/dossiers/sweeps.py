"""Dossier housekeeping run by ``flask sweep``: the officers' daily digest and expired rows."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from backend.dossiers.models import DirectUploadSlot, Document, Dossier
from backend.dossiers.services.access import DOSSIER_PERMISSIONS
from backend.dossiers.services.officer import RUNNING
from backend.extensions import db
from backend.idempotency import IdempotencyRecord
from backend.notifications.digests import send_digests
from backend.notifications.sweeps import register_purge, register_sweep_task
from backend.storage.orphans import register_reference
from backend.workdays.services import due_soon_cutoff


def _counts(agencies: set[str], now: datetime) -> tuple[int, int]:
    cutoff = due_soon_cutoff(now=now)
    due_soon, overdue = db.session.execute(
        sa.select(
            sa.func.count().filter(Dossier.due_at >= now, Dossier.due_at <= cutoff),
            sa.func.count().filter(Dossier.due_at < now),
        ).where(Dossier.agency_id.in_(agencies), Dossier.status.in_(RUNNING))
    ).one()
    return due_soon, overdue


def send_officer_digests(*, now: datetime) -> int:
    """Once per working day: each officer's dossiers due within a working day, and overdue."""
    return send_digests(
        kind="officer.digest", permissions=DOSSIER_PERMISSIONS, count=_counts, now=now
    )


register_sweep_task("officer_digest", send_officer_digests)
register_purge(IdempotencyRecord, IdempotencyRecord.expires_at, timedelta(0))
register_purge(DirectUploadSlot, DirectUploadSlot.expires_at, timedelta(days=1))
# Blobs these rows point at are not orphans (backend.storage.orphans).
register_reference(Document.blob_key)
register_reference(DirectUploadSlot.upload_key)
