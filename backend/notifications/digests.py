"""Officers' daily digests: once per working day, what their agencies owe soon and are late on.

Each domain counts its own things (dossiers, petitions); this module picks the officers by
permission, waits for the office to open, and makes sure each digest goes once a day even
though sweeps run every few minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import sqlalchemy as sa

from backend.agencies.services import with_descendants
from backend.extensions import db
from backend.identity.models import Account, AccountKind, AccountStatus, RoleGrant
from backend.identity.roles import permissions_of
from backend.notifications.models import Notification
from backend.notifications.services import notify
from backend.workdays.calendar import LEGAL_TIMEZONE
from backend.workdays.services import is_working_day, next_working_moment

# (agency ids, now) -> (due soon, overdue)
Counter = Callable[[set[str], datetime], tuple[int, int]]


def officer_scopes(permissions: Iterable[str]) -> dict[str, set[str]]:
    """Active officers with any of ``permissions``, and the agencies (and children) it reaches."""
    wanted = set(permissions)
    roots: dict[str, set[str]] = {}
    rows = db.session.execute(
        sa.select(RoleGrant.account_id, RoleGrant.role, RoleGrant.agency_id)
        .join(Account, Account.id == RoleGrant.account_id)
        .where(Account.kind == AccountKind.STAFF, Account.status == AccountStatus.ACTIVE)
    )
    for account_id, role, agency_id in rows:
        if permissions_of(role) & wanted:
            roots.setdefault(account_id, set()).add(agency_id)
    return {account_id: with_descendants(agencies) for account_id, agencies in roots.items()}


def _sent_today(account_id: str, kind: str, now: datetime) -> bool:
    local = now.astimezone(LEGAL_TIMEZONE)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(
                Notification.account_id == account_id,
                Notification.kind == kind,
                Notification.created_at >= start,
            )
        )
        > 0
    )


def send_digests(*, kind: str, permissions: Iterable[str], count: Counter, now: datetime) -> int:
    """One ``kind`` digest per officer and working day, from opening time, when there is news."""
    if not is_working_day(day=now.astimezone(LEGAL_TIMEZONE).date()):
        return 0
    if next_working_moment(moment=now) > now:  # before opening, at lunch, after closing
        return 0
    sent = 0
    for account_id, agencies in officer_scopes(permissions).items():
        if _sent_today(account_id, kind, now):
            continue
        due_soon, overdue = count(agencies, now)
        if due_soon or overdue:
            notify(account_id, kind, {"due_soon": due_soon, "overdue": overdue}, now=now)
            sent += 1
    db.session.commit()
    return sent
