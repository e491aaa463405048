"""Attachments: a file per required-document slot, uploaded, uploaded direct, or reused."""

from __future__ import annotations

from datetime import datetime
from typing import Any, BinaryIO

import sqlalchemy as sa

from backend.dossiers import workflow
from backend.dossiers.models import (
    DirectUploadSlot,
    Document,
    Dossier,
    DossierAttachment,
    DossierStatus,
)
from backend.dossiers.services.drafts import EDITABLE, DossierNotEditable
from backend.dossiers.services.submission import MEGABYTE
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.extensions import db
from backend.identity.access import Principal
from backend.pagination import Page, keyset_page
from backend.storage import get_store
from backend.storage.intake import (
    AcceptedFile,
    accept_direct_upload,
    accept_upload,
    prepare_direct_upload,
)
from backend.unitofwork import if_rolled_back

RESULT_TYPES = ("pdf", "jpeg", "png")
RESULT_MAX_BYTES = 20 * MEGABYTE


class UnknownSlot(ValidationFailed):
    code = "unknown-document-slot"


class DocumentNotFound(NotFound):
    code = "document-not-found"


class DirectUploadUnavailable(Conflict):
    code = "direct-upload-unavailable"
    title = ("Không hỗ trợ tải lên trực tiếp", "Direct upload is not available")


class UploadNotFound(NotFound):
    code = "upload-not-found"


def slot_rules(dossier: Dossier, slot_code: str) -> dict[str, Any]:
    for slot in dossier.procedure_version.content["documents"]:
        if slot["code"] == slot_code:
            return slot
    raise UnknownSlot(errors={"slot": ["This procedure has no such document."]})


def _editable(dossier: Dossier) -> None:
    if dossier.status not in EDITABLE:
        raise DossierNotEditable(
            (
                "Chỉ bổ sung giấy tờ khi là bản nháp hoặc đang bổ sung.",
                "Only drafts or supplements.",
            )
        )


def _keep(accepted: AcceptedFile, owner_id: str, now: datetime) -> Document:
    document = Document(
        owner_id=owner_id,
        blob_key=accepted.key,
        file_name=accepted.file_name,
        file_type=accepted.file_type.value,
        size=accepted.size,
        sha256=accepted.sha256,
        created_at=now,
    )
    db.session.add(document)
    return document


def _link(dossier: Dossier, slot_code: str, document: Document, now: datetime) -> DossierAttachment:
    for existing in list(dossier.attachments):
        if existing.slot == slot_code:
            dossier.attachments.remove(existing)
    db.session.flush()
    attachment = DossierAttachment(slot=slot_code, document=document, created_at=now)
    dossier.attachments.append(attachment)
    dossier.version += 1
    dossier.updated_at = now
    return attachment


def _drop_blob_unless_committed(key: str) -> None:
    if_rolled_back(lambda: get_store().delete(key))
    db.session.flush()


def attach_upload(
    *,
    principal: Principal,
    dossier: Dossier,
    slot_code: str,
    stream: BinaryIO,
    filename: str | None,
    now: datetime,
) -> DossierAttachment:
    slot = slot_rules(dossier, slot_code)
    _editable(dossier)
    accepted = accept_upload(
        stream=stream,
        filename=filename,
        allowed_types=slot["accepted_types"],
        max_size=slot["max_size_mb"] * MEGABYTE,
    )
    attachment = _link(dossier, slot_code, _keep(accepted, principal.account_id, now), now)
    _drop_blob_unless_committed(accepted.key)
    return attachment


def start_direct_upload(
    *, dossier: Dossier, slot_code: str, file_name: str, now: datetime
) -> tuple[DirectUploadSlot, Any]:
    slot = slot_rules(dossier, slot_code)
    _editable(dossier)
    direct = prepare_direct_upload(max_size=slot["max_size_mb"] * MEGABYTE)
    if direct is None:
        raise DirectUploadUnavailable(
            ("Hãy gửi tệp qua API (multipart).", "Send the file through the API (multipart).")
        )
    pending = DirectUploadSlot(
        dossier_id=dossier.id,
        slot=slot_code,
        upload_key=direct.upload_key,
        file_name=file_name,
        expires_at=direct.upload.expires_at,
    )
    db.session.add(pending)
    db.session.flush()
    return pending, direct.upload


