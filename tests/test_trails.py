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


def _audit(procedure: Procedure) -> int:
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
    numbers = [_audit(first), _audit(first), _audit(second)]
    db.session.flush()
    assert numbers == [start[0] + 1, start[0] + 2, start[1] + 1]


def test_an_entry_added_while_rows_wait_to_be_written_goes_with_them_and_numbering_goes_on(
    ctx, demo_catalog
):
    procedure = db.session.scalars(sa.select(Procedure).limit(1)).one()
    first = _audit(procedure)  # by its own statement
    db.session.add(SecurityEvent(kind="test_waiting", detail={}))
    second = _audit(procedure)  # with the waiting row, as an object
    assert db.session.new
    third = _audit(procedure)
    db.session.flush()
    assert [second, third] == [first + 1, first + 2]
    stored = db.session.scalars(
        sa.select(CatalogAuditRecord.seq)
        .where(CatalogAuditRecord.procedure_id == procedure.id, CatalogAuditRecord.seq >= first)
        .order_by(CatalogAuditRecord.seq)
    ).all()
    assert stored == [first, first + 1, first + 2]


@pytest.mark.parametrize("change", ["update", "delete"])
@pytest.mark.parametrize("trail", ["security_events", "catalog_audit"])
def test_an_entry_once_written_is_never_changed(ctx, demo_catalog, trail, change):
    if trail == "security_events":
        record_event("test_event", reason="x")
        entry = db.session.scalars(
            sa.select(SecurityEvent).where(SecurityEvent.kind == "test_event")
        ).one()
    else:
        procedure = db.session.scalars(sa.select(Procedure).limit(1)).one()
        number = _audit(procedure)
        entry = db.session.scalars(
            sa.select(CatalogAuditRecord).filter_by(procedure_id=procedure.id, seq=number)
        ).one()
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
