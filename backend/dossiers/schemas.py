"""Dossiers on the wire: small for lists, complete for one, and the receipt."""

from __future__ import annotations

import marshmallow as ma
from flask import g
from marshmallow import validate

from backend.agencies.schemas import AGENCY_CODE, AgencyRefSchema
from backend.apidoc import form_data
from backend.catalog.schemas import PROCEDURE_CODE
from backend.db import utcnow
from backend.dossiers.models import RUNNING, STATUS_LABELS, Channel, DossierStatus
from backend.dossiers.services.tracking import lookup_secret
from backend.dossiers.workflow import allowed_actions
from backend.i18n import pick
from backend.identity.access import require_principal
from backend.pagination import CursorArgs, page_schema
from backend.parsing import Moment
from backend.phones import PhoneField
from backend.web import Schema
from backend.workdays.services import due_soon_cutoff

NOTE = validate.Length(max=2000)


class ProcedureRefSchema(Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)


def _label(dossier) -> str:
    return pick(STATUS_LABELS[dossier.status])


class DocumentSchema(Schema):
    id = ma.fields.String(required=True)
    file_name = ma.fields.String(required=True)
    file_type = ma.fields.String(required=True)
    size = ma.fields.Integer(required=True)
    sha256 = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)


class AttachmentSchema(Schema):
    slot = ma.fields.String(required=True)
    document = ma.fields.Nested(DocumentSchema, required=True)


def deadline_state(dossier) -> str | None:
    """Where a running dossier stands against its due date; None while the clock stands still."""
    if dossier.status not in RUNNING or dossier.due_at is None:
        return None
    now = utcnow()
    if dossier.due_at < now:
        return "overdue"
    if "due_soon_cutoff" not in g:  # one calendar walk per request, not one per list item
        g.due_soon_cutoff = due_soon_cutoff(now=now)
    return "due_soon" if dossier.due_at <= g.due_soon_cutoff else "on_time"


class DossierSummarySchema(Schema):
    id = ma.fields.String(required=True)
    code = ma.fields.String(allow_none=True, required=True)
    procedure = ma.fields.Nested(ProcedureRefSchema, required=True)
    status = ma.fields.Enum(DossierStatus, by_value=True, required=True)
    status_label = ma.fields.Function(_label, required=True, metadata={"type": "string"})
    channel = ma.fields.Enum(Channel, by_value=True, required=True)
    submitted_at = ma.fields.DateTime(allow_none=True, required=True)
    due_at = ma.fields.DateTime(allow_none=True, required=True)
    deadline = ma.fields.Function(
        deadline_state,
        required=True,
        allow_none=True,
        # Read by the OpenAPI document as the field's enum; the field is only ever written.
        validate=validate.OneOf(["on_time", "due_soon", "overdue"]),
        metadata={
            "type": "string",
            "description": "While the agency's clock runs: overdue, due_soon (within one "
            "working day of office time) or on_time; null when it stands still or is done",
        },
    )
    updated_at = ma.fields.DateTime(required=True)


class DossierSchema(DossierSummarySchema):
    agency = ma.fields.Nested(AgencyRefSchema, required=True)
    procedure_version = ma.fields.Function(
        lambda d: d.version_number,
        required=True,
        metadata={"type": ["integer", "null"], "description": "Pinned at submission"},
    )
    data = ma.fields.Dict(required=True, metadata=form_data())
    attachments = ma.fields.List(ma.fields.Nested(AttachmentSchema), required=True)
    applicant_name = ma.fields.String(allow_none=True)
    decided_at = ma.fields.DateTime(allow_none=True, required=True)
    finished_at = ma.fields.DateTime(allow_none=True, required=True)
    fee_amount = ma.fields.Integer(allow_none=True, required=True)
    result_available = ma.fields.Function(
        lambda d: (
            d.result_document_id is not None
            and d.status in (DossierStatus.DECIDED, DossierStatus.RETURNED)
        ),
        required=True,
        metadata={"type": "boolean"},
    )
    lookup_secret = ma.fields.Function(
        lambda d: lookup_secret(d.id) if d.code else None,
        allow_none=True,
        required=True,
        metadata={
            "type": "string",
            "description": "With `code`, opens the public status lookup; null for a draft",
        },
    )
    version = ma.fields.Integer(required=True)
    allowed_actions = ma.fields.Method(
        "_actions", required=True, metadata={"type": "array", "items": {"type": "string"}}
    )

    def _actions(self, dossier):
        return allowed_actions(dossier, require_principal())