def confirm_direct_upload(
    *, principal: Principal, dossier: Dossier, upload_id: str, now: datetime
) -> DossierAttachment:
    pending = db.session.scalar(
        sa.select(DirectUploadSlot).where(
            DirectUploadSlot.id == upload_id, DirectUploadSlot.dossier_id == dossier.id
        )
    )
    if pending is None or pending.expires_at <= now:
        raise UploadNotFound(("Phiên tải lên không còn hiệu lực.", "No such upload."))
    slot = slot_rules(dossier, pending.slot)
    _editable(dossier)
    accepted = accept_direct_upload(
        upload_key=pending.upload_key,
        filename=pending.file_name,
        allowed_types=slot["accepted_types"],
        max_size=slot["max_size_mb"] * MEGABYTE,
    )
    db.session.delete(pending)
    attachment = _link(dossier, pending.slot, _keep(accepted, principal.account_id, now), now)
    _drop_blob_unless_committed(accepted.key)
    return attachment


def attach_existing(
    *, principal: Principal, dossier: Dossier, slot_code: str, document_id: str, now: datetime
) -> DossierAttachment:
    """A file from the citizen's library, given again without uploading it again."""
    slot = slot_rules(dossier, slot_code)
    _editable(dossier)
    document = db.session.scalar(
        sa.select(Document).where(
            Document.id == document_id, Document.owner_id == principal.account_id
        )
    )
    if document is None:
        raise DocumentNotFound(("Không tìm thấy giấy tờ.", "No such document."))
    if document.file_type not in slot["accepted_types"]:
        raise ValidationFailed(errors={"document_id": ["File type not accepted for this slot."]})
    if document.size > slot["max_size_mb"] * MEGABYTE:
        raise ValidationFailed(errors={"document_id": ["File larger than this slot allows."]})
    attachment = _link(dossier, slot_code, document, now)
    db.session.flush()
    return attachment


def detach(*, dossier: Dossier, slot_code: str, now: datetime) -> None:
    slot_rules(dossier, slot_code)
    _editable(dossier)
    for existing in list(dossier.attachments):
        if existing.slot == slot_code:
            dossier.attachments.remove(existing)
            dossier.version += 1
            dossier.updated_at = now
            db.session.flush()
            return
    raise DocumentNotFound(("Chưa có giấy tờ cho mục này.", "Nothing attached there."))


def library(*, principal: Principal, cursor: str | None, limit: int) -> Page:
    return keyset_page(
        sa.select(Document).where(Document.owner_id == principal.account_id),
        order_by=[Document.created_at, Document.id],
        key=lambda d: [d.created_at.isoformat(), d.id],
        cursor=cursor,
        limit=limit,
        descending=True,
    )


def attach_result(
    *,
    principal: Principal,
    dossier: Dossier,
    stream: BinaryIO,
    filename: str | None,
    now: datetime,
) -> Document:
    """The officer's result document, before deciding. Owned by the dossier's citizen."""
    workflow.check(dossier, "decide", actor=principal)
    accepted = accept_upload(
        stream=stream, filename=filename, allowed_types=RESULT_TYPES, max_size=RESULT_MAX_BYTES
    )
    document = _keep(accepted, dossier.citizen_id or principal.account_id, now)
    db.session.flush()
    dossier.result_document_id = document.id
    dossier.version += 1
    dossier.updated_at = now
    _drop_blob_unless_committed(accepted.key)
    return document


def result_document(*, dossier: Dossier) -> Document:
    """The result, once decided; until then there is nothing to download."""
    if dossier.result_document_id is None or dossier.status not in (
        DossierStatus.DECIDED,
        DossierStatus.RETURNED,
    ):
        raise DocumentNotFound(("Chưa có kết quả.", "There is no result yet."))
    return db.session.get(Document, dossier.result_document_id)
