"""Finding a dossier the caller may see. Anyone else's looks like it does not exist (404)."""

from __future__ import annotations

import sqlalchemy as sa

from backend.dossiers.models import Dossier, DossierStatus
from backend.errors import NotFound
from backend.extensions import db
from backend.identity.access import Principal

DOSSIER_PERMISSIONS = ("dossier.receive", "dossier.process", "dossier.decide", "dossier.return")


class DossierNotFound(NotFound):
    code = "dossier-not-found"

    def __init__(self):
        super().__init__(("Không tìm thấy hồ sơ.", "No such dossier."))


def officer_scope(principal: Principal) -> frozenset[str]:
    """Agencies whose dossiers an officer works: any dossier permission there."""
    scope: set[str] = set()
    for permission in DOSSIER_PERMISSIONS:
        scope |= principal.agencies_for(permission)
    return frozenset(scope)


def _load(statement: sa.Select, *, lock: bool) -> Dossier:
    if lock:
        statement = statement.with_for_update(of=Dossier).execution_options(populate_existing=True)
    dossier = db.session.scalar(statement)
    if dossier is None:
        raise DossierNotFound()
    return dossier


def citizen_dossier(principal: Principal, dossier_id: str, *, lock: bool = False) -> Dossier:
    return _load(
        sa.select(Dossier).where(
            Dossier.id == dossier_id, Dossier.citizen_id == principal.account_id
        ),
        lock=lock,
    )


def officer_dossier(principal: Principal, dossier_id: str, *, lock: bool = False) -> Dossier:
    """A dossier of the officer's agencies, once filed: a draft is still the citizen's own."""
    return _load(
        sa.select(Dossier).where(
            Dossier.id == dossier_id,
            Dossier.agency_id.in_(officer_scope(principal)),
            Dossier.status != DossierStatus.DRAFT,
        ),
        lock=lock,
    )


def readable_dossier(principal: Principal, dossier_id: str) -> Dossier:
    """Its citizen, or an officer of its agencies."""
    if principal.is_staff:
        return officer_dossier(principal, dossier_id)
    return citizen_dossier(principal, dossier_id)
