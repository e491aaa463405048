"""Catalog use cases: browse and search, import a catalog, move a procedure along its life."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import marshmallow as ma
import sqlalchemy as sa

from backend.agencies.models import Agency, AgencyLevel
from backend.catalog.models import (
    FREEZING_STATUSES,
    PUBLIC_STATUSES,
    STATUS_TRANSITIONS,
    CatalogAuditRecord,
    DeliveryMode,
    PilotMember,
    Procedure,
    ProcedureStatus,
    ProcedureVersion,
)
from backend.catalog.schemas import CatalogImportSchema
from backend.db import grouped, utcnow
from backend.errors import Conflict, NotFound, ValidationFailed, flatten_messages
from backend.extensions import db
from backend.pagination import Keyset, Page
from backend.text import fold, like_pattern
from backend.trails import append

MAX_SEARCH_TERMS = 8


class ProcedureNotFound(NotFound):
    code = "procedure-not-found"


class CatalogInvalid(ValidationFailed):
    code = "catalog-invalid"


class ProcedureTransitionNotAllowed(Conflict):
    code = "procedure-transition-not-allowed"


# --- reading ----------------------------------------------------------------------------


def _visible(
    statement: sa.Select, viewer_id: str | sa.BindParameter[str] | None = None
) -> sa.Select:
    """Public procedures, and pilot ones for the citizens on their allow-list."""
    condition = Procedure.status.in_(PUBLIC_STATUSES)
    if viewer_id is not None:
        pilot = sa.select(PilotMember.procedure_id).where(PilotMember.account_id == viewer_id)
        condition = condition | (
            (Procedure.status == ProcedureStatus.PILOT) & Procedure.id.in_(pilot)
        )
    return statement.where(condition)


def is_pilot_member(*, procedure: Procedure, account_id: str) -> bool:
    return (
        db.session.get(PilotMember, {"procedure_id": procedure.id, "account_id": account_id})
        is not None
    )


def add_pilot_member(*, code: str, account_id: str) -> None:
    procedure = db.session.scalar(sa.select(Procedure).where(Procedure.code == code))
    if procedure is None:
        raise ProcedureNotFound(("Không có thủ tục mã này.", "No procedure has this code."))
    if not is_pilot_member(procedure=procedure, account_id=account_id):
        db.session.add(PilotMember(procedure_id=procedure.id, account_id=account_id))
    db.session.flush()


# What a search shows of each procedure, as plain rows with the agency's two columns grouped
# as ``item.agency``: a page builds no ORM objects (the procedure with its whole agency, before).
SEARCH_RESULT = sa.select(
    Procedure.code,
    Procedure.name,
    Procedure.field,
    Procedure.delivery_mode,
    Procedure.min_assurance_level,
    Procedure.status,
    *grouped("agency", Agency.code, Agency.name),
).join(Agency, Agency.id == Procedure.agency_id)


def _search(visible: sa.Select) -> Keyset:
    """The search over ``visible``: each word of the query, then each filter, bound."""
    words = {
        f"word_{number}": Procedure.search_text.like(sa.bindparam(f"word_{number}"), escape="\\")
        for number in range(MAX_SEARCH_TERMS)
    }
    return Keyset(
        visible,
        order_by=[Procedure.code],
        key=lambda p: [p.code],
        optional={
            **words,
            "agency_code": Agency.code == sa.bindparam("agency_code"),
            "field_key": Procedure.field_key == sa.bindparam("field_key"),
            "mode": Procedure.delivery_mode == sa.bindparam("mode"),
        },
    )


# Anyone's search, and a signed-in citizen's, who also sees the pilots they are let into.
SEARCH = _search(_visible(SEARCH_RESULT))
SEARCH_AS_VIEWER = _search(_visible(SEARCH_RESULT, sa.bindparam("viewer_id")))


def search_procedures(
    *,
    q: str | None = None,
    agency_code: str | None = None,
    field: str | None = None,
    mode: DeliveryMode | None = None,
    cursor: str | None = None,
    limit: int = 20,
    viewer_id: str | None = None,
) -> Page:
    """Published procedures matching every word of ``q``, diacritics and case ignored."""
    words = fold(q or "").split()[:MAX_SEARCH_TERMS]
    filters = {
        **{f"word_{number}": like_pattern(word) for number, word in enumerate(words)},
        "agency_code": agency_code,
        "field_key": fold(field) if field is not None else None,
        "mode": mode,
    }
    if viewer_id is None:
        return SEARCH.page(cursor=cursor, limit=limit, **filters)
    return SEARCH_AS_VIEWER.page(cursor=cursor, limit=limit, viewer_id=viewer_id, **filters)


_VERSION = sa.select(ProcedureVersion).where(
    ProcedureVersion.procedure_id == sa.bindparam("procedure_id"),
    ProcedureVersion.number == sa.bindparam("number"),
)


def version_in_force(procedure: Procedure) -> ProcedureVersion | None:
    if procedure.current_version is None:
        return None
    if "version_in_force" in procedure.__dict__:  # it came with the procedure's row
        return procedure.version_in_force
    values = {"procedure_id": procedure.id, "number": procedure.current_version}
    return db.session.scalar(_VERSION, values)


def get_public_version(*, code: str, viewer_id: str | None = None) -> ProcedureVersion:
    """The version in force of a procedure the public (or this pilot citizen) may see."""
    procedure = db.session.scalar(
        _visible(sa.select(Procedure).where(Procedure.code == code), viewer_id)
    )
    version = version_in_force(procedure) if procedure is not None else None
    if version is None:
        raise ProcedureNotFound(("Không có thủ tục mã này.", "No procedure has this code."))
    return version


# --- changing ---------------------------------------------------------------------------


def copy_searchable(procedure: Procedure, content: dict[str, Any], agency: Agency) -> None:
    procedure.name = content["name"]
    procedure.field = content["field"]
    procedure.field_key = fold(content["field"])
    procedure.delivery_mode = DeliveryMode(content["delivery_mode"])
    procedure.min_assurance_level = content["min_assurance_level"]
    procedure.search_text = fold(
        " ".join([procedure.code, content["name"], content["field"], agency.name])
    )


def _freeze(procedure: Procedure) -> ProcedureVersion | None:
    """Freeze the working copy as a new version unless the version in force already holds it."""
    current = version_in_force(procedure)
    if current is not None and current.content == procedure.draft:
        return None
    number = (procedure.current_version or 0) + 1
    version = ProcedureVersion(procedure_id=procedure.id, number=number, content=procedure.draft)
    db.session.add(version)
    procedure.current_version = number
    copy_searchable(procedure, procedure.draft, procedure.agency)
    return version


def move_procedure(procedure: Procedure, to: ProcedureStatus) -> None:
    """Apply one lifecycle step; the unit of work commits."""
    if to not in STATUS_TRANSITIONS[procedure.status]:
        allowed = sorted(s.value for s in STATUS_TRANSITIONS[procedure.status])
        raise ProcedureTransitionNotAllowed(
            (
                f"Không thể chuyển thủ tục từ '{procedure.status.value}' sang '{to.value}'.",
                f"A procedure cannot move from '{procedure.status.value}' to '{to.value}'.",
            ),
            extra={"allowed": allowed},
        )
    if to in FREEZING_STATUSES:
        _freeze(procedure)
    procedure.status = to


@dataclass
class ImportSummary:
    agencies_created: int = 0
    agencies_updated: int = 0
    procedures_created: int = 0
    procedures_updated: int = 0
    versions_frozen: int = 0


def append_audit(
    procedure: Procedure,
    *,
    actor_id: str | None,
    action: str,
    status_before: ProcedureStatus | None,
    version_before: int | None,
    now: datetime,
    note: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """One more act in the procedure's append-only audit trail; the unit of work commits."""
    append(
        CatalogAuditRecord,
        owner="procedure_id",
        owner_id=procedure.id,
        actor_id=actor_id,
        action=action,
        status_before=status_before,
        status_after=procedure.status,
        version_before=version_before,
        version_after=procedure.current_version,
        note=note,
        details=details or {},
        created_at=now,
    )


