"""What a citizen does to their own dossier after submitting it, and what they can read."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from backend import trails
from backend.dossiers import workflow
from backend.dossiers.models import SUMMARY, Dossier, DossierEvent, DossierStatus
from backend.extensions import db
from backend.identity.access import Principal
from backend.pagination import Keyset, Page


def withdraw(*, principal: Principal, dossier: Dossier, reason: str, now: datetime) -> Dossier:
    workflow.move(dossier, "withdraw", actor=principal, now=now, note=reason)
    db.session.flush()
    return dossier


MINE = Keyset(
    SUMMARY.where(Dossier.citizen_id == sa.bindparam("citizen_id")),
    order_by=[Dossier.updated_at, Dossier.id],
    key=lambda d: [d.updated_at.isoformat(), d.id],
    descending=True,
    optional={
        "status": Dossier.status == sa.bindparam("status"),
        "updated_since": Dossier.updated_at > sa.bindparam("updated_since"),
    },
)


def list_mine(
    *,
    principal: Principal,
    status: DossierStatus | None,
    updated_since: datetime | None,
    cursor: str | None,
    limit: int,
) -> Page:
    """Newest change first; with ``updated_since``, what changed since the app last synced."""
    return MINE.page(
        cursor=cursor,
        limit=limit,
        citizen_id=principal.account_id,
        status=status,
        updated_since=updated_since,
    )


def events(*, dossier: Dossier) -> list[DossierEvent]:
    return trails.entries(DossierEvent, owner="dossier_id", owner_id=dossier.id)
