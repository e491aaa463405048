"""Blobs no row points at, and rows whose blob is gone.

A file is stored before the row that points at it is committed; when that commit fails (a
refusal, a lost connection, a killed worker) the blob stays behind with nothing pointing at it.
``sweep`` deletes such orphans once they are older than ``STORAGE_ORPHAN_AGE_HOURS`` (a day):
younger ones may belong to a request still between storing and committing. It also drops what
killed writes left (temporary files, unfinished multipart uploads) once as old. ``check``
reports both orphans and rows whose blob is missing, for ``flask storage check``.

Each domain that keeps blob keys names its columns with ``register_reference`` (dossiers their
documents and pending direct uploads, engagement the petitions' attachments).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

import sqlalchemy as sa
from flask import current_app

from backend.extensions import db
from backend.storage import get_store
from backend.storage.exceptions import BlobNotFound, InvalidBlobKey

BATCH = 500
_REFERENCES: list[sa.ColumnElement] = []

log = logging.getLogger(__name__)


def register_reference(column: sa.ColumnElement) -> None:
    """A column whose values are keys of blobs in the store."""
    if not any(column is known for known in _REFERENCES):
        _REFERENCES.append(column)


def _referenced(keys: list[str]) -> set[str]:
    found: set[str] = set()
    for column in _REFERENCES:
        found.update(db.session.scalars(sa.select(column).where(column.in_(keys))))
    return found


def _any_reference() -> bool:
    return any(
        db.session.scalar(sa.select(sa.exists().where(column.is_not(None))))
        for column in _REFERENCES
    )


def _batches(iterator, size: int):
    while batch := list(islice(iterator, size)):
        yield batch


def _cutoff(now: datetime) -> datetime:
    return now - timedelta(hours=current_app.config["STORAGE_ORPHAN_AGE_HOURS"])


def sweep(*, now: datetime) -> int:
    """Delete the orphans older than the age, and older unfinished writes; returns how many.

    A database that points at no blob at all, next to a store that holds old ones, is far more
    likely the wrong database (or the wrong store) than a store of orphans: nothing is deleted
    then, and the mismatch is logged for ``flask storage check`` to show.
    """
    store, cutoff = get_store(), _cutoff(now)
    removed = store.discard_unfinished(before=cutoff)
    guarded: bool | None = None
    for batch in _batches(store.listing(), BATCH):
        old = {key for key, at in batch if at < cutoff}
        unreferenced = old - _referenced(list(old)) if old else set()
        if unreferenced and guarded is None:
            guarded = not _any_reference()
        if guarded:
            log.warning(
                "orphan sweep skipped: the database points at no blob while %s holds old ones "
                "(wrong DATABASE_URL or STORAGE_URL?); see `flask storage check`",
                store,
            )
            break
        for key in unreferenced:
            store.delete(key)
            removed += 1
    db.session.rollback()  # reads only: end the transaction the lookups opened
    return removed


@dataclass(frozen=True)
class Missing:
    column: str  # table.column
    row_id: str
    key: str


@dataclass
class Report:
    stored: int = 0
    rows: int = 0  # rows that point at a blob
    orphans: list[tuple[str, datetime]] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)

    def old_orphans(self, now: datetime) -> list[str]:
        cutoff = _cutoff(now)
        return [key for key, at in self.orphans if at < cutoff]


def _gone(store, key: str) -> bool:
    """Asked again: a blob stored after the listing was read is not missing."""
    try:
        store.size(key)
    except (BlobNotFound, InvalidBlobKey):
        return True
    return False


def check() -> Report:
    """Every orphan (with when it was written) and every row whose blob is missing."""
    store, report, stored = get_store(), Report(), set()
    for batch in _batches(store.listing(), BATCH):
        stored.update(key for key, _ in batch)
        referenced = _referenced([key for key, _ in batch])
        report.orphans += [(key, at) for key, at in batch if key not in referenced]
    report.stored = len(stored)
    for column in _REFERENCES:
        (row_id, *_) = column.table.primary_key.columns
        query = sa.select(row_id, column).where(column.is_not(None))
        for row_id_value, key in db.session.execute(query.execution_options(yield_per=BATCH)):
            report.rows += 1
            if key not in stored and _gone(store, key):
                name = f"{column.table.name}.{column.name}"
                report.missing.append(Missing(name, str(row_id_value), key))
    db.session.rollback()
    return report
