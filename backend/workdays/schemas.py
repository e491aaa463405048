"""Calendar overrides on the wire."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.parsing import Day
from backend.web import Schema
from backend.workdays.models import OverrideKind


class OverrideSchema(Schema):
    day = Day(required=True)
    kind = ma.fields.Enum(OverrideKind, by_value=True, required=True)
    note = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class OverrideListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(OverrideSchema), required=True)


class OverrideQuerySchema(Schema):
    year = ma.fields.Integer(validate=validate.Range(min=2000, max=2100))
