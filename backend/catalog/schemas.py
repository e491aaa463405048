"""What a procedure looks like on the wire, and the catalog document that imports it."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.agencies.models import AgencyLevel
from backend.agencies.schemas import AGENCY_CODE, AgencyRefSchema
from backend.catalog.models import DeliveryMode, ProcedureStatus
from backend.pagination import CursorArgs, page_schema
from backend.web import Schema

PROCEDURE_CODE = validate.Regexp(r"^\d\.\d{6}$", error="Not a procedure code (e.g. 1.001612).")
SLUG = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="Use lowercase letters, digits and _.")

FILE_TYPES = ("pdf", "jpeg", "png", "heic")
FIELD_TYPES = ("text", "number", "date", "choice", "phone", "national_id", "address")
PREFILL_SOURCES = ("full_name", "national_id", "date_of_birth", "address", "phone")
MAX_UPLOAD_MB = 20


def _enum_values(cls) -> list[str]:
    return [m.value for m in cls]


class ProcessingTimeSchema(Schema):
    amount = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=365))
    unit = ma.fields.String(
        required=True, validate=validate.OneOf(["working_days", "working_hours"])
    )


class FeeSchema(Schema):
    amount = ma.fields.Integer(
        required=True, validate=validate.Range(min=0), metadata={"description": "VND"}
    )
    description = ma.fields.String(validate=validate.Length(max=500))


class DocumentSlotSchema(Schema):
    code = ma.fields.String(required=True, validate=SLUG)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=300))
    name_en = ma.fields.String(validate=validate.Length(max=300))
    required = ma.fields.Boolean(load_default=True)
    accepted_types = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(FILE_TYPES)),
        required=True,
        validate=validate.Length(min=1),
    )
    max_size_mb = ma.fields.Integer(
        load_default=10, validate=validate.Range(min=1, max=MAX_UPLOAD_MB)
    )


class ChoiceSchema(Schema):
    value = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    label = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    label_en = ma.fields.String(validate=validate.Length(max=200))


class FormFieldSchema(Schema):
    name = ma.fields.String(required=True, validate=SLUG)
    label = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    label_en = ma.fields.String(validate=validate.Length(max=200))
    type = ma.fields.String(required=True, validate=validate.OneOf(FIELD_TYPES))
    required = ma.fields.Boolean(load_default=False)
    min_length = ma.fields.Integer(validate=validate.Range(min=0, max=5000))
    max_length = ma.fields.Integer(validate=validate.Range(min=1, max=5000))
    min = ma.fields.Float(allow_nan=False)
    max = ma.fields.Float(allow_nan=False)
    integer = ma.fields.Boolean()
    not_in_future = ma.fields.Boolean()
    choices = ma.fields.List(ma.fields.Nested(ChoiceSchema), validate=validate.Length(min=1))
    prefill = ma.fields.String(validate=validate.OneOf(PREFILL_SOURCES))

    @ma.validates_schema
    def _consistent(self, data, **kwargs):
        kind = data["type"]
        if kind == "choice":
            values = [c["value"] for c in data.get("choices", [])]
            if not values:
                raise ma.ValidationError("A choice field needs choices.", "choices")
            if len(values) != len(set(values)):
                raise ma.ValidationError("Choice values must be unique.", "choices")
        elif "choices" in data:
            raise ma.ValidationError("Only choice fields have choices.", "choices")
        if {"min", "max"} & data.keys() and kind != "number":
            raise ma.ValidationError("Only number fields have min and max.", "min")
        if data.get("min", float("-inf")) > data.get("max", float("inf")):
            raise ma.ValidationError("min is above max.", "min")
        if {"min_length", "max_length"} & data.keys() and kind != "text":
            raise ma.ValidationError("Only text fields have length limits.", "min_length")
        if data.get("min_length", 0) > data.get("max_length", 5000):
            raise ma.ValidationError("min_length is above max_length.", "min_length")
        if "not_in_future" in data and kind != "date":
            raise ma.ValidationError("Only date fields have not_in_future.", "not_in_future")
        if "integer" in data and kind != "number":
            raise ma.ValidationError("Only number fields have integer.", "integer")


def _unique(key: str, what: str):
    def check(items: list[dict]) -> None:
        names = [item[key] for item in items]
        if len(names) != len(set(names)):
            raise ma.ValidationError(f"Each {what} must have a distinct {key}.")

    return check


class ProcedureContentSchema(Schema):
    """The versioned part of a procedure: what a citizen reads and fills in."""

    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))
    name_en = ma.fields.String(validate=validate.Length(max=500))
    field = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=255),
        metadata={"description": "Lĩnh vực, e.g. Hộ tịch"},
    )
    delivery_mode = ma.fields.String(
        required=True, validate=validate.OneOf(_enum_values(DeliveryMode))
    )
    min_assurance_level = ma.fields.Integer(load_default=0, validate=validate.Range(min=0, max=2))
    processing_time = ma.fields.Nested(ProcessingTimeSchema, required=True)
    fee = ma.fields.Nested(FeeSchema, load_default=lambda: {"amount": 0})
    legal_basis = ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=500)), load_default=list
    )
    result = ma.fields.String(
        validate=validate.Length(max=500), metadata={"description": "What the citizen receives"}
    )
    documents = ma.fields.List(
        ma.fields.Nested(DocumentSlotSchema),
        load_default=list,
        validate=[validate.Length(max=30), _unique("code", "document")],
    )
    form = ma.fields.List(
        ma.fields.Nested(FormFieldSchema),
        load_default=list,
        validate=[validate.Length(max=60), _unique("name", "form field")],
    )


class AgencyImportSchema(Schema):
    code = ma.fields.String(required=True, validate=AGENCY_CODE)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=255))
    name_en = ma.fields.String(validate=validate.Length(max=255))
    level = ma.fields.String(required=True, validate=validate.OneOf(_enum_values(AgencyLevel)))
    parent = ma.fields.String(validate=AGENCY_CODE, metadata={"description": "Parent agency code"})


class ProcedureImportSchema(ProcedureContentSchema):
    code = ma.fields.String(required=True, validate=PROCEDURE_CODE)
    agency = ma.fields.String(required=True, validate=AGENCY_CODE)
    status = ma.fields.String(
        load_default=ProcedureStatus.PUBLISHED.value,
        validate=validate.OneOf(["draft", "pilot", "published"]),
    )


class CatalogImportSchema(Schema):
    agencies = ma.fields.List(
        ma.fields.Nested(AgencyImportSchema),
        load_default=list,
        validate=_unique("code", "agency"),
    )
    procedures = ma.fields.List(
        ma.fields.Nested(ProcedureImportSchema),
        load_default=list,
        validate=_unique("code", "procedure"),
    )


# --- public API -------------------------------------------------------------------------


class ProcedureSummarySchema(Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    agency = ma.fields.Nested(AgencyRefSchema, required=True)
    field = ma.fields.String(required=True)
    delivery_mode = ma.fields.Enum(DeliveryMode, by_value=True, required=True)
    min_assurance_level = ma.fields.Integer(required=True)
    status = ma.fields.Enum(ProcedureStatus, by_value=True, required=True)


class ProcedureQuerySchema(CursorArgs):
    q = ma.fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Words to find, with or without Vietnamese diacritics"},
    )
    agency = ma.fields.String(validate=AGENCY_CODE)
    field = ma.fields.String(validate=validate.Length(min=1, max=255))
    mode = ma.fields.Enum(DeliveryMode, by_value=True)


class ProcedureDetailSchema(ProcedureContentSchema):
    """A procedure as frozen in its version in force."""

    code = ma.fields.String(required=True)
    agency = ma.fields.Nested(AgencyRefSchema, required=True)
    status = ma.fields.Enum(ProcedureStatus, by_value=True, required=True)
    version = ma.fields.Integer(required=True)
    frozen_at = ma.fields.DateTime(required=True)
    # A version's content went through ProcedureContentSchema.load, whose defaults filled these
    # in: the detail always carries them, and says so, so that clients need not guess.
    min_assurance_level = ma.fields.Integer(required=True, validate=validate.Range(min=0, max=2))
    fee = ma.fields.Nested(FeeSchema, required=True)
    legal_basis = ma.fields.List(ma.fields.String(), required=True)
    documents = ma.fields.List(ma.fields.Nested(DocumentSlotSchema), required=True)
    form = ma.fields.List(ma.fields.Nested(FormFieldSchema), required=True)

    @ma.pre_dump
    def _from_version(self, version, **kwargs):
        procedure = version.procedure
        return {
            **version.content,
            "code": procedure.code,
            "agency": procedure.agency,
            "status": procedure.status,
            "version": version.number,
            "frozen_at": version.frozen_at,
        }


ProcedurePageSchema = page_schema(ProcedureSummarySchema, "ProcedurePage")
