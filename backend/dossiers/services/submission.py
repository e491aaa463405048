"""Submitting a dossier, and sending it back after a supplement request."""

from __future__ import annotations

from datetime import datetime

from backend.catalog.models import ProcedureVersion
from backend.crypto import vault
from backend.dossiers import workflow
from backend.dossiers.codes import issue_code
from backend.dossiers.models import Dossier
from backend.dossiers.services.drafts import check_form, fileable_version
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.identity.access import Principal, StepUpRequired
from backend.identity.models import Account
from backend.unitofwork import write_now

MEGABYTE = 1024 * 1024


class DocumentsMissing(ValidationFailed):
    code = "documents-missing"
    title = ("Thiếu giấy tờ", "Documents missing")


def _check_documents(dossier: Dossier, version: ProcedureVersion) -> None:
    """Every required slot filled, and every file still fits its slot's rules."""
    given = {attachment.slot: attachment.document for attachment in dossier.attachments}
    errors: dict[str, list[str]] = {}
    for slot in version.content["documents"]:
        document = given.get(slot["code"])
        if document is None:
            if slot["required"]:
                errors[f"documents.{slot['code']}"] = ["Required document missing."]
            continue
        if document.file_type not in slot["accepted_types"]:
            errors[f"documents.{slot['code']}"] = ["File type no longer accepted for this slot."]
        elif document.size > slot["max_size_mb"] * MEGABYTE:
            errors[f"documents.{slot['code']}"] = ["File larger than this slot allows."]
    if errors:
        missing = sorted(k.split(".", 1)[1] for k, v in errors.items() if "missing" in v[0])
        raise DocumentsMissing(
            ("Còn thiếu hoặc sai giấy tờ.", "Some documents are missing or not acceptable."),
            errors=errors,
            extra={"missing_documents": missing},
        )


def verifier_digests(dossier: Dossier, *, national_id: str | None) -> list[str]:
    """Keyed digests of the last four digits of the applicant's phone and ID number."""
    endings = [value[-4:] for value in (dossier.applicant_phone, national_id) if value]
    return [vault().digest(f"{dossier.id}:{ending}", purpose="tracking") for ending in endings]


def _national_id(dossier: Dossier, account: Account | None) -> str | None:
    if account is not None and account.national_id_ciphertext:
        return vault().decrypt(account.national_id_ciphertext, context=f"nid:{account.id}")
    for field in dossier.procedure_version.content["form"]:
        if field["type"] == "national_id" and field.get("prefill") == "national_id":
            return dossier.data.get(field["name"])
    return None


def submit(*, principal: Principal, dossier: Dossier, now: datetime) -> Dossier:
    """Check everything, pin the version in force, issue the code and the due date."""
    workflow.check(dossier, "submit", actor=principal)
    # The procedure came with the dossier's row, read under its lock.
    version = fileable_version(dossier.procedure, principal=principal)
    required = version.content.get("min_assurance_level", 0)
    if principal.acr < required:
        raise StepUpRequired(required_acr=required)
    dossier.data = check_form(version, dossier.data, partial=False)
    _check_documents(dossier, version)
    # The notice below needs the account too; it came with the dossier's row.
    citizen = dossier.citizen
    # The reads below need none of these changes: one UPDATE of the dossier afterwards rather
    # than one before each read (each writes a new row version into every dossier index).
    with db.session.no_autoflush:
        dossier.procedure_version_id = version.id
        dossier.procedure_version = version
        dossier.submitted_at = now
        dossier.submitted_acr = principal.acr
        dossier.verifier_digests = verifier_digests(
            dossier, national_id=_national_id(dossier, citizen)
        )
        workflow.move(dossier, "submit", actor=principal, now=now, announced=False)
        workflow.recompute_due(dossier)
        # The number last: it locks the agency's counter row of the day until the commit, and
        # every other submission to that agency waits for the lock. Taken before the write,
        # the code goes out in the same UPDATE (a second one cost a whole row version).
        dossier.code = issue_code(dossier.agency, at=now)
    write_now(dossier)  # one statement, not a flush: the notice's reads would flush it
    workflow.announce(dossier, "submit", now)  # the message carries the code
    db.session.flush()
    return dossier


def resubmit(*, principal: Principal, dossier: Dossier, note: str | None, now: datetime) -> Dossier:
    """The citizen has supplied what was asked; the clock runs again."""
    workflow.check(dossier, "resubmit", actor=principal)
    dossier.data = check_form(dossier.procedure_version, dossier.data, partial=False)
    _check_documents(dossier, dossier.procedure_version)
    workflow.move(dossier, "resubmit", actor=principal, now=now, note=note)
    db.session.flush()
    return dossier
