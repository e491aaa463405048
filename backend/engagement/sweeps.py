"""Petition housekeeping run by ``flask sweep``: officers' digest of deadlines, expired proofs."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from backend.engagement.models import Feedback, FeedbackAttachment, PhoneProof
from backend.engagement.services.handling import OWED
from backend.extensions import db
from backend.notifications.digests import send_digests
from backend.notifications.sweeps import register_purge, register_sweep_task
from backend.storage.orphans import register_reference
from backend.workdays.services import due_soon_cutoff


def _counts(agencies: set[str], now: datetime) -> tuple[int, int]:
    cutoff = due_soon_cutoff(now=now)
    due_soon, overdue = db.session.execute(
        sa.select(
            sa.func.count().filter(Feedback.due_at >= now, Feedback.due_at <= cutoff),
            sa.func.count().filter(Feedback.due_at < now),
        ).where(Feedback.agency_id.in_(agencies), Feedback.status.in_(OWED))
    ).one()
    return due_soon, overdue


def send_feedback_digests(*, now: datetime) -> int:
    """Once per working day: each answering officer's petitions near their deadline or late."""
    return send_digests(
        kind="officer.feedback_digest",
        permissions=["feedback.answer"],
        count=_counts,
        now=now,
    )


register_sweep_task("feedback_digest", send_feedback_digests)
register_purge(PhoneProof, PhoneProof.expires_at, timedelta(0))
register_reference(FeedbackAttachment.blob_key)  # not an orphan (backend.storage.orphans)
