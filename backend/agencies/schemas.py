"""Agencies on the wire, and the QCVN 102 code every agency reference is checked against."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.agencies.models import AgencyLevel
from backend.pagination import CursorArgs, page_schema
from backend.web import Schema

AGENCY_CODE = validate.Regexp(
    r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$", error="Not a QCVN 102 agency code (e.g. 000.00.17.H56)."
)


class AgencyRefSchema(Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)


class AgencySchema(Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    name_en = ma.fields.String(allow_none=True)
    level = ma.fields.Enum(AgencyLevel, by_value=True, required=True)
    parent = ma.fields.Pluck(AgencyRefSchema, "code", allow_none=True)


class AgencyQuerySchema(CursorArgs):
    level = ma.fields.Enum(AgencyLevel, by_value=True)
    parent = ma.fields.String(validate=AGENCY_CODE)


AgencyPageSchema = page_schema(AgencySchema, "AgencyPage")
