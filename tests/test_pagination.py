"""Keyset pages: what a list binds is checked before any statement runs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backend.dossiers.models import SUMMARY, Dossier
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
