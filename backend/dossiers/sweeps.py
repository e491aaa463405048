"""Dossier housekeeping run by ``flask sweep``: the officers' daily digest and expired rows."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from backend.catalog.services import with_descendants
from backend.dossiers.models import DirectUploadSlot, Dossier
from backend.dossiers.services.access import DOSSIER_PERMISSIONS
from backend.dossiers.services.officer import RUNNING
from backend.extensions import db
from backend.idempotency import IdempotencyRecord
from backend.identity.models import Account, AccountKind, AccountStatus, RoleGrant
from backend.identity.roles import permissions_of
from backend.notifications.models import Notification
from backend.notifications.services import notify
from backend.notifications.sweeps import register_purge, register_sweep_task
from backend.workdays.calendar import LEGAL_TIMEZONE
from backend.workdays.services import due_soon_cutoff, is_working_day, next_working_moment

DIGEST = "officer.digest"


def _staff_scopes() -> dict[str, set[str]]:
    """Active officers and the agencies (with children) whose dossiers they work."""
    roots: dict[str, set[str]] = {}
    rows = db.session.execute(
        sa.select(RoleGrant.account_id, RoleGrant.role, RoleGrant.agency_id)
        .join(Account, Account.id == RoleGrant.account_id)
        .where(Account.kind == AccountKind.STAFF, Account.status == AccountStatus.ACTIVE)
    )
    for account_id, role, agency_id in rows:
        if permissions_of(role) & set(DOSSIER_PERMISSIONS):
            roots.setdefault(account_id, set()).add(agency_id)
    return {account_id: with_descendants(agencies) for account_id, agencies in roots.items()}


def _already_sent_today(account_id: str, now: datetime) -> bool:
    local = now.astimezone(LEGAL_TIMEZONE)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(
                Notification.account_id == account_id,
                Notification.kind == DIGEST,
                Notification.created_at >= start,
            )
        )
        > 0
    )


def send_officer_digests(*, now: datetime) -> int:
    """Once per working day, from opening time: each officer's due-soon and overdue counts."""
    local_day = now.astimezone(LEGAL_TIMEZONE).date()
    if not is_working_day(day=local_day) or next_working_moment(moment=now) > now:
        return 0
    cutoff = due_soon_cutoff(now=now)
    sent = 0
    for account_id, agencies in _staff_scopes().items():
        if _already_sent_today(account_id, now):
            continue
        running = sa.and_(Dossier.agency_id.in_(agencies), Dossier.status.in_(RUNNING))
        overdue, due_soon = db.session.execute(
            sa.select(
                sa.func.count().filter(Dossier.due_at < now),
                sa.func.count().filter(Dossier.due_at >= now, Dossier.due_at <= cutoff),
            ).where(running)
        ).one()
        if overdue or due_soon:
            notify(account_id, DIGEST, {"due_soon": due_soon, "overdue": overdue}, now=now)
            sent += 1
    db.session.commit()
    return sent


register_sweep_task("officer_digest", send_officer_digests)
register_purge(IdempotencyRecord, IdempotencyRecord.expires_at, timedelta(0))
register_purge(DirectUploadSlot, DirectUploadSlot.expires_at, timedelta(days=1))