def _import_agencies(rows: list[dict[str, Any]], errors: dict[str, list[str]], summary) -> None:
    for index, row in enumerate(rows):
        agency = db.session.scalar(sa.select(Agency).where(Agency.code == row["code"]))
        if agency is None:
            agency = Agency(code=row["code"])
            db.session.add(agency)
            summary.agencies_created += 1
        else:
            summary.agencies_updated += 1
        agency.name = row["name"]
        agency.name_en = row.get("name_en")
        agency.level = AgencyLevel(row["level"])
        agency.parent = None
        if "parent" in row:
            parent = db.session.scalar(sa.select(Agency).where(Agency.code == row["parent"]))
            ancestor = parent
            while ancestor is not None and ancestor is not agency:
                ancestor = ancestor.parent
            if parent is None or ancestor is agency:
                errors[f"agencies.{index}.parent"] = [
                    "Unknown parent agency (list parents before their children)."
                    if parent is None
                    else "An agency cannot be its own ancestor."
                ]
                continue
            agency.parent = parent
        db.session.flush()


def _import_procedures(
    rows: list[dict[str, Any]], errors: dict[str, list[str]], summary, *, now: datetime
) -> None:
    for index, row in enumerate(rows):
        content = {k: v for k, v in row.items() if k not in {"code", "agency", "status"}}
        agency = db.session.scalar(sa.select(Agency).where(Agency.code == row["agency"]))
        if agency is None:
            errors[f"procedures.{index}.agency"] = ["Unknown agency."]
            continue
        procedure = db.session.scalar(sa.select(Procedure).where(Procedure.code == row["code"]))
        created = procedure is None
        if created:
            procedure = Procedure(code=row["code"], status=ProcedureStatus.DRAFT)
            db.session.add(procedure)
            summary.procedures_created += 1
        else:
            summary.procedures_updated += 1
        status_before = None if created else procedure.status
        before = procedure.current_version
        draft_before = None if created else procedure.draft
        procedure.agency = agency
        procedure.draft = content
        if procedure.current_version is None:
            copy_searchable(procedure, content, agency)
        db.session.flush()
        target = ProcedureStatus(row["status"])
        if not (target == ProcedureStatus.DRAFT and procedure.status == ProcedureStatus.DRAFT):
            try:
                move_procedure(procedure, target)
            except ProcedureTransitionNotAllowed as error:
                errors[f"procedures.{index}.status"] = [str(error)]
                continue
        summary.versions_frozen += int(procedure.current_version != before)
        # An import that changes a procedure is an act on the catalog like any other, by the
        # operator who ran it; importing the same document again adds nothing.
        if (status_before, before, draft_before) != (
            procedure.status,
            procedure.current_version,
            content,
        ):
            append_audit(
                procedure,
                actor_id=None,
                action="import",
                status_before=status_before,
                version_before=before,
                now=now,
            )
        db.session.flush()


def import_catalog(*, document: Any) -> ImportSummary:
    """Create or update agencies and procedures from a catalog document; all or nothing."""
    try:
        data = CatalogImportSchema().load(document)
    except ma.ValidationError as error:
        raise CatalogInvalid(errors=flatten_messages(error.normalized_messages())) from error
    summary = ImportSummary()
    errors: dict[str, list[str]] = {}
    with db.session.begin_nested():  # an error late in the file takes back what came before
        _import_agencies(data["agencies"], errors, summary)
        if not errors:
            _import_procedures(data["procedures"], errors, summary, now=utcnow())
        if errors:
            raise CatalogInvalid(errors=errors)
    return summary
