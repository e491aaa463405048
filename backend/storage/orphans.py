"""Blobs no row points at, and rows whose blob is gone.

A file is stored before the row that points at it is committed; when that commit fails (a
refusal, a lost connection, a killed worker) the blob stays behind with nothing pointing at it.
``sweep`` deletes such orphans once they are older than ``STORAGE_ORPHAN_AGE_HOURS`` (a day):
younger ones may belong to a request still between storing and committing. ``check`` reports
both orphans and rows whose blob is missing, for ``flask storage check``.

Each domain that keeps blob keys names its columns with ``register_reference`` (dossiers their
documents and pending direct uploads, engagement the petitions' attachments).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

import sqlalchemy as sa
from flask import current_app

from backend.extensions import db
from backend.storage import get_store

BATCH = 500
_REFERENCES: list[sa.ColumnElement] = []


def register_reference(column: sa.ColumnElement) -> None:
    """A column whose values are keys of blobs in the store."""
    if not any(column is known for known in _REFERENCES):
        _REFERENCES.append(column)


def _referenced(keys: list[str]) -> set[str]:
    found: set[str] = set()
    for column in _REFERENCES:
        found.update(db.session.scalars(sa.select(column).where(column.in_(keys))))
    return found


def _batches(iterator, size: int):
    while batch := list(islice(iterator, size)):
        yield batch


def _cutoff(now: datetime) -> datetime:
    return now - timedelta(hours=current_app.config["STORAGE_ORPHAN_AGE_HOURS"])


def sweep(*, now: datetime) -> int:
    """Delete the orphans older than the age; returns how many."""
    store, cutoff, deleted = get_store(), _cutoff(now), 0
    for batch in _batches(store.listing(), BATCH):
        old = {key: at for key, at in batch if at < cutoff}
        if not old:
            continue
        for key in set(old) - _referenced(list(old)):
            store.delete(key)
            deleted += 1
    db.session.rollback()  # reads only: end the transaction the lookups opened
    return deleted


@dataclass
class Report:
    stored: int = 0
    orphans: list[tuple[str, datetime]] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (table.column, key)

    def old_orphans(self, now: datetime) -> list[str]:
        cutoff = _cutoff(now)
        return [key for key, at in self.orphans if at < cutoff]


def check() -> Report:
    """Every orphan (with when it was written) and every row whose blob is missing."""
    report, stored = Report(), set()
    for batch in _batches(get_store().listing(), BATCH):
        stored.update(key for key, _ in batch)
        referenced = _referenced([key for key, _ in batch])
        report.orphans += [(key, at) for key, at in batch if key not in referenced]
    report.stored = len(stored)
    for column in _REFERENCES:
        name = f"{column.table.name}.{column.name}"
        rows = db.session.execute(sa.select(column).execution_options(yield_per=BATCH))
        report.missing += [(name, key) for (key,) in rows if key not in stored]
    db.session.rollback()
    return report
