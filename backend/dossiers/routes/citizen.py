"""A citizen's own dossiers: draft, attach, submit, follow, withdraw, download the result."""

from __future__ import annotations

from flask import request

from backend.apiheaders import LOCATION
from backend.db import utcnow
from backend.dossiers import schemas
from backend.dossiers.routes.files import FILE_RESPONSES, send_document
from backend.dossiers.services import attachments, citizen, drafts, submission
from backend.dossiers.services.access import (
    CITIZEN_VERSION_WITH_SESSION,
    CITIZEN_VIEW_WITH_SESSION,
    citizen_dossier,
    citizen_dossier_version,
    citizen_dossier_view,
    readable_dossier,
)
from backend.dossiers.workflow import allowed_actions
from backend.idempotency import idempotent, multipart_fingerprint
from backend.identity.access import (
    citizen_required,
    read_with_session_check,
    require_principal,
)
from backend.unitofwork import reads_only
from backend.web import Blueprint, body_accepts, created

blp = Blueprint("dossiers", __name__, description="A citizen's dossiers")
documents = Blueprint("documents", __name__, description="A citizen's document library")


def _mine(dossier_id: str, *, lock: bool = False, submitting: bool = False):
    return citizen_dossier(require_principal(), dossier_id, lock=lock, submitting=submitting)


def _attached(attachment, dossier_id: str):
    """A new attachment, at the address its file is read from."""
    return created(
        attachment, "dossiers.attachment_content", dossier_id=dossier_id, slot=attachment.slot
    )


def etag_data(dossier) -> dict:
    """What the app's copy depends on: the dossier's version, what this viewer may do, and
    where it stands against its due date (which moves with the clock, not the version)."""
    return {
        "id": dossier.id,
        "version": dossier.version,
        "actions": allowed_actions(dossier, require_principal()),
        "deadline": schemas.deadline_state(dossier),
    }


@blp.route("", methods=["POST"])
@citizen_required
@idempotent()
@blp.etag
@blp.arguments(schemas.DossierCreateSchema)
@blp.response(201, schemas.DossierSchema, headers=LOCATION)
@blp.refusals(403, 404, 409)
def create(data):
    """Start a dossier (a draft prefilled from my profile and my last dossier of it)

    The answer's ETag and Location let the app PATCH the draft at once, without a GET.
    """
    dossier = drafts.create_draft(
        principal=require_principal(),
        procedure_code=data["procedure_code"],
        data=data["data"],
        now=utcnow(),
    )
    blp.set_etag(etag_data(dossier))
    return created(dossier, "dossiers.get", dossier_id=dossier.id)


@blp.route("")
@citizen_required
@blp.arguments(schemas.MyDossiersQuerySchema, location="query", as_kwargs=True)
@blp.response(200, schemas.DossierPageSchema)
@blp.refusals(403)
@reads_only
def list_mine(status=None, updated_since=None, cursor=None, limit=20):
    """My dossiers, most recently changed first (updated_since for delta sync)"""
    return citizen.list_mine(
        principal=require_principal(),
        status=status,
        updated_since=updated_since,
        cursor=cursor,
        limit=limit,
    )


def _unchanged(version):
    """An unchanged poll's 304 from the ETag's columns that came with the session check, before
    the view runs. A staff caller (refused by ``citizen_required``) and a dossier that is not
    the caller's (404) go on to the view."""
    if not require_principal().is_citizen or version.id is None:
        return None
    return blp.unchanged(etag_data(version))


@blp.route("/<dossier_id>")
@citizen_required
@blp.etag
@blp.response(200, schemas.DossierSchema)
@blp.refusals(403)
@reads_only
@read_with_session_check(
    CITIZEN_VERSION_WITH_SESSION, when=lambda: bool(request.if_none_match), answer=_unchanged
)
@read_with_session_check(CITIZEN_VIEW_WITH_SESSION, when=lambda: not request.if_none_match)
def get(dossier_id):
    """One of my dossiers"""
    if request.if_none_match:
        # A poll that ``_unchanged`` did not answer: a stale copy (the whole dossier follows),
        # or no dossier of the caller's, told by the columns that came with the session check.
        citizen_dossier_version(require_principal(), dossier_id)
    dossier = citizen_dossier_view(require_principal(), dossier_id)
    blp.set_etag(etag_data(dossier))
    return dossier


@blp.route("/<dossier_id>", methods=["PATCH"])
@citizen_required
@blp.etag
@blp.arguments(schemas.DossierPatchSchema)
@blp.response(200, schemas.DossierSchema)
@blp.refusals(403, 409)
def patch(data, dossier_id):
    """Change form data of a draft (If-Match: the ETag you have)"""
    dossier = _mine(dossier_id, lock=True)
    blp.check_etag(etag_data(dossier))
    dossier = drafts.update_draft(dossier=dossier, changes=data["data"], now=utcnow())
    blp.set_etag(etag_data(dossier))
    return dossier


@blp.route("/<dossier_id>", methods=["DELETE"])
@citizen_required
@blp.response(204)
@blp.refusals(403, 409)
def delete(dossier_id):
    """Throw a draft away"""
    drafts.delete_draft(dossier=_mine(dossier_id, lock=True))


@blp.route("/<dossier_id>/submit", methods=["POST"])
@citizen_required
@idempotent(required=True)
@blp.response(200, schemas.ReceiptSchema)
@blp.refusals(400, 403, 409, 422)
def submit(dossier_id):
    """Submit (Idempotency-Key required); returns the receipt with code and due date"""
    return submission.submit(
        principal=require_principal(),
        dossier=_mine(dossier_id, lock=True, submitting=True),
        now=utcnow(),
    )


