"""Keyset pages: what a list binds is checked before any statement runs; grouped columns
come back as an object of their own."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backend.agencies.models import Agency
from backend.catalog.models import Procedure
from backend.db import grouped
from backend.dossiers.models import SUMMARY, Dossier
from backend.extensions import db
from backend.pagination import Keyset


def _keyset() -> Keyset:
    return Keyset(
        SUMMARY.where(Dossier.citizen_id == sa.bindparam("citizen_id")),
        order_by=[Dossier.updated_at, Dossier.id],
        key=lambda d: [d.updated_at.isoformat(), d.id],
        optional={
            "status": Dossier.status == sa.bindparam("status"),
            "submitted": Dossier.submitted_at.is_not(None),
            "due_from": Dossier.due_at.between(sa.bindparam("due_from"), sa.bindparam("due_to")),
        },
    )


def test_a_parameter_no_condition_binds_is_refused_not_ignored():
    with pytest.raises(TypeError, match="statuses"):
        _keyset().page(cursor=None, limit=1, citizen_id="x", statuses="draft")


def test_the_names_a_keyset_binds_are_its_statements_and_its_conditions():
    assert _keyset().names == {"citizen_id", "status", "due_from", "due_to"}


def _procedures(*columns) -> Keyset:
    return Keyset(
        sa.select(Procedure.code, *columns).join(Agency, Agency.id == Procedure.agency_id),
        order_by=[Procedure.code],
        key=lambda p: [p.code],
    )


def test_grouped_columns_come_back_as_an_object_of_their_own(ctx, demo_catalog):
    page = _procedures(*grouped("agency", Agency.code, Agency.name)).page(cursor=None, limit=2)
    assert len(page.items) == 2 and page.next_cursor is not None
    for item in page.items:
        procedure = db.session.scalar(sa.select(Procedure).where(Procedure.code == item.code))
        assert (item.agency.code, item.agency.name) == (
            procedure.agency.code,
            procedure.agency.name,
        )
        assert not hasattr(item, "agency__code")
    following = _procedures(*grouped("agency", Agency.code)).page(cursor=page.next_cursor, limit=1)
    (item,) = following.items
    assert item.code > page.items[-1].code
    assert type(item.agency.code) is str and not hasattr(item.agency, "name")


def test_a_keyset_without_groups_pages_its_rows_as_they_are(ctx, demo_catalog):
    page = _procedures(Agency.code.label("agency_code")).page(cursor=None, limit=3)
    assert [type(row) for row in page.items] == [sa.Row] * 3
    assert all(row.agency_code for row in page.items)
