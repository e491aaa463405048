"""Drafts: a form filled in on the phone, checked as it goes, prefilled from what we know."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backend.catalog.forms import validate_form
from backend.catalog.models import Procedure, ProcedureStatus, ProcedureVersion
from backend.catalog.services import ProcedureNotFound, is_pilot_member, version_in_force
from backend.crypto import vault
from backend.dossiers import workflow
from backend.dossiers.models import DirectUploadSlot, Dossier, DossierEvent, DossierStatus
from backend.errors import Conflict, ValidationFailed, flatten_messages
from backend.extensions import db
from backend.identity.access import Principal
from backend.identity.models import Account

EDITABLE = frozenset({DossierStatus.DRAFT, DossierStatus.SUPPLEMENT_REQUESTED})


class ProcedureNotAccepting(Conflict):
    code = "procedure-not-accepting"
    title = ("Thủ tục tạm dừng tiếp nhận", "The procedure is not accepting dossiers")


class DossierNotEditable(Conflict):
    code = "dossier-not-editable"
    title = ("Hồ sơ không còn sửa được", "The dossier can no longer be changed")


def fileable_procedure(*, code: str, principal: Principal) -> tuple[Procedure, ProcedureVersion]:
    """A procedure the citizen may file now, with its version in force."""
    procedure = db.session.scalar(sa.select(Procedure).where(Procedure.code == code))
    return procedure, fileable_version(procedure, principal=principal)


def fileable_version(procedure: Procedure | None, *, principal: Principal) -> ProcedureVersion:
    """The version in force of a procedure the citizen may file now (one already read)."""
    visible = procedure is not None and (
        procedure.status in (ProcedureStatus.PUBLISHED, ProcedureStatus.SUSPENDED)
        or (
            procedure.status is ProcedureStatus.PILOT
            and is_pilot_member(procedure=procedure, account_id=principal.account_id)
        )
    )
    version = version_in_force(procedure) if visible else None
    if version is None:
        raise ProcedureNotFound(("Không có thủ tục mã này.", "No procedure has this code."))
    if procedure.status is ProcedureStatus.SUSPENDED:
        raise ProcedureNotAccepting(
            ("Thủ tục đang tạm dừng tiếp nhận hồ sơ.", "The procedure is suspended.")
        )
    return version


def form_errors(errors: dict[str, Any]) -> dict[str, list[str]]:
    return flatten_messages(errors, "data")


def check_form(version: ProcedureVersion, data: dict[str, Any], *, partial: bool) -> dict:
    clean, errors = validate_form(
        version.content["form"], data, partial=partial, version_id=version.id
    )
    if errors:
        raise ValidationFailed(errors=form_errors(errors))
    return clean


def _profile_values(account: Account) -> dict[str, Any]:
    values: dict[str, Any] = {
        "full_name": account.full_name,
        "phone": account.phone,
        "address": account.address,
        "date_of_birth": account.date_of_birth.isoformat() if account.date_of_birth else None,
    }
    if account.national_id_ciphertext:
        values["national_id"] = vault().decrypt(
            account.national_id_ciphertext, context=f"nid:{account.id}"
        )
    return {k: v for k, v in values.items() if v is not None}


def prefill(*, account: Account, procedure: Procedure, version: ProcedureVersion) -> dict:
    """Values from the citizen's latest dossier of this procedure, then from their profile."""
    form = version.content["form"]
    names = {field["name"] for field in form}
    latest = db.session.scalar(
        sa.select(Dossier.data)
        .where(Dossier.citizen_id == account.id, Dossier.procedure_id == procedure.id)
        .order_by(Dossier.created_at.desc(), Dossier.id.desc())
        .limit(1)
    )
    values = {k: v for k, v in (latest or {}).items() if k in names}
    profile = _profile_values(account)
    for field in form:
        source = field.get("prefill")
        if source in profile:
            values[field["name"]] = profile[source]
    # Only keep what the current form accepts (an older dossier may hold stale values).
    clean, errors = validate_form(form, values, partial=True, version_id=version.id)
    return clean if not errors else {k: v for k, v in clean.items() if k not in errors}


def create_draft(
    *, principal: Principal, procedure_code: str, data: dict[str, Any], now: datetime
) -> Dossier:
    procedure, version = fileable_procedure(code=procedure_code, principal=principal)
    account = principal.session.account
    start = prefill(account=account, procedure=procedure, version=version)
    clean = check_form(version, {**start, **data}, partial=True)
    dossier = Dossier(
        procedure=procedure,
        procedure_version_id=version.id,
        agency_id=procedure.agency_id,
        citizen_id=account.id,
        data=clean,
        applicant_name=account.full_name,
        applicant_phone=account.phone,
        created_at=now,
        updated_at=now,
    )
    db.session.add(dossier)
    db.session.flush()
    workflow.record(dossier, action="create", actor=principal, from_status=None, now=now)
    db.session.flush()
    return dossier


def update_draft(*, dossier: Dossier, changes: dict[str, Any], now: datetime) -> Dossier:
    """Merge changes into the form data (a null removes a value); check what is there."""
    if dossier.status not in EDITABLE:
        raise DossierNotEditable(
            ("Chỉ sửa được bản nháp hoặc hồ sơ đang bổ sung.", "Only drafts or supplements.")
        )
    merged = {k: v for k, v in {**dossier.data, **changes}.items() if v is not None}
    dossier.data = check_form(dossier.procedure_version, merged, partial=True)
    dossier.version += 1
    dossier.updated_at = now
    db.session.flush()
    return dossier


def delete_draft(*, dossier: Dossier) -> None:
    if dossier.status is not DossierStatus.DRAFT:
        raise DossierNotEditable(("Chỉ xóa được bản nháp.", "Only drafts can be deleted."))
    # A draft's only event is its creation; it goes with the draft, and so do the presigned
    # uploads still waiting for a confirmation (their files expire with the bucket's rule).
    db.session.execute(sa.delete(DossierEvent).where(DossierEvent.dossier_id == dossier.id))
    db.session.execute(sa.delete(DirectUploadSlot).where(DirectUploadSlot.dossier_id == dossier.id))
    db.session.delete(dossier)
    db.session.flush()
