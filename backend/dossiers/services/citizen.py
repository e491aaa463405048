"""What a citizen does to their own dossier after submitting it, and what they can read."""

from __future__ import annotations

from datetime import datetime

from backend import trails
from backend.dossiers import workflow
from backend.dossiers.models import SUMMARY, Dossier, DossierEvent, DossierStatus
from backend.extensions import db
from backend.identity.access import Principal
from backend.pagination import Page, keyset_page


def withdraw(*, principal: Principal, dossier: Dossier, reason: str, now: datetime) -> Dossier:
    workflow.move(dossier, "withdraw", actor=principal, now=now, note=reason)
    db.session.flush()
    return dossier


def list_mine(
    *,
    principal: Principal,
    status: DossierStatus | None,
    updated_since: datetime | None,
    cursor: str | None,
    limit: int,
) -> Page:
    """Newest change first; with ``updated_since``, what changed since the app last synced."""
    statement = SUMMARY.where(Dossier.citizen_id == principal.account_id)
    if status is not None:
        statement = statement.where(Dossier.status == status)
    if updated_since is not None:
        statement = statement.where(Dossier.updated_at > updated_since)
    return keyset_page(
        statement,
        order_by=[Dossier.updated_at, Dossier.id],
        key=lambda d: [d.updated_at.isoformat(), d.id],
        cursor=cursor,
        limit=limit,
        descending=True,
    )


def events(*, dossier: Dossier) -> list[DossierEvent]:
    return trails.entries(DossierEvent, owner="dossier_id", owner_id=dossier.id)
