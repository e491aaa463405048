"""Append-only trails (dossier and feedback events, catalog audit records): their numbering."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.extensions import db


def next_seq(seq: Any, owner: sa.ColumnElement[bool]) -> int:
    """The next number of an append-only trail (events, audit records) for one owner.

    The trail's unique (owner, seq) constraint refuses a second writer that read the same
    number; the owner row is locked by the callers that can race.
    """
    last = db.session.scalar(sa.select(sa.func.max(seq)).where(owner))
    return (last or 0) + 1