class ReceiptSchema(Schema):
    """What a citizen keeps as proof of filing (Giấy tiếp nhận hồ sơ và hẹn trả kết quả)."""

    id = ma.fields.String(required=True)
    code = ma.fields.String(required=True)
    lookup_secret = ma.fields.Function(
        lambda d: lookup_secret(d.id),
        required=True,
        metadata={"type": "string", "description": "With `code`, opens the public status lookup"},
    )
    procedure = ma.fields.Nested(ProcedureRefSchema, required=True)
    procedure_version = ma.fields.Function(
        lambda d: d.version_number, required=True, metadata={"type": "integer"}
    )
    agency = ma.fields.Nested(AgencyRefSchema, required=True)
    received_at = ma.fields.DateTime(attribute="submitted_at", required=True)
    due_at = ma.fields.DateTime(required=True)
    documents = ma.fields.List(
        ma.fields.Nested(AttachmentSchema), attribute="attachments", required=True
    )


class EventDetailsSchema(Schema):
    """What some steps add to their event: what was asked, the fees, the new due date."""

    items = ma.fields.List(ma.fields.String(), metadata={"description": "request_supplement"})
    amount = ma.fields.Integer(metadata={"description": "request_fees, VND"})
    previous_due_at = ma.fields.String(metadata={"format": "date-time"})
    due_at = ma.fields.String(metadata={"format": "date-time", "description": "extend_due"})
    channel = ma.fields.String(
        validate=validate.OneOf([c.value for c in Channel]), metadata={"description": "register"}
    )

    def get_attribute(self, obj, attr, default):
        # A plain dict: a missing "items" must not be read as the dict's own items() method.
        return obj.get(attr, default)


class EventSchema(Schema):
    seq = ma.fields.Integer(required=True)
    action = ma.fields.String(required=True)
    from_status = ma.fields.Enum(DossierStatus, by_value=True, allow_none=True, required=True)
    to_status = ma.fields.Enum(DossierStatus, by_value=True, required=True)
    actor_kind = ma.fields.String(required=True)
    note = ma.fields.String(allow_none=True, required=True)
    details = ma.fields.Nested(EventDetailsSchema, required=True)
    created_at = ma.fields.DateTime(required=True)


class EventListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(EventSchema), required=True)


class TrackingSchema(Schema):
    code = ma.fields.String(required=True)
    procedure = ma.fields.Nested(ProcedureRefSchema, required=True)
    status = ma.fields.Enum(DossierStatus, by_value=True, required=True)
    status_label = ma.fields.Function(_label, required=True, metadata={"type": "string"})
    submitted_at = ma.fields.DateTime(required=True)
    due_at = ma.fields.DateTime(allow_none=True, required=True)
    finished_at = ma.fields.DateTime(allow_none=True, required=True)


# --- requests ---------------------------------------------------------------------------


class DossierCreateSchema(Schema):
    procedure_code = ma.fields.String(required=True, validate=PROCEDURE_CODE)
    data = ma.fields.Dict(keys=ma.fields.String(), load_default=dict, metadata=form_data())


class DossierPatchSchema(Schema):
    data = ma.fields.Dict(
        keys=ma.fields.String(),
        required=True,
        metadata=form_data(description="Fields to change; null removes a value", nullable=True),
    )


