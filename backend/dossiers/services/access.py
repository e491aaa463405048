"""Finding a dossier the caller may see. Anyone else's looks like it does not exist (404)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import defer, joinedload

from backend.agencies.models import Agency
from backend.catalog.models import Procedure
from backend.dossiers.models import Document, Dossier, DossierAttachment, DossierStatus
from backend.errors import NotFound
from backend.extensions import db
from backend.identity.access import Principal, ridden
from backend.identity.models import Session
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


# What a dossier's view reads with it: its agency, its attachments, and of its procedure only
# what the view shows (not the procedure's agency, which the procedure would join in by default).
# Outer joins, though a dossier always has both: read with the session check, an inner join
# would drop the check's row along with a dossier that is not found. Of the dossier, of its
# agency and of its documents, the columns the view never shows stay in the database: each
# column read costs the driver and the ORM per request (a third of the row was unused).
VIEW_LOAD = (
    *(
        defer(column)
        for column in (
            Dossier.procedure_version_id,
            Dossier.applicant_phone,
            Dossier.verifier_digests,
            Dossier.submitted_acr,
            Dossier.office_seconds_spent,
            Dossier.supplement_requests,
            Dossier.created_at,
        )
    ),
    joinedload(Dossier.agency, innerjoin=False).load_only(Agency.code, Agency.name),
    joinedload(Dossier.procedure, innerjoin=False).load_only(Procedure.code, Procedure.name),
    joinedload(Dossier.procedure, innerjoin=False).lazyload(Procedure.agency),
    joinedload(Dossier.attachments)
    .load_only(DossierAttachment.slot)
    .joinedload(DossierAttachment.document, innerjoin=True)
    .load_only(
        Document.file_name, Document.file_type, Document.size, Document.sha256, Document.created_at
    ),
)


# What a submission (or a resubmission) reads with the locked row besides the procedure: the
# attachments it checks, the pauses its due date counts and the citizen it writes to.
SUBMISSION_LOAD = (
    joinedload(Dossier.attachments),
    joinedload(Dossier.pauses),
    joinedload(Dossier.citizen),
)


def _shape(
    statement: sa.Select, *, lock: bool, whole: bool = False, submitting: bool = False
) -> sa.Select:
    if lock:
        statement = statement.with_for_update(of=Dossier).execution_options(populate_existing=True)
    if whole:  # a view shows the attachments: read them with the row, not in a second query
        statement = statement.options(*VIEW_LOAD)
    elif submitting:
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
    (lock, whole, submitting): _shape(
        sa.select(Dossier).where(
            Dossier.id == sa.bindparam("dossier_id"),
            Dossier.citizen_id == sa.bindparam("account_id"),
        ),
        lock=lock,
        whole=whole,
        submitting=submitting,
    )
    for lock in (False, True)
    for whole in (False, True)
    for submitting in (False, True)
}


def citizen_dossier(
    principal: Principal,
    dossier_id: str,
    *,
    lock: bool = False,
    whole: bool = False,
    submitting: bool = False,
) -> Dossier:
    if whole and not lock and (row := ridden(CITIZEN_VIEW_WITH_SESSION)) is not None:
        if row.Dossier is None:
            raise DossierNotFound()
        return row.Dossier
    return _load(
        _CITIZEN_DOSSIER[lock, whole, submitting],
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
# And the whole dossier as its view shows it, for the same route without If-None-Match.
CITIZEN_VIEW_WITH_SESSION = Ride.entity(
    Dossier,
    sa.and_(Dossier.id == sa.bindparam("dossier_id"), Dossier.citizen_id == Session.account_id),
    *VIEW_LOAD,
)


def citizen_dossier_version(principal: Principal, dossier_id: str) -> sa.Row:
    """The ETag columns of one of the citizen's dossiers; DossierNotFound as for the whole row.

    They came with the session check when the route asked for that; else they are read here.
    """
    row = ridden(CITIZEN_VERSION_WITH_SESSION)
    if row is None:
        row = (
            db.session.connection()  # plain Core, as the session check: no ORM work here
            .execute(
                _CITIZEN_VERSION, {"dossier_id": dossier_id, "account_id": principal.account_id}
            )
            .first()
        )
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
