"""The quality report on the wire, and the period it is asked for."""

from __future__ import annotations

from datetime import timedelta

import marshmallow as ma
from marshmallow import validate

from backend.agencies.schemas import AGENCY_CODE, AgencyRefSchema
from backend.catalog.models import DeliveryMode
from backend.catalog.schemas import PROCEDURE_CODE
from backend.parsing import Day
from backend.web import Schema

MAX_PERIOD = timedelta(days=3 * 366)
PERCENT = {"description": "Percent, cut to one decimal"}


class QualityQuerySchema(Schema):
    agency = ma.fields.String(required=True, validate=AGENCY_CODE)
    procedure = ma.fields.String(validate=PROCEDURE_CODE)
    from_ = Day(required=True, data_key="from", metadata={"description": "First day, YYYY-MM-DD"})
    to = Day(required=True, metadata={"description": "Last day, YYYY-MM-DD"})

    @ma.validates_schema
    def _period(self, data, **kwargs):
        start, end = data.get("from_"), data.get("to")
        if start and end and end < start:
            raise ma.ValidationError("The period ends before it starts.", "to")
        if start and end and end - start > MAX_PERIOD:
            raise ma.ValidationError("A report covers at most three years.", "to")


class ReportProcedureSchema(Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    delivery_mode = ma.fields.Enum(DeliveryMode, by_value=True, required=True)


class FiguresSchema(Schema):
    dossiers = ma.fields.Integer(required=True)
    online = ma.fields.Integer(required=True)
    counter = ma.fields.Integer(required=True, metadata={"description": "Counter and post"})
    online_share = ma.fields.Float(required=True, metadata=PERCENT)
    on_time = ma.fields.Integer(required=True)
    late = ma.fields.Integer(required=True, metadata={"description": "Resolved after due"})
    open_overdue = ma.fields.Integer(
        required=True, metadata={"description": "Still running past the due date"}
    )
    on_time_share = ma.fields.Float(required=True, metadata=PERCENT)
    average_processing_days = ma.fields.Float(
        required=True, metadata={"description": "Working days, waits for the citizen excluded"}
    )
    level2 = ma.fields.Integer(required=True)
    level2_share = ma.fields.Float(required=True, metadata=PERCENT)
    ratings = ma.fields.Integer(required=True)
    satisfied = ma.fields.Integer(required=True)
    neutral = ma.fields.Integer(required=True)
    dissatisfied = ma.fields.Integer(required=True)
    satisfaction_share = ma.fields.Float(required=True, metadata=PERCENT)
    feedback = ma.fields.Integer(required=True)
    feedback_refused = ma.fields.Integer(required=True)
    feedback_due = ma.fields.Integer(required=True)
    feedback_on_time = ma.fields.Integer(required=True)
    feedback_on_time_share = ma.fields.Float(required=True, metadata=PERCENT)


class ProcedureFiguresSchema(Schema):
    procedure = ma.fields.Nested(ReportProcedureSchema, required=True)
    figures = ma.fields.Nested(FiguresSchema, required=True)


class MonthFiguresSchema(Schema):
    month = ma.fields.String(required=True, metadata={"example": "2026-01"})
    figures = ma.fields.Nested(FiguresSchema, required=True)


class UpgradeCheckSchema(Schema):
    procedure = ma.fields.Nested(ReportProcedureSchema, required=True)
    dossiers = ma.fields.Integer(required=True)
    online = ma.fields.Integer(required=True)
    online_share = ma.fields.Float(required=True, metadata=PERCENT)
    eligible = ma.fields.Boolean(required=True)
    reason = ma.fields.String(
        allow_none=True,
        required=True,
        validate=validate.OneOf(["too_few_dossiers", "online_share_below_threshold"]),
    )


class UpgradeSchema(Schema):
    threshold_percent = ma.fields.Float(required=True)
    min_dossiers = ma.fields.Integer(required=True)
    procedures = ma.fields.List(ma.fields.Nested(UpgradeCheckSchema), required=True)


class PeriodSchema(Schema):
    from_ = ma.fields.Date(required=True, data_key="from", attribute="from")
    to = ma.fields.Date(required=True)


class QualityReportSchema(Schema):
    agency = ma.fields.Nested(AgencyRefSchema, required=True)
    procedure = ma.fields.Nested(ReportProcedureSchema, allow_none=True, required=True)
    period = ma.fields.Nested(PeriodSchema, required=True)
    generated_at = ma.fields.DateTime(required=True)
    totals = ma.fields.Nested(FiguresSchema, required=True)
    by_procedure = ma.fields.List(ma.fields.Nested(ProcedureFiguresSchema), required=True)
    monthly = ma.fields.List(ma.fields.Nested(MonthFiguresSchema), required=True)
    upgrade = ma.fields.Nested(UpgradeSchema, required=True)