class MyDossiersQuerySchema(CursorArgs):
    status = ma.fields.Enum(DossierStatus, by_value=True)
    updated_since = Moment(
        metadata={"description": "Only dossiers changed after this moment (delta sync)"}
    )


class NoteSchema(Schema):
    note = ma.fields.String(validate=NOTE)


class ReasonSchema(Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))


class TrackingQuerySchema(Schema):
    secret = ma.fields.String(
        validate=validate.Regexp(
            r"^[0-9A-Za-z]{5}[- ]?[0-9A-Za-z]{5}$", error="Ten letters or digits (XXXXX-XXXXX)."
        ),
        metadata={
            "description": "The lookup secret on the receipt and in the confirmation "
            "(XXXXX-XXXXX; case, the dash, O/0 and I/L/1 do not matter)",
            "example": "7K2QD-M9XHP",
        },
    )
    verifier = ma.fields.String(
        validate=validate.Regexp(r"^\d{4}$", error="Four digits."),
        metadata={
            "description": "Dossiers handed in at the counter or by post only, instead of "
            "`secret`: the last 4 digits of the applicant's phone or ID number; wrong ones are "
            "limited per caller"
        },
    )

    @ma.validates_schema
    def _one_of_them(self, data, **kwargs):
        if ("secret" in data) == ("verifier" in data):
            raise ma.ValidationError("Give either the lookup secret or the verifier.", "secret")


class SlotFileSchema(Schema):
    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class DirectUploadRequestSchema(Schema):
    file_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=255))


class DirectUploadSchema(Schema):
    upload_id = ma.fields.String(attribute="slot.id", required=True)
    method = ma.fields.String(attribute="upload.method", required=True)
    url = ma.fields.String(attribute="upload.url", required=True)
    fields = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        attribute="upload.fields",
        required=True,
        metadata={"description": "Form fields to send with the file, as they are"},
    )
    max_size = ma.fields.Integer(attribute="upload.max_size", required=True)
    expires_at = ma.fields.DateTime(attribute="upload.expires_at", required=True)


class ReuseSchema(Schema):
    document_id = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))


# --- officers ---------------------------------------------------------------------------


class QueueQuerySchema(CursorArgs):
    state = ma.fields.String(
        validate=validate.OneOf(["open", "finished", "all"]),
        metadata={
            "description": "open (the default): still to be worked on or handed back; "
            "finished: returned, refused, withdrawn or stopped; all. A status overrides it."
        },
    )
    status = ma.fields.Enum(DossierStatus, by_value=True)
    procedure = ma.fields.String(validate=PROCEDURE_CODE)
    agency = ma.fields.String(validate=AGENCY_CODE)
    due = ma.fields.String(
        validate=validate.OneOf(["soon", "overdue"]),
        metadata={"description": "soon: due within one working day; overdue: past due"},
    )


class SupplementSchema(Schema):
    items = ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=500)),
        required=True,
        validate=validate.Length(min=1, max=30),
        metadata={"description": "What is missing or must be corrected"},
    )
    note = ma.fields.String(validate=NOTE)


class FeesSchema(Schema):
    amount = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=10**12))
    note = ma.fields.String(validate=NOTE)


class ExtendSchema(Schema):
    due_at = Moment(required=True)
    apology = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ApplicantSchema(Schema):
    full_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = PhoneField()
    national_id = ma.fields.String(validate=validate.Regexp(r"^\d{12}$"))


class CounterDossierSchema(Schema):
    procedure_code = ma.fields.String(required=True, validate=PROCEDURE_CODE)
    channel = ma.fields.Enum(
        Channel,
        by_value=True,
        required=True,
        validate=validate.OneOf([Channel.COUNTER, Channel.POST]),
    )
    applicant = ma.fields.Nested(ApplicantSchema, required=True)
    data = ma.fields.Dict(keys=ma.fields.String(), required=True, metadata=form_data())


DossierPageSchema = page_schema(DossierSummarySchema, "DossierPage")
DocumentPageSchema = page_schema(DocumentSchema, "DocumentPage")
