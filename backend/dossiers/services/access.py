"""Finding a dossier the caller may see. Anyone else's looks like it does not exist (404)."""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from backend.agencies.models import Agency
from backend.catalog.models import Procedure, ProcedureVersion
from backend.db import grouped, grouper
from backend.dossiers.models import (
    SUMMARY,
    Document,
    Dossier,
    DossierAttachment,
    DossierStatus,
)
from backend.errors import NotFound
from backend.extensions import connection, db
from backend.identity.access import Principal, ridden
from backend.identity.services.sessions import Ride

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


# What a submission (or a resubmission) reads with the locked row: the procedure's version in
# force (a statement of its own cost a submission about 500 Python calls and a round trip; its
# own link back to the procedure is the one already read), the attachments it checks, the
# pauses its due date counts and the citizen it writes to.
SUBMISSION_LOAD = (
    joinedload(Dossier.procedure, innerjoin=True)
    .joinedload(Procedure.version_in_force)
    .lazyload(ProcedureVersion.procedure),
    joinedload(Dossier.attachments),
    joinedload(Dossier.pauses),
    joinedload(Dossier.citizen),
)


def _shape(statement: sa.Select, *, lock: bool, submitting: bool = False) -> sa.Select:
    if lock:
        statement = statement.with_for_update(of=Dossier).execution_options(populate_existing=True)
    if submitting:
        statement = statement.options(*SUBMISSION_LOAD)
    return statement


def _load(statement: sa.Select, values: dict[str, str] | None = None) -> Dossier:
    dossier = db.session.execute(statement, values).unique().scalar_one_or_none()
    if dossier is None:
        raise DossierNotFound()
    return dossier


# A citizen's dossier in each shape a route reads it, built once: building the statement with
# its loader options, and hashing it for the cache, cost a submission about 280 Python calls.
_CITIZEN_DOSSIER = {
    (lock, submitting): _shape(
        sa.select(Dossier).where(
            Dossier.id == sa.bindparam("dossier_id"),
            Dossier.citizen_id == sa.bindparam("account_id"),
        ),
        lock=lock,
        submitting=submitting,
    )
    for lock in (False, True)
    for submitting in (False, True)
}


def citizen_dossier(
    principal: Principal, dossier_id: str, *, lock: bool = False, submitting: bool = False
) -> Dossier:
    return _load(
        _CITIZEN_DOSSIER[lock, submitting],
        {"dossier_id": dossier_id, "account_id": principal.account_id},
    )


# What a dossier's ETag depends on (its version, and what decides the viewer's actions and the
# deadline), by primary key: a poll that ends in 304 reads these columns and nothing else.
# Built once, so a poll does not pay for building and hashing the statement either.
_CITIZEN_VERSION = sa.select(
    Dossier.id,
    Dossier.version,
    Dossier.status,
    Dossier.citizen_id,
    Dossier.agency_id,
    Dossier.due_at,
).where(Dossier.id == sa.bindparam("dossier_id"), Dossier.citizen_id == sa.bindparam("account_id"))
# The same read, for a poll's route to send along with the session check
# (``identity.access.read_with_session_check``): a 304 then costs one statement.
CITIZEN_VERSION_WITH_SESSION = Ride.columns(_CITIZEN_VERSION.subquery("polled"))
# The whole dossier as a citizen's view shows it (``DossierSchema``), as plain rows: one for each
# attachment (one with none when it has none), made into one object by ``_viewed``. The ORM
# loading the same dossier, its agency, procedure and attachments cost about 500 Python calls
# a view more than the rows do (``bench/hotpaths.py``'s detail, on the bench data).
_VIEW = (
    # What a list shows (the summary, its procedure's columns joined), and the rest of the view.
    SUMMARY.add_columns(
        Dossier.data,
        Dossier.applicant_name,
        Dossier.decided_at,
        Dossier.finished_at,
        Dossier.fee_amount,
        Dossier.result_document_id,
        Dossier.version,
        Dossier.citizen_id,
        Dossier.agency_id,
        Dossier.procedure_version_number.label("version_number"),
        *grouped("agency", Agency.code, Agency.name),
        *grouped("attachment", DossierAttachment.slot),
        *grouped(
            "document",
            Document.id,
            Document.file_name,
            Document.file_type,
            Document.size,
            Document.sha256,
            Document.created_at,
        ),
    )
    .join(Agency, Agency.id == Dossier.agency_id)
    .outerjoin(DossierAttachment, DossierAttachment.dossier_id == Dossier.id)
    .outerjoin(Document, Document.id == DossierAttachment.document_id)
    .where(
        Dossier.id == sa.bindparam("dossier_id"),
        Dossier.citizen_id == sa.bindparam("account_id"),
    )
)
# The same read, for the route without If-None-Match, sent along with the session check.
CITIZEN_VIEW_WITH_SESSION = Ride.columns(_VIEW.subquery("viewed"))
_VIEWED = list(_VIEW.selected_columns.keys())
_dossier_of = grouper([key for key in _VIEWED if not key.startswith(("attachment", "document"))])
_document_of = grouper([key for key in _VIEWED if key.startswith("document")])


def _viewed(rows: Sequence[sa.Row]) -> SimpleNamespace:
    first = rows[0] if rows else None
    if first is None or first.id is None:
        raise DossierNotFound()
    dossier = _dossier_of(first)
    dossier.attachments = sorted(
        (
            SimpleNamespace(slot=row.attachment__slot, document=_document_of(row).document)
            for row in rows
            if row.attachment__slot is not None
        ),
        key=attrgetter("slot"),
    )
    return dossier


def citizen_dossier_view(principal: Principal, dossier_id: str) -> SimpleNamespace:
    """One of the citizen's dossiers as its view shows it: what ``DossierSchema`` dumps and
    what its ETag depends on, read as plain rows (the ORM object is for changing it)."""
    rows = ridden(CITIZEN_VIEW_WITH_SESSION)
    if rows is None:
        values = {"dossier_id": dossier_id, "account_id": principal.account_id}
        rows = connection().execute(_VIEW, values).all()
    return _viewed(rows)


def citizen_dossier_version(principal: Principal, dossier_id: str) -> sa.Row:
    """The ETag columns of one of the citizen's dossiers; DossierNotFound as for the whole row.

    They came with the session check when the route asked for that; else they are read here.
    """
    rows = ridden(CITIZEN_VERSION_WITH_SESSION)
    if rows is None:
        rows = (
            connection()  # plain Core, as the session check: no ORM work here
            .execute(
                _CITIZEN_VERSION, {"dossier_id": dossier_id, "account_id": principal.account_id}
            )
            .all()
        )
    row = rows[0] if rows else None
    if row is None or row.id is None:
        raise DossierNotFound()
    return row


def officer_dossier(principal: Principal, dossier_id: str, *, lock: bool = False) -> Dossier:
    """A dossier of the officer's agencies, once filed: a draft is still the citizen's own."""
    return _load(
        _shape(
            sa.select(Dossier).where(
                Dossier.id == dossier_id,
                Dossier.agency_id.in_(officer_scope(principal)),
                Dossier.status != DossierStatus.DRAFT,
            ),
            lock=lock,
        )
    )


def readable_dossier(principal: Principal, dossier_id: str) -> Dossier:
    """Its citizen, or an officer of its agencies."""
    if principal.is_staff:
        return officer_dossier(principal, dossier_id)
    return citizen_dossier(principal, dossier_id)