@blp.route("/<dossier_id>/resubmit", methods=["POST"])
@citizen_required
@blp.arguments(schemas.NoteSchema, required=False)
@blp.response(200, schemas.DossierSchema)
@blp.refusals(403, 409)
def resubmit(data, dossier_id):
    """Send the dossier back after supplementing what was asked"""
    return submission.resubmit(
        principal=require_principal(),
        dossier=_mine(dossier_id, lock=True, submitting=True),
        note=data.get("note"),
        now=utcnow(),
    )


@blp.route("/<dossier_id>/withdraw", methods=["POST"])
@citizen_required
@blp.arguments(schemas.ReasonSchema)
@blp.response(200, schemas.DossierSchema)
@blp.refusals(403, 409)
def withdraw(data, dossier_id):
    """Withdraw a dossier that is not decided yet"""
    return citizen.withdraw(
        principal=require_principal(),
        dossier=_mine(dossier_id, lock=True),
        reason=data["reason"],
        now=utcnow(),
    )


@blp.route("/<dossier_id>/events")
@citizen_required
@blp.response(200, schemas.EventListSchema)
@blp.refusals(403)
def events(dossier_id):
    """The dossier's timeline"""
    return {"items": citizen.events(dossier=_mine(dossier_id))}


@blp.route("/<dossier_id>/result")
@citizen_required
@blp.doc(**FILE_RESPONSES)
@blp.refusals(403)
def result(dossier_id):
    """Download the result document"""
    return send_document(attachments.result_document(dossier=_mine(dossier_id)))


@blp.route("/<dossier_id>/attachments/<slot>", methods=["POST"])
@citizen_required
@body_accepts("multipart/form-data")
@idempotent(fingerprint=multipart_fingerprint)
@blp.arguments(schemas.SlotFileSchema, location="files")
@blp.response(201, schemas.AttachmentSchema, headers=LOCATION)
@blp.refusals(403, 409, 422)
def upload(files, dossier_id, slot):
    """Attach a file to a document slot (PDF, JPEG, PNG or HEIC, checked by content)"""
    file = files["file"]
    attachment = attachments.attach_upload(
        principal=require_principal(),
        dossier=_mine(dossier_id, lock=True),
        slot_code=slot,
        stream=file.stream,
        filename=file.filename,
        now=utcnow(),
    )
    return _attached(attachment, dossier_id)


@blp.route("/<dossier_id>/attachments/<slot>/reuse", methods=["POST"])
@citizen_required
@idempotent()
@blp.arguments(schemas.ReuseSchema)
@blp.response(201, schemas.AttachmentSchema, headers=LOCATION)
@blp.refusals(403, 409)
def reuse(data, dossier_id, slot):
    """Attach a file from my document library without uploading it again"""
    attachment = attachments.attach_existing(
        principal=require_principal(),
        dossier=_mine(dossier_id, lock=True),
        slot_code=slot,
        document_id=data["document_id"],
        now=utcnow(),
    )
    return _attached(attachment, dossier_id)


@blp.route("/<dossier_id>/attachments/<slot>/uploads", methods=["POST"])
@citizen_required
@blp.arguments(schemas.DirectUploadRequestSchema)
@blp.response(201, schemas.DirectUploadSchema)
@blp.refusals(403, 409)
def start_upload(data, dossier_id, slot):
    """Get a presigned URL to upload a file straight to storage (S3 only), then confirm it"""
    pending, upload = attachments.start_direct_upload(
        dossier=_mine(dossier_id), slot_code=slot, file_name=data["file_name"], now=utcnow()
    )
    return {"slot": pending, "upload": upload}


@blp.route("/<dossier_id>/uploads/<upload_id>/confirm", methods=["POST"])
@citizen_required
@idempotent()
@blp.response(201, schemas.AttachmentSchema, headers=LOCATION)
@blp.refusals(403, 409, 413, 422)
def confirm_upload(dossier_id, upload_id):
    """Check and attach a file uploaded with a presigned URL"""
    attachment = attachments.confirm_direct_upload(
        principal=require_principal(),
        dossier=_mine(dossier_id, lock=True),
        upload_id=upload_id,
        now=utcnow(),
    )
    return _attached(attachment, dossier_id)


@blp.route("/<dossier_id>/attachments/<slot>", methods=["DELETE"])
@citizen_required
@blp.response(204)
@blp.refusals(403, 409, 422)
def detach(dossier_id, slot):
    """Remove a file from a document slot"""
    attachments.detach(dossier=_mine(dossier_id, lock=True), slot_code=slot, now=utcnow())


@blp.route("/<dossier_id>/attachments/<slot>/content")
@blp.doc(**FILE_RESPONSES)
@blp.refusals(403)
def attachment_content(dossier_id, slot):
    """Download an attached file (its citizen or an officer of its agency)"""
    dossier = readable_dossier(require_principal(), dossier_id)
    for attachment in dossier.attachments:
        if attachment.slot == slot:
            return send_document(attachment.document)
    raise attachments.DocumentNotFound(("Chưa có giấy tờ cho mục này.", "Nothing attached there."))


@documents.route("")
@citizen_required
@documents.arguments(schemas.CursorArgs, location="query", as_kwargs=True)
@documents.response(200, schemas.DocumentPageSchema)
@documents.refusals(403)
def library(cursor=None, limit=20):
    """Files I gave before, to attach again"""
    return attachments.library(principal=require_principal(), cursor=cursor, limit=limit)
