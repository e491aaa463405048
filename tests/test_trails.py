"""Append-only trails: one numbering per owner, and no entry changed or deleted once written."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backend.catalog.models import CatalogAuditRecord, Procedure
from backend.db import utcnow
from backend.dossiers.models import DossierEvent
from backend.engagement.models import FeedbackEvent
from backend.extensions import db
from backend.identity.models import SecurityEvent
from backend.identity.services.events import record_event
from backend.trails import append


def _audit(procedure: Procedure) -> CatalogAuditRecord:
    return append(
        CatalogAuditRecord,
        owner="procedure_id",
        owner_id=procedure.id,
        action="note",
        status_after=procedure.status,
        created_at=utcnow(),
    )


def test_entries_are_numbered_per_owner(ctx, demo_catalog):
    first, second = db.session.scalars(sa.select(Procedure).order_by(Procedure.code).limit(2))
    start = [
        db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.max(CatalogAuditRecord.seq), 0)).where(
                CatalogAuditRecord.procedure_id == p.id
            )
        )
        for p in (first, second)
    ]
    numbers = [_audit(first).seq, _audit(first).seq, _audit(second).seq]
    db.session.flush()
    assert numbers == [start[0] + 1, start[0] + 2, start[1] + 1]


@pytest.mark.parametrize("change", ["update", "delete"])
@pytest.mark.parametrize("trail", ["security_events", "catalog_audit"])
def test_an_entry_once_written_is_never_changed(ctx, demo_catalog, trail, change):
    if trail == "security_events":
        record_event("test_event", reason="x")
        entry = db.session.scalars(
            sa.select(SecurityEvent).where(SecurityEvent.kind == "test_event")
        ).one()
    else:
        entry = _audit(db.session.scalars(sa.select(Procedure).limit(1)).one())
    db.session.flush()
    if change == "update":
        entry.created_at = utcnow()
    else:
        db.session.delete(entry)
    with pytest.raises(ValueError, match=f"{trail} is append-only"):
        db.session.flush()
    db.session.rollback()


def test_every_trail_is_guarded():
    """The dossier and petition timelines are guarded like the two above."""
    for trail in (DossierEvent, FeedbackEvent, CatalogAuditRecord, SecurityEvent):
        mapper = sa.inspect(trail)
        assert len(mapper.dispatch.before_update) >= 1, trail
        assert len(mapper.dispatch.before_delete) >= 1, trail
