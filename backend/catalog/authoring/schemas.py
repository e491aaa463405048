"""Catalog administration on the wire."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.agencies.schemas import AGENCY_CODE, AgencyRefSchema
from backend.apidoc import Derived
from backend.catalog.authoring.services import versions
from backend.catalog.models import ProcedureStatus
from backend.catalog.schemas import PROCEDURE_CODE, ProcedureContentSchema
from backend.pagination import CursorArgs, page_schema
from backend.phones import PhoneField, mask
from backend.web import Schema

NOTE = validate.Length(max=2000)
TARGETS = [s.value for s in ProcedureStatus if s is not ProcedureStatus.DRAFT]


class ProcedureCreateSchema(Schema):
    code = ma.fields.String(required=True, validate=PROCEDURE_CODE)
    agency = ma.fields.String(required=True, validate=AGENCY_CODE)
    content = ma.fields.Nested(ProcedureContentSchema, required=True)
    note = ma.fields.String(validate=NOTE)


class DraftEditSchema(Schema):
    content = ma.fields.Nested(ProcedureContentSchema, required=True)
    note = ma.fields.String(validate=NOTE)


class MoveSchema(Schema):
    status = ma.fields.Enum(
        ProcedureStatus,
        by_value=True,
        required=True,
        validate=validate.OneOf([ProcedureStatus(t) for t in TARGETS]),
        metadata={
            "description": "pilot, published (a new version when changed), suspended, retired"
        },
    )
    note = ma.fields.String(validate=NOTE)


class AdminQuerySchema(CursorArgs):
    status = ma.fields.Enum(ProcedureStatus, by_value=True)


class VersionSchema(Schema):
    number = ma.fields.Integer(required=True)
    frozen_at = ma.fields.DateTime(required=True)


class ManagedProcedureSummarySchema(Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    agency = ma.fields.Nested(AgencyRefSchema, required=True)
    status = ma.fields.Enum(ProcedureStatus, by_value=True, required=True)
    current_version = ma.fields.Integer(allow_none=True, required=True)
    updated_at = ma.fields.DateTime(required=True)


class ManagedProcedureSchema(ManagedProcedureSummarySchema):
    draft = ma.fields.Nested(
        ProcedureContentSchema, required=True, metadata={"description": "The working copy"}
    )
    versions = Derived(ma.fields.Nested(VersionSchema), lambda p: _versions(p), required=True)


def _versions(procedure):
    return versions(procedure=procedure)


class PilotMemberCreateSchema(Schema):
    phone = PhoneField(required=True, metadata={"example": "0912345678"})


class PilotMemberSchema(Schema):
    account_id = ma.fields.String(required=True)
    phone = ma.fields.String(allow_none=True, required=True, metadata={"description": "Masked"})
    added_at = ma.fields.DateTime(required=True)

    @ma.pre_dump
    def _from_membership(self, membership, **kwargs):
        member, account = membership.member, membership.account
        return {
            "account_id": account.id,
            "phone": mask(account.phone) if account.phone else None,
            "added_at": member.created_at,
        }


class PilotMemberListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(PilotMemberSchema), required=True)


class AuditDetailsSchema(Schema):
    """What an act changed: the content before and after, or the pilot member."""

    before = ma.fields.Nested(ProcedureContentSchema)
    after = ma.fields.Nested(ProcedureContentSchema)
    account_id = ma.fields.String()


class AuditRecordSchema(Schema):
    id = ma.fields.String(required=True)
    seq = ma.fields.Integer(required=True)
    actor_id = ma.fields.String(allow_none=True, required=True)
    action = ma.fields.String(required=True)
    status_before = ma.fields.Enum(ProcedureStatus, by_value=True, allow_none=True, required=True)
    status_after = ma.fields.Enum(ProcedureStatus, by_value=True, required=True)
    version_before = ma.fields.Integer(allow_none=True, required=True)
    version_after = ma.fields.Integer(allow_none=True, required=True)
    note = ma.fields.String(allow_none=True, required=True)
    details = ma.fields.Nested(AuditDetailsSchema, required=True)
    created_at = ma.fields.DateTime(required=True)


class AuditListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(AuditRecordSchema), required=True)


ManagedProcedurePageSchema = page_schema(ManagedProcedureSummarySchema, "ManagedProcedurePage")
